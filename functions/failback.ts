import type { RunReport } from "../shared/sync/contracts.ts";
import { readReplicationState, type ReplicationState } from "../shared/sync/replication_lock.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import { buildRunReport } from "../shared/sync/run_report.ts";
import { listManagedWorkloads, restoreSource, scaleDrDown } from "../shared/sync/scale_workloads.ts";
import { reachable, requireStaged, scaleContext } from "./cutover.ts";
import { type OperationDeps, OperationRefusedError } from "./operation_deps.ts";
import { runLocked } from "./run_locked.ts";
import { StepRunner } from "./step_runner.ts";

export interface FailbackRequest {
  readonly replication: ReplicationSpec;
  readonly dryRun?: boolean;
  /** Fail back although the state says nothing was cut over. */
  readonly force?: boolean;
}

export const FAILBACK_STEPS = ["pvc-reverse-sync", "scale-dr-down", "restore-source"] as const;

function refuseWhenNothingCutOver(
  spec: ReplicationSpec,
  state: ReplicationState,
  force: boolean | undefined,
): void {
  if (!force && state.activeSide === "source" && state.progress === undefined) {
    throw new OperationRefusedError(
      `Replication "${spec.name}" is not cut over: the source is the active side, so there is nothing to fail back; pass --force to do it anyway`,
    );
  }
}

/**
 * The way back after a cutover (or after one that stopped half-way): (optional reverse PVC pass),
 * DR back to standby, the source back to the counts recorded at cutover (and the records
 * cleared), state recorded. Idempotent like cutover.
 */
export async function failback(deps: OperationDeps, request: FailbackRequest): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const spec = request.replication;
  const log = deps.logger.child({ operation: "failback", replication: spec.name });
  const [sourceUp, , state] = await Promise.all([
    reachable(deps.source),
    requireStaged(deps, spec, "fail back"),
    readReplicationState(deps.dr, spec.destNamespace),
  ]);
  if (!sourceUp) {
    throw new OperationRefusedError(
      `Cannot fail back "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable`,
    );
  }
  refuseWhenNothingCutOver(spec, state, request.force);
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(scaleContext(deps, spec));
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
        detail: step === "scale-dr-down"
          ? `dry run: would scale ${workloads.scalable.length} workload(s) on DR back to standby`
          : "dry run",
      })),
    });
  }
  return await runLocked(deps, spec, "failback", startedAt, async (lock) => {
    refuseWhenNothingCutOver(spec, lock.state, request.force);
    const ctx = scaleContext(deps, spec, lock.signal);
    const steps = new StepRunner(lock, "failback", deps.afterStep);
    const workloads = await listManagedWorkloads(ctx);
    steps.skip("pvc-reverse-sync", "PVC data sync is not enabled for this run");
    await steps.run("scale-dr-down", async () => ({ objects: await scaleDrDown(ctx, workloads) }));
    await steps.run("restore-source", async () => ({ objects: await restoreSource(ctx) }));
    const outcome = steps.finish(spec.name, startedAt, now(), "source");
    log.debug("failback finished", { status: outcome.report.status });
    return outcome;
  });
}
