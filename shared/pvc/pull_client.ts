/**
 * pvc-sync's side of a pull (protocol: `pull_protocol.ts`): logs in to the receiving agent over SSH (npm:ssh2)
 * with a per-transfer key, the agent's host key pinned, runs `dr-syncer-agent pull`, sends the request and
 * reads the events until the agent sends its exit status. Also the per-transfer key pairs.
 */
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { Client, type ClientChannel, utils } from "ssh2";
import { generateEd25519KeyPair } from "./ed25519_key.ts";
import { parsePullEvent, PULL_COMMAND, type PullEvent, type PullRequest } from "./pull_protocol.ts";

/** A key pair for one transfer: an OpenSSH private key and its public key line. */
export interface TransferKey {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** A new ed25519 key pair (OpenSSH formats), made in-process. */
export function generateTransferKey(comment: string): TransferKey {
  const pair = generateEd25519KeyPair(comment);
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

/** The `type base64` part of a public key line (what is pinned and compared). */
export function publicKeyBlob(line: string): Buffer | undefined {
  const parsed = utils.parseKey(line.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) return undefined;
  return key.getPublicSSH();
}

export interface PullTarget {
  readonly host: string;
  readonly port: number;
  /** The receiving agent's public host key line (pinned: any other key is refused). */
  readonly hostKey: string;
  /** The private key authorized to receive into the volume. */
  readonly privateKey: string;
}

/** Why a pull did not run or did not finish; `retryable` for network and login failures. */
export class PullError extends Error {
  override readonly name = "PullError";
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly exitCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface PullOutcome {
  readonly exitCode: number;
  readonly result: Extract<PullEvent, { event: "result" }> | undefined;
  /** The agent's stderr (rsync's messages, refusals), the last 4 KiB. */
  readonly stderr: string;
}

/** rsync exit codes worth retrying: socket and protocol errors, timeouts, a vanished peer (ssh's 255). */
const RETRYABLE_EXIT_CODES = new Set([10, 12, 23, 24, 30, 35, 255]);

export function isRetryableExit(code: number): boolean {
  return RETRYABLE_EXIT_CODES.has(code);
}

/**
 * Runs one pull on the agent at `target`. Resolves with rsync's exit code (0 = copied); rejects with a
 * `PullError` when the connection or login fails (retryable: the key may not have reached the agent yet).
 */
export function runPullOn(
  target: PullTarget,
  request: PullRequest,
  options: {
    readonly signal?: AbortSignal | undefined;
    readonly onEvent?: (event: PullEvent) => void;
    readonly readyTimeoutMs?: number;
  } = {},
): Promise<PullOutcome> {
  const pinned = publicKeyBlob(target.hostKey);
  if (pinned === undefined) {
    return Promise.reject(new PullError(`The agent's host key is not a public key line`, false));
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let hostKeyRefused = false;
    let stderr = "";
    let result: Extract<PullEvent, { event: "result" }> | undefined;
    const done = (error: PullError | undefined, outcome?: PullOutcome) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      client.end();
      if (error !== undefined) reject(error);
      else resolve(outcome!);
    };
    const onAbort = () => {
      client.destroy();
      done(new PullError("The pull was stopped", false, undefined, { cause: options.signal?.reason }));
    };
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    client.on("error", (error: Error & { level?: string }) => {
      if (hostKeyRefused) {
        done(
          new PullError(
            `The agent at ${target.host}:${target.port} did not present the pinned host key`,
            false,
          ),
        );
        return;
      }
      const login = error.level === "client-authentication";
      done(
        new PullError(
          login
            ? `The agent at ${target.host}:${target.port} did not accept the transfer key (yet)`
            : `Cannot reach the agent at ${target.host}:${target.port}: ${error.message}`,
          true,
          undefined,
          { cause: error },
        ),
      );
    });
    client.on("close", () => {
      done(new PullError(`The agent at ${target.host}:${target.port} closed the connection`, true));
    });
    client.on("ready", () => {
      client.exec(PULL_COMMAND, (error: Error | undefined, channel: ClientChannel) => {
        if (error) {
          done(
            new PullError(`The agent refused the pull: ${error.message}`, true, undefined, { cause: error }),
          );
          return;
        }
        let buffered = "";
        let exitCode: number | undefined;
        channel.on("data", (chunk: Buffer) => {
          buffered += chunk.toString("utf8");
          let newline;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const event = parsePullEvent(buffered.slice(0, newline));
            buffered = buffered.slice(newline + 1);
            if (event === undefined) continue;
            if (event.event === "result") result = event;
            options.onEvent?.(event);
          }
        });
        channel.stderr.on("data", (chunk: Buffer) => {
          stderr = (stderr + chunk.toString("utf8")).slice(-4096);
        });
        channel.on("exit", (code: number | null) => {
          exitCode = code ?? 255;
        });
        channel.on("close", () => {
          done(undefined, { exitCode: exitCode ?? 255, result, stderr });
        });
        channel.write(`${JSON.stringify(request)}\n`);
      });
    });
    client.connect({
      host: target.host.replace(/^\[|\]$/g, ""),
      port: target.port,
      username: "agent",
      privateKey: target.privateKey,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      algorithms: {
        cipher: ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"],
      },
      hostVerifier: (key: Buffer) => {
        const ok = key.length === pinned.length && timingSafeEqual(key, pinned);
        if (!ok) hostKeyRefused = true;
        return ok;
      },
    });
  });
}
