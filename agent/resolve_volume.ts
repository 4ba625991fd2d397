/**
 * Finds the folder of a key's volume under the node's kubelet root, the way the kubelet lays volumes out:
 * `<root>/pods/<pod-uid>/volumes/<plugin>/<volume-name>`, and for CSI volumes (`kubernetes.io~csi`) the
 * `mount` folder inside it. The agent resolves the folder itself; clients never name it.
 *
 * The folder must be a real folder: its real path (symlinks resolved) must be the path itself, so neither a
 * symlink in the kubelet's layout nor a renamed folder can point a key at anything else.
 */
import type { VolumeRef } from "./authorized_keys.ts";
import { VolumeNotFoundError } from "./agent_errors.ts";

/** The plugin folder of CSI volumes; their data is in `<volume>/mount`. */
const CSI_PLUGIN = "kubernetes.io~csi";

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

async function candidates(realRoot: string, ref: VolumeRef): Promise<string[]> {
  if ("path" in ref) return [`${realRoot}/${ref.path}`];
  const volumes = `${realRoot}/pods/${ref.podUid}/volumes`;
  const found: string[] = [];
  let plugins: Deno.DirEntry[];
  try {
    plugins = await Array.fromAsync(Deno.readDir(volumes));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  for (const plugin of plugins) {
    if (!plugin.isDirectory) continue;
    const folder = `${volumes}/${plugin.name}/${ref.volumeName}`;
    if (!await isDirectory(folder)) continue;
    found.push(plugin.name === CSI_PLUGIN ? `${folder}/mount` : folder);
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
