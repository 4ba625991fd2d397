/**
 * The agent's `pull` command: how pvc-sync makes the receiving node's agent copy one volume from the sending
 * node's agent. pvc-sync logs in to the receiving agent with a key authorized to `receive` into the volume,
 * runs `dr-syncer-agent pull`, and writes one JSON line, the `PullRequest`: where the sending agent is, its
 * pinned host key, and a second per-transfer private key that the sending agent authorizes to `send` from its
 * volume. The receiving agent runs the rsync client (OpenSSH as transport, host key pinned) into the volume
 * folder it resolved itself, and answers with JSON lines (`PullEvent`) and rsync's exit code.
 *
 * Pure (no I/O): the schema, the event lines and the parsing of rsync's progress and `--stats` output, shared
 * by the agent and by pvc-sync.
 */
import { z } from "zod";

/** The exec command of a pull. */
export const PULL_COMMAND = "dr-syncer-agent pull";
/** Longest request line accepted (the private key and host key are the bulk of it). */
export const MAX_PULL_REQUEST_BYTES = 64 * 1024;
/** Exit status of a pull whose copy succeeded but whose verification found differences. */
export const VERIFY_FAILED_EXIT_CODE = 90;

export const PVC_VERIFY_MODES = ["none", "sample", "full"] as const;
export type VerifyMode = (typeof PVC_VERIFY_MODES)[number];

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]+\]?)$/;
const PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|rsa-sha2-(256|512)|ssh-rsa) [A-Za-z0-9+/=]+$/;

export const pullRequestSchema = z.strictObject({
  source: z.strictObject({
    host: z.string().max(253).regex(HOST, "Expected a host name or an IP address"),
    port: z.number().int().min(1).max(65535),
    /** The sending agent's public host key, `type base64` (what the client pins). */
    hostKey: z.string().max(16384).regex(PUBLIC_KEY, 'Expected a public key line "ssh-ed25519 AAAA..."'),
  }),
  /** The private key (OpenSSH format) the sending agent authorizes to send from its volume. */
  identity: z.string().min(1).max(16384).refine((text) => text.includes("PRIVATE KEY-----"), {
    error: "Expected an OpenSSH private key",
  }),
  /** rsync's `--bwlimit`, KiB/s. */
  bandwidthLimitKiB: z.number().int().min(1).max(100_000_000).optional(),
  verify: z.enum(PVC_VERIFY_MODES).default("none"),
  /** rsync's `--timeout` (seconds without data before it gives up). */
  ioTimeoutSeconds: z.number().int().min(5).max(3600).default(120),
});

export type PullRequest = z.input<typeof pullRequestSchema>;
export type CheckedPullRequest = z.output<typeof pullRequestSchema>;

/** What a pull reports, one JSON object per line on the channel's stdout. */
export type PullEvent =
  | { readonly event: "started"; readonly volume: string }
  | { readonly event: "progress"; readonly bytes: number; readonly percent: number }
  | {
    readonly event: "result";
    readonly exitCode: number;
    /** Regular files transferred (new or changed). */
    readonly files: number;
    /** Size of the files transferred (their data, before delta encoding). */
    readonly bytes: number;
    /** Bytes the receiver read from the network. */
    readonly wireBytes: number;
    /** Files in the volume (regular files, links and folders). */
    readonly totalFiles: number;
    readonly totalBytes: number;
    readonly verify?: {
      readonly mode: VerifyMode;
      readonly checked: number;
      readonly mismatched: readonly string[];
    };
  };

function number(text: string): number {
  return Number(text.replaceAll(",", ""));
}

/**
 * The last progress figures in a chunk of `rsync --info=progress2` output (lines ended by `\r`):
 * `  1,234,567  45%   12.34MB/s    0:00:10 (xfr#12, to-chk=100/200)`.
 */
export function parseProgress(text: string): { bytes: number; percent: number } | undefined {
  const matches = [...text.matchAll(/^\s*([\d,]+)\s+(\d{1,3})%/gm)];
  const last = matches.at(-1);
  if (last === undefined) return undefined;
  return { bytes: number(last[1]!), percent: Number(last[2]) };
}

export interface RsyncStats {
  readonly files: number;
  readonly bytes: number;
  readonly wireBytes: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
}

/** The figures of rsync's `--stats` summary (undefined when the summary is not in `text`). */
export function parseStats(text: string): RsyncStats | undefined {
  const field = (label: string): number | undefined => {
    const match = new RegExp(`^${label}:\\s*([\\d,]+)`, "m").exec(text);
    return match === null ? undefined : number(match[1]!);
  };
  const totalFiles = field("Number of files");
  const files = field("Number of regular files transferred");
  const totalBytes = field("Total file size");
  const bytes = field("Total transferred file size");
  const wireBytes = field("Total bytes received");
  if ([totalFiles, files, totalBytes, bytes, wireBytes].some((value) => value === undefined)) {
    return undefined;
  }
  return {
    files: files!,
    bytes: bytes!,
    wireBytes: wireBytes!,
    totalFiles: totalFiles!,
    totalBytes: totalBytes!,
  };
}

/** Parses one line of a pull's stdout; undefined for anything that is not an event. */
export function parsePullEvent(line: string): PullEvent | undefined {
  try {
    const value = JSON.parse(line) as { event?: unknown };
    return typeof value === "object" && value !== null && typeof value.event === "string"
      ? value as PullEvent
      : undefined;
  } catch {
    return undefined;
  }
}
