/**
 * The kubelet's volume plugin folders that hold a PersistentVolume's data, the only ones the agent reads or
 * writes: `pods/<pod-uid>/volumes/<plugin>/<pv-name>`. Every other plugin folder of a pod (`~empty-dir`,
 * `~secret`, `~projected`, `~configmap`, `~downward-api`, ...) is never a PersistentVolume, so a key naming
 * one, or a pod volume of another kind that happens to carry a PV's name, resolves to nothing. Pure.
 *
 * - `kubernetes.io~csi`: the data is in `<pv>/mount`, and the kubelet's `<pv>/vol_data.json` must say it is
 *   a persistent volume of that name (`"specVolID": "<pv>"`, not `"volumeLifecycleMode": "Ephemeral"`: an
 *   inline CSI volume is laid out the same way, under the pod's volume name);
 * - the in-tree plugins that still serve PersistentVolumes on a current node: `kubernetes.io~local-volume`
 *   (local PVs), `kubernetes.io~nfs`, `kubernetes.io~iscsi`, `kubernetes.io~fc`. (The cloud disks' in-tree
 *   plugins are migrated to CSI; hostPath PVs have no folder under the pod.)
 */

/** The plugin folder of CSI volumes; their data is in `<volume>/mount`. */
export const CSI_PLUGIN = "kubernetes.io~csi";

/** The plugin folders whose volumes can be PersistentVolumes, in the kubelet's naming. */
export const PERSISTENT_VOLUME_PLUGINS: readonly string[] = [
  CSI_PLUGIN,
  "kubernetes.io~local-volume",
  "kubernetes.io~nfs",
  "kubernetes.io~iscsi",
  "kubernetes.io~fc",
];

/** The kubelet's record of a mounted CSI volume, next to its `mount` folder. */
export const CSI_VOLUME_DATA = "vol_data.json";

/** True when a CSI volume's `vol_data.json` text says it is the PersistentVolume `name`. */
export function isPersistentCsiVolume(volumeData: string, name: string): boolean {
  try {
    const data = JSON.parse(volumeData) as { specVolID?: unknown; volumeLifecycleMode?: unknown };
    return data.specVolID === name && data.volumeLifecycleMode !== "Ephemeral";
  } catch {
    return false;
  }
}
