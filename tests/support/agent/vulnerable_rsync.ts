/**
 * Debian 12's original rsync, 3.2.7, which follows a folder swapped for a symlink during a transfer (3.4 and
 * later refuse many of these swaps): the agent's confinement must hold with it too. Downloaded once with
 * `apt-get download` (Debian's package, no other source) and unpacked with `dpkg -x` into
 * `~/.cache/dr-syncer-testenv/`; its libraries are the system's. Run it to fetch it ahead (CI, needs
 * `apt-get update` once): `deno run -A tests/support/agent/vulnerable_rsync.ts`.
 */
export const VULNERABLE_RSYNC_PACKAGE = "rsync=3.2.7-1+deb12u6";

async function exec(program: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(program, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} failed: ${text.decode(out.stderr).trim()}`);
  }
  return text.decode(out.stdout);
}

/** The path of rsync 3.2.7's binary, fetched and unpacked on first use. */
export async function vulnerableRsync(): Promise<string> {
  const cache = `${Deno.env.get("HOME") ?? "/root"}/.cache/dr-syncer-testenv/${
    VULNERABLE_RSYNC_PACKAGE.replace("=", "-")
  }`;
  const binary = `${cache}/usr/bin/rsync`;
  try {
    await Deno.stat(binary);
  } catch {
    const work = await Deno.makeTempDir({ prefix: "rsync-327-" });
    try {
      await exec("apt-get", ["download", "-q", VULNERABLE_RSYNC_PACKAGE], work);
      const deb = [...Deno.readDirSync(work)].find((entry) => entry.name.endsWith(".deb"));
      if (deb === undefined) throw new Error(`apt-get download ${VULNERABLE_RSYNC_PACKAGE} left no .deb`);
      await exec("dpkg", ["-x", deb.name, "root"], work);
      await Deno.mkdir(`${cache}/..`, { recursive: true });
      await Deno.rename(`${work}/root`, cache).catch(async (error) => {
        // another test unpacked it meanwhile
        if (!(error instanceof Deno.errors.AlreadyExists) && !await Deno.stat(binary).catch(() => false)) {
          throw error;
        }
      });
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  }
  const version = await exec(binary, ["--version"], "/");
  if (!version.startsWith("rsync  version 3.2.7 ")) throw new Error(`not rsync 3.2.7: ${version}`);
  return binary;
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  Deno.stdout.writeSync(encoder.encode(`${await vulnerableRsync()}\n`));
}
