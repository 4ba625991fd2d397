import { isNotFound, isUnreachable } from "../shared/kube/kube_api_error.ts";
import type { RunReport } from "../shared/sync/contracts.ts";
import type { ReplicationState } from "../shared/sync/replication_lock.ts";
import { readReplicationState } from "../shared/sync/replication_lock.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import { buildRunReport } from "../shared/sync/run_report.ts";
import {
  listManagedWorkloads,
  restoreSource,
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
  /** Cut over again although the state says DR is already the active side. */
  readonly force?: boolean;
}

export const CUTOVER_STEPS = ["final-stage", "scale-source-down", "pvc-final-sync", "scale-dr-up"] as const;

/** Answers whether a cluster responds at all (any HTTP answer counts). */
export async function reachable(client: OperationDeps["source"]): Promise<boolean> {
  try {
    await client.request({ method: "GET", path: "/version", timeoutMs: 5_000 });
    return true;
  } catch (error) {
    return !isUnreachable(error);
  }
}

export function scaleContext(deps: OperationDeps, spec: ReplicationSpec, signal?: AbortSignal): ScaleContext {
  return {
    source: deps.source,
    dr: deps.dr,
    sourceCluster: spec.sourceCluster,
    sourceNamespace: spec.sourceNamespace,
    destNamespace: spec.destNamespace,
    scaleToZero: spec.scaleToZero,
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(signal ? { signal } : {}),
  };
}

/** The DR namespace must exist: the state and the staged copies live there. */
export async function requireStaged(
  deps: OperationDeps,
  spec: ReplicationSpec,
  operation: string,
): Promise<void> {
  try {
    await deps.dr.request({
      method: "GET",
      path: `/api/v1/namespaces/${encodeURIComponent(spec.destNamespace)}`,
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new OperationRefusedError(
      `Cannot ${operation} "${spec.name}": namespace "${spec.destNamespace}" does not exist in cluster "${deps.dr.name}": nothing was staged`,
    );
  }
}

function refuseWhenCutOver(spec: ReplicationSpec, state: ReplicationState, force: boolean | undefined): void {
  if (!force && state.activeSide === "dr" && state.progress?.operation !== "cutover") {
    throw new OperationRefusedError(
      `Replication "${spec.name}" is already cut over to DR: another cutover would stage the source over the live DR side; pass --force to do it anyway`,
    );
  }
}

/**
 * Moves the replication's capacity to DR: lock, final stage, scale the source to zero (recording
 * each count on the object in the same write), final PVC pass, scale DR to the recorded counts,
 * record the state. Every step is idempotent and recorded, so a re-run after a crash at any point
 * finishes the job. A source scale-down that fails half-way is undone, so the service is never
 * left with both sides down.
 */
export async function cutover(deps: OperationDeps, request: CutoverRequest): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const spec = request.replication;
  const log = deps.logger.child({ operation: "cutover", replication: spec.name });
  const [sourceUp, , state] = await Promise.all([
    reachable(deps.source),
    requireStaged(deps, spec, "cut over"),
    readReplicationState(deps.dr, spec.destNamespace),
  ]);
  if (!sourceUp && !request.allowSourceUnavailable) {
    throw new OperationRefusedError(
      `Cannot cut over "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable; pass --allow-source-unavailable to cut over from the replica counts recorded on DR`,
    );
  }
  refuseWhenCutOver(spec, state, request.force);
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(scaleContext(deps, spec));
    const detail = `would scale ${workloads.scalable.length} workload(s) on DR to their recorded counts`;
    return buildRunReport({
      operation: "cutover",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: now(),
      objects: [],
      steps: CUTOVER_STEPS.map((step) => ({
        step,
        status: "skipped" as const,
        detail: step === "scale-dr-up" ? detail : "dry run",
      })),
    });
  }

  return await runLocked(deps, spec, "cutover", startedAt, async (lock) => {
    refuseWhenCutOver(spec, lock.state, request.force);
    let ctx = scaleContext(deps, spec, lock.signal);
    const steps = new StepRunner(lock, "cutover", deps.afterStep);
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
        const prepared = await prepareSync(deps.source, deps.dr, {
          replication: spec,
          prune: spec.prune,
          logger: log,
          retry: deps.retry,
        });
        // the scaling steps need list only the replication's own workload types
        ctx = { ...ctx, types: new Set(prepared.types.map((t) => `${t.resource}.${t.group}`)) };
        const objects = await applySync(deps.dr, prepared, {
          dryRun: false,
          immutable: spec.immutable,
          logger: log,
          signal: lock.signal,
          ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
          ...(deps.retry ? { retry: deps.retry } : {}),
        });
        return { objects };
      });
    }
    const workloads = await listManagedWorkloads(ctx);
    if (
      !sourceUp &&
      workloads.scalable.length + workloads.suspendable.length + workloads.daemonSets.length === 0
    ) {
      throw new OperationRefusedError(
        `Cannot cut over "${spec.name}": no workloads copied from "${spec.sourceCluster}/${spec.sourceNamespace}" were found in namespace "${spec.destNamespace}" of cluster "${deps.dr.name}"`,
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
    const outcome = steps.finish(spec.name, startedAt, now(), "dr");
    log.debug("cutover finished", { status: outcome.report.status });
    return outcome;
  });
}
