/**
 * What the runtime says about a replication (`GET /v1/replications/{name}`, the page, the
 * metrics): its configuration, the state from its Lease, its last runs from their records, the
 * runs in progress here, the next scheduled run and the RPO. Read from the DR cluster and kept
 * for a few seconds, so a page refresh or a scrape does not read every Lease again.
 */
import type { Replication } from "../../shared/config/mod.ts";
import { errorMessage } from "../../shared/errors.ts";
import { replicationRpo, type Rpo, type RunRecordSummary, scheduleTimes } from "../../shared/runs/mod.ts";
import { type LockView, readReplicationLease, type ReplicationState } from "../../shared/state/mod.ts";
import type { ClusterPool } from "./cluster_pool.ts";
import type { RunCoordinator } from "./run_coordinator.ts";

export interface ReplicationStatus {
  readonly name: string;
  readonly mode: Replication["mode"];
  readonly schedule: string | null;
  readonly source: { readonly cluster: string; readonly namespace: string };
  readonly destination: { readonly cluster: string; readonly namespace: string };
  /** `null` when the state could not be read (see `error`). */
  readonly activeSide: ReplicationState["activeSide"] | null;
  readonly progress: ReplicationState["progress"] | null;
  readonly lastSuccess: ReplicationState["lastSuccess"];
  /** The newest run records, newest first (without reports: `GET /v1/runs/{id}` has them). */
  readonly lastRuns: readonly RunRecordSummary[];
  /** Runs in progress on this replica. */
  readonly running: readonly {
    readonly runId: string;
    readonly operation: string;
    readonly startedAt: string;
  }[];
  /** The next scheduled run (`null`: none, or the schedule is paused). */
  readonly nextRun: string | null;
  /** Why the schedule's runs are skipped now (cut over: the source does not serve, nothing to copy). */
  readonly paused?: string;
  readonly rpo: Rpo;
  /** Continuous mode: what this replica's watcher does (`watching`, `standby` when another replica owns the watch...). */
  readonly watch?: string;
  /** The replication's lock, when a run holds it (as the Lease shows it). */
  readonly lock?: LockView;
  /** Why part of the status could not be read (the DR cluster is unreachable...). */
  readonly error?: string;
}

/** The safety-net full stage of a continuous replication without a schedule (and its RPO interval). */
export const CONTINUOUS_DEFAULT_INTERVAL_MS = 10 * 60_000;

export interface StatusReaderOptions {
  /** The replications now (the configuration may change while the runtime runs). */
  readonly replications: () => readonly Replication[];
  readonly clusters: ClusterPool;
  readonly runs: RunCoordinator;
  /** How long a status is reused (default 5 s). */
  readonly ttlMs?: number | undefined;
  /** Run records shown per replication (default 10). */
  readonly lastRuns?: number | undefined;
  readonly now?: (() => Date) | undefined;
}

/**
 * Why a replication's scheduled runs pause in `state`: while it is cut over (a stage would be
 * refused: it would scale the live DR side to zero) or while a cutover or failback is unfinished.
 */
export function schedulePause(state: ReplicationState | undefined): string | undefined {
  if (state?.progress) return `a ${state.progress.operation} is unfinished: run it again to finish it`;
  if (state?.activeSide === "dr") return "cut over: DR serves; failback resumes the schedule";
  return undefined;
}

export class StatusReader {
  readonly #o: StatusReaderOptions;
  readonly #cache = new Map<string, { at: number; status: Promise<ReplicationStatus> }>();
  #watchState: ((replication: string) => string | undefined) | undefined;

  constructor(options: StatusReaderOptions) {
    this.#o = options;
  }

  /** Sets where the state of this replica's watcher of a continuous replication is read. */
  setWatchState(watchState: (replication: string) => string | undefined): void {
    this.#watchState = watchState;
  }

  /** The status of every configured replication, in config order. */
  all(): Promise<ReplicationStatus[]> {
    return Promise.all(this.#o.replications().map((r) => this.of(r)));
  }

  /** Forgets cached statuses (after a run ended, say). */
  invalidate(name?: string): void {
    if (name === undefined) this.#cache.clear();
    else this.#cache.delete(name);
  }

  of(replication: Replication): Promise<ReplicationStatus> {
    const now = Date.now();
    const cached = this.#cache.get(replication.name);
    const fresh = cached && now - cached.at < (this.#o.ttlMs ?? 5_000);
    // a run in progress here changes the answer: read again while one runs
    if (fresh && this.#o.runs.activeFor(replication.name).length === 0) return cached.status;
    const status = this.#read(replication);
    this.#cache.set(replication.name, { at: now, status });
    return status;
  }

  async #read(replication: Replication): Promise<ReplicationStatus> {
    const now = (this.#o.now ?? (() => new Date()))();
    const namespace = replication.destination.namespace;
    let state: ReplicationState | undefined;
    let lock: LockView | undefined;
    let lastRuns: RunRecordSummary[] = [];
    let error: string | undefined;
    try {
      const dr = await this.#o.clusters.get(replication.destination.cluster);
      let lease;
      [lease, lastRuns] = await Promise.all([
        readReplicationLease(dr, namespace),
        this.#o.runs.history(replication),
      ]);
      state = lease.state;
      lock = lease.lock;
    } catch (e) {
      error = errorMessage(e);
    }
    const schedule = replication.schedule ?? null;
    const paused = schedulePause(state);
    const times = schedule ? scheduleTimes(schedule, now) : undefined;
    const intervalMs = replication.mode === "manual"
      ? undefined
      : times?.intervalMs ?? (replication.mode === "continuous" ? CONTINUOUS_DEFAULT_INTERVAL_MS : undefined);
    const rpo = replicationRpo({
      lastGoodSync: state?.lastSuccess.stage,
      intervalMs,
      cutOver: state?.activeSide === "dr",
    }, now);
    return {
      name: replication.name,
      mode: replication.mode,
      schedule,
      source: replication.source,
      destination: replication.destination,
      activeSide: state?.activeSide ?? null,
      progress: state?.progress ?? null,
      lastSuccess: state?.lastSuccess ?? {},
      lastRuns: lastRuns.slice(0, this.#o.lastRuns ?? 10),
      running: this.#o.runs.activeFor(replication.name).map((r) => ({
        runId: r.runId,
        operation: r.operation,
        startedAt: r.startedAt,
      })),
      nextRun: replication.mode === "manual" || paused !== undefined
        ? null
        : times?.next?.toISOString() ?? null,
      ...(paused !== undefined && replication.mode !== "manual" ? { paused } : {}),
      rpo,
      ...(replication.mode === "continuous" ? { watch: this.#watchState?.(replication.name) ?? "off" } : {}),
      ...(lock !== undefined ? { lock } : {}),
      ...(error !== undefined ? { error } : {}),
    };
  }
}
