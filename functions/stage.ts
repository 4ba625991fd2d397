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
import { stagePass } from "./stage_pass.ts";

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
  const pass = async (signal?: AbortSignal) => {
    const result = await stagePass(deps, spec, {
      dryRun,
      prune: request.prune ?? spec.prune,
      checked,
      signal,
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
  return await runLocked(deps, spec, "stage", startedAt, async (lock) => {
    refuseIf(stageRefusal(spec.name, lock.state, force));
    const report = await pass(runSignal(deps, lock.signal));
    log.debug("stage finished", { status: report.status, ...report.counts });
    const source = { cluster: copySource(spec).sourceCluster, namespace: spec.sourceNamespace };
    return { report, state: { ...lock.state, source } };
  }, lease);
}
