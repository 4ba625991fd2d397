import type { RunReport, StepResult } from "../shared/sync/contracts.ts";
import { readReplicationState, type ReplicationState } from "../shared/sync/replication_lock.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import { buildRunReport } from "../shared/sync/run_report.ts";
import { applySync, ensureDestNamespace, prepareSync } from "../shared/sync/sync_namespace.ts";
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

/**
 * Copies the source namespace to DR with workloads at zero replicas. Writes only what changed;
 * refuses while the replication is cut over.
 */
export async function stage(deps: OperationDeps, request: StageRequest): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const spec = request.replication;
  const dryRun = request.dryRun ?? false;
  const log = deps.logger.child({ operation: "stage", replication: spec.name });
  const state = await readReplicationState(deps.dr, spec.destNamespace, spec.name);
  refuseWhenCutOver(spec, state, request.force);

  const prepared = await prepareSync(deps.source, deps.dr, {
    replication: spec,
    prune: request.prune ?? spec.prune,
    logger: log,
    dryRun,
    retry: deps.retry,
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const applyOptions = {
    dryRun,
    immutable: spec.immutable,
    logger: log,
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  };
  const steps: StepResult[] = [];
  const report = async () => {
    const objects = await applySync(deps.dr, prepared, applyOptions);
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
  if (dryRun) return await report();

  const created = await ensureDestNamespace(deps.dr, prepared, deps.retry);
  steps.push({
    step: "namespace",
    status: "done",
    detail: created ? `applied "${spec.destNamespace}"` : "unchanged",
  });
  return await runLocked(deps, spec, "stage", startedAt, async (lock) => {
    refuseWhenCutOver(spec, lock.state, request.force);
    const done = await report();
    log.debug("stage finished", { status: done.status, ...done.counts });
    return { report: done, state: lock.state };
  });
}
