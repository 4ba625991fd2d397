/**
 * Every rsync the agent starts (the server of a push or of a pull from this node, and the client of a pull
 * into this node, with its ssh) runs confined by the kernel: bubblewrap (`bwrap`) starts it in new mount,
 * PID, IPC, UTS and cgroup namespaces whose root is an empty tmpfs, remounted read-only, holding only:
 *
 * - the volume folder at `/volume`, read-write (a receiving server, a pull's client) or read-only (a sending
 *   server): the only path from the node that is not a system file, and the only writable one;
 * - read-only system files: `/usr` (and `/bin`, `/lib`, `/lib64`, `/sbin`, which are links into it on a
 *   merged-/usr system), the few files of `/etc` the C library and ssh read (`passwd`, `group`,
 *   `nsswitch.conf`, `hosts`, `resolv.conf`, `host.conf`, `gai.conf`, `ld.so.cache`, `localtime`), a minimal
 *   `/dev` (null, zero, full, random, urandom, tty), the rsync binary when it is not under `/usr`;
 * - for a pull only, its key folder (the private key and the pinned host key) read-only at `/run/pull`.
 *
 * So no path outside the volume exists for rsync: the kernel resolves every name, `..` and symlink targets
 * included, inside this root, however the volume's folders are swapped for symlinks while rsync runs. The
 * rsync process keeps only the capabilities it needs to copy files of any owner (`DATA_CAPABILITIES`);
 * bubblewrap itself needs `CAP_SYS_ADMIN` to make the namespaces and mounts. The network is the agent's
 * (the node's, on the host network): a namespace of its own would need `CAP_NET_ADMIN` there.
 */
import { AgentUsageError } from "./agent_errors.ts";

/** Where the volume is inside the sandbox (rsync's working directory). */
export const SANDBOX_VOLUME = "/volume";
/** Where a pull's key folder is inside the sandbox. */
export const SANDBOX_PULL_KEYS = "/run/pull";
/** The capabilities rsync keeps in the sandbox: those that copying files of any owner needs. */
export const DATA_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "MKNOD",
  "SETFCAP",
] as const;
/** The environment of every confined process: no `RSYNC_*` or `LD_*` variable can change what it does. */
export const SANDBOX_ENV = {
  PATH: "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
  LC_ALL: "C",
};

const SYSTEM_DIRS = ["/usr", "/bin", "/lib", "/lib64", "/sbin"];
const ETC_FILES = [
  "passwd",
  "group",
  "nsswitch.conf",
  "hosts",
  "resolv.conf",
  "host.conf",
  "gai.conf",
  "ld.so.cache",
  "localtime",
];

/** How the agent confines its rsync processes (from its flags). */
export interface Sandbox {
  /** The bubblewrap binary. */
  readonly bwrap: string;
  /** The rsync binary: a name found in the sandbox's `/usr`, or an absolute path bound into the sandbox. */
  readonly rsync: string;
}

/** One confined process. */
export interface ConfinedSpec {
  /** The volume folder's real path on the node. */
  readonly volume: string;
  readonly writable: boolean;
  /** A folder of the node bound read-only at `SANDBOX_PULL_KEYS` (a pull's keys). */
  readonly keys?: string;
  /** The argv inside the sandbox, rsync's arguments after the binary. */
  readonly args: readonly string[];
}

/** bubblewrap's arguments for `spec` (pure). */
export function sandboxArgs(sandbox: Sandbox, spec: ConfinedSpec): string[] {
  const args = [
    "--die-with-parent",
    "--unshare-pid",
    "--as-pid-1",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--cap-drop",
    "ALL",
    ...DATA_CAPABILITIES.flatMap((cap) => ["--cap-add", `CAP_${cap}`]),
    ...SYSTEM_DIRS.flatMap((dir) => ["--ro-bind-try", dir, dir]),
    ...ETC_FILES.flatMap((file) => ["--ro-bind-try", `/etc/${file}`, `/etc/${file}`]),
    "--dev",
    "/dev",
  ];
  if (sandbox.rsync.includes("/") && !sandbox.rsync.startsWith("/usr/")) {
    args.push("--ro-bind", sandbox.rsync, sandbox.rsync);
  }
  if (spec.keys !== undefined) args.push("--ro-bind", spec.keys, SANDBOX_PULL_KEYS);
  args.push(spec.writable ? "--bind" : "--ro-bind", spec.volume, SANDBOX_VOLUME);
  args.push("--chdir", SANDBOX_VOLUME, "--remount-ro", "/", "--", sandbox.rsync, ...spec.args);
  return args;
}

/** A confined process and its pipes. */
export interface ConfinedProcess {
  readonly child: Deno.ChildProcess;
  /**
   * Ends the sandbox (bubblewrap and, with it, rsync: `--die-with-parent`) with SIGKILL after `afterMs`
   * unless it ended by then. bubblewrap passes no signal on to rsync, so a graceful stop is the caller's:
   * a server's stdin closed first makes rsync clean up and exit (keeping `--partial` data).
   */
  kill(afterMs: number): void;
  /** Clears the SIGKILL timer; call when the process has ended. */
  done(): void;
}

/** Starts rsync confined as `spec` says. stdin is piped when `stdin` is true. */
export function spawnConfined(
  sandbox: Sandbox,
  spec: ConfinedSpec,
  stdio: { readonly stdin: boolean },
): ConfinedProcess {
  const child = new Deno.Command(sandbox.bwrap, {
    args: sandboxArgs(sandbox, spec),
    stdin: stdio.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: SANDBOX_ENV,
  }).spawn();
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
  };
  return {
    child,
    kill(afterMs) {
      if (ended || killTimer !== undefined) return;
      killTimer = setTimeout(kill, afterMs);
    },
    done() {
      ended = true;
      clearTimeout(killTimer);
    },
  };
}

/**
 * Checks at start that the sandbox works here (bubblewrap present, namespaces and mounts permitted, rsync
 * runnable inside): runs `rsync --version` confined to an empty folder. Resolves with rsync's version line;
 * throws `AgentUsageError` with bubblewrap's message otherwise.
 */
export async function checkSandbox(sandbox: Sandbox, emptyDir: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(sandbox.bwrap, {
      args: sandboxArgs(sandbox, { volume: emptyDir, writable: false, args: ["--version"] }),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: SANDBOX_ENV,
    }).output();
  } catch (error) {
    throw new AgentUsageError(
      `Cannot confine rsync: cannot run ${JSON.stringify(sandbox.bwrap)} (bubblewrap, --bwrap): ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  const text = new TextDecoder();
  if (!output.success) {
    throw new AgentUsageError(
      `Cannot confine rsync with ${JSON.stringify(sandbox.bwrap)} (it needs CAP_SYS_ADMIN and, under ` +
        `AppArmor, a profile that allows mounts; docs/agent.md): ${text.decode(output.stderr).trim()}`,
    );
  }
  return text.decode(output.stdout).split("\n")[0]!.trim();
}
