import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import { buildRunReport, type ObjectResult, type RunReport } from "../shared/run_report.ts";
import { failbackAlreadyDone, failbackRefusal } from "../shared/state/refusals.ts";
import {
  drCounts,
  listManagedWorkloads,
  restoreSource,
  scaleDrDown,
  scaleDrUp,
  scaleSourceDown,
  sourceOwners,
  sourceShowsCutover,
  waitForDrPodsGone,
} from "../shared/sync/scale_workloads.ts";
import { checkSync } from "../shared/sync/check_sync.ts";
import { copyBack } from "../shared/sync/copy_back.ts";
import { handOverCopies, notWritten, ownershipNote, withDrTypes } from "../shared/sync/hand_over.ts";
import type { ReplicationState } from "../shared/state/replication_state.ts";
import {
  nothingToDo,
  type OperationDeps,
  OperationRefusedError,
  refuseIf,
  runDeps,
  runSignal,
} from "./operation_deps.ts";
import { preflight, reachable, repairContext, scaleContext, withSourceIdentity } from "./preflight.ts";
import { describePass, pvcPass } from "./pvc_sync.ts";
import { claimObjects, passTotals } from "../shared/pvc/pvc_pass.ts";
import { runLocked } from "./run_locked.ts";
import { StepRunner, summarise } from "./step_runner.ts";

export interface FailbackRequest {
  readonly replication: ReplicationSpec;
  readonly dryRun?: boolean;
  /** Fail back although the state says nothing was cut over. */
  readonly force?: boolean;
  /** Restore the source to the counts DR runs at now (it may have scaled), not the counts recorded at cutover. */
  readonly useDrCounts?: boolean;
  /** DR does not answer: restore the source from the records it carries, without DR's lock or state. */
  readonly allowDrUnavailable?: boolean;
  /** How long to wait for DR's pods to be gone before the source starts (default 120 s). */
  readonly podsGoneTimeoutMs?: number;
  /**
   * Copy the claims' data back from DR: a pass while DR still serves, then, once its pods are gone, a final
   * pass of what changed meanwhile, before the source is restored.
   */
  readonly reverseMigratePvcData?: boolean;
  /**
   * Fail back without first copying to the source what changed on DR while it served (new and
   * changed objects; deletions with prune): those changes are lost.
   */
  readonly discardDrChanges?: boolean;
  /** With the copy-back, delete the source objects whose DR copy was deleted while DR served (default: the replication's prune). */
  readonly prune?: boolean;
}

/** How long before the recorded cutover an object made on DR still counts as new there (the clocks may differ). */
const NEW_ON_DR_MARGIN_MS = 10 * 60_000;

/**
 * From when on an object DR holds without provenance is new there (made while DR served): the
 * cutover's recorded end (else the last stage's), less a margin for the clocks of the machine that
 * recorded it and of DR's API server.
 */
function newOnDrSince(state: ReplicationState): string | undefined {
  const at = state.lastSuccess.cutover ?? state.lastSuccess.stage;
  if (at === undefined || Number.isNaN(Date.parse(at))) return undefined;
  return new Date(Date.parse(at) - NEW_ON_DR_MARGIN_MS).toISOString();
}

export const FAILBACK_STEPS = [
  "copy-back",
  "pvc-reverse-sync",
  "scale-dr-down",
  "wait-dr-pods-gone",
  "pvc-final-reverse-sync",
  "restore-source",
] as const;

/**
 * The way back after a cutover (or after one that stopped half-way): (optional reverse PVC pass),
 * DR back to standby, wait until DR's pods are gone (nothing writes on DR any more), the source
 * back to the counts recorded at cutover (or DR's counts when asked), the records cleared, state
 * recorded. A failure after DR went down is undone (DR up again, the source down again), so the
 * service is never left down on both sides. Idempotent like cutover.
 */
export async function failback(operationDeps: OperationDeps, request: FailbackRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  const force = request.force ?? false;
  const log = deps.logger.child({ operation: "failback", replication: request.replication.name });
  if (request.allowDrUnavailable && !request.dryRun && !await reachable(deps.dr)) {
    return await failbackWithoutDr(deps, request, startedAt);
  }
  const { sourceUp, state } = await preflight(deps, request.replication, "fail back");
  const spec = await withSourceIdentity(deps, request.replication, state, sourceUp);
  if (!sourceUp) {
    throw new OperationRefusedError(
      `Cannot fail back "${spec.name}": source cluster "${deps.source.name}" at ${deps.source.server} is unreachable`,
    );
  }
  const done = force ? undefined : failbackAlreadyDone(state);
  if (done !== undefined) {
    return nothingToDo(deps.runId, spec.name, startedAt, deps.now(), request.dryRun, done, "failback");
  }
  refuseIf(failbackRefusal(spec.name, state, force));
  const copyBackOf = (signal: AbortSignal | undefined, dryRun: boolean, since: string | undefined) =>
    checkSync(deps.source, deps.dr, spec).then((checked) =>
      copyBack(deps.source, deps.dr, {
        replication: spec,
        checked,
        dryRun,
        prune: request.prune ?? spec.prune,
        newSince: since,
        concurrency: deps.concurrency,
        retry: deps.retry,
        signal,
        logger: log,
      })
    );
  if (request.dryRun) {
    const workloads = await listManagedWorkloads(scaleContext(deps, spec));
    const serves = !state.fenceSource && !await sourceShowsCutover(scaleContext(deps, spec));
    const copied = request.discardDrChanges || serves
      ? []
      : await copyBackOf(undefined, true, newOnDrSince(state));
    return buildRunReport({
      runId: deps.runId,
      operation: "failback",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: deps.now(),
      objects: copied,
      steps: FAILBACK_STEPS.map((step) => ({
        step,
        status: "skipped" as const,
        detail: step === "scale-dr-down"
          ? `dry run: would scale ${workloads.scalable.length} workload(s) on DR back to standby`
          : step === "copy-back"
          ? request.discardDrChanges
            ? "dry run: --discard-dr-changes: what changed on DR would be lost"
            : serves
            ? "dry run: the source already serves again: nothing would be copied back over it"
            : `dry run: ${copyBackDetail(copied, true)}`
          : "dry run",
      })),
    });
  }
  return await runLocked(deps, spec, "failback", startedAt, async (lock) => {
    const doneMeanwhile = force ? undefined : failbackAlreadyDone(lock.state);
    if (doneMeanwhile !== undefined) {
      return {
        report: nothingToDo(deps.runId, spec.name, startedAt, deps.now(), false, doneMeanwhile, "failback"),
        state: lock.state,
      };
    }
    refuseIf(failbackRefusal(spec.name, lock.state, force));
    const ctx = scaleContext(deps, spec, runSignal(deps, lock.signal));
    const steps = new StepRunner(lock, "failback", deps.runId, log, deps.afterStep);
    const workloads = await listManagedWorkloads(ctx);
    const counts = request.useDrCounts ? drCounts(workloads) : undefined;
    const reverse = request.reverseMigratePvcData ?? false;
    // first what changed on DR while it served goes back to the source (DR still serves meanwhile)
    if (request.discardDrChanges) {
      steps.skip(
        "copy-back",
        "not asked (--discard-dr-changes): what changed on DR while it served is not copied back, and is lost",
      );
    } else if (steps.doneBefore("copy-back")) {
      steps.skip("copy-back", "done by an earlier run of this failback");
    } else if (!lock.state.fenceSource && !await sourceShowsCutover(ctx)) {
      // (a failback with DR unavailable restored it): DR's versions must not undo what changed there since
      steps.skip(
        "copy-back",
        "the source already serves again (no workload of it carries a record of the cutover): nothing is copied back over it",
      );
    } else {
      await steps.run("copy-back", async () => {
        const objects = await copyBackOf(ctx.signal, false, newOnDrSince(lock.state));
        return { objects, detail: copyBackDetail(objects, false) };
      });
    }
    const pass = (step: string, quietWaitMs?: number) =>
      steps.run(step, async () => {
        const result = await pvcPass(deps, {
          spec,
          direction: "to-source",
          passId: `failback:${steps.progressId}:${step}`,
          quietWaitMs,
          signal: ctx.signal,
        });
        return {
          objects: claimObjects(result, spec.sourceNamespace),
          detail: describePass(result),
          pvcData: passTotals(result),
        };
      });
    if (!reverse) {
      steps.skip("pvc-reverse-sync", "reverse PVC data sync was not asked for (--reverse-migrate-pvc-data)");
    } else if (steps.doneBefore("scale-dr-down")) {
      steps.skip("pvc-reverse-sync", "DR is already down: only the final pass is left");
    } else await pass("pvc-reverse-sync"); // while DR still serves: moves the bulk, the final pass only the rest
    // the field ownership the cutover handed over is taken back as DR goes back to standby: the
    // workloads in the write that scales each down, the other copies after them
    await steps.run("scale-dr-down", async () => {
      const from = await sourceOwners(ctx).catch(() => undefined);
      const scaled = await scaleDrDown(ctx, workloads, { from });
      if (scaled.some((o) => o.action === "failed")) return { objects: scaled };
      const taken = await ownership(deps, spec, "take-back", ctx.signal).catch((error) => {
        if (ctx.signal?.aborted) throw error;
        log.warn("the field owners handed over at the cutover could not be taken back", { error });
        return [];
      });
      return {
        objects: [...scaled, ...notWritten(taken)],
        detail: `${summarise(scaled)}; ${ownershipNote(taken, "take-back")}`,
      };
    });
    await steps.run("wait-dr-pods-gone", async () => {
      const left = await waitForDrPodsGone(ctx, workloads, request.podsGoneTimeoutMs ?? 120_000);
      if (left.length > 0) {
        throw new Error(`DR pods still there after the timeout: ${left.slice(0, 3).join(", ")}`);
      }
      return { detail: "no pod of the replication's workloads is left on DR" };
    });
    if (reverse) {
      if (steps.doneBefore("pvc-final-reverse-sync")) {
        steps.skip("pvc-final-reverse-sync", "done by an earlier run of this failback");
      } else await pass("pvc-final-reverse-sync", request.podsGoneTimeoutMs ?? 120_000);
    }
    await steps.run("restore-source", async () => ({ objects: await restoreSource(ctx, counts) }));
    if (steps.failed && steps.touched("scale-dr-down") && !ctx.signal?.aborted) {
      // never down on both sides: back to the cutover's state, DR up and the source down
      await steps.repair("undo", async () => {
        const repair = repairContext(ctx);
        const source = await scaleSourceDown(repair, await listManagedWorkloads(repair));
        const from = await sourceOwners(repair).catch(() => undefined);
        const dr = await scaleDrUp(repair, await listManagedWorkloads(repair), { from });
        // DR serves again: its copies take their source's field owners again (a failure is only logged)
        const handed = await ownership(deps, spec, "hand-over", repair.signal).catch((error) => {
          log.warn("the copies' field owners could not be handed over again", { error });
          return [];
        });
        return {
          objects: [...source, ...dr, ...notWritten(handed)],
          detail: "DR scaled back up and the source back down: the replication stays cut over",
        };
      });
    }
    const outcome = steps.finish(spec.name, startedAt, deps.now(), "source");
    log.debug("failback finished", { status: outcome.report.status });
    if (outcome.report.status !== "succeeded") return outcome;
    return { ...outcome, state: { ...outcome.state, fenceSource: undefined } };
  });
}

/**
 * Failback with DR unreachable: the source comes back from the records it carries. There is no
 * lock and no state to record (both live on DR): the report says to run failback again once DR
 * answers, which scales DR down and records the state.
 */
async function failbackWithoutDr(
  deps: ReturnType<typeof runDeps>,
  request: FailbackRequest,
  startedAt: Date,
): Promise<RunReport> {
  const spec = await withSourceIdentity(deps, request.replication, undefined);
  if (!await reachable(deps.source)) {
    throw new OperationRefusedError(`Cannot fail back "${spec.name}": neither cluster answers`);
  }
  deps.logger.warn("DR is unreachable: restoring the source from its own records, without DR's lock");
  const ctx = scaleContext(deps, spec, deps.signal);
  const objects = await restoreSource(ctx);
  const failed = objects.some((o) => o.action === "failed");
  return buildRunReport({
    runId: deps.runId,
    operation: "failback",
    replication: spec.name,
    dryRun: false,
    startedAt,
    finishedAt: deps.now(),
    objects,
    steps: [
      {
        step: "scale-dr-down",
        status: "skipped",
        detail:
          `cluster "${deps.dr.name}" is unreachable: run failback again once it answers, to scale DR down and record the state`,
      },
      {
        step: "restore-source",
        status: failed ? "failed" : "done",
        detail: "from the records on the source",
      },
    ],
  });
}

/** The copy-back step's line: what it wrote on the source (or would have). */
function copyBackDetail(objects: readonly ObjectResult[], dryRun: boolean): string {
  const count = (action: ObjectResult["action"]) => objects.filter((o) => o.action === action).length;
  const [created, updated, pruned, failed] = [
    count("created"),
    count("updated"),
    count("pruned"),
    count("failed"),
  ];
  const would = dryRun ? "would be " : "";
  if (created + updated + pruned + failed === 0) return "nothing changed on DR while it served";
  return [
    `${created} ${would}created, ${updated} ${would}updated, ${pruned} ${would}deleted on the source from DR`,
    ...(failed > 0 ? [`${failed} failed`] : []),
  ].join("; ");
}

/**
 * The copies (but the workloads, which do it as they are scaled) give back the field ownership the
 * cutover handed over (`take-back`), or take it again (`hand-over`, an undo).
 */
async function ownership(
  deps: OperationDeps,
  spec: ReplicationSpec,
  direction: "hand-over" | "take-back",
  signal: AbortSignal | undefined,
) {
  const checked = await checkSync(deps.source, deps.dr, spec);
  return await handOverCopies(deps.source, deps.dr, {
    spec,
    direction,
    types: withDrTypes(checked.types, checked.drServed),
    sourceUp: true,
    concurrency: deps.concurrency,
    retry: deps.retry,
    signal,
  });
}
