/**
 * The agent's `pull` command (protocol in `shared/pvc/pull_protocol.ts`): the agent runs the rsync *client*
 * that copies a volume from another node's agent into the volume folder this agent resolved for the
 * caller's key. The caller chooses nothing but the peer (host, port, pinned host key), the key the peer
 * authorized, a bandwidth limit and the verification: the rsync and ssh arguments are fixed here, so a
 * request cannot add options, programs or paths.
 *
 * The private key and the known-hosts line live in a folder only the agent can read, removed when the pull
 * ends. OpenSSH's `ssh` is the transport (its decryption is fast; host key pinned with
 * `StrictHostKeyChecking=yes`, nothing read from `~/.ssh` or `/etc/ssh`).
 */
import { Buffer } from "node:buffer";
import type { ServerChannel } from "ssh2";
import {
  type CheckedPullRequest,
  MAX_PULL_REQUEST_BYTES,
  parseProgress,
  parseStats,
  type PullEvent,
  pullRequestSchema,
  VERIFY_FAILED_EXIT_CODE,
} from "../shared/pvc/pull_protocol.ts";
import { CommandRefusedError } from "./agent_errors.ts";

/** The alias the peer's host key is pinned under in the temporary known-hosts file. */
const PEER_ALIAS = "dr-syncer-peer";
/** Most files a `sample` verification compares by checksum. */
export const SAMPLE_FILES = 64;
/** How long rsync gets after SIGTERM before SIGKILL. */
const KILL_AFTER_MS = 2000;
/** Ciphers offered to the peer: AES-GCM first (fastest in the agent's ssh2). */
const CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com";
const ENV = { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", LC_ALL: "C" };

/** Reads the request line from the channel (refused when longer than `MAX_PULL_REQUEST_BYTES` or not JSON). */
export function readPullRequest(channel: ServerChannel, timeoutMs: number): Promise<CheckedPullRequest> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: Error | undefined, text?: string) => {
      clearTimeout(timer);
      channel.off("data", onData);
      channel.off("end", onEnd);
      if (error !== undefined) {
        reject(error);
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(text!);
      } catch {
        reject(new CommandRefusedError("The pull request is not JSON"));
        return;
      }
      const parsed = pullRequestSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        reject(
          new CommandRefusedError(`Bad pull request: ${issue.path.join(".") || "(root)"}: ${issue.message}`),
        );
        return;
      }
      resolve(parsed.data);
    };
    const onData = (chunk: Buffer) => {
      const newline = chunk.indexOf(10);
      const part = newline === -1 ? chunk : chunk.subarray(0, newline);
      chunks.push(part);
      size += part.length;
      if (size > MAX_PULL_REQUEST_BYTES) {
        finish(new CommandRefusedError(`The pull request is longer than ${MAX_PULL_REQUEST_BYTES} bytes`));
      } else if (newline !== -1) finish(undefined, Buffer.concat(chunks).toString("utf8"));
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks).toString("utf8"));
    const timer = setTimeout(
      () => finish(new CommandRefusedError("No pull request received in time")),
      timeoutMs,
    );
    channel.on("data", onData);
    channel.on("end", onEnd);
  });
}

function remoteSpec(host: string): string {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare.includes(":") ? `agent@[${bare}]:./` : `agent@${bare}:./`;
}

function sshCommand(dir: string, port: number): string {
  return [
    "ssh",
    "-F /dev/null",
    `-p ${port}`,
    `-i ${dir}/identity`,
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    "-o BatchMode=yes",
    "-o StrictHostKeyChecking=yes",
    `-o UserKnownHostsFile=${dir}/known_hosts`,
    "-o GlobalKnownHostsFile=/dev/null",
    `-o HostKeyAlias=${PEER_ALIAS}`,
    "-o ConnectTimeout=15",
    "-o ServerAliveInterval=15",
    "-o ServerAliveCountMax=4",
    `-o Ciphers=${CIPHERS}`,
    "-o LogLevel=ERROR",
  ].join(" ");
}

interface Spawned {
  readonly code: number;
  readonly stdout: string;
}

/** Runs rsync with fixed arguments; stdout is handed to `onStdout` as it comes, stderr to the channel. */
async function rsync(
  binary: string,
  args: readonly string[],
  channel: ServerChannel,
  signal: AbortSignal,
  onStdout: (text: string) => void,
  onStderr: (text: string) => void,
): Promise<Spawned> {
  const child = new Deno.Command(binary, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: ENV,
  }).spawn();
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const terminate = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      return;
    }
    killTimer ??= setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, KILL_AFTER_MS);
  };
  signal.addEventListener("abort", terminate, { once: true });
  if (signal.aborted) terminate();
  let stdout = "";
  const out = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      stdout = (stdout + text).slice(-65536);
      onStdout(text);
    }
  })();
  const err = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      channel.stderr.write(chunk);
      onStderr(decoder.decode(chunk, { stream: true }));
    }
  })();
  const status = await child.status;
  await Promise.allSettled([out, err]);
  clearTimeout(killTimer);
  signal.removeEventListener("abort", terminate);
  return { code: status.signal === null ? status.code : 128 + 15, stdout };
}

/** Up to `count` regular files under `root` (relative paths), picked at random. */
async function sampleFiles(root: string, count: number): Promise<string[]> {
  const picked: string[] = [];
  let seen = 0;
  const walk = async (dir: string, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, path);
      else if (entry.isFile) {
        seen++;
        if (picked.length < count) picked.push(path);
        else {
          const slot = Math.floor(Math.random() * seen); // reservoir sampling
          if (slot < count) picked[slot] = path;
        }
      }
    }
  };
  await walk(root, "");
  return picked;
}

/** rsync filter rules that select exactly `files` (and the folders leading to them). */
function includeRules(files: readonly string[]): string[] {
  const escape = (path: string) => path.replace(/[[*?\\]/g, (c) => `\\${c}`);
  const rules = new Set<string>();
  for (const file of files) {
    const parts = file.split("/");
    for (let i = 1; i < parts.length; i++) rules.add(`--include=/${escape(parts.slice(0, i).join("/"))}/`);
    rules.add(`--include=/${escape(file)}`);
  }
  return [...rules, "--exclude=*"];
}

/** The files a dry run with `--itemize-changes` says differ (or would be deleted). */
function mismatches(output: string): string[] {
  return output.split("\n").flatMap((line) => {
    const match = /^(\*deleting|[<>ch.][fdLDS][^ ]*) (.+)$/.exec(line);
    if (match === null) return [];
    const [, change, name] = match;
    if (change === undefined || name === undefined) return [];
    if (change.startsWith(".") || change.startsWith("cd") || name === "./") return [];
    return [name];
  });
}

export interface PullOptions {
  readonly rsync: string;
  readonly volumeDir: string;
  readonly request: CheckedPullRequest;
  readonly channel: ServerChannel;
  readonly signal: AbortSignal;
  /** rsync's stderr, as text. */
  readonly onStderr: (text: string) => void;
}

export interface PullResult {
  readonly code: number;
  readonly event: Extract<PullEvent, { event: "result" }> | undefined;
}

/** Runs the pull and sends its events and exit status on the channel. */
export async function runPull(options: PullOptions): Promise<PullResult> {
  const { channel, request } = options;
  const send = (event: PullEvent) => channel.write(`${JSON.stringify(event)}\n`);
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-pull-" });
  try {
    await Deno.chmod(dir, 0o700);
    await Deno.writeTextFile(`${dir}/identity`, request.identity.trimEnd() + "\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/known_hosts`, `${PEER_ALIAS} ${request.source.hostKey}\n`, {
      mode: 0o600,
    });
    const common = [
      "-aHS",
      "--numeric-ids",
      `--timeout=${request.ioTimeoutSeconds}`,
      "-e",
      sshCommand(dir, request.source.port),
    ];
    const copyArgs = [
      ...common,
      "--delete",
      "--partial",
      "--info=progress2",
      "--stats",
      ...(request.bandwidthLimitKiB === undefined ? [] : [`--bwlimit=${request.bandwidthLimitKiB}`]),
      remoteSpec(request.source.host),
      `${options.volumeDir}/`,
    ];
    send({ event: "started", volume: options.volumeDir });
    let lastProgress = 0;
    const copy = await rsync(options.rsync, copyArgs, channel, options.signal, (text) => {
      const progress = parseProgress(text);
      const at = Date.now();
      if (progress !== undefined && at - lastProgress >= 1000) {
        lastProgress = at;
        send({ event: "progress", ...progress });
      }
    }, options.onStderr);
    const stats = parseStats(copy.stdout);
    let code = copy.code;
    let verify: { mode: "sample" | "full"; checked: number; mismatched: string[] } | undefined;
    if (code === 0 && request.verify !== "none") {
      const files = request.verify === "sample"
        ? await sampleFiles(options.volumeDir, SAMPLE_FILES)
        : undefined;
      const checkArgs = [
        ...common,
        "--delete",
        "--checksum",
        "--dry-run",
        "--out-format=%i %n",
        ...(files === undefined ? [] : includeRules(files)),
        remoteSpec(request.source.host),
        `${options.volumeDir}/`,
      ];
      const check = await rsync(
        options.rsync,
        checkArgs,
        channel,
        options.signal,
        () => {},
        options.onStderr,
      );
      code = check.code;
      const mismatched = mismatches(check.stdout);
      verify = {
        mode: request.verify,
        checked: files?.length ?? stats?.totalFiles ?? 0,
        mismatched: mismatched.slice(0, 20),
      };
      if (code === 0 && mismatched.length > 0) code = VERIFY_FAILED_EXIT_CODE;
    }
    const event = {
      event: "result" as const,
      exitCode: code,
      files: stats?.files ?? 0,
      bytes: stats?.bytes ?? 0,
      wireBytes: stats?.wireBytes ?? 0,
      totalFiles: stats?.totalFiles ?? 0,
      totalBytes: stats?.totalBytes ?? 0,
      ...(verify === undefined ? {} : { verify }),
    };
    send(event);
    return { code, event };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
