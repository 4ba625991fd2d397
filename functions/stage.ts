import { NAMESPACES } from "../shared/kube/types.ts";
import { getObject } from "../shared/kube/verbs.ts";
import { copySource, type ReplicationSpec } from "../shared/plan/replication_spec.ts";
import { buildRunReport, type RunReport, type StepResult } from "../shared/run_report.ts";
import { readStateLease } from "../shared/state/replication_lock.ts";
import { cutoverTracesRefusal, stageRefusal } from "../shared/state/refusals.ts";
import { checkSync } from "../shared/sync/check_sync.ts";
import { createDestNamespaceIfMissing } from "../shared/sync/dest_namespace.ts";
import type { PreparedSync } from "../shared/sync/prepare_sync.ts";
import { fenceUnderLock } from "./fence.ts";
import { type OperationDeps, OperationRefusedError, refuseIf, runDeps, runSignal } from "./operation_deps.ts";
import { sourceUid, withSourceIdentity } from "./preflight.ts";
import { runLocked } from "./run_locked.ts";
import { copiesCrds, readAndPlan, stagePass } from "./stage_pass.ts";

export interface StageRequest {
  readonly replication: ReplicationSpec;
  /** Plan and report, write nothing. */
  readonly dryRun?: boolean;
  /** Overrides the replication's prune setting. */
  readonly prune?: boolean;
  /** Stage even while the replication is cut over (it would scale the live DR side to zero). */
  readonly force?: boolean;
}

/**
 * Copies the source namespace to DR with workloads at zero replicas. Writes only what changed,
 * all of it under the replication's lock; refuses while the replication is cut over.
 */
export async function stage(operationDeps: OperationDeps, request: StageRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  const dryRun = request.dryRun ?? false;
  const force = request.force ?? false;
  // bad input fails here, before any write; the reads run side by side
  const identity = sourceUid(deps);
  const [{ state, lease }, checked, destNamespace] = await Promise.all([
    readStateLease(deps.dr, request.replication.destNamespace),
    checkSync(deps.source, deps.dr, request.replication),
    dryRun ? undefined : getObject(deps.dr, NAMESPACES, undefined, request.replication.destNamespace),
  ]);
  const spec = await withSourceIdentity(deps, request.replication, state, true, identity);
  const log = deps.logger.child({ operation: "stage", replication: spec.name });
  const refusal = stageRefusal(spec.name, state, force);
  if (refusal !== undefined && state.fenceSource && !dryRun) {
    // the source answers again after a cutover that skipped it: fence it before anything else
    const fenced = await runLocked(
      deps,
      spec,
      "fence",
      startedAt,
      (lock) => fenceUnderLock(deps, spec, lock, startedAt),
    );
    throw new OperationRefusedError(
      `${refusal} (the source, which a cutover had skipped, was fenced first: ${
        fenced.steps.map((s) => `${s.step} ${s.status}${s.detail ? ` (${s.detail})` : ""}`).join(", ")
      })`,
    );
  }
  refuseIf(refusal);
  const prune = request.prune ?? spec.prune;
  const pass = async (signal?: AbortSignal, prepared?: Promise<PreparedSync>) => {
    const result = await stagePass(deps, spec, {
      dryRun,
      prune,
      checked,
      signal,
      prepared,
      beforeWrite: (prepared: PreparedSync) =>
        refuseIf(cutoverTracesRefusal(spec.name, prepared.sourceRecords, force)),
    });
    const steps: StepResult[] = dryRun ? [] : [{
      step: "namespace",
      status: "done",
      detail: result.namespaceApplied ? `applied "${spec.destNamespace}"` : "unchanged",
    }];
    return buildRunReport({
      runId: deps.runId,
      operation: "stage",
      replication: spec.name,
      dryRun,
      startedAt,
      finishedAt: deps.now(),
      objects: result.objects,
      steps,
      activeSide: dryRun ? undefined : "source",
    });
  };
  if (dryRun) return await pass();

  // the lock lives in the DR namespace
  if (!destNamespace) await createDestNamespaceIfMissing(deps.dr, spec.destNamespace, { knownMissing: true });
  // Reading and planning need no lock. When the Lease just read is free, they start now, beside the
  // taking of the lock, and are kept when the lock was taken over that very Lease: nothing wrote it in
  // between, so no run held the lock while they read. Otherwise they are made again under the lock.
  const early = new AbortController();
  const prepared = destNamespace && !lease?.spec?.holderIdentity && !copiesCrds(spec)
    ? readAndPlan(deps, spec, checked, {
      prune,
      destNamespace,
      signal: deps.signal ? AbortSignal.any([deps.signal, early.signal]) : early.signal,
    })
    : undefined;
  prepared?.catch(() => {}); // awaited by the pass, or dropped
  try {
    return await runLocked(deps, spec, "stage", startedAt, async (lock) => {
      refuseIf(stageRefusal(spec.name, lock.state, force));
      if (!lock.overKnown) early.abort();
      const report = await pass(runSignal(deps, lock.signal), lock.overKnown ? prepared : undefined);
      log.debug("stage finished", {
        status: report.status,
        ...report.counts,
        readBeforeLock: prepared !== undefined && lock.overKnown,
      });
      const source = { cluster: copySource(spec).sourceCluster, namespace: spec.sourceNamespace };
      return { report, state: { ...lock.state, source } };
    }, lease);
  } finally {
    early.abort(); // the lock was not taken, or the pass is over: the reads are not needed
  }
}
