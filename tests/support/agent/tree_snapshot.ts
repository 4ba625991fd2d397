/**
 * What "the data is equal" means in the agent's tests (and the pvc-sync tests): every path with its type,
 * permission bits (setuid/setgid/sticky included), owner, content hash, symlink target and modification
 * time (to the second), plus which paths share an inode (hard links). `sampleTree` writes a tree that
 * exercises all of them.
 */
import { createHash } from "node:crypto";

export interface TreeEntry {
  readonly type: "file" | "dir" | "symlink" | "other";
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** sha256 of the content, for files. */
  readonly sha256?: string;
  /** The link's target, for symlinks. */
  readonly target?: string;
  /** Modification time in whole seconds (not compared for folders, which a transfer may touch last). */
  readonly mtime?: number;
}

export interface TreeSnapshot {
  /** By path relative to the root, sorted. */
  readonly entries: Readonly<Record<string, TreeEntry>>;
  /** Groups of paths that are hard links of one file (2 or more), each sorted, sorted by first path. */
  readonly hardLinks: readonly (readonly string[])[];
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** A snapshot of the tree under `root` (the root itself is not an entry). */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const entries: Record<string, TreeEntry> = {};
  const inodes = new Map<number, string[]>();
  const walk = async (dir: string, prefix: string) => {
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    for (const name of names) {
      const path = `${dir}/${name}`;
      const rel = prefix === "" ? name : `${prefix}/${name}`;
      const info = await Deno.lstat(path);
      const base = {
        mode: (info.mode ?? 0) & 0o7777,
        uid: info.uid ?? -1,
        gid: info.gid ?? -1,
        size: info.size,
      };
      if (info.isSymlink) {
        entries[rel] = { type: "symlink", ...base, target: await Deno.readLink(path) };
      } else if (info.isDirectory) {
        entries[rel] = { type: "dir", ...base, size: 0 };
        await walk(path, rel);
      } else if (info.isFile) {
        const mtime = Math.floor((info.mtime?.getTime() ?? 0) / 1000);
        entries[rel] = { type: "file", ...base, sha256: await hashFile(path), mtime };
        if ((info.nlink ?? 1) > 1 && info.ino !== null) {
          inodes.set(info.ino, [...inodes.get(info.ino) ?? [], rel]);
        }
      } else {
        entries[rel] = { type: "other", ...base, size: 0 };
      }
    }
  };
  await walk(root, "");
  const hardLinks = [...inodes.values()].filter((group) => group.length > 1).map((group) => group.sort())
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  return { entries, hardLinks };
}

/** Deterministic bytes (a simple xorshift stream), so a test's data is the same on every run. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Writes a tree with what a volume copy must keep: contents (empty, text, binary), odd names, permission
 * bits, owners (when run as root), old modification times, relative/absolute/dangling symlinks, a symlink to
 * a folder, hard links across folders, nested and private folders.
 */
export async function sampleTree(
  root: string,
  options: { readonly bigFileBytes?: number } = {},
): Promise<void> {
  const write = async (rel: string, data: string | Uint8Array, mode = 0o644) => {
    const path = `${root}/${rel}`;
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
    await Deno.chmod(path, mode);
  };
  await Deno.mkdir(`${root}/dir/nested/deep`, { recursive: true });
  await Deno.mkdir(`${root}/private`, { recursive: true });
  await Deno.chmod(`${root}/private`, 0o700);
  await Deno.chmod(`${root}/dir`, 0o750);
  await write("a.txt", "hello\n");
  await write("empty", "", 0o600);
  await write("big.bin", pseudoRandomBytes(options.bigFileBytes ?? 4 * 1024 * 1024, 7));
  await write("exec.sh", "#!/bin/sh\necho hi\n", 0o755);
  await write("setuid-bin", "not really a binary\n", 0o4755);
  await write("name with spaces.txt", "spaces\n");
  await write("ünïcödé-名前.txt", "unicode\n");
  await write("quote'dollar$semi;.txt", "odd\n", 0o640);
  await write("dir/nested/deep/file.txt", "deep\n");
  await write("private/key", "private\n", 0o600);
  await write("hard-1", "shared inode\n");
  await Deno.link(`${root}/hard-1`, `${root}/hard-2`);
  await Deno.link(`${root}/hard-1`, `${root}/dir/hard-3`);
  await Deno.symlink("a.txt", `${root}/rel-link`);
  await Deno.symlink("does-not-exist", `${root}/dangling`);
  await Deno.symlink("/etc/passwd", `${root}/abs-link`);
  await Deno.symlink("dir", `${root}/dir-link`);
  const old = new Date("2024-02-03T04:05:06Z");
  await Deno.utime(`${root}/a.txt`, old, old);
  await Deno.utime(`${root}/dir/nested/deep/file.txt`, old, old);
  if (Deno.uid() === 0) {
    await Deno.chown(`${root}/private/key`, 1234, 2345);
    await Deno.chown(`${root}/exec.sh`, 0, 3456);
  }
}
