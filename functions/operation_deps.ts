import { RefusedError } from "../shared/errors.ts";
import type { KubeClient } from "../shared/kube/kube_client.ts";
import type { RetryOptions } from "../shared/kube/retry.ts";
import type { Logger } from "../shared/log/logger.ts";
import { buildRunReport, type RunReport } from "../shared/run_report.ts";
import type { SyncProgress } from "../shared/sync/prepare_sync.ts";

/** What every operation is handed: both clusters and the edge's services. */
export interface OperationDeps {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Identifies the run in the lock and the state (default: a random UUID). */
  readonly runId?: string;
  readonly onProgress?: (progress: SyncProgress) => void;
  readonly lock?: { readonly leaseSeconds?: number; readonly waitMs?: number };
  readonly retry?: RetryOptions;
  /** Writes in flight at once (default 16). */
  readonly concurrency?: number;
  /** Called after each step of cutover and failback; a throw here stands for a crash at that point. */
  readonly afterStep?: (step: string) => void | Promise<void>;
  /** The edge's stop (a shutdown): no new write is sent once it is aborted. */
  readonly signal?: AbortSignal | undefined;
}

/** The deps with their defaults filled in, once per run. */
export interface RunDeps extends OperationDeps {
  readonly now: () => Date;
  readonly runId: string;
}

export function runDeps(deps: OperationDeps): RunDeps {
  const listener = deps.onProgress;
  return {
    ...deps,
    now: deps.now ?? (() => new Date()),
    runId: deps.runId ?? crypto.randomUUID(),
    // progress is news, not control: a listener that throws never breaks the run
    ...(listener
      ? {
        onProgress: (progress: SyncProgress) => {
          try {
            listener(progress);
          } catch (error) {
            deps.logger.warn("a progress listener failed", { error });
          }
        },
      }
      : {}),
  };
}

/** The signal a run's writes obey: the lock's, and the edge's stop when there is one. */
export function runSignal(deps: OperationDeps, lockSignal: AbortSignal): AbortSignal {
  return deps.signal ? AbortSignal.any([lockSignal, deps.signal]) : lockSignal;
}

/** The operation cannot run as asked in the replication's current state. */
export class OperationRefusedError extends RefusedError {
  override readonly name = "OperationRefusedError";
}

/** The report of a cutover or failback that finished before: it succeeds, and nothing is written. */
export function nothingToDo(
  runId: string,
  replication: string,
  startedAt: Date,
  finishedAt: Date,
  dryRun: boolean | undefined,
  detail: string,
  operation: "cutover" | "failback" = "cutover",
): RunReport {
  return buildRunReport({
    runId,
    operation,
    replication,
    dryRun: dryRun ?? false,
    startedAt,
    finishedAt,
    objects: [],
    steps: [{ step: operation, status: "skipped", detail }],
    activeSide: operation === "cutover" ? "dr" : "source",
  });
}

/** Throws the refusal a pure check returned, if any. */
export function refuseIf(message: string | undefined): void {
  if (message !== undefined) throw new OperationRefusedError(message);
}
