/** fence: scale the source down after a cutover that could not reach it. */
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

export const fenceOperation = defineOperation({
  name: "fence",
  summary: "scale the source down after a cutover that could not reach it",
  description: `Scale the source down after a cutover that skipped it (it was unavailable).
Once the source answers again its workloads may still run, on both sides: fence scales them to zero,
recording each count (as cutover does) so a failback restores them. A stage does this by itself when it
finds the source reachable while the replication is cut over. "dr-syncer status" says when it is needed.`,
  options: {
    dryRun: DRY_RUN,
    force: flag("scale the source down although no cutover skipped it", { scope: "force" }),
  },
  flagGroups: ["lock"],
  queued: false,
  async run(deps, spec, o) {
    const { fence } = await import("../fence.ts");
    return await fence(deps, { replication: spec, force: o.force ?? false, dryRun: o.dryRun ?? false });
  },
});
