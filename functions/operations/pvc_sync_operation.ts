/** pvc-sync: copy the claims' data with rsync over SSH between the node agents. */
import { defineOperation, DRY_RUN, flag } from "./operation.ts";

export const pvcSyncOperation = defineOperation({
  name: "pvc-sync",
  summary: "copy the claims' data to DR (rsync over SSH between the node agents)",
  description: `Copy the data of the replication's PersistentVolumeClaims to DR.
For each claim of the source namespace: mount it where it is (the running pod that mounts it, else a
short-lived mounter pod), mount its DR copy with a mounter pod (refused when a DR application mounts it),
authorize one key pair per transfer in the agents' Secrets, and have the DR node's agent pull from the source
node's agent with rsync over SSH (host keys pinned; deltas only; --delete; partial files kept for a retry).
Each claim runs under its own lock (a Lease in the DR namespace), so it runs beside stage. Mounter pods and
keys are removed afterwards. Per claim: files, bytes, duration. Refuses to copy over the side that serves.`,
  options: {
    dryRun: DRY_RUN,
    toSource: flag("copy back from DR to the source (after a cutover, before a failback)"),
    force: flag("copy although the data would overwrite the side that serves", { scope: "force" }),
  },
  flagGroups: ["pvc"],
  async run(deps, spec, o) {
    const { pvcSync } = await import("../pvc_sync.ts");
    return await pvcSync(deps, {
      replication: spec,
      dryRun: o.dryRun ?? false,
      force: o.force ?? false,
      direction: o.toSource ? "to-source" : "to-dr",
    });
  },
});
