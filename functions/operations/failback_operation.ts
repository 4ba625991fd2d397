/** failback: DR back to standby, the source back to its recorded counts. */
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

export const failbackOperation = defineOperation({
  name: "failback",
  summary: "DR to zero, the source back to its recorded counts",
  description: `Return to the source after a cutover.
Steps: lock, (reverse PVC data pass), scale DR back to standby, wait until DR's pods are gone, (final
reverse pass), restore the source's recorded counts (and clear the records), record the state. A failure
after DR went down is undone (DR up, the source down).`,
  options: {
    dryRun: DRY_RUN,
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
  flagGroups: ["pvc", "lock"],
  pausesWatch: true,
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
    });
  },
});
