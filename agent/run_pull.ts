/**
 * The agent's `pull` command (protocol in `shared/pvc/pull_protocol.ts`): the agent runs the rsync *client*
 * that copies a volume from another node's agent into the volume folder this agent resolved for the
 * caller's key. The caller chooses nothing but the peer (host, port, pinned host key), the key the peer
 * authorized, a bandwidth limit and the verification: the rsync and ssh arguments are fixed here, so a
 * request cannot add options, programs or paths.
 *
 * The private key and the known-hosts line live in a folder only the agent can read, removed when the pull
 * ends. OpenSSH's `ssh` is the transport (its decryption is fast; host key pinned with
 * `StrictHostKeyChecking=yes`, nothing read from `~/.ssh` or `/etc/ssh`). rsync and its ssh run confined
 * (`confine.ts`): the volume at `/volume` is the only writable path and the only path of the node they see,
 * besides the key folder (read-only, at `/run/pull`) and read-only system files.
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
import { type Sandbox, SANDBOX_PULL_KEYS, SANDBOX_VOLUME, spawnConfined } from "./confine.ts";

/** The alias the peer's host key is pinned under in the temporary known-hosts file. */
const PEER_ALIAS = "dr-syncer-peer";
/** Most files a `sample` verification compares by checksum. */
export const SAMPLE_FILES = 64;
/** Ciphers offered to the peer: AES-GCM first (fastest in the agent's ssh2). */
const CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com";
/** rsync's options for a volume copy: archive, hard links, sparse files, ACLs, extended attributes. */
export const PULL_RSYNC_OPTIONS = ["-aHSAX", "--numeric-ids"] as const;

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

/** The ssh transport, as seen inside the sandbox (the key folder at `SANDBOX_PULL_KEYS`). */
function sshCommand(port: number): string {
  const dir = SANDBOX_PULL_KEYS;
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

/** Where a confined rsync of the pull runs: the volume (read-write unless only listed) and the keys. */
interface Place {
  readonly sandbox: Sandbox;
  readonly volume: string;
  readonly keys: string;
}

/**
 * Runs rsync confined with fixed arguments; stdout is handed to `onStdout` as it comes, stderr to
 * `onStderr` (and to the channel, when given).
 */
async function rsync(
  place: Place,
  args: readonly string[],
  options: {
    readonly writable: boolean;
    readonly channel?: ServerChannel;
    readonly signal: AbortSignal;
    readonly onStdout: (text: string) => void;
    readonly onStderr: (text: string) => void;
    /** Keep all of stdout (else its last 64 KiB, where `--stats` is). */
    readonly wholeStdout?: boolean;
  },
): Promise<Spawned> {
  const { signal, onStdout, onStderr, channel } = options;
  const confined = spawnConfined(place.sandbox, {
    volume: place.volume,
    writable: options.writable,
    keys: place.keys,
    args,
  }, { stdin: false });
  const child = confined.child;
  // bubblewrap passes no signal on: the pull's rsync client (no stdin to close) is killed, and the temporary
  // file it leaves is deleted by the next pull (--delete)
  const terminate = () => confined.kill(0);
  signal.addEventListener("abort", terminate, { once: true });
  if (signal.aborted) terminate();
  let stdout = "";
  const out = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      stdout = options.wholeStdout ? stdout + text : (stdout + text).slice(-65536);
      onStdout(text);
    }
  })();
  const err = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      channel?.stderr.write(chunk);
      onStderr(decoder.decode(chunk, { stream: true }));
    }
  })();
  const status = await child.status;
  confined.done();
  await Promise.allSettled([out, err]);
  signal.removeEventListener("abort", terminate);
  return { code: status.signal === null ? status.code : 128 + 15, stdout };
}

/** The regular files in rsync's `--list-only` output (`-rw-r--r--  1,234 2024/02/03 04:05:06 name`). */
export function listedFiles(output: string): string[] {
  return output.split("\n").flatMap((line) => {
    const match = /^-\S{9}\S*\s+[\d,]+\s+\S+\s+\S+\s(.+)$/.exec(line);
    return match === null || match[1]!.includes("\\#") ? [] : [match[1]!];
  });
}

/** Up to `count` regular files of the volume (relative paths), picked at random; listed by confined rsync. */
async function sampleFiles(place: Place, count: number, signal: AbortSignal): Promise<string[]> {
  const listing = await rsync(place, ["-r", "--list-only", "--no-human-readable", `${SANDBOX_VOLUME}/`], {
    writable: false,
    signal,
    onStdout: () => {},
    onStderr: () => {},
    wholeStdout: true,
  });
  const picked: string[] = [];
  let seen = 0;
  for (const line of listedFiles(listing.stdout)) {
    const path = line.startsWith("./") ? line.slice(2) : line;
    seen++;
    if (picked.length < count) picked.push(path);
    else {
      const slot = Math.floor(Math.random() * seen); // reservoir sampling
      if (slot < count) picked[slot] = path;
    }
  }
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
  readonly sandbox: Sandbox;
  /** The volume folder (real path on the node). */
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
  const { channel, request, signal, onStderr } = options;
  const send = (event: PullEvent) => channel.write(`${JSON.stringify(event)}\n`);
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "dr-syncer-pull-" });
  try {
    await Deno.chmod(dir, 0o700);
    await Deno.writeTextFile(`${dir}/identity`, request.identity.trimEnd() + "\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/known_hosts`, `${PEER_ALIAS} ${request.source.hostKey}\n`, {
      mode: 0o600,
    });
    const place: Place = { sandbox: options.sandbox, volume: options.volumeDir, keys: dir };
    const common = [
      ...PULL_RSYNC_OPTIONS,
      `--timeout=${request.ioTimeoutSeconds}`,
      "-e",
      sshCommand(request.source.port),
    ];
    const copyArgs = [
      ...common,
      "--delete",
      "--partial",
      "--info=progress2",
      "--stats",
      ...(request.bandwidthLimitKiB === undefined ? [] : [`--bwlimit=${request.bandwidthLimitKiB}`]),
      remoteSpec(request.source.host),
      `${SANDBOX_VOLUME}/`,
    ];
    send({ event: "started", volume: options.volumeDir });
    let lastProgress = 0;
    const copy = await rsync(place, copyArgs, {
      writable: true,
      channel,
      signal,
      onStderr,
      onStdout: (text) => {
        const progress = parseProgress(text);
        const at = Date.now();
        if (progress !== undefined && at - lastProgress >= 1000) {
          lastProgress = at;
          send({ event: "progress", ...progress });
        }
      },
    });
    const stats = parseStats(copy.stdout);
    let code = copy.code;
    let verify: { mode: "sample" | "full"; checked: number; mismatched: string[] } | undefined;
    if (code === 0 && request.verify !== "none") {
      const files = request.verify === "sample" ? await sampleFiles(place, SAMPLE_FILES, signal) : undefined;
      const checkArgs = [
        ...common,
        "--delete",
        "--checksum",
        "--dry-run",
        "--out-format=%i %n",
        ...(files === undefined ? [] : includeRules(files)),
        remoteSpec(request.source.host),
        `${SANDBOX_VOLUME}/`,
      ];
      // a dry run: the volume is read-only for it
      const check = await rsync(place, checkArgs, {
        writable: false,
        channel,
        signal,
        onStderr,
        onStdout: () => {},
      });
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
