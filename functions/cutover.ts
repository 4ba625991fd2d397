import { RefusedError } from "../shared/errors.ts";
import { clusterOf } from "../shared/kube/kube_api_error.ts";
import { discoverResources } from "../shared/kube/discover_resources.ts";
import { DEPLOYMENTS, type KubeObject, type ResourceType, typeKey } from "../shared/kube/types.ts";
import { listObjects } from "../shared/kube/verbs.ts";
import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import { resolveResourceTypes } from "../shared/plan/resolve_resource_types.ts";
import { handOverCopies, notWritten, ownershipNote, withDrTypes } from "../shared/sync/hand_over.ts";
import { buildRunReport, type ObjectResult, type RunReport } from "../shared/run_report.ts";
import { cutoverAlreadyDone } from "../shared/state/refusals.ts";
import {
  listManagedWorkloads,
  liveOnDr,
  restoreSource,
  scaleDrUp,
  scaleSourceDown,
  sourceOwners,
} from "../shared/sync/scale_workloads.ts";
import {
  nothingToDo,
  type OperationDeps,
  OperationRefusedError,
  runDeps,
  runSignal,
} from "./operation_deps.ts";
import { preflight, repairContext, scaleContext, withSourceIdentity } from "./preflight.ts";
import { describePass, pvcPass } from "./pvc_sync.ts";
import { claimObjects, passTotals } from "../shared/pvc/pvc_pass.ts";
import { runLocked } from "./run_locked.ts";
import { stagePass } from "./stage_pass.ts";
import { StepRunner, summarise } from "./step_runner.ts";

export interface CutoverRequest {
  readonly replication: ReplicationSpec;
  /** Report the steps, write nothing. */
  readonly dryRun?: boolean;
  /**
   * The source cluster is down or failing (the real disaster): when it does not answer, or answers
   * but cannot be listed, skip the source steps and use the counts recorded on DR.
   */
  readonly allowSourceUnavailable?: boolean;
  /** Scale DR up even when some objects could not be copied by the final stage (they are reported stale). */
  readonly acceptStale?: boolean;
  /** Cut over again although the state says DR is already the active side. */
  readonly force?: boolean;
  /** Copy the claims' data in the final pass even when the replication does not enable PVC data sync. */
  readonly migratePvcData?: boolean;
  /** How long the final PVC pass waits for the source's pods to be gone (default 120 s). */
  readonly quietWaitMs?: number;
}

export const CUTOVER_STEPS = ["final-stage", "scale-source-down", "pvc-final-sync", "scale-dr-up"] as const;

/**
 * The replication's types as DR serves them, when the final stage did not resolve them (the source is
 * unavailable): resolved against DR's own discovery.
 */
async function replicationTypesOnDr(
  deps: OperationDeps,
  spec: ReplicationSpec,
): Promise<{ source: ResourceType; dr: ResourceType }[]> {
  const served = await discoverResources(deps.dr);
  const types = resolveResourceTypes(served, {
    resourceTypes: spec.resourceTypes,
    excludeResourceTypes: spec.excludeResourceTypes,
    includeCustomResources: spec.includeCustomResources,
  });
  return withDrTypes(types, served);
}

/** The interrupted cutover left the source scaled down and DR not (fully) up. */
export class CutoverInterruptedError extends RefusedError {
  override readonly name = "CutoverInterruptedError";
}

/**
 * Moves the replication's capacity to DR: lock, final stage, scale the source to zero (recording
 * each count on the object in the same write), final PVC pass, scale DR to the recorded counts,
 * record the state. Every step is idempotent and recorded, so a re-run after a crash at any point
 * finishes the job. A failure after the source was scaled down is undone while DR still stands by
 * (decided from DR's actual state), so the service is never left down on both sides, nor up on both.
 */
export async function cutover(operationDeps: OperationDeps, request: CutoverRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  const force = request.force ?? false;
  const log = deps.logger.child({ operation: "cutover", replication: request.replication.name });
  const checked = await preflight(deps, request.replication, "cut over");
  const { state } = checked;
  let sourceUp = checked.sourceUp;
  const spec = await withSourceIdentity(deps, request.replication, state, sourceUp);
  if (sourceUp && request.allowSourceUnavailable) {
    // a source that answers but cannot be listed (5xx, 401, a failing credential plugin) is down too
    await listObjects(deps.source, DEPLOYMENTS, spec.sourceNamespace, { limit: 1, retry: { attempts: 2 } })
      .catch((error) => {
        log.warn("the source answers but cannot be listed: treating it as unavailable", { error });
        sourceUp = false;
      });
  }
  if (!sourceUp && !request.allowSourceUnavailable) {
    throw new OperationRefusedError(
      `Cannot cut over "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable; pass --allow-source-unavailable to cut over from the replica counts recorded on DR`,
    );
  }
  const done = force ? undefined : cutoverAlreadyDone(state);
  if (done !== undefined) {
    return nothingToDo(deps.runId, spec.name, startedAt, deps.now(), request.dryRun, done);
  }
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
    const doneMeanwhile = force ? undefined : cutoverAlreadyDone(lock.state);
    if (doneMeanwhile !== undefined) {
      return {
        report: nothingToDo(deps.runId, spec.name, startedAt, deps.now(), false, doneMeanwhile),
        state: lock.state,
      };
    }
    const before = lock.state;
    let ctx = scaleContext(deps, spec, runSignal(deps, lock.signal));
    /** The replication's types (with DR's version of each), once the final stage resolved them. */
    let copied: { source: ResourceType; dr: ResourceType }[] | undefined;
    const steps = new StepRunner(lock, "cutover", deps.runId, log, deps.afterStep);
    const skipSource = (why: string) => {
      for (const step of ["final-stage", "scale-source-down"]) steps.skip(step, why);
    };
    if (!sourceUp) {
      log.warn("source cluster unavailable: cutting over from the counts recorded on DR");
      skipSource(`source cluster "${deps.source.name}" is unavailable`);
    } else if (steps.doneBefore("scale-dr-up")) {
      steps.skip("final-stage", "DR is already up from an earlier run of this cutover");
    } else {
      // also after a crash: source changes made since must reach DR before it goes live
      let lostSource: unknown;
      await steps.run("final-stage", async () => {
        try {
          const { prepared, checked, objects } = await stagePass(deps, spec, {
            dryRun: false,
            prune: spec.prune,
            signal: ctx.signal,
          });
          // the scaling steps need list only the replication's own workload types
          ctx = { ...ctx, types: new Set(prepared.types.map(typeKey)) };
          copied = withDrTypes(prepared.types, checked.drServed);
          return { objects: request.acceptStale ? acceptStale(objects) : objects };
        } catch (error) {
          if (!request.allowSourceUnavailable || clusterOf(error) !== deps.source.name) throw error;
          lostSource = error;
          return { detail: "the source failed half-way: treated as unavailable" };
        }
      });
      if (lostSource !== undefined) {
        log.warn("the source failed during the final stage: treating it as unavailable", {
          error: lostSource,
        });
        sourceUp = false;
        steps.skip("scale-source-down", `source cluster "${deps.source.name}" failed: ${String(lostSource)}`);
      }
    }
    const workloads = await listManagedWorkloads(ctx);
    /** The source's workloads as scale-source-down left them, by `Kind/name`. */
    const sourceLeft = new Map<string, KubeObject>();
    if (workloads.scalable.length + workloads.suspendable.length + workloads.daemonSets.length === 0) {
      // nothing would move: DR must not be recorded as the active side, nor a cutover as begun
      await lock.update(before);
      throw new OperationRefusedError(
        `Cannot cut over "${spec.name}": no workloads copied from "${spec.sourceCluster}/${spec.sourceNamespace}" were found in namespace "${spec.destNamespace}" of cluster "${deps.dr.name}" (its resource types include no workload types, or nothing was staged): nothing to cut over`,
      );
    }
    if (sourceUp) {
      await steps.run("scale-source-down", async () => ({
        objects: await scaleSourceDown({ ...ctx, latest: sourceLeft }, workloads),
      }));
    }
    if (!(spec.pvcDataSync || request.migratePvcData)) {
      steps.skip("pvc-final-sync", "PVC data sync is not enabled for this run");
    } else if (!sourceUp) {
      steps.skip("pvc-final-sync", "the source is unavailable: DR keeps the data of the last PVC pass");
    } else if (steps.doneBefore("pvc-final-sync")) {
      steps.skip("pvc-final-sync", "done by an earlier run of this cutover");
    } else {
      // the source is scaled down: once its pods are gone its volumes are quiet and the copy consistent
      await steps.run("pvc-final-sync", async () => {
        const result = await pvcPass(deps, {
          spec,
          direction: "to-dr",
          passId: `cutover:${steps.progressId}`,
          quietWaitMs: request.quietWaitMs ?? 120_000,
          signal: ctx.signal,
        });
        return {
          objects: claimObjects(result, spec.destNamespace),
          detail: describePass(result),
          pvcData: passTotals(result),
        };
      });
    }
    await steps.run("scale-dr-up", async () => {
      // DR's copies take their source objects' field ownership as DR goes live (the hand-over): the
      // workloads in the write that scales each up, the other copies after them
      // the source objects as scale-source-down left them (its writes' answers), else listed now
      const all = [...workloads.scalable, ...workloads.suspendable, ...workloads.daemonSets];
      const from = !sourceUp
        ? undefined
        : all.every((t) => sourceLeft.has(`${t.type.kind}/${t.object.metadata.name}`))
        ? sourceLeft
        : await sourceOwners(ctx).catch(() => undefined);
      const scaled = await scaleDrUp(ctx, workloads, { from });
      if (scaled.some((o) => o.action === "failed")) return { objects: scaled };
      let handed: ObjectResult[];
      try {
        handed = await handOverCopies(deps.source, deps.dr, {
          spec,
          types: copied ?? await replicationTypesOnDr(deps, spec),
          sourceUp,
          concurrency: deps.concurrency,
          retry: deps.retry,
          signal: ctx.signal,
        });
      } catch (error) {
        // DR serves by now: a hand-over that cannot be done is said, not a failed cutover
        if (ctx.signal?.aborted) throw error;
        log.warn("the copies' field owners could not be handed over", { error });
        return {
          objects: scaled,
          detail: `${summarise(scaled)}; field owners not handed over: ${String(error)}`,
        };
      }
      return {
        objects: [...scaled, ...notWritten(handed)],
        detail: `${summarise(scaled)}; ${ownershipNote(handed, "hand-over")}`,
      };
    });

    const sourceDown = sourceUp && steps.touched("scale-source-down");
    if (steps.failed && sourceDown && !ctx.signal?.aborted) {
      // never down on both sides, never up on both: undo only while DR still stands by
      const live = await liveOnDr(ctx).catch(() => undefined);
      if (live === undefined) {
        steps.skip("undo-scale-source-down", "not undone: DR's state cannot be read");
      } else if (live.length === 0) {
        const undone = await steps.repair("undo-scale-source-down", async () => {
          const restored = await restoreSource(repairContext(ctx));
          return {
            objects: restored,
            detail: `the source was restored: ${
              restored.filter((o) => o.action === "updated").length
            } workload(s)`,
          };
        });
        if (undone) steps.forgetProgress();
      } else {
        steps.skip(
          "undo-scale-source-down",
          `not undone: DR already runs ${live.length} workload(s) (${
            live.slice(0, 3).join(", ")
          }); fix the failure above and run cutover again to finish, or run failback to go back`,
        );
      }
    }
    const drUp = steps.doneBefore("scale-dr-up") ||
      steps.steps.some((s) => s.step === "scale-dr-up" && s.status === "done");
    if (ctx.signal?.aborted && sourceDown && !drUp) {
      const why = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : String(ctx.signal.reason);
      throw new CutoverInterruptedError(
        `Cutover of "${spec.name}" stopped after the source was scaled down, before DR was up (${why}): the application may be down on both sides; run cutover again to finish it once cluster "${deps.dr.name}" answers`,
      );
    }
    const outcome = steps.finish(spec.name, startedAt, deps.now(), "dr");
    log.debug("cutover finished", { status: outcome.report.status });
    if (outcome.report.status !== "succeeded" || sourceUp) return outcome;
    // the source was skipped: it may still run, and must be fenced once it answers
    return { ...outcome, state: { ...outcome.state, fenceSource: true } };
  });
}

/** With `acceptStale`, objects the final stage could not copy are reported stale instead of failing the step. */
function acceptStale(objects: readonly ObjectResult[]): ObjectResult[] {
  return objects.map((o) =>
    o.action === "failed"
      ? { ...o, action: "skipped", reason: `stale on DR (accepted): ${o.reason ?? "not copied"}` }
      : o
  );
}
