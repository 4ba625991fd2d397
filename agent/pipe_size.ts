/**
 * Larger pipes to a child process (rsync in its sandbox): a Linux pipe holds 64 KiB, so reading 1 GiB of
 * rsync's output takes ~16,000-20,000 reads, each a full turn of Deno's event loop (about 1 s of CPU per GiB,
 * docs/agent.md "Speed"). `F_SETPIPE_SZ` raises a pipe's capacity (up to `/proc/sys/fs/pipe-max-size`,
 * 1 MiB by default; more for root) so that one read takes up to that much.
 *
 * Deno gives no file descriptor for a child's pipes, so they are found through `/proc`: the child's
 * `/proc/<pid>/fd/<n>` links to `pipe:[inode]`, and the agent's own descriptor with the same link is its end
 * of that pipe. Deno's permissions would ask for `--allow-all` for `/proc/<pid>`, so the links are read, and
 * `fcntl` called, through FFI: the C library's `readlink` and `fcntl`, found through libcrypto's handle (the
 * library the agent's FFI permission already names, by path; `dlsym` on a handle also searches the
 * library's dependencies, and libcrypto depends on libc), so the agent's permissions stay as they are.
 *
 * Best effort: anything missing (no libcrypto, no `/proc`, the child already gone, the size refused) leaves
 * the pipes at their size, and the caller reads them as before. A race with the child's first writes is
 * harmless (it only changes how much one read can take).
 */
import { LIBCRYPTO_PATHS } from "../shared/pvc/agent_command.ts";

/** The capacity asked for (the default `pipe-max-size`), then a smaller one if refused. */
export const PIPE_SIZES: readonly number[] = [1024 * 1024, 256 * 1024];
/** A pipe's default capacity on Linux. */
export const DEFAULT_PIPE_SIZE = 64 * 1024;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
/** Highest descriptor of the agent's looked at. */
const MAX_FD = 4096;

const SYMBOLS = {
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** libcrypto by path first (the FFI permission), then by name (for `-A` elsewhere). */
const LIBRARY_NAMES = [...LIBCRYPTO_PATHS, "libcrypto.so.3", "libcrypto.so"];

let loaded: { readonly libc: Libc } | { readonly reason: string } | undefined;

function libc(): Libc | string {
  if (loaded === undefined) {
    loaded = {
      reason: "cannot load fcntl/readlink through libcrypto (no --allow-ffi for it, or not installed)",
    };
    for (const name of LIBRARY_NAMES) {
      try {
        loaded = { libc: Deno.dlopen(name, SYMBOLS).symbols };
        break;
      } catch {
        // next name
      }
    }
  }
  return "libc" in loaded ? loaded.libc : loaded.reason;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const linkBuffer = new Uint8Array(256);

function readLink(lib: Libc, path: string): string | undefined {
  const length = Number(lib.readlink(encoder.encode(`${path}\0`), linkBuffer, BigInt(linkBuffer.length)));
  return length < 0 ? undefined : decoder.decode(linkBuffer.subarray(0, length));
}

/** The result for one of the child's descriptors: the pipe's capacity now, or why it was left alone. */
export type PipeResult = { readonly size: number; readonly fd: number } | { readonly reason: string };

/**
 * Finds the agent's end of the pipes that are the child `pid`'s descriptors `childFds` (0: stdin, 1: stdout)
 * and raises their capacity to the first of `sizes` the kernel accepts. One result per descriptor, in order.
 */
export function enlargeChildPipes(
  pid: number,
  childFds: readonly number[],
  sizes: readonly number[] = PIPE_SIZES,
): PipeResult[] {
  const lib = libc();
  if (typeof lib === "string") return childFds.map(() => ({ reason: lib }));
  const links = childFds.map((fd) => readLink(lib, `/proc/${pid}/fd/${fd}`));
  const own = new Map<string, number>();
  const wanted = new Set(links.filter((link) => link?.startsWith("pipe:")));
  for (let fd = 3; fd < MAX_FD && own.size < wanted.size; fd++) {
    const link = readLink(lib, `/proc/self/fd/${fd}`);
    if (link !== undefined && wanted.has(link) && !own.has(link)) own.set(link, fd);
  }
  return links.map((link, i) => {
    if (link === undefined) return { reason: `cannot read /proc/${pid}/fd/${childFds[i]}` };
    const fd = own.get(link);
    if (fd === undefined) return { reason: `no descriptor of the agent's is ${link}` };
    for (const size of sizes) {
      if (lib.fcntl(fd, F_SETPIPE_SZ, size) >= 0) return { size: lib.fcntl(fd, F_GETPIPE_SZ, 0), fd };
    }
    return { reason: `F_SETPIPE_SZ refused (${sizes.join(", ")} bytes)` };
  });
}

/** A pipe's capacity (`F_GETPIPE_SZ`) by the agent's descriptor, or -1 (for tests). */
export function pipeSize(fd: number): number {
  const lib = libc();
  return typeof lib === "string" ? -1 : lib.fcntl(fd, F_GETPIPE_SZ, 0);
}
