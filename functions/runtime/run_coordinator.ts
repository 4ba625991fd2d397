/**
 * Starts runs for the edges (HTTP triggers, schedule ticks, the watcher) and keeps track of them,
 * from three parts: admission here (`run_admission.ts`: in progress, drain, idempotency), the
 * records in the DR cluster (`run_records.ts`: claim, follow, keep, find) and the run itself
 * (`run_execution.ts`). A run is any operation of the registry, by name.
 *
 * - a second run of a replication while one is in progress is refused (409), here from what this
 *   replica runs and across replicas from the replication's Lease, unless the request waits for
 *   the lock;
 * - a drain refuses new runs, lets running ones finish for a grace period, then aborts them
 *   through the operations' `signal` (their lock is released with the run recorded as failed).
 */
import { delay } from "../../shared/async/delay.ts";
import {
  type AgentSettings,
  DEFAULT_MAX_CONCURRENT_RUNS,
  findReplication,
  type Replication,
} from "../../shared/config/mod.ts";
import { isUnreachable } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { RuntimeMetrics } from "../../shared/metrics/mod.ts";
import type { RunRecord } from "../../shared/runs/mod.ts";
import { operationNamed, type RunFunction } from "../operations/mod.ts";
import type { ClusterPool } from "./cluster_pool.ts";
import {
  checkRepeat,
  requestHash,
  RunAdmission,
  runIdOf,
  type RunOutcome,
  type RunRequest,
  RuntimeDrainingError,
  type StartedRun,
  untilSettled,
} from "./run_admission.ts";
import { executeRun, type PauseHook } from "./run_execution.ts";
import { RunRecords } from "./run_records.ts";
import { RunSlots } from "./run_slots.ts";

export * from "./run_admission.ts";
export type { PauseHook } from "./run_execution.ts";

export interface RunCoordinatorOptions {
  /** The configuration now (it may be replaced while the runtime runs). */
  readonly config: () => {
    readonly replications: readonly Replication[];
    readonly agent?: AgentSettings | undefined;
    /** `maxConcurrentRuns`: runs at once here (default `DEFAULT_MAX_CONCURRENT_RUNS`). */
    readonly runtime?: { readonly maxConcurrentRuns?: number | undefined } | undefined;
  };
  readonly clusters: ClusterPool;
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  /** The replication lock's lease (default 60 s). */
  readonly leaseSeconds?: number | undefined;
  /** Run records kept per replication (default 20). */
  readonly runsKept?: number | undefined;
  /** Finished runs this replica remembers in memory (dry runs are kept only there; default 200). */
  readonly remembered?: number | undefined;
  /** How often a repeat polls the record of a run another replica runs (default 500 ms). */
  readonly pollMs?: number | undefined;
  readonly now?: (() => Date) | undefined;
  /** This replica's name in run records (default: a random one). */
  readonly replica?: string | undefined;
  /** Replaces operations by name (tests, benchmarks). */
  readonly operations?: Readonly<Record<string, RunFunction>> | undefined;
}

const settled = (promises: Iterable<Promise<unknown>>) => Promise.allSettled([...promises]);

export class RunCoordinator {
  readonly #o: RunCoordinatorOptions;
  readonly #now: () => Date;
  readonly #admission: RunAdmission;
  readonly #records: RunRecords;
  readonly #stop = new AbortController();
  readonly #pauseHooks: PauseHook[] = [];
  readonly #settledListeners = new Set<(outcome: RunOutcome) => void>();
  readonly #followers = new Map<
    string,
    { readonly done: Promise<RunOutcome>; readonly stop: AbortController; waiters: number }
  >();
  readonly #replica: string;
  readonly #slots: RunSlots;

  constructor(options: RunCoordinatorOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#admission = new RunAdmission(options.remembered ?? 200);
    this.#records = new RunRecords({
      replications: () => options.config().replications,
      clusters: options.clusters,
      runsKept: options.runsKept,
      pollMs: options.pollMs,
      now: this.#now,
    });
    this.#replica = options.replica ?? `replica-${crypto.randomUUID().slice(0, 8)}`;
    this.#slots = new RunSlots(() =>
      options.config().runtime?.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS
    );
  }

  /** Runs holding one of the places for runs at once, and runs waiting for one. */
  get places(): { readonly busy: number; readonly waiting: number } {
    return { busy: this.#slots.busy, waiting: this.#slots.waiting };
  }

  /**
   * A place among the runs at once, for the runs that wait for one: every run but the watcher's (one at a
   * time per replication, and its latency is the point) and the operations that switch sides.
   */
  #slotFor(request: RunRequest, queued: boolean) {
    if (!queued || request.trigger === "watch") return undefined;
    return async (log: Logger) => {
      let waited = false;
      try {
        return await this.#slots.take(this.#stop.signal, (ahead) => {
          waited = true;
          this.#o.metrics.runQueued();
          log.info("run queued: every place for runs at once is taken", {
            maxConcurrentRuns: this.#slots.limit(),
            ahead,
          });
        });
      } finally {
        if (waited) this.#o.metrics.runDequeued();
      }
    };
  }

  /** Adds what pauses a replication's other work (the watcher) around the runs that ask for it. */
  addPauseHook(hook: PauseHook): void {
    this.#pauseHooks.push(hook);
  }

  /** Calls `listener` when a run that ran here has ended (its record kept); returns what removes it. */
  onRunSettled(listener: (outcome: RunOutcome) => void): () => void {
    this.#settledListeners.add(listener);
    return () => this.#settledListeners.delete(listener);
  }

  /** The replication lock's lease, in seconds. */
  get leaseSeconds(): number {
    return this.#o.leaseSeconds ?? 60;
  }

  get draining(): boolean {
    return this.#admission.draining;
  }

  /** The runs in progress on this replica. */
  get active(): readonly RunRecord[] {
    return this.#admission.active;
  }

  /** The runs of `replication` in progress on this replica. */
  activeFor(replication: string): readonly RunRecord[] {
    return this.#admission.activeFor(replication);
  }

  async #clientsOf(replication: Replication): Promise<{ source: KubeClient; dr: KubeClient }> {
    const [source, dr] = await Promise.all([
      this.#o.clusters.get(replication.source.cluster),
      this.#o.clusters.get(replication.destination.cluster),
    ]);
    return { source, dr };
  }

  /**
   * Starts a run, or finds the one this request repeats. Throws before anything is written when
   * the replication is unknown (404), a run of it is in progress (409) or the runtime drains.
   */
  async start(request: RunRequest): Promise<StartedRun> {
    this.#admission.checkOpen();
    const config = this.#o.config();
    const replication = findReplication(config, request.replication);
    const operation = operationNamed(request.operation);
    const hash = requestHash(operation, request);
    const runId = runIdOf(request);
    const known = this.#admission.known(runId);
    if (known) {
      checkRepeat(known, hash, request);
      return this.#admission.local(runId, true);
    }
    const options = request.options ?? {};
    const dryRun = options.dryRun === true;
    // the watcher's small runs keep no other run out: a run asked meanwhile waits for the one in flight
    // (a run that pauses the watcher waits for it there; the others wait for the lock it holds), and the
    // watcher's next one waits for this run (it is refused while this one is in progress, and tries again)
    const behindWatch = !dryRun && request.trigger !== "watch" &&
      this.#admission.watchRunsOnly(replication.name);
    const waitForLockMs = Math.max(
      request.waitForLockMs ?? 0,
      behindWatch ? (this.leaseSeconds + 5) * 1000 : 0,
    );
    const record: RunRecord = {
      runId,
      replication: replication.name,
      operation: operation.name,
      trigger: request.trigger,
      replica: this.#replica,
      dryRun,
      status: "running",
      startedAt: this.#now().toISOString(),
      requestHash: hash,
    };
    const reservation = this.#admission.reserve(record, waitForLockMs);
    let clients: { source: KubeClient; dr: KubeClient };
    let stored = false;
    try {
      clients = await this.#clientsOf(replication);
      if (!dryRun && (request.record ?? true)) {
        try {
          const claimed = await this.#records.claim(clients.dr, replication, record, {
            createsNamespace: operation.createsDestNamespace,
            waitsForLock: (request.waitForLockMs ?? 0) > 0,
            // behind a watch run: its lock is waited for; any other holder refuses the run as before
            waitsForHolder: behindWatch
              ? (holder: string) => this.#admission.known(holder)?.trigger === "watch"
              : undefined,
          });
          if ("existing" in claimed) {
            const remote = this.#follow(clients.dr, replication.destination.namespace, claimed.existing);
            // requests that joined this one meanwhile follow the same run, each while it waits
            reservation.forward(remote);
            checkRepeat(claimed.existing, hash, request);
            return remote;
          }
          stored = claimed.stored;
        } catch (error) {
          // an operation that expects DR to be down runs without a record there
          if (!(operation.toleratesDrUnavailable(options) && isUnreachable(error))) throw error;
          this.#o.logger.warn("DR is unreachable: the run's record is kept on this replica only", { runId });
        }
      }
    } catch (error) {
      reservation.cancel();
      reservation.resolve({ record: { ...record, status: "failed" }, error });
      throw error;
    }

    this.#o.metrics.runStarted();
    const log = this.#o.logger.child({ runId, replication: replication.name, operation: operation.name });
    const run = this.#o.operations?.[operation.name] ?? ((deps, spec, o) => operation.run(deps, spec, o));
    void executeRun(
      {
        logger: this.#o.logger,
        metrics: this.#o.metrics,
        now: this.#now,
        agent: config.agent,
        leaseSeconds: this.#o.leaseSeconds,
        signal: this.#stop.signal,
        pauseHooks: this.#pauseHooks,
        slot: this.#slotFor(request, operation.queued),
      },
      operation,
      run,
      replication,
      { ...request, waitForLockMs },
      record,
      clients,
    ).then(async (outcome) => {
      if (stored) {
        await this.#records.keep(
          clients.dr,
          replication,
          outcome,
          request.idempotencyKey !== undefined || request.runId !== undefined,
          log,
        );
      }
      reservation.settle(outcome);
      this.#o.metrics.runSettled();
      for (const listener of this.#settledListeners) {
        try {
          listener(outcome);
        } catch (error) {
          this.#o.logger.warn("a run listener failed", { error });
        }
      }
    });
    return this.#admission.local(runId, false);
  }

  /**
   * A run another replica runs, followed through its record: one poller per run however many
   * requests wait for it, stopped when the last of them stops waiting.
   */
  #follow(dr: KubeClient, namespace: string, first: RunRecord): StartedRun {
    const followers = this.#followers;
    const records = this.#records;
    return {
      runId: first.runId,
      repeated: true,
      async finished(signal) {
        let follower = followers.get(first.runId);
        if (!follower) {
          const stop = new AbortController();
          const done = records.follow(dr, namespace, first).finished(stop.signal);
          done.catch(() => {}); // a poll stopped with nobody waiting
          follower = { done, stop, waiters: 0 };
          followers.set(first.runId, follower);
          const ended = follower;
          done.finally(() => followers.get(first.runId) === ended && followers.delete(first.runId))
            .catch(() => {});
        }
        follower.waiters++;
        try {
          return await untilSettled(follower.done, signal);
        } finally {
          if (--follower.waiters === 0) {
            follower.stop.abort();
            if (followers.get(first.runId) === follower) followers.delete(first.runId);
          }
        }
      },
    };
  }

  /** Runs of other replicas followed here now (a poller each). */
  get followed(): number {
    return this.#followers.size;
  }

  /**
   * The record of `runId`: from this replica's memory, else from the DR namespaces of the
   * configured replications.
   */
  async find(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    return this.#admission.known(runId) ?? await this.#records.find(runId, signal);
  }

  /** The last records of a replication in its DR namespace, newest first, without reports. */
  history(replication: Replication, signal?: AbortSignal) {
    return this.#records.history(replication, signal);
  }

  /**
   * Stops starting runs, waits up to `graceMs` for the running ones, then aborts the rest through
   * their signal and waits for them to stop (they release their locks on the way out).
   */
  async drain(graceMs: number): Promise<void> {
    this.#admission.close();
    const grace = new AbortController();
    await Promise.race([
      settled(this.#admission.running()),
      delay(graceMs, { signal: grace.signal }).catch(() => {}),
    ]);
    grace.abort();
    if (this.#admission.active.length > 0) {
      this.#o.logger.warn("stopping the runs still in progress", { runs: this.#admission.active.length });
      this.#stop.abort(
        new RuntimeDrainingError("The runtime shut down during the run, which stopped writing: run it again"),
      );
      await settled(this.#admission.running());
    }
  }
}
