/** stage: copy the source namespace to DR with workloads at zero replicas. */
import { buildRunReport, type RunReport, type StepResult } from "../../shared/run_report.ts";
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

/** `report` with `steps` added (its status follows). */
function withSteps(report: RunReport, steps: readonly StepResult[]): RunReport {
  return buildRunReport({
    runId: report.runId,
    operation: report.operation,
    replication: report.replication,
    dryRun: report.dryRun,
    startedAt: new Date(report.startedAt),
    finishedAt: new Date(report.finishedAt),
    objects: report.objects,
    steps: [...report.steps, ...steps],
    ...(report.activeSide !== undefined ? { activeSide: report.activeSide } : {}),
  });
}

export const stageOperation = defineOperation({
  name: "stage",
  summary: "copy the source namespace to DR, workloads at zero replicas",
  description: `Copy the source namespace to the DR cluster with workloads at zero replicas.
Only objects whose copy changed are written; a second run over an unchanged namespace writes no object.
Refuses while the replication is cut over (it would scale the live side to zero) unless --force.`,
  options: {
    dryRun: DRY_RUN,
    prune: flag(
      "delete DR objects dr-syncer copied whose source is gone (only those; never while the source namespace is being deleted); overrides the replication's setting",
      { negation: "no-prune", overridesSetting: true },
    ),
    migratePvcData: flag(
      "then copy the claims' data to DR (a pvc-sync pass; the original DR-Syncer's --migrate-pvc-data on Stage)",
    ),
    force: flag("stage even while the replication is cut over (scales the live DR side to zero)", {
      scope: "force",
    }),
  },
  flagGroups: ["copy", "pvc", "lock"],
  createsDestNamespace: true,
  async run(deps, spec, o) {
    const { stage } = await import("../stage.ts");
    const runId = deps.runId ?? crypto.randomUUID();
    const staged = await stage({ ...deps, runId }, {
      replication: spec,
      dryRun: o.dryRun ?? false,
      force: o.force ?? false,
      ...(o.prune !== undefined ? { prune: o.prune } : {}),
    });
    if (!o.migratePvcData) return staged;
    if (staged.status !== "succeeded") {
      return withSteps(staged, [{
        step: "pvc-sync-to-dr",
        status: "skipped",
        detail: "the stage did not succeed",
      }]);
    }
    const { pvcSync } = await import("../pvc_sync.ts");
    const data = await pvcSync({ ...deps, runId }, {
      replication: spec,
      dryRun: o.dryRun ?? false,
      force: false,
    });
    return buildRunReport({
      runId,
      operation: staged.operation,
      replication: staged.replication,
      dryRun: staged.dryRun,
      startedAt: new Date(staged.startedAt),
      finishedAt: new Date(data.finishedAt),
      objects: [...staged.objects, ...data.objects],
      // pvc-sync's one step takes the pass's time when it does not carry its own
      steps: [
        ...staged.steps,
        ...data.steps.map((step) =>
          step.durationMs !== undefined || data.steps.length !== 1
            ? step
            : { ...step, durationMs: data.durationMs }
        ),
      ],
      ...(staged.activeSide !== undefined ? { activeSide: staged.activeSide } : {}),
      ...(data.pvcData !== undefined ? { pvcData: data.pvcData } : {}),
    });
  },
});
