import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import { typeKey } from "../shared/kube/types.ts";
import { buildRunReport, type RunReport } from "../shared/run_report.ts";
import { cutoverRefusal } from "../shared/state/refusals.ts";
import {
  listManagedWorkloads,
  restoreSource,
  scaleDrUp,
  scaleSourceDown,
} from "../shared/sync/scale_workloads.ts";
import { type OperationDeps, OperationRefusedError, refuseIf, runDeps, runSignal } from "./operation_deps.ts";
import { checkSupported, preflight, scaleContext, withSourceIdentity } from "./preflight.ts";
import { runLocked } from "./run_locked.ts";
import { stagePass } from "./stage_pass.ts";
import { StepRunner } from "./step_runner.ts";

export interface CutoverRequest {
  readonly replication: ReplicationSpec;
  /** Report the steps, write nothing. */
  readonly dryRun?: boolean;
  /** The source cluster is down (the real disaster): skip the source steps, use the counts recorded on DR. */
  readonly allowSourceUnavailable?: boolean;
  /** Cut over again although the state says DR is already the active side. */
  readonly force?: boolean;
}

export const CUTOVER_STEPS = ["final-stage", "scale-source-down", "pvc-final-sync", "scale-dr-up"] as const;

/**
 * Moves the replication's capacity to DR: lock, final stage, scale the source to zero (recording
 * each count on the object in the same write), final PVC pass, scale DR to the recorded counts,
 * record the state. Every step is idempotent and recorded, so a re-run after a crash at any point
 * finishes the job. A source scale-down that fails half-way is undone, so the service is never
 * left with both sides down.
 */
export async function cutover(operationDeps: OperationDeps, request: CutoverRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  checkSupported(request.replication);
  const force = request.force ?? false;
  const log = deps.logger.child({ operation: "cutover", replication: request.replication.name });
  const { sourceUp, state } = await preflight(deps, request.replication, "cut over");
  const spec = await withSourceIdentity(deps, request.replication, state, sourceUp);
  if (!sourceUp && !request.allowSourceUnavailable) {
    throw new OperationRefusedError(
      `Cannot cut over "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable; pass --allow-source-unavailable to cut over from the replica counts recorded on DR`,
    );
  }
  refuseIf(cutoverRefusal(spec.name, state, force));
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(scaleContext(deps, spec));
    const detail = `would scale ${workloads.scalable.length} workload(s) on DR to their recorded counts`;
    return buildRunReport({
      runId: deps.runId,
      operation: "cutover",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: deps.now(),
      objects: [],
      steps: CUTOVER_STEPS.map((step) => ({
        step,
        status: "skipped" as const,
        detail: step === "scale-dr-up" ? detail : "dry run",
      })),
    });
  }

  return await runLocked(deps, spec, "cutover", startedAt, async (lock) => {
    refuseIf(cutoverRefusal(spec.name, lock.state, force));
    const before = lock.state;
    let ctx = scaleContext(deps, spec, runSignal(deps, lock.signal));
    const steps = new StepRunner(lock, "cutover", deps.runId, log, deps.afterStep);
    if (!sourceUp) {
      log.warn("source cluster unreachable: cutting over from the counts recorded on DR");
      for (const step of ["final-stage", "scale-source-down"]) {
        steps.skip(step, `source cluster "${deps.source.name}" is unreachable`);
      }
    } else if (steps.doneBefore("scale-dr-up")) {
      steps.skip("final-stage", "DR is already up from an earlier run of this cutover");
    } else {
      // also after a crash: source changes made since must reach DR before it goes live
      await steps.run("final-stage", async () => {
        const { prepared, objects } = await stagePass(deps, spec, {
          dryRun: false,
          prune: spec.prune,
          signal: ctx.signal,
        });
        // the scaling steps need list only the replication's own workload types
        ctx = { ...ctx, types: new Set(prepared.types.map(typeKey)) };
        return { objects };
      });
    }
    const workloads = await listManagedWorkloads(ctx);
    if (workloads.scalable.length + workloads.suspendable.length + workloads.daemonSets.length === 0) {
      // nothing would move: DR must not be recorded as the active side, nor a cutover as begun
      await lock.update(before);
      throw new OperationRefusedError(
        `Cannot cut over "${spec.name}": no workloads copied from "${spec.sourceCluster}/${spec.sourceNamespace}" were found in namespace "${spec.destNamespace}" of cluster "${deps.dr.name}" (its resource types include no workload types, or nothing was staged): nothing to cut over`,
      );
    }
    if (sourceUp) {
      await steps.run("scale-source-down", async () => ({ objects: await scaleSourceDown(ctx, workloads) }));
      if (steps.failed && !steps.doneBefore("scale-dr-up")) {
        const undone = await restoreSource(ctx);
        steps.skip(
          "undo-scale-source-down",
          `the source was restored: ${undone.filter((o) => o.action === "updated").length} workload(s)`,
        );
      }
    }
    steps.skip("pvc-final-sync", "PVC data sync is not enabled for this run");
    await steps.run("scale-dr-up", async () => ({ objects: await scaleDrUp(ctx, workloads) }));
    const outcome = steps.finish(spec.name, startedAt, deps.now(), "dr");
    log.debug("cutover finished", { status: outcome.report.status });
    return outcome;
  });
}
