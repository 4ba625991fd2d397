import { isUnreachable } from "../shared/kube/kube_api_error.ts";
import type { RunReport } from "../shared/sync/contracts.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import { buildRunReport } from "../shared/sync/run_report.ts";
import {
  listManagedWorkloads,
  type ScaleContext,
  scaleDrUp,
  scaleSourceDown,
} from "../shared/sync/scale_workloads.ts";
import { applySync, prepareSync } from "../shared/sync/sync_namespace.ts";
import { type OperationDeps, OperationRefusedError } from "./operation_deps.ts";
import { runLocked } from "./run_locked.ts";
import { StepRunner } from "./step_runner.ts";

export interface CutoverRequest {
  readonly replication: ReplicationSpec;
  /** Report the steps, write nothing. */
  readonly dryRun?: boolean;
  /** The source cluster is down (the real disaster): skip the source steps, use the counts recorded on DR. */
  readonly allowSourceUnavailable?: boolean;
}

export const CUTOVER_STEPS = ["final-stage", "scale-source-down", "pvc-final-sync", "scale-dr-up"] as const;

/** Answers whether a cluster responds at all (any HTTP answer counts). */
export async function reachable(client: OperationDeps["source"]): Promise<boolean> {
  try {
    await client.request({ method: "GET", path: "/version", timeoutMs: 5_000 });
    return true;
  } catch (error) {
    if (isUnreachable(error)) return false;
    return true;
  }
}

export function scaleContext(deps: OperationDeps, spec: ReplicationSpec): ScaleContext {
  return {
    source: deps.source,
    dr: deps.dr,
    sourceCluster: spec.sourceCluster,
    sourceNamespace: spec.sourceNamespace,
    destNamespace: spec.destNamespace,
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
  };
}

/**
 * Moves the replication's capacity to DR: lock, final stage, scale the source to zero (recording
 * each count on the object in the same write), final PVC pass, scale DR to the recorded counts,
 * record the state. Every step is idempotent and recorded, so a re-run after a crash at any point
 * finishes the job.
 */
export async function cutover(deps: OperationDeps, request: CutoverRequest): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const spec = request.replication;
  const log = deps.logger.child({ operation: "cutover", replication: spec.name });
  const sourceUp = await reachable(deps.source);
  if (!sourceUp && !request.allowSourceUnavailable) {
    throw new OperationRefusedError(
      `Cannot cut over "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable; pass --allow-source-unavailable to cut over from the replica counts recorded on DR`,
    );
  }
  const ctx = scaleContext(deps, spec);
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(ctx);
    const steps = CUTOVER_STEPS.map((step) => ({ step, status: "skipped" as const, detail: "dry run" }));
    const detail = `would scale ${workloads.scalable.length} workload(s) on DR to their recorded counts`;
    return buildRunReport({
      operation: "cutover",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: now(),
      objects: [],
      steps: [...steps.slice(0, -1), { step: "scale-dr-up", status: "skipped", detail }],
    });
  }

  return await runLocked(deps, spec, "cutover", startedAt, async (lock) => {
    const steps = new StepRunner(lock, "cutover", deps.afterStep);
    if (!sourceUp) {
      log.warn("source cluster unreachable: cutting over from the counts recorded on DR");
      for (const step of ["final-stage", "scale-source-down"]) {
        steps.skip(step, `source cluster "${deps.source.name}" is unreachable`);
      }
    } else if (steps.doneBefore("final-stage")) {
      steps.skip("final-stage", "done by an earlier run of this cutover");
    } else {
      await steps.run("final-stage", async () => {
        const prepared = await prepareSync(deps.source, deps.dr, {
          replication: spec,
          prune: spec.prune,
          logger: log,
          retry: deps.retry,
        });
        const objects = await applySync(deps.dr, prepared, {
          dryRun: false,
          immutable: spec.immutable,
          logger: log,
          ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
          ...(deps.retry ? { retry: deps.retry } : {}),
        });
        return { objects };
      });
    }
    const workloads = await listManagedWorkloads(ctx);
    if (sourceUp) {
      await steps.run("scale-source-down", async () => ({ objects: await scaleSourceDown(ctx, workloads) }));
    }
    steps.skip("pvc-final-sync", "PVC data sync is not enabled for this run");
    await steps.run("scale-dr-up", async () => ({ objects: await scaleDrUp(ctx, workloads) }));
    const outcome = steps.finish(spec.name, startedAt, now(), "dr");
    log.debug("cutover finished", { status: outcome.report.status });
    return outcome;
  });
}
