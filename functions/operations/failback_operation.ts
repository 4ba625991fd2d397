/** failback: what changed on DR copied back, DR back to standby, the source back to its recorded counts. */
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

export const failbackOperation = defineOperation({
  name: "failback",
  summary: "what changed on DR copied back, DR to zero, the source back to its recorded counts",
  description: `Return to the source after a cutover.
Steps: lock, copy back to the source what changed on DR while it served (new and changed objects; deletions
with --prune), (reverse PVC data pass), scale DR back to standby, wait until DR's pods are gone, (final
reverse pass), restore the source's recorded counts (and clear the records), record the state. A failure
after DR went down is undone (DR up, the source down).`,
  options: {
    dryRun: DRY_RUN,
    discardDrChanges: flag(
      "fail back without first copying to the source what changed on DR while it served (those changes are lost)",
    ),
    prune: flag(
      "with the copy-back, delete the source objects whose DR copy was deleted while DR served (within --max-prune); overrides the replication's setting",
      { negation: "no-prune", overridesSetting: true },
    ),
    reverseMigratePvcData: flag(
      "copy the claims' data back from DR: a pass while DR still serves, then after DR's pods are gone a final pass of the changes, before the source starts",
    ),
    useDrCounts: flag(
      "restore the source to the counts DR runs at now (it may have scaled since the cutover), not the counts recorded at cutover",
    ),
    allowDrUnavailable: flag(
      "DR does not answer: restore the source from its own records, without DR's lock or state (run failback again once DR answers)",
      { scope: "allow-dr-unavailable" },
    ),
    force: flag("fail back although the state says nothing was cut over", { scope: "force" }),
  },
  flagGroups: ["copy", "pvc", "lock"],
  pausesWatch: true,
  queued: false,
  toleratesDrUnavailable: (o) => o.allowDrUnavailable === true,
  async run(deps, spec, o) {
    const { failback } = await import("../failback.ts");
    return await failback(deps, {
      replication: spec,
      dryRun: o.dryRun ?? false,
      force: o.force ?? false,
      useDrCounts: o.useDrCounts ?? false,
      allowDrUnavailable: o.allowDrUnavailable ?? false,
      reverseMigratePvcData: o.reverseMigratePvcData ?? false,
      discardDrChanges: o.discardDrChanges ?? false,
      ...(o.prune !== undefined ? { prune: o.prune } : {}),
    });
  },
});
