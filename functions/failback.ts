import type { RunReport } from "../shared/sync/contracts.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import { buildRunReport } from "../shared/sync/run_report.ts";
import { listManagedWorkloads, restoreSource, scaleDrDown } from "../shared/sync/scale_workloads.ts";
import { reachable, scaleContext } from "./cutover.ts";
import { type OperationDeps, OperationRefusedError } from "./operation_deps.ts";
import { runLocked } from "./run_locked.ts";
import { StepRunner } from "./step_runner.ts";

export interface FailbackRequest {
  readonly replication: ReplicationSpec;
  readonly dryRun?: boolean;
}

export const FAILBACK_STEPS = ["pvc-reverse-sync", "scale-dr-down", "restore-source"] as const;

/**
 * The way back after a cutover: (optional reverse PVC pass), DR to zero, the source back to the
 * counts recorded at cutover (and the records cleared), state recorded. Idempotent like cutover.
 */
export async function failback(deps: OperationDeps, request: FailbackRequest): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const spec = request.replication;
  const log = deps.logger.child({ operation: "failback", replication: spec.name });
  if (!(await reachable(deps.source))) {
    throw new OperationRefusedError(
      `Cannot fail back "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable`,
    );
  }
  const ctx = scaleContext(deps, spec);
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(ctx);
    return buildRunReport({
      operation: "failback",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: now(),
      objects: [],
      steps: FAILBACK_STEPS.map((step) => ({
        step,
        status: "skipped" as const,
        detail: step === "restore-source"
          ? `dry run: would restore ${workloads.scalable.length} workload(s)`
          : "dry run",
      })),
    });
  }
  return await runLocked(deps, spec, "failback", startedAt, async (lock) => {
    const steps = new StepRunner(lock, "failback", deps.afterStep);
    const workloads = await listManagedWorkloads(ctx);
    steps.skip("pvc-reverse-sync", "PVC data sync is not enabled for this run");
    await steps.run("scale-dr-down", async () => ({ objects: await scaleDrDown(ctx, workloads) }));
    await steps.run("restore-source", async () => ({ objects: await restoreSource(ctx, workloads) }));
    const outcome = steps.finish(spec.name, startedAt, now(), "source");
    log.debug("failback finished", { status: outcome.report.status });
    return outcome;
  });
}
