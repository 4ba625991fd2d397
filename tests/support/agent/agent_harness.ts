/**
 * Test support for the agent: real processes only. It starts `agent/main.ts` as a subprocess on 127.0.0.1
 * (port 0, the port read from its "agent listening" log entry) with the Deno permissions it has in the
 * DaemonSet, makes keys with `ssh-keygen`, lays out
 * volume folders as the kubelet does, and runs the OpenSSH client and rsync against the agent with the host
 * key pinned (`StrictHostKeyChecking=yes` and a known-hosts file). Used by the agent's integration tests and
 * meant for the pvc-sync tests that run one agent per simulated node.
 */

import { agentDenoPermissions } from "../../../shared/pvc/agent_command.ts";

/** The alias the known-hosts files of this harness pin the agent's host key under. */
export const HOST_ALIAS = "dr-agent";

const MAIN = new URL("../../../agent/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a program (no shell) and collects its output; kills it after `timeoutMs`. */
export async function run(
  program: string,
  args: readonly string[],
  options: { readonly timeoutMs?: number; readonly cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(program, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs ?? 60_000);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    timedOut,
  };
}

export interface KeyPair {
  /** Path of the private key file. */
  readonly privateKey: string;
  /** The public key line (`ssh-ed25519 AAAA... comment`). */
  readonly publicKey: string;
}

/** A new ed25519 key pair in `dir`, made by `ssh-keygen`. */
export async function generateKeyPair(dir: string, name: string): Promise<KeyPair> {
  const privateKey = `${dir}/${name}`;
  const result = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", privateKey]);
  if (result.code !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return { privateKey, publicKey: (await Deno.readTextFile(`${privateKey}.pub`)).trim() };
}

/**
 * Creates a volume folder the way the kubelet lays it out and returns the folder rsync works in; a CSI
 * volume gets the kubelet's `vol_data.json` beside its `mount` folder (a PersistentVolume's, unless
 * `lifecycle` says `Ephemeral`: an inline CSI volume).
 */
export async function makeVolume(
  root: string,
  podUid: string,
  plugin: string,
  name: string,
  options: { readonly lifecycle?: "Persistent" | "Ephemeral" } = {},
): Promise<string> {
  const base = `${root}/pods/${podUid}/volumes/${plugin}/${name}`;
  const folder = plugin === "kubernetes.io~csi" ? `${base}/mount` : base;
  await Deno.mkdir(folder, { recursive: true });
  if (plugin === "kubernetes.io~csi") await writeCsiVolumeData(base, name, options.lifecycle ?? "Persistent");
  return folder;
}

/** The kubelet's `vol_data.json` of a CSI volume folder (`base` holds `mount`). */
export async function writeCsiVolumeData(
  base: string,
  name: string,
  lifecycle: "Persistent" | "Ephemeral" = "Persistent",
): Promise<void> {
  await Deno.writeTextFile(
    `${base}/vol_data.json`,
    JSON.stringify({
      driverName: "sim.csi.dr-syncer.io",
      specVolID: name,
      volumeHandle: name,
      volumeLifecycleMode: lifecycle,
    }),
  );
}

/** Writes an authorized-keys file (`{"keys": [...]}`). */
export async function writeAuthorizedKeys(path: string, keys: readonly unknown[]): Promise<void> {
  const temp = `${path}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify({ keys }, null, 2));
  await Deno.rename(temp, path);
}

/** A known-hosts file pinning `publicKey` (a host key's public line) under `HOST_ALIAS`. */
export async function writeKnownHosts(path: string, publicKey: string): Promise<void> {
  const [type, data] = publicKey.split(/\s+/);
  await Deno.writeTextFile(path, `${HOST_ALIAS} ${type} ${data}\n`);
}

export interface SshOptions {
  readonly port: number;
  readonly identity: string;
  readonly knownHosts: string;
}

/** The OpenSSH client's argv (without the host) for the agent, host key pinned, nothing from ~/.ssh. */
export function sshArgs(options: SshOptions): string[] {
  return [
    "-F",
    "/dev/null",
    "-p",
    String(options.port),
    "-i",
    options.identity,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${options.knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `HostKeyAlias=${HOST_ALIAS}`,
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
  ];
}

/** The same client as one string, for rsync's `-e`. */
export function sshTransport(options: SshOptions): string {
  return ["ssh", ...sshArgs(options)].join(" ");
}

export type LogEntry = Readonly<Record<string, unknown>>;

export interface AgentProcess {
  /** The agent's process id. */
  readonly pid: number;
  readonly port: number;
  readonly healthPort: number;
  /** Every log entry so far (JSON lines from stdout). */
  readonly logs: readonly LogEntry[];
  /** Resolves with the first entry (past or future) for which `match` is true. */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Sends `signal` without waiting. */
  kill(signal: Deno.Signal): void;
  /** Sends `signal` and waits for the process to end. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  readonly status: Promise<Deno.CommandStatus>;
}

export interface StartAgentOptions {
  readonly root: string;
  readonly hostKey: string;
  readonly authorizedKeys: string;
  /** More flags (`--max-sessions 1`...); not `--log-level warn`: the port is read from an info entry. */
  readonly args?: readonly string[];
  /** Flags for `deno run` itself (`--cpu-prof`...), before the script. */
  readonly denoFlags?: readonly string[];
  /** A program (and its arguments) that runs `deno` (`setpriv --bounding-set ...`). */
  readonly wrapper?: readonly string[];
}

/** The value of `--flag VALUE` or `--flag=VALUE` in `args`, if given. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  const index = args.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
  if (index < 0) return undefined;
  const arg = args[index]!;
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[index + 1];
}

/**
 * Starts `deno run agent/main.ts` on 127.0.0.1 with free ports, with the Deno permissions the DaemonSet
 * gives it (`agentDenoPermissions`, not `-A`); resolves when it listens.
 */
export async function startAgentProcess(options: StartAgentOptions): Promise<AgentProcess> {
  const extra = options.args ?? [];
  const rsync = flagValue(extra, "--rsync");
  const bwrap = flagValue(extra, "--bwrap");
  const permissions = agentDenoPermissions({
    root: options.root,
    hostKeyFiles: [options.hostKey],
    authorizedKeys: options.authorizedKeys,
    host: "127.0.0.1",
    port: 0,
    healthHost: "127.0.0.1",
    healthPort: 0,
    ...(rsync === undefined ? {} : { rsync }),
    ...(bwrap === undefined ? {} : { bwrap }),
  });
  const [program, ...wrapperArgs] = [...(options.wrapper ?? []), Deno.execPath()];
  const child = new Deno.Command(program!, {
    args: [
      ...wrapperArgs,
      "run",
      ...permissions,
      ...(options.denoFlags ?? []),
      "--config",
      CONFIG,
      MAIN,
      "--root",
      options.root,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--health-port",
      "0",
      "--host-key",
      options.hostKey,
      "--authorized-keys",
      options.authorizedKeys,
      ...(options.args ?? []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: LogEntry[] = [];
  const waiters = new Set<{ match: (entry: LogEntry) => boolean; resolve: (entry: LogEntry) => void }>();
  let stderr = "";
  const reading = (async () => {
    let buffered = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === "") continue;
        let entry: LogEntry;
        try {
          entry = JSON.parse(line);
        } catch {
          entry = { msg: "(not JSON)", line };
        }
        logs.push(entry);
        for (const waiter of waiters) {
          if (waiter.match(entry)) {
            waiters.delete(waiter);
            waiter.resolve(entry);
          }
        }
      }
    }
  })();
  const readingErr = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
  })();
  const status = child.status.then(async (s) => {
    await Promise.allSettled([reading, readingErr]);
    return s;
  });

  const waitForLog = (match: (entry: LogEntry) => boolean, timeoutMs = 20_000): Promise<LogEntry> => {
    const past = logs.find(match);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (entry: LogEntry) => {
          clearTimeout(timer);
          resolve(entry);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`No matching agent log entry within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // already ended
    }
  };
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    kill(signal);
    return await status;
  };

  let listening: LogEntry;
  try {
    listening = await Promise.race([
      waitForLog((entry) => entry.msg === "agent listening"),
      status.then((s) => {
        throw new Error(`The agent exited with code ${s.code} before listening: ${stderr}`);
      }),
    ]);
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return {
    pid: child.pid,
    port: Number(listening.port),
    healthPort: Number(listening.healthPort),
    logs,
    waitForLog,
    kill,
    stop,
    status,
  };
}

/** Runs rsync with the agent as the remote side (`HOST_ALIAS`-pinned ssh as `-e`). */
export function rsyncVia(ssh: SshOptions, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return run("rsync", ["-e", sshTransport(ssh), ...args], { timeoutMs });
}

/** Runs the OpenSSH client against the agent with `command` as the remote command. */
export function sshVia(ssh: SshOptions, command: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return run("ssh", [...sshArgs(ssh), "agent@127.0.0.1", ...command], { timeoutMs });
}
