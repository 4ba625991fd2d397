import type { RunReport, StepResult } from "../shared/sync/contracts.ts";
import { readReplicationState, type ReplicationState } from "../shared/sync/replication_lock.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import { buildRunReport } from "../shared/sync/run_report.ts";
import {
  applySync,
  type CheckedSync,
  checkSync,
  createDestNamespaceIfMissing,
  ensureDestNamespace,
  type PreparedSync,
  prepareSync,
} from "../shared/sync/sync_namespace.ts";
import { type OperationDeps, OperationRefusedError } from "./operation_deps.ts";
import { runLocked } from "./run_locked.ts";

export interface StageRequest {
  readonly replication: ReplicationSpec;
  /** Plan and report, write nothing. */
  readonly dryRun?: boolean;
  /** Overrides the replication's prune setting. */
  readonly prune?: boolean;
  /** Stage even while the replication is cut over (it would scale the live DR side to zero). */
  readonly force?: boolean;
}

function refuseWhenCutOver(spec: ReplicationSpec, state: ReplicationState, force: boolean | undefined): void {
  if (force) return;
  if (state.activeSide === "dr") {
    throw new OperationRefusedError(
      `Replication "${spec.name}" is cut over to DR: staging would scale the live side to zero; run failback first`,
    );
  }
  if (state.progress) {
    throw new OperationRefusedError(
      `Replication "${spec.name}" has an unfinished ${state.progress.operation} (done: ${
        state.progress.steps.join(", ") || "nothing"
      }): run ${state.progress.operation} again to finish it`,
    );
  }
}

function refuseOverCutoverRecords(
  spec: ReplicationSpec,
  prepared: PreparedSync,
  force: boolean | undefined,
): void {
  if (force || prepared.sourceRecords.length === 0) return;
  const names = prepared.sourceRecords.slice(0, 3).join(", ") +
    (prepared.sourceRecords.length > 3 ? ", ..." : "");
  throw new OperationRefusedError(
    `Source workloads of "${spec.name}" stand at zero with a recorded count (${names}): a cutover scaled them down, so DR may be the live side; run failback first, or pass --force`,
  );
}

/**
 * Copies the source namespace to DR with workloads at zero replicas. Writes only what changed,
 * all of it under the replication's lock; refuses while the replication is cut over.
 */
export async function stage(deps: OperationDeps, request: StageRequest): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const spec = request.replication;
  const dryRun = request.dryRun ?? false;
  const log = deps.logger.child({ operation: "stage", replication: spec.name });
  // bad input fails here, before any write; the reads run side by side
  const [state, checked] = await Promise.all([
    readReplicationState(deps.dr, spec.destNamespace),
    checkSync(deps.source, deps.dr, spec),
  ]);
  refuseWhenCutOver(spec, state, request.force);
  const prepare = (checked?: CheckedSync) =>
    prepareSync(deps.source, deps.dr, {
      ...(checked ? { checked } : {}),
      replication: spec,
      prune: request.prune ?? spec.prune,
      logger: log,
      dryRun,
      retry: deps.retry,
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    });
  const write = async (prepared: PreparedSync, steps: StepResult[], signal?: AbortSignal) => {
    const objects = await applySync(deps.dr, prepared, {
      dryRun,
      immutable: spec.immutable,
      logger: log,
      signal,
      ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    });
    return buildRunReport({
      operation: "stage",
      replication: spec.name,
      dryRun,
      startedAt,
      finishedAt: now(),
      objects,
      steps,
    });
  };
  if (dryRun) {
    const prepared = await prepare(checked);
    refuseOverCutoverRecords(spec, prepared, request.force);
    return await write(prepared, []);
  }

  await createDestNamespaceIfMissing(deps.dr, spec); // the lock lives in the DR namespace
  return await runLocked(deps, spec, "stage", startedAt, async (lock) => {
    refuseWhenCutOver(spec, lock.state, request.force);
    const prepared = await prepare(checked);
    refuseOverCutoverRecords(spec, prepared, request.force);
    const applied = await ensureDestNamespace(deps.dr, prepared, deps.retry);
    const steps: StepResult[] = [
      {
        step: "namespace",
        status: "done",
        detail: applied ? `applied "${spec.destNamespace}"` : "unchanged",
      },
    ];
    const report = await write(prepared, steps, lock.signal);
    log.debug("stage finished", { status: report.status, ...report.counts });
    return { report, state: lock.state };
  });
}
