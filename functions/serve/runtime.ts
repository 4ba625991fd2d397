/**
 * The runtime that `serve`, the HTTP app, the schedules and the watcher share: the config, the
 * cluster clients, the API tokens, the run coordinator, the status reader and the metrics. Built
 * once per process from a parsed config; the edge hands in the environment.
 */
import { type Config, findReplication, type Replication } from "../../shared/config/mod.ts";
import { TokenVerifier } from "../../shared/credentials/mod.ts";
import type { KubeClient } from "../../shared/kube/mod.ts";
import type { Logger } from "../../shared/log/mod.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "../../shared/metrics/mod.ts";
import { ClusterPool } from "./cluster_pool.ts";
import { RunCoordinator, type RunCoordinatorOptions } from "./run_coordinator.ts";
import { StatusReader } from "./replication_status.ts";
import { secretClientFromEnv } from "./secret_client_from_env.ts";
import { WatchManager } from "../watch/watch_manager.ts";

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
  /** Continuous mode: how long changes are gathered before they are staged (default 100 ms). */
  readonly watchDebounceMs?: number | undefined;
  /** Continuous mode: the watch Lease's duration (default 15 s). */
  readonly watchLeaseSeconds?: number | undefined;
}

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  readonly tokens: TokenVerifier;
  readonly clusters: ClusterPool;
  readonly runs: RunCoordinator;
  readonly status: StatusReader;
  /** The watchers of the continuous replications (started by `serve`). */
  readonly watches: WatchManager;
  /** The configured replication `name` (`ReplicationNotFoundError`, a 404, when there is none). */
  replication(name: string): Replication;
  readonly draining: boolean;
  /** The watchers stop; no new runs; running ones get `graceMs` to finish, then stop cleanly. */
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
  const runs = new RunCoordinator({
    config,
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
    replications: config.replications,
    clusters,
    runs,
    ttlMs: options.statusTtlMs,
    now: options.now,
    watchState: (name) => watches.states[name],
  });
  const watches = new WatchManager({
    replications: config.replications,
    runs,
    clusters,
    metrics,
    logger,
    holder: `${replica}-${crypto.randomUUID().slice(0, 8)}`,
    debounceMs: options.watchDebounceMs,
    leaseSeconds: options.watchLeaseSeconds,
  });
  return {
    config,
    logger,
    metrics,
    tokens,
    clusters,
    runs,
    status,
    watches,
    replication: (name) => findReplication(config, name),
    get draining() {
      return runs.draining;
    },
    async drain(graceMs) {
      const watching = watches.stop(); // no new staging; one in flight ends with the runs
      await runs.drain(graceMs);
      await watching;
    },
    async close() {
      await clusters.close();
      if (ownSecretClient) secretClient?.close();
    },
  };
}
