import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import { buildRunReport, type RunReport } from "../shared/run_report.ts";
import { failbackRefusal } from "../shared/state/refusals.ts";
import { listManagedWorkloads, restoreSource, scaleDrDown } from "../shared/sync/scale_workloads.ts";
import { type OperationDeps, OperationRefusedError, refuseIf, runDeps, runSignal } from "./operation_deps.ts";
import { checkSupported, preflight, scaleContext, withSourceIdentity } from "./preflight.ts";
import { runLocked } from "./run_locked.ts";
import { StepRunner } from "./step_runner.ts";

export interface FailbackRequest {
  readonly replication: ReplicationSpec;
  readonly dryRun?: boolean;
  /** Fail back although the state says nothing was cut over. */
  readonly force?: boolean;
}

export const FAILBACK_STEPS = ["pvc-reverse-sync", "scale-dr-down", "restore-source"] as const;

/**
 * The way back after a cutover (or after one that stopped half-way): (optional reverse PVC pass),
 * DR back to standby, the source back to the counts recorded at cutover (and the records
 * cleared), state recorded. Idempotent like cutover.
 */
export async function failback(operationDeps: OperationDeps, request: FailbackRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  checkSupported(request.replication);
  const force = request.force ?? false;
  const log = deps.logger.child({ operation: "failback", replication: request.replication.name });
  const { sourceUp, state } = await preflight(deps, request.replication, "fail back");
  const spec = await withSourceIdentity(deps, request.replication, state, sourceUp);
  if (!sourceUp) {
    throw new OperationRefusedError(
      `Cannot fail back "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable`,
    );
  }
  refuseIf(failbackRefusal(spec.name, state, force));
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(scaleContext(deps, spec));
    return buildRunReport({
      runId: deps.runId,
      operation: "failback",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: deps.now(),
      objects: [],
      steps: FAILBACK_STEPS.map((step) => ({
        step,
        status: "skipped" as const,
        detail: step === "scale-dr-down"
          ? `dry run: would scale ${workloads.scalable.length} workload(s) on DR back to standby`
          : "dry run",
      })),
    });
  }
  return await runLocked(deps, spec, "failback", startedAt, async (lock) => {
    refuseIf(failbackRefusal(spec.name, lock.state, force));
    const ctx = scaleContext(deps, spec, runSignal(deps, lock.signal));
    const steps = new StepRunner(lock, "failback", deps.runId, log, deps.afterStep);
    const workloads = await listManagedWorkloads(ctx);
    steps.skip("pvc-reverse-sync", "PVC data sync is not enabled for this run");
    await steps.run("scale-dr-down", async () => ({ objects: await scaleDrDown(ctx, workloads) }));
    await steps.run("restore-source", async () => ({ objects: await restoreSource(ctx) }));
    const outcome = steps.finish(spec.name, startedAt, deps.now(), "source");
    log.debug("failback finished", { status: outcome.report.status });
    if (outcome.report.status !== "succeeded") return outcome;
    return { ...outcome, state: { ...outcome.state, fenceSource: undefined } };
  });
}
