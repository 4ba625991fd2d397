/**
 * The runtime: a manager that owns what the edges share (the config, the cluster clients, the API
 * tokens, the run coordinator, the status reader, the metrics, readiness) and the shutdown, and
 * knows nothing of HTTP, cron or watch. Each of those adds itself as a runnable (controller-runtime's
 * `Manager.Add`): the runtime starts them, and at a drain stops the ones that start runs before it
 * drains the runs, and the others (the HTTP server, which answers meanwhile) after. Built once per
 * process from a parsed config; the edge hands in the environment.
 */
import { type Config, findReplication, type Replication } from "../../shared/config/mod.ts";
import { TokenVerifier } from "../../shared/credentials/mod.ts";
import { KubeApiError } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/mod.ts";
import { listObjects, serverVersion } from "../../shared/kube/verbs.ts";
import { type KubeObject, PODS } from "../../shared/kube/types.ts";
import { AGENT_POD_SELECTOR } from "../../shared/pvc/agent_names.ts";
import type { Logger } from "../../shared/log/mod.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "../../shared/metrics/mod.ts";
import { CONFIG_OPTIONS } from "../operations/mod.ts";
import { ClusterPool } from "./cluster_pool.ts";
import { ConfigState } from "./config_state.ts";
import { RunCoordinator, type RunCoordinatorOptions } from "./run_coordinator.ts";
import { StatusReader } from "./replication_status.ts";
import { secretClientFromEnv } from "./secret_client_from_env.ts";

/** Something the runtime runs: an HTTP server, the schedules, the watchers. */
export interface Runnable {
  readonly name: string;
  start(): void | Promise<void>;
  /** Stops it: for a runnable that starts runs, no new run once this has begun. */
  stop(): Promise<void>;
  /** Stopped after the runs drained (the HTTP server answers meanwhile); default: before. */
  readonly stopsAfterRuns?: boolean;
}

export interface RuntimeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly readEnv: (name: string) => string | undefined;
  /** The client that reads credential Secrets (default: chosen from the environment). */
  readonly secretClient?: KubeClient | undefined;
  /** How often credentials are read again (default 60 s). */
  readonly credentialsRefreshMs?: number | undefined;
  readonly leaseSeconds?: number | undefined;
  readonly runsKept?: number | undefined;
  readonly statusTtlMs?: number | undefined;
  readonly now?: (() => Date) | undefined;
  readonly operations?: RunCoordinatorOptions["operations"];
  /** This replica's name in run records and the watch Lease (default: `HOSTNAME`, a pod's name, else random). */
  readonly replica?: string | undefined;
  /** How long a readiness probe of a cluster may take (default 3 s). */
  readonly readyTimeoutMs?: number | undefined;
  /** How long a readiness answer is reused: the clusters are probed at most this often (default 5 s). */
  readonly readyCacheMs?: number | undefined;
}

/**
 * Whether the runtime can serve: per cluster a status word (`reachable`, `unreachable`, `timeout`,
 * `http-<status>` for a cluster that answered with an error), nothing more: the answer is given to
 * anyone who asks, so it carries no address, path or raw error (those go to the log).
 */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
  readonly clusters: Readonly<Record<string, string>>;
}

/** The status word of a failed probe. */
function probeStatus(error: unknown): string {
  if (error instanceof KubeApiError) return `http-${error.status}`;
  if (error instanceof DOMException && error.name === "TimeoutError") return "timeout";
  return /timed? ?out/i.test(String(error)) ? "timeout" : "unreachable";
}

export interface Runtime {
  /** The configuration in force (it changes when the config file or the operator's objects change). */
  readonly config: Config;
  /** The configuration's sources and changes. */
  readonly configState: ConfigState;
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  readonly tokens: TokenVerifier;
  readonly clusters: ClusterPool;
  readonly runs: RunCoordinator;
  readonly status: StatusReader;
  /** This replica's name (run records, watch Leases). */
  readonly replica: string;
  /** The client of the cluster the runtime runs in (its pod's ServiceAccount), when it has one. */
  readonly home: KubeClient | undefined;
  /** The configured replication `name` (`ReplicationNotFoundError`, a 404, when there is none). */
  replication(name: string): Replication;
  /** Adds a runnable; started with `start`, or at once when the runtime has started. */
  add(runnable: Runnable): void;
  /** Starts the runnables added so far. */
  start(): Promise<void>;
  /** Whether every cluster the replications use answers. */
  readiness(): Promise<Readiness>;
  /**
   * The PVC data agents' pods (ready, not ready) per cluster of a replication with PVC data, read at
   * most every few seconds; a cluster that cannot be read is left out.
   */
  agentPods(): Promise<ReadonlyMap<string, { ready: number; notReady: number }>>;
  readonly draining: boolean;
  /**
   * The runnables that start runs stop; no new runs; running ones get `graceMs` to finish, then
   * stop cleanly; then the other runnables stop.
   */
  drain(graceMs: number): Promise<void>;
  /** Closes every client. */
  close(): Promise<void>;
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, logger, readEnv } = options;
  const refreshMs = options.credentialsRefreshMs;
  const ownSecretClient = options.secretClient === undefined;
  const secretClient = options.secretClient ?? await secretClientFromEnv(readEnv, { refreshMs, logger });
  const metrics = createRuntimeMetrics();
  const replica = options.replica ?? readEnv("HOSTNAME") ?? `replica-${crypto.randomUUID().slice(0, 8)}`;
  const clusters = new ClusterPool(config.clusters, { readEnv, secretClient, refreshMs, logger });
  const tokens = new TokenVerifier(config.tokens, {
    readEnv,
    secretClient,
    ...(refreshMs !== undefined ? { refreshMs } : {}),
    logger,
  });
  const configState = new ConfigState(config, CONFIG_OPTIONS);
  const current = () => configState.current;
  const runs = new RunCoordinator({
    config: current,
    clusters,
    logger,
    metrics,
    leaseSeconds: options.leaseSeconds,
    runsKept: options.runsKept,
    now: options.now,
    replica,
    operations: options.operations,
  });
  const status = new StatusReader({
    replications: () => configState.current.replications,
    clusters,
    runs,
    ttlMs: options.statusTtlMs,
    now: options.now,
  });
  // a run that ended changed its replication's state: read it again, not a status cached while it ran
  // (the mapping's status written after the run, the next tick's pause check)
  runs.onRunSettled((outcome) => status.invalidate(outcome.record.replication));
  const runnables: Runnable[] = [];
  let started = false;
  const readyTimeoutMs = options.readyTimeoutMs ?? 3_000;
  const readyCacheMs = options.readyCacheMs ?? 5_000;
  let probed: { at: number; answer: Promise<Readiness> } | undefined;
  let agents:
    | { at: number; answer: Promise<ReadonlyMap<string, { ready: number; notReady: number }>> }
    | undefined;
  const lastLogged = new Map<string, string>();
  const probe = async (): Promise<Readiness> => {
    const names = [
      ...new Set(configState.current.replications.flatMap((r) => [r.source.cluster, r.destination.cluster])),
    ];
    const states: Record<string, string> = {};
    await Promise.all(names.map(async (name) => {
      try {
        await serverVersion(await clusters.get(name), { timeoutMs: readyTimeoutMs });
        states[name] = "reachable";
      } catch (error) {
        states[name] = probeStatus(error);
        if (lastLogged.get(name) !== states[name]) {
          logger.warn("readiness: a cluster does not answer", { cluster: name, error });
        }
      }
      lastLogged.set(name, states[name]!);
    }));
    return { ready: Object.values(states).every((s) => s === "reachable"), clusters: states };
  };
  metrics.setReplications(config.replications.length);
  configState.onChange((next) => {
    clusters.update(next.clusters);
    tokens.update(next.tokens);
    metrics.setReplications(next.replications.length);
    status.invalidate();
    logger.info("configuration changed", { generation: configState.status.generation });
  });
  return {
    get config() {
      return configState.current;
    },
    configState,
    logger,
    metrics,
    tokens,
    clusters,
    runs,
    status,
    replica,
    home: secretClient,
    replication: (name) => findReplication(configState.current, name),
    add(runnable) {
      runnables.push(runnable);
      if (started) void runnable.start();
    },
    async start() {
      started = true;
      for (const runnable of runnables) await runnable.start();
    },
    agentPods() {
      const now = Date.now();
      if (agents && now - agents.at < readyCacheMs) return agents.answer;
      const answer = (async () => {
        const current = configState.current;
        const names = new Set(
          current.replications.filter((r) => r.pvc.enabled).flatMap((
            r,
          ) => [r.source.cluster, r.destination.cluster]),
        );
        const out = new Map<string, { ready: number; notReady: number }>();
        await Promise.all([...names].map(async (name) => {
          try {
            const pods = await listObjects<
              KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
            >(
              await clusters.get(name),
              PODS,
              current.agent.namespace,
              { labelSelector: AGENT_POD_SELECTOR },
            );
            const ready = pods.filter((p) =>
              p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
            )
              .length;
            out.set(name, { ready, notReady: pods.length - ready });
          } catch (error) {
            logger.debug("cannot count the agents' pods", { cluster: name, error });
          }
        }));
        return out;
      })();
      agents = { at: now, answer };
      return answer;
    },
    readiness() {
      if (runs.draining) return Promise.resolve({ ready: false, reason: "shutting down", clusters: {} });
      // however many requests arrive, the clusters are probed at most every readyCacheMs
      const now = Date.now();
      if (!probed || now - probed.at >= readyCacheMs) probed = { at: now, answer: probe() };
      return probed.answer;
    },
    get draining() {
      return runs.draining;
    },
    async drain(graceMs) {
      // no new runs from the schedules or the watchers; a staging in flight ends with the runs
      const before = Promise.all(runnables.filter((r) => !r.stopsAfterRuns).map((r) => r.stop()));
      await runs.drain(graceMs);
      await before;
      await Promise.all(runnables.filter((r) => r.stopsAfterRuns).map((r) => r.stop()));
    },
    async close() {
      await clusters.close();
      if (ownSecretClient) secretClient?.close();
    },
  };
}
