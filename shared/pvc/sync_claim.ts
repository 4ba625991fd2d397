/**
 * Copies one claim's data from one cluster to the other: mount the claim on both sides (the sending side's
 * running pod, else a mounter pod; always a mounter pod on the receiving side, which no application may be
 * using), find the agents on those nodes, authorize two keys for this transfer only (the receiving agent's
 * for pvc-sync, the sending agent's for the receiving agent), and have the receiving agent pull. Keys and
 * the mounter pods this run created (by UID: never another pod of their name) are removed whatever happens.
 *
 * Retries: a key not yet seen by the agent (the kubelet updates mounted Secrets within a minute or two), a
 * volume folder not yet mounted, and network failures are tried again with backoff until `keyWaitMs` and
 * `attempts` run out; rsync's `--partial` keeps what an interrupted try moved.
 */
import { delay } from "../async/delay.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import type { Logger } from "../log/logger.ts";
import { agentHostKey, agentOnNode, authorizeTransferKey, revokeTransferKey } from "./agents.ts";
import { type ClaimMount, mountClaim, unmountClaim } from "./claim_mounts.ts";
import {
  generateTransferKey,
  isRetryableExit,
  PullError,
  type PullOutcome,
  runPullOn,
} from "./pull_client.ts";
import type { PullEvent, VerifyMode } from "./pull_protocol.ts";

/** One side of a transfer: a cluster, the claim's namespace there, and where its agents run. */
export interface ClaimSide {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly agentNamespace: string;
}

export interface ClaimTransferOptions {
  readonly mounterImage: string;
  readonly bandwidthLimitKiB?: number | undefined;
  readonly verify: VerifyMode;
  /** How long a new key may take to reach the agents (default 180 s). */
  readonly keyWaitMs?: number;
  /** Tries after a network failure (default 4). */
  readonly attempts?: number;
  /** How long the transfer keys stay valid (default 6 h; checked when a connection logs in). */
  readonly keyLifetimeMs?: number;
  readonly signal?: AbortSignal | undefined;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly onProgress?: (progress: { bytes: number; percent: number }) => void;
  /** Pauses between tries (tests make them short). */
  readonly pauseMs?: (attempt: number) => number;
}

export interface ClaimTransferResult {
  readonly files: number;
  readonly bytes: number;
  readonly wireBytes: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
  readonly durationMs: number;
  readonly attempts: number;
  readonly sourceNode: string;
  readonly destNode: string;
  readonly verify?: {
    readonly mode: VerifyMode;
    readonly checked: number;
    readonly mismatched: readonly string[];
  };
}

/** The copy failed for a reason a retry will not fix (rsync's own error, verification, a refusal). */
export class ClaimTransferError extends Error {
  override readonly name = "ClaimTransferError";
}

const VOLUME_NOT_MOUNTED = /is not on this node/;

/** Copies `claim` from `from` to `to` (same claim name on both sides). */
export async function transferClaim(
  claim: string,
  from: ClaimSide,
  to: ClaimSide,
  options: ClaimTransferOptions,
): Promise<ClaimTransferResult> {
  const started = performance.now();
  const log = options.logger.child({ claim, from: from.client.name, to: to.client.name });
  const transferId = `pvc-${crypto.randomUUID()}`;
  const authorized: ClaimSide[] = [];
  const mounted: { side: ClaimSide; mount: ClaimMount }[] = [];
  try {
    // the agents must be there before anything is started for them
    const [sourceHostKey, destHostKey] = await Promise.all([
      agentHostKey(from.client, from.agentNamespace, options.signal),
      agentHostKey(to.client, to.agentNamespace, options.signal),
    ]);
    // both sides at once; every mounter pod this may create is deleted in `finally`, also after a failure
    const [sourceMount, destMount] = await Promise.allSettled([
      mountClaim(from.client, from.namespace, claim, {
        image: options.mounterImage,
        readOnly: true,
        run: transferId,
        signal: options.signal,
      }),
      mountClaim(to.client, to.namespace, claim, {
        image: options.mounterImage,
        readOnly: false,
        run: transferId,
        signal: options.signal,
      }),
    ]);
    if (sourceMount.status === "fulfilled") mounted.push({ side: from, mount: sourceMount.value });
    if (destMount.status === "fulfilled") mounted.push({ side: to, mount: destMount.value });
    if (sourceMount.status === "rejected") throw sourceMount.reason;
    if (destMount.status === "rejected") throw destMount.reason;
    const source = sourceMount.value;
    const dest = destMount.value;
    const [sourceAgent, destAgent] = await Promise.all([
      agentOnNode(from.client, from.agentNamespace, source.node, options.signal),
      agentOnNode(to.client, to.agentNamespace, dest.node, options.signal),
    ]);
    const senderKey = generateTransferKey(`${transferId} send`);
    const receiverKey = generateTransferKey(`${transferId} receive`);
    const expiresAt = new Date(options.now().getTime() + (options.keyLifetimeMs ?? 6 * 3600_000));
    const name = `${from.namespace}/${claim} -> ${to.client.name}/${to.namespace}`;
    authorized.push(from, to);
    await Promise.all([
      authorizeTransferKey(from.client, from.agentNamespace, transferId, {
        name,
        publicKey: senderKey.publicKey,
        volume: { podUid: source.podUid, volumeName: source.volumeName },
        mode: "sender",
        expiresAt,
      }, options.signal),
      authorizeTransferKey(to.client, to.agentNamespace, transferId, {
        name,
        publicKey: receiverKey.publicKey,
        volume: { podUid: dest.podUid, volumeName: dest.volumeName },
        mode: "receiver",
        expiresAt,
      }, options.signal),
    ]);
    log.info("transfer authorized", {
      sourceNode: source.node,
      destNode: dest.node,
      sourceAgent: `${sourceAgent.host}:${sourceAgent.port}`,
      destAgent: `${destAgent.host}:${destAgent.port}`,
    });
    const request = {
      source: { host: sourceAgent.host, port: sourceAgent.port, hostKey: sourceHostKey },
      identity: senderKey.privateKey,
      verify: options.verify,
      ...(options.bandwidthLimitKiB === undefined ? {} : { bandwidthLimitKiB: options.bandwidthLimitKiB }),
    };
    const target = { ...destAgent, hostKey: destHostKey, privateKey: receiverKey.privateKey };
    const keyDeadline = performance.now() + (options.keyWaitMs ?? 180_000);
    const attempts = options.attempts ?? 4;
    const pause = options.pauseMs ?? ((n: number) => Math.min(1000 * 2 ** (n - 1), 10_000));
    let failures = 0;
    let tries = 0;
    for (;;) {
      tries++;
      let outcome: PullOutcome | undefined;
      let reason: string;
      let waitingForKey = false;
      try {
        outcome = await runPullOn(target, request, {
          signal: options.signal,
          onEvent: (event: PullEvent) => {
            if (event.event === "progress") options.onProgress?.(event);
          },
        });
        if (outcome.exitCode === 0 && outcome.result !== undefined) {
          const result = outcome.result;
          return {
            files: result.files,
            bytes: result.bytes,
            wireBytes: result.wireBytes,
            totalFiles: result.totalFiles,
            totalBytes: result.totalBytes,
            durationMs: Math.round(performance.now() - started),
            attempts: tries,
            sourceNode: source.node,
            destNode: dest.node,
            ...(result.verify === undefined ? {} : { verify: result.verify }),
          };
        }
        reason = `the agent's rsync exited with ${outcome.exitCode}: ${lastLines(outcome.stderr)}`;
        waitingForKey = outcome.exitCode === 126 && VOLUME_NOT_MOUNTED.test(outcome.stderr) ||
          /Permission denied \(publickey\)/.test(outcome.stderr);
        if (!waitingForKey && !isRetryableExit(outcome.exitCode)) {
          const verify = outcome.result?.verify;
          throw new ClaimTransferError(
            verify !== undefined && verify.mismatched.length > 0
              ? `Verification (${verify.mode}) found ${verify.mismatched.length} file(s) that differ after the copy: ${
                verify.mismatched.slice(0, 5).join(", ")
              }`
              : reason,
          );
        }
      } catch (error) {
        if (!(error instanceof PullError) || !error.retryable) throw error;
        reason = error.message;
        waitingForKey = /did not accept the transfer key/.test(error.message);
      }
      // a key or mount the node has not caught up with yet is waited for; other failures are counted
      if (waitingForKey ? performance.now() >= keyDeadline : ++failures >= attempts) {
        throw new ClaimTransferError(`Could not copy claim "${claim}" after ${tries} tries: ${reason}`);
      }
      const ms = waitingForKey ? Math.min(1000, pause(1)) : pause(failures);
      log.info("transfer will be tried again", { reason, attempt: tries, pauseMs: ms });
      await delay(ms, { signal: options.signal });
    }
  } finally {
    await Promise.all([
      ...authorized.map((side) =>
        revokeTransferKey(side.client, side.agentNamespace, transferId).catch((error) =>
          log.warn("could not remove a transfer key (it expires on its own)", {
            cluster: side.client.name,
            error,
          })
        )
      ),
      ...mounted.map(({ side, mount }) =>
        unmountClaim(side.client, side.namespace, mount).catch((error) =>
          log.warn("could not delete a mounter pod", { cluster: side.client.name, error })
        )
      ),
    ]);
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
  return lines.slice(-3).join(" | ").slice(0, 600) || "(no message)";
}
