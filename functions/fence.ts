import { buildRunReport, type RunReport } from "../shared/run_report.ts";
import { readReplicationState } from "../shared/state/replication_lock.ts";
import type { ReplicationLock } from "../shared/state/replication_lock.ts";
import type { ReplicationState } from "../shared/state/replication_state.ts";
import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import { listManagedWorkloads, scaleSourceDown } from "../shared/sync/scale_workloads.ts";
import {
  type OperationDeps,
  OperationRefusedError,
  type RunDeps,
  runDeps,
  runSignal,
} from "./operation_deps.ts";
import { reachable, requireStaged, scaleContext, withSourceIdentity } from "./preflight.ts";
import { runLocked } from "./run_locked.ts";
import { StepRunner } from "./step_runner.ts";

export interface FenceRequest {
  readonly replication: ReplicationSpec;
  /** Fence although the state does not say the source needs it. */
  readonly force?: boolean;
  /** Report what would be scaled down; write nothing. */
  readonly dryRun?: boolean;
}

/**
 * The fencing step under a held lock: the source's copied workloads scaled to zero with their
 * counts recorded (as cutover does), and the state's `fenceSource` cleared.
 */
export async function fenceUnderLock(
  deps: RunDeps,
  spec: ReplicationSpec,
  lock: ReplicationLock,
  startedAt: Date,
): Promise<{ report: RunReport; state: ReplicationState }> {
  const ctx = scaleContext(deps, spec, runSignal(deps, lock.signal));
  const steps = new StepRunner(lock, "fence", deps.runId, deps.logger, deps.afterStep);
  const workloads = await listManagedWorkloads(ctx);
  await steps.run("scale-source-down", async () => ({ objects: await scaleSourceDown(ctx, workloads) }));
  const outcome = steps.finish(spec.name, startedAt, deps.now(), lock.state.activeSide);
  if (outcome.report.status !== "succeeded") return outcome;
  return { ...outcome, state: { ...outcome.state, fenceSource: undefined } };
}

/**
 * Fencing after a cutover that could not reach the source: once the source answers again, its
 * workloads (which may still run: up on both sides) are scaled to zero, their counts recorded so
 * a failback restores them. Stage does this by itself when it finds the source reachable.
 */
export async function fence(operationDeps: OperationDeps, request: FenceRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  await requireStaged(deps, request.replication, "fence");
  const state = await readReplicationState(deps.dr, request.replication.destNamespace);
  if (!request.force && !state.fenceSource) {
    throw new OperationRefusedError(
      `Replication "${request.replication.name}" has no source to fence: no cutover skipped it; pass --force to scale the source down anyway`,
    );
  }
  if (!await reachable(deps.source)) {
    throw new OperationRefusedError(
      `Cannot fence "${request.replication.name}": source cluster "${deps.source.name}" at ${deps.source.server} is still unreachable`,
    );
  }
  const spec = await withSourceIdentity(deps, request.replication, state);
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(scaleContext(deps, spec));
    const count = workloads.scalable.length + workloads.suspendable.length + workloads.daemonSets.length;
    return buildRunReport({
      runId: deps.runId,
      operation: "fence",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: deps.now(),
      objects: [],
      steps: [{
        step: "scale-source-down",
        status: "skipped",
        detail: `dry run: would scale ${count} source workload(s) down`,
      }],
    });
  }
  return await runLocked(
    deps,
    spec,
    "fence",
    startedAt,
    (lock) => fenceUnderLock(deps, spec, lock, startedAt),
  );
}
