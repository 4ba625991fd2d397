/**
 * Confines the paths of an rsync command to the volume folder. Each path (relative to the volume, or
 * absolute inside it) becomes a path relative to the folder, which is rsync's working directory; every part
 * of it that exists must be a real folder or file, not a symlink, so the transfer can neither read through a
 * link in the volume nor write through one. Parts that do not exist yet (a destination rsync will create)
 * are fine: they contain no `..` (the parser refused that).
 *
 * A transfer of the whole volume (`.` or `./`) has nothing to check: rsync starts in the folder itself.
 */
import { CommandRefusedError } from "./agent_errors.ts";

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return undefined;
    throw error;
  }
}

/** The part of `path` below `volumeDir`, or undefined when it is not below it. */
function insideVolume(volumeDir: string, path: string): string | undefined {
  const normal = path.split("/").filter((part) => part !== "" && part !== ".").join("/");
  const base = volumeDir.slice(1);
  if (normal === base) return "";
  if (normal.startsWith(`${base}/`)) return normal.slice(base.length + 1);
  return undefined;
}

/** One path, relative to `volumeDir` for rsync. */
async function resolveOne(volumeDir: string, path: string): Promise<string> {
  const shown = JSON.stringify(path);
  let relative = path;
  if (path.startsWith("/")) {
    const below = insideVolume(volumeDir, path);
    if (below === undefined) throw new CommandRefusedError(`Transfer path ${shown} is outside the volume`);
    relative = below;
  }
  const parts = relative.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw new CommandRefusedError(`Transfer path ${shown} contains ".."`);
  let current = volumeDir;
  for (const [index, part] of parts.entries()) {
    current = `${current}/${part}`;
    const info = await lstatOrUndefined(current);
    if (info === undefined) break;
    if (info.isSymlink) {
      const link = parts.slice(0, index + 1).join("/");
      throw new CommandRefusedError(
        `Transfer path ${shown} goes through a symlink in the volume (${JSON.stringify(link)})`,
      );
    }
  }
  const trailing = path.endsWith("/") || path.endsWith("/.");
  if (parts.length === 0) return trailing ? "./" : ".";
  const out = parts.join("/") + (trailing ? "/" : "");
  return out.startsWith("-") ? `./${out}` : out;
}

/**
 * The transfer paths relative to `volumeDir` (a real path, from `resolveVolume`), in order. Throws
 * `CommandRefusedError` for a path outside the volume or through a symlink.
 */
export async function resolveTransferPaths(volumeDir: string, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) out.push(await resolveOne(volumeDir, path));
  return out;
}
