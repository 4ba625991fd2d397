/**
 * Finds the folder of a key's volume under the node's kubelet root, the way the kubelet lays volumes out:
 * `<root>/pods/<pod-uid>/volumes/<plugin>/<pv-name>`, and for CSI volumes (`kubernetes.io~csi`) the
 * `mount` folder inside it. The agent resolves the folder itself; clients never name it. Only the plugin
 * folders of PersistentVolumes count (`volume_plugins.ts`): an emptyDir, a Secret or an inline CSI volume
 * that carries a PV's name is not that PV.
 *
 * The folder must be a real folder: its real path (symlinks resolved) must be the path itself, so neither a
 * symlink in the kubelet's layout nor a renamed folder can point a key at anything else.
 */
import type { VolumeRef } from "./authorized_keys.ts";
import { VolumeNotFoundError } from "./agent_errors.ts";
import {
  CSI_PLUGIN,
  CSI_VOLUME_DATA,
  isPersistentCsiVolume,
  PERSISTENT_VOLUME_PLUGINS,
} from "./volume_plugins.ts";

function describe(ref: VolumeRef): string {
  return "path" in ref
    ? JSON.stringify(ref.path)
    : `${JSON.stringify(ref.volumeName)} of pod ${JSON.stringify(ref.podUid)}`;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A CSI volume folder counts only when the kubelet's record says it is the PersistentVolume `name`. */
async function isPersistent(folder: string, plugin: string, name: string): Promise<boolean> {
  if (plugin !== CSI_PLUGIN) return true;
  try {
    return isPersistentCsiVolume(await Deno.readTextFile(`${folder}/${CSI_VOLUME_DATA}`), name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** `{podUid, volumeName}` or the parts of `{path}` (already in the kubelet's shape: authorized_keys.ts). */
function parts(ref: VolumeRef): { podUid: string; plugins: readonly string[]; name: string } {
  if (!("path" in ref)) {
    return { podUid: ref.podUid, plugins: PERSISTENT_VOLUME_PLUGINS, name: ref.volumeName };
  }
  const [, podUid, , plugin, name] = ref.path.split("/");
  return { podUid: podUid!, plugins: PERSISTENT_VOLUME_PLUGINS.filter((p) => p === plugin), name: name! };
}

async function candidates(realRoot: string, ref: VolumeRef): Promise<string[]> {
  const { podUid, plugins, name } = parts(ref);
  const found: string[] = [];
  for (const plugin of plugins) {
    const folder = `${realRoot}/pods/${podUid}/volumes/${plugin}/${name}`;
    if (!await isDirectory(folder) || !await isPersistent(folder, plugin, name)) continue;
    found.push(plugin === CSI_PLUGIN ? `${folder}/mount` : folder);
  }
  return found;
}

/**
 * The real path of the volume folder `ref` names under `root`. Throws `VolumeNotFoundError` when it is not
 * there, is not a folder, is reached through a symlink, or (by pod and volume name) is found under more than
 * one plugin.
 */
export async function resolveVolume(root: string, ref: VolumeRef): Promise<string> {
  const realRoot = await Deno.realPath(root);
  const found = await candidates(realRoot, ref);
  if (found.length === 0) throw new VolumeNotFoundError(`Volume ${describe(ref)} is not on this node`);
  if (found.length > 1) {
    throw new VolumeNotFoundError(
      `Volume ${describe(ref)} is ambiguous: found under ${found.length} plugins`,
    );
  }
  const folder = found[0]!;
  let real: string;
  try {
    real = await Deno.realPath(folder);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new VolumeNotFoundError(`Volume ${describe(ref)} is not on this node`);
    }
    throw error;
  }
  if (real !== folder) throw new VolumeNotFoundError(`Volume ${describe(ref)} is reached through a symlink`);
  if (!await isDirectory(real)) throw new VolumeNotFoundError(`Volume ${describe(ref)} is not a folder`);
  return real;
}
