/** cutover: the source to zero, DR to the recorded replica counts. */
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

export const cutoverOperation = defineOperation({
  name: "cutover",
  summary: "source to zero, DR to the recorded replica counts",
  description: `Move the replication's capacity to DR.
Steps: lock, final stage, scale the source to zero (each count recorded in the annotation
dr-syncer.io/original-replicas in the same write), with PVC data: once the source's pods are gone a final
data pass (the source is quiet, so the copy is consistent), scale DR to the recorded counts, record the state.
Safe to re-run after a crash.`,
  options: {
    dryRun: DRY_RUN,
    allowSourceUnavailable: flag(
      "the source cluster is down (or answers but cannot be listed): skip its steps, use the counts recorded on DR",
      { scope: "allow-source-unavailable" },
    ),
    acceptStale: flag(
      "scale DR up even when the final stage could not copy some objects (they are reported stale)",
      { scope: "accept-stale" },
    ),
    force: flag("cut over although the state says DR is already the active side", { scope: "force" }),
    migratePvcData: flag(
      "copy the claims' data once the source's pods are gone, before DR is scaled up (always done when the replication has pvc.enabled)",
    ),
  },
  flagGroups: ["copy", "pvc", "lock"],
  pausesWatch: true,
  queued: false,
  async run(deps, spec, o) {
    const { cutover } = await import("../cutover.ts");
    return await cutover(deps, {
      replication: spec,
      dryRun: o.dryRun ?? false,
      allowSourceUnavailable: o.allowSourceUnavailable ?? false,
      acceptStale: o.acceptStale ?? false,
      force: o.force ?? false,
      migratePvcData: o.migratePvcData ?? false,
    });
  },
});
