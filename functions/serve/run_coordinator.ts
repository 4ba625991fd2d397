/**
 * Starts runs for the edges (HTTP triggers, schedule ticks, the watcher) and keeps track of them:
 *
 * - a run's record is created in the replication's DR namespace before it starts, and written
 *   again with its report when it ends (`shared/runs/`), so any replica can answer for it;
 * - a run id derived from an Idempotency-Key (or a tick) is owned by the replica that created its
 *   record first: a repeat, here or on another replica, gets the same run instead of a new one;
 * - a second run of a replication while one is in progress is refused (409), here from what this
 *   replica runs and across replicas from the replication's Lease, unless the request waits for
 *   the lock;
 * - a drain refuses new runs, lets running ones finish for a grace period, then aborts them
 *   through the operations' `signal` (their lock is released with the run recorded as failed).
 */
import { createHash } from "node:crypto";
import { delay } from "../../shared/async/delay.ts";
import {
  type AgentSettings,
  findReplication,
  type Replication,
  replicationSpecFromConfig,
} from "../../shared/config/mod.ts";
import { errorMessage, errorOutcome, RefusedError } from "../../shared/errors.ts";
import { isUnreachable } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { type KubeObject, LEASES } from "../../shared/kube/types.ts";
import { getObject } from "../../shared/kube/verbs.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { RuntimeMetrics } from "../../shared/metrics/mod.ts";
import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { derivedRunId, type RunRecord, RunRecordStore, type RunTrigger } from "../../shared/runs/mod.ts";
import { LEASE_NAME, LockHeldError } from "../../shared/state/mod.ts";
import { createDestNamespaceIfMissing } from "../../shared/sync/dest_namespace.ts";
import type { OperationDeps } from "../operation_deps.ts";
import type { ClusterPool } from "./cluster_pool.ts";
import {
  type OperationFunction,
  type OperationName,
  type OperationRequest,
  OPERATIONS,
} from "./run_operation_request.ts";

export interface RunRequest extends OperationRequest {
  readonly replication: string;
  readonly operation: OperationName;
  readonly trigger: RunTrigger;
  /** Wait this long for a lock held by another run instead of answering 409 (default 0). */
  readonly waitForLockMs?: number | undefined;
  /** The same key (for the same replication and operation) gives the same run, on every replica. */
  readonly idempotencyKey?: string | undefined;
  /** A run id fixed by the caller (a schedule tick derives one from its time). */
  readonly runId?: string | undefined;
  /** Keep the run's record in the DR cluster (default true; the watcher's small runs keep none). */
  readonly record?: boolean | undefined;
  /** Narrows the replication for this run (the watcher stages only the types that changed). */
  readonly spec?: Partial<Pick<ReplicationSpec, "resourceTypes" | "includeCustomResources">> | undefined;
}

/**
 * Called before a cutover or failback runs here (not a dry run); what it returns is called when
 * the run has ended. The watcher pauses its replication with it: a cutover waits for the watcher
 * to stop before it touches anything.
 */
export type PauseHook = (replication: string, operation: OperationName) => Promise<() => void>;

/** How a run ended: its record, and the error itself when it ended on this replica with one. */
export interface RunOutcome {
  readonly record: RunRecord;
  readonly error?: unknown;
}

export interface StartedRun {
  readonly runId: string;
  /** True when an earlier request (here or on another replica) started this run. */
  readonly repeated: boolean;
  /** Settles when the run has finished; rejects with `signal`'s reason when that comes first. */
  finished(signal?: AbortSignal): Promise<RunOutcome>;
}

/** A run of the replication is in progress on this replica. */
export class RunInProgressError extends RefusedError {
  override readonly name = "RunInProgressError";
  constructor(readonly replication: string, readonly runId: string) {
    super(
      `Replication "${replication}" has a run in progress ("${runId}"); try again when it has finished, or ask to wait for the lock`,
    );
  }
}

/** The runtime is shutting down: it starts no new run, and stops the ones still running after the grace period. */
export class RuntimeDrainingError extends RefusedError {
  override readonly name = "RuntimeDrainingError";
}

/** An Idempotency-Key used again with a different request. */
export class IdempotencyKeyReusedError extends RefusedError {
  override readonly name = "IdempotencyKeyReusedError";
}

export interface RunCoordinatorOptions {
  readonly config: {
    readonly replications: readonly Replication[];
    readonly agent?: AgentSettings | undefined;
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
  /** Replaces operations (tests, benchmarks). */
  readonly operations?: Partial<Record<OperationName, OperationFunction>> | undefined;
}

interface ActiveRun {
  readonly record: RunRecord;
  readonly done: Promise<RunOutcome>;
}

const settled = (promises: Iterable<Promise<unknown>>) => Promise.allSettled([...promises]);

function requestHash(request: RunRequest): string {
  const fields = {
    replication: request.replication,
    operation: request.operation,
    dryRun: request.dryRun ?? false,
    prune: request.prune ?? null,
    force: request.force ?? false,
    allowSourceUnavailable: request.allowSourceUnavailable ?? false,
    acceptStale: request.acceptStale ?? false,
    useDrCounts: request.useDrCounts ?? false,
    allowDrUnavailable: request.allowDrUnavailable ?? false,
  };
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex").slice(0, 32);
}

/**
 * Who holds a replication's lock, as one read sees it. Like the lock itself, this never compares
 * the holder's timestamps with this machine's clock: a Lease with a holder is held (a crashed
 * holder's lock is taken by a request that waits for it).
 */
async function lockHolder(
  dr: KubeClient,
  namespace: string,
  now: Date,
): Promise<{ holder: string; expiresAt: string; leaseSeconds: number } | undefined> {
  const lease = await getObject<
    KubeObject & { spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number } }
  >(dr, LEASES, namespace, LEASE_NAME);
  const holder = lease?.spec?.holderIdentity;
  if (!holder) return undefined;
  const leaseSeconds = lease.spec?.leaseDurationSeconds ?? 60;
  return { holder, leaseSeconds, expiresAt: new Date(now.getTime() + leaseSeconds * 1000).toISOString() };
}

export class RunCoordinator {
  readonly #o: RunCoordinatorOptions;
  readonly #now: () => Date;
  readonly #operations: Readonly<Record<OperationName, OperationFunction>>;
  readonly #active = new Map<string, ActiveRun>();
  readonly #recent = new Map<string, RunOutcome>();
  /** Non-dry runs in progress here, by replication. */
  readonly #byReplication = new Map<string, Set<string>>();
  readonly #stop = new AbortController();
  #draining = false;
  #pause: PauseHook | undefined;
  readonly #replica: string;

  constructor(options: RunCoordinatorOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#operations = { ...OPERATIONS, ...options.operations };
    this.#replica = options.replica ?? `replica-${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Sets what pauses a replication's other work (the watcher) around a cutover or failback. */
  setPauseHook(hook: PauseHook): void {
    this.#pause = hook;
  }

  /** The replication lock's lease, in seconds. */
  get leaseSeconds(): number {
    return this.#o.leaseSeconds ?? 60;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** The runs in progress on this replica. */
  get active(): readonly RunRecord[] {
    return [...this.#active.values()].map((a) => a.record);
  }

  /** The runs of `replication` in progress on this replica. */
  activeFor(replication: string): readonly RunRecord[] {
    return this.active.filter((r) => r.replication === replication);
  }

  #store(dr: KubeClient): RunRecordStore {
    return new RunRecordStore(dr, { keep: this.#o.runsKept ?? 20 });
  }

  async #clientsOf(replication: Replication): Promise<{ source: KubeClient; dr: KubeClient }> {
    const [source, dr] = await Promise.all([
      this.#o.clusters.get(replication.source.cluster),
      this.#o.clusters.get(replication.destination.cluster),
    ]);
    return { source, dr };
  }

  #remember(outcome: RunOutcome): void {
    this.#recent.delete(outcome.record.runId);
    this.#recent.set(outcome.record.runId, outcome);
    const max = this.#o.remembered ?? 200;
    for (const id of this.#recent.keys()) {
      if (this.#recent.size <= max) break;
      this.#recent.delete(id);
    }
  }

  /**
   * Starts a run, or finds the one this request repeats. Throws before anything is written when
   * the replication is unknown (404), a run of it is in progress (409) or the runtime drains.
   */
  async start(request: RunRequest): Promise<StartedRun> {
    if (this.#draining) {
      throw new RuntimeDrainingError(
        "The runtime is shutting down and starts no new run: send it to another replica",
      );
    }
    const replication = findReplication(this.#o.config, request.replication);
    const hash = requestHash(request);
    const runId = request.runId ??
      (request.idempotencyKey !== undefined
        ? derivedRunId("idempotency-key", replication.name, request.operation, request.idempotencyKey)
        : crypto.randomUUID());
    const known = this.#active.get(runId)?.record ?? this.#recent.get(runId)?.record;
    if (known) {
      this.#checkRepeat(known, hash, request);
      return this.#local(runId, true);
    }
    const dryRun = request.dryRun ?? false;
    const waitForLockMs = request.waitForLockMs ?? 0;
    const running = this.#byReplication.get(replication.name);
    if (!dryRun && running && running.size > 0 && waitForLockMs === 0) {
      throw new RunInProgressError(replication.name, [...running][0]!);
    }
    const record: RunRecord = {
      runId,
      replication: replication.name,
      operation: request.operation,
      trigger: request.trigger,
      replica: this.#replica,
      dryRun,
      status: "running",
      startedAt: this.#now().toISOString(),
      requestHash: hash,
    };
    // reserved before the first await: two requests racing here end with one run
    let release!: (outcome: RunOutcome) => void;
    const done = new Promise<RunOutcome>((resolve) => release = resolve);
    this.#active.set(runId, { record, done });
    if (!dryRun) this.#byReplication.set(replication.name, (running ?? new Set()).add(runId));
    const unreserve = () => {
      this.#active.delete(runId);
      this.#byReplication.get(replication.name)?.delete(runId);
    };

    let clients: { source: KubeClient; dr: KubeClient };
    let stored = false;
    const namespace = replication.destination.namespace;
    try {
      clients = await this.#clientsOf(replication);
      if (!dryRun && (request.record ?? true)) {
        try {
          const claimed = await this.#claim(clients.dr, replication, record, request);
          if ("existing" in claimed) {
            unreserve();
            const remote = this.#remote(clients.dr, namespace, claimed.existing);
            // requests that joined this one meanwhile follow the same run (for an hour at most)
            remote.finished(AbortSignal.timeout(3_600_000)).then(
              release,
              (error) => release({ record: claimed.existing, error }),
            );
            this.#checkRepeat(claimed.existing, hash, request);
            return remote;
          }
          stored = claimed.stored;
        } catch (error) {
          // a failback that expects DR to be down runs without a record there
          if (!(request.allowDrUnavailable && isUnreachable(error))) throw error;
          this.#o.logger.warn("DR is unreachable: the run's record is kept on this replica only", { runId });
        }
      }
    } catch (error) {
      unreserve();
      release({ record: { ...record, status: "failed" }, error });
      throw error;
    }

    this.#o.metrics.runStarted();
    const run = this.#run(replication, request, record, clients, stored)
      .then((outcome) => {
        unreserve();
        this.#remember(outcome);
        this.#o.metrics.runSettled();
        release(outcome);
      });
    void run;
    return this.#local(runId, false);
  }

  /**
   * Creates the run's record in the DR namespace (stage creates a missing namespace first) and
   * checks the replication's lock; finds the record when another request created it first.
   */
  async #claim(
    dr: KubeClient,
    replication: Replication,
    record: RunRecord,
    request: RunRequest,
  ): Promise<{ stored: boolean } | { existing: RunRecord }> {
    const namespace = replication.destination.namespace;
    const store = this.#store(dr);
    let created = await store.create(namespace, record);
    if ("namespaceMissing" in created && request.operation === "stage") {
      await createDestNamespaceIfMissing(dr, namespace); // stage creates it anyway
      created = await store.create(namespace, record);
    }
    if ("existing" in created) return { existing: created.existing };
    const stored = created.created;
    if ((request.waitForLockMs ?? 0) === 0) {
      const lock = await lockHolder(dr, namespace, this.#now());
      if (lock !== undefined && lock.holder !== record.runId) {
        if (stored) await store.delete(namespace, record.runId);
        throw new LockHeldError(replication.name, lock.holder, lock.expiresAt, lock.leaseSeconds);
      }
    }
    return { stored };
  }

  #checkRepeat(existing: RunRecord, hash: string, request: RunRequest): void {
    if (
      request.idempotencyKey !== undefined && existing.requestHash !== undefined &&
      existing.requestHash !== hash
    ) {
      throw new IdempotencyKeyReusedError(
        `Idempotency-Key "${request.idempotencyKey}" was used for run "${existing.runId}" with a different request: use a new key`,
      );
    }
  }

  /** A run this replica runs or remembers. */
  #local(runId: string, repeated: boolean): StartedRun {
    const done = this.#active.get(runId)?.done ?? Promise.resolve(this.#recent.get(runId)!);
    return {
      runId,
      repeated,
      finished(signal) {
        if (!signal) return done;
        return new Promise<RunOutcome>((resolve, reject) => {
          if (signal.aborted) return reject(signal.reason);
          const abort = () => reject(signal.reason);
          signal.addEventListener("abort", abort, { once: true });
          done.then((o) => {
            signal.removeEventListener("abort", abort);
            resolve(o);
          });
        });
      },
    };
  }

  /** A run another request started (maybe on another replica): followed through its record. */
  #remote(dr: KubeClient, namespace: string, first: RunRecord): StartedRun {
    const store = this.#store(dr);
    const pollMs = this.#o.pollMs ?? 500;
    return {
      runId: first.runId,
      repeated: true,
      async finished(signal) {
        let record = first;
        while (record.status === "running") {
          await delay(pollMs, { signal });
          record = (await store.get(namespace, first.runId, signal)) ?? record;
        }
        return { record };
      },
    };
  }

  async #run(
    replication: Replication,
    request: RunRequest,
    record: RunRecord,
    clients: { source: KubeClient; dr: KubeClient },
    stored: boolean,
  ): Promise<RunOutcome> {
    const started = this.#now();
    const log = this.#o.logger.child({
      runId: record.runId,
      replication: replication.name,
      operation: request.operation,
      trigger: request.trigger,
    });
    const leaseSeconds = this.#o.leaseSeconds;
    const deps: OperationDeps = {
      source: clients.source,
      dr: clients.dr,
      logger: log,
      runId: record.runId,
      now: this.#now,
      signal: this.#stop.signal,
      lock: {
        ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
        ...(request.waitForLockMs ? { waitMs: request.waitForLockMs } : {}),
      },
    };
    log.info("run started", { dryRun: record.dryRun });
    let outcome: RunOutcome;
    const pauses = !record.dryRun && (request.operation === "cutover" || request.operation === "failback");
    let resume = () => {};
    try {
      if (pauses && this.#pause) resume = await this.#pause(replication.name, request.operation);
      const report: RunReport = await this.#operations[request.operation](
        deps,
        { ...replicationSpecFromConfig(replication, this.#o.config.agent), ...request.spec },
        request,
      );
      outcome = {
        record: {
          ...record,
          status: report.status,
          finishedAt: report.finishedAt,
          httpStatus: 200,
          report,
        },
      };
      this.#o.metrics.runFinished(report, request.trigger);
      log.info("run finished", { status: report.status, durationMs: report.durationMs, ...report.counts });
    } catch (error) {
      const { httpStatus, code } = errorOutcome(error);
      const finishedAt = this.#now();
      outcome = {
        record: {
          ...record,
          status: "failed",
          finishedAt: finishedAt.toISOString(),
          httpStatus,
          error: { message: errorMessage(error), code },
        },
        error,
      };
      this.#o.metrics.runErrored(
        request.operation,
        code,
        request.trigger,
        finishedAt.getTime() - started.getTime(),
      );
      log[httpStatus >= 500 ? "error" : "warn"]("run stopped", { code, error });
    } finally {
      resume();
    }
    if (stored) await this.#keep(clients.dr, replication, request, outcome, log);
    return outcome;
  }

  /** Writes the finished record (a run refused for a held lock never ran: its key may be used again). */
  async #keep(
    dr: KubeClient,
    replication: Replication,
    request: RunRequest,
    outcome: RunOutcome,
    log: Logger,
  ) {
    const store = this.#store(dr);
    const namespace = replication.destination.namespace;
    try {
      if (outcome.error instanceof LockHeldError && (request.idempotencyKey !== undefined || request.runId)) {
        await store.delete(namespace, outcome.record.runId);
        return;
      }
      await store.save(namespace, outcome.record);
      const pruned = await store.prune(namespace, replication.name);
      if (pruned > 0) log.debug("old run records deleted", { pruned });
    } catch (error) {
      log.warn("could not keep the run's record in the DR cluster", { error });
    }
  }

  /**
   * The record of `runId`: from this replica's memory, else from the DR namespaces of the
   * configured replications (one GET each, side by side).
   */
  async find(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    const local = this.#active.get(runId)?.record ?? this.#recent.get(runId)?.record;
    if (local) return local;
    const found = await Promise.all(this.#o.config.replications.map(async (replication) => {
      const dr = await this.#o.clusters.get(replication.destination.cluster);
      const record = await this.#store(dr).get(replication.destination.namespace, runId, signal);
      return record?.replication === replication.name ? record : undefined;
    }));
    return found.find((r) => r !== undefined);
  }

  /** The last records of a replication in its DR namespace, newest first, without reports. */
  async history(replication: Replication, signal?: AbortSignal) {
    const dr = await this.#o.clusters.get(replication.destination.cluster);
    return await this.#store(dr).list(replication.destination.namespace, replication.name, signal);
  }

  /**
   * Stops starting runs, waits up to `graceMs` for the running ones, then aborts the rest through
   * their signal and waits for them to stop (they release their locks on the way out).
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const running = () => [...this.#active.values()].map((a) => a.done);
    const grace = new AbortController();
    await Promise.race([settled(running()), delay(graceMs, { signal: grace.signal }).catch(() => {})]);
    grace.abort();
    if (this.#active.size > 0) {
      this.#o.logger.warn("stopping the runs still in progress", { runs: this.#active.size });
      this.#stop.abort(
        new RuntimeDrainingError("The runtime shut down during the run, which stopped writing: run it again"),
      );
      await settled(running());
    }
  }
}
