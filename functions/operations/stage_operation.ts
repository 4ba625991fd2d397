/** stage: copy the source namespace to DR with workloads at zero replicas. */
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

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
    force: flag("stage even while the replication is cut over (scales the live DR side to zero)", {
      scope: "force",
    }),
  },
  flagGroups: ["copy", "lock"],
  createsDestNamespace: true,
  async run(deps, spec, o) {
    const { stage } = await import("../stage.ts");
    return await stage(deps, {
      replication: spec,
      dryRun: o.dryRun ?? false,
      force: o.force ?? false,
      ...(o.prune !== undefined ? { prune: o.prune } : {}),
    });
  },
});
