/**
 * A PVC data pass: every claim of a replication copied from the sending side to the receiving side (source
 * to DR, or DR to source for failback's reverse pass), a few claims at a time, each under its own lock (a
 * Lease in the DR namespace, so a scheduled pass and cutover's final pass never write one volume at once).
 *
 * Each claim's outcome is recorded on the receiving claim as it finishes (annotation `dr-syncer.io/pvc-sync`
 * with the pass id), so a pass that is run again with the same id (a cutover finishing after a crash) skips
 * the claims it already copied.
 */
import { pooledMap } from "../async/pooled_map.ts";
import { delay } from "../async/delay.ts";
import { errorMessage } from "../errors.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { PERSISTENT_VOLUME_CLAIMS } from "../kube/types.ts";
import { getObject, listObjects, patchObject } from "../kube/verbs.ts";
import type { Logger } from "../log/logger.ts";
import type { ObjectResult, PvcDataTotals } from "../run_report.ts";
import { acquireReplicationLock } from "../state/replication_lock.ts";
import { revokeExpiredKeys } from "./agents.ts";
import { appPodsMounting, type Claim } from "./claim_mounts.ts";
import type { VerifyMode } from "./pull_protocol.ts";
import { type ClaimSide, type ClaimTransferResult, transferClaim } from "./sync_claim.ts";

/** The record of the last copy into a claim (JSON). */
export const ANNOTATION_PVC_SYNC = "dr-syncer.io/pvc-sync";
const LABEL_IGNORE = "dr-syncer.io/ignore";

export interface PvcSyncRecord {
  readonly pass: string;
  readonly finishedAt: string;
  /** The cluster the data came from. */
  readonly from: string;
  readonly files: number;
  readonly bytes: number;
}

export interface PvcPassOptions {
  /** The replication's name (logs, key names). */
  readonly replication: string;
  readonly from: ClaimSide;
  readonly to: ClaimSide;
  /** The DR cluster and namespace, where the per-claim locks live. */
  readonly lockClient: KubeClient;
  readonly lockNamespace: string;
  /** Claims recorded with this pass id on the receiving side are skipped (already copied by this pass). */
  readonly passId: string;
  readonly mounterImage: string;
  readonly bandwidthLimitKiB?: number | undefined;
  readonly verify: VerifyMode;
  /** Claims copied at once (default 2). */
  readonly concurrency?: number;
  /**
   * The final pass of cutover or failback: the sending side must be quiet. Waits up to this long for the
   * application pods that mount the claims to be gone; a claim still mounted then fails (its copy would
   * not be consistent).
   */
  readonly quietWaitMs?: number | undefined;
  readonly holder: string;
  readonly leaseSeconds?: number;
  readonly lockWaitMs?: number;
  readonly keyWaitMs?: number;
  readonly signal?: AbortSignal | undefined;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly onProgress?: (progress: PvcProgress) => void;
}

export interface PvcProgress {
  readonly claim: string;
  readonly bytes: number;
  readonly percent: number;
  readonly claimsDone: number;
  readonly claimsTotal: number;
}

/** One claim's outcome. */
export interface ClaimResult {
  readonly claim: string;
  readonly status: "copied" | "skipped" | "failed";
  readonly reason?: string;
  readonly transfer?: ClaimTransferResult;
}

export interface PvcPassResult {
  readonly claims: readonly ClaimResult[];
  readonly bytes: number;
  readonly files: number;
}

/** The Lease that serialises copies into one claim. */
export function claimLockName(claim: string): string {
  return `dr-syncer-pvc-${claim}`.slice(0, 253).replace(/[-.]+$/, "");
}

function record(claim: Claim | undefined): PvcSyncRecord | undefined {
  const text = claim?.metadata.annotations?.[ANNOTATION_PVC_SYNC];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PvcSyncRecord;
  } catch {
    return undefined;
  }
}

/** Waits until no application pod on the sending side mounts `claim`; the pods still there at the timeout. */
async function waitQuiet(
  side: ClaimSide,
  claim: string,
  mounterImage: string,
  timeoutMs: number,
  signal?: AbortSignal,
) {
  const deadline = performance.now() + timeoutMs;
  for (let pause = 100;; pause = Math.min(pause * 2, 1000)) {
    const pods = await appPodsMounting(side.client, side.namespace, claim, mounterImage, signal);
    if (pods.length === 0 || performance.now() >= deadline) return pods.map((p) => p.metadata.name);
    await delay(pause, { signal });
  }
}

/** Copies every claim of the sending namespace that the receiving side has (see the module comment). */
export async function runPvcPass(options: PvcPassOptions): Promise<PvcPassResult> {
  const { from, to } = options;
  const log = options.logger.child({ replication: options.replication, pass: options.passId });
  const [sending, receiving] = await Promise.all([
    listObjects<Claim>(from.client, PERSISTENT_VOLUME_CLAIMS, from.namespace, { signal: options.signal }),
    listObjects<Claim>(to.client, PERSISTENT_VOLUME_CLAIMS, to.namespace, { signal: options.signal }),
  ]);
  // keys left behind by runs that crashed stop working when they expire; remove them from the Secrets too
  await Promise.all(
    [from, to].map((side) =>
      revokeExpiredKeys(side.client, side.agentNamespace, options.now()).catch((error) =>
        log.debug("could not clean up expired transfer keys", { cluster: side.client.name, error })
      )
    ),
  );
  const byName = new Map(receiving.map((c) => [c.metadata.name, c]));
  const claims = sending.filter((c) => c.metadata.labels?.[LABEL_IGNORE] !== "true");
  let done = 0;
  const copy = async (claim: Claim): Promise<ClaimResult> => {
    const name = claim.metadata.name;
    const counterpart = byName.get(name);
    if (counterpart === undefined) {
      return {
        claim: name,
        status: "failed",
        reason:
          `no claim "${name}" in namespace "${to.namespace}" of cluster "${to.client.name}": stage first`,
      };
    }
    if (!claim.spec?.volumeName) {
      return {
        claim: name,
        status: "skipped",
        reason: `not bound in cluster "${from.client.name}": no data`,
      };
    }
    if (record(counterpart)?.pass === options.passId) {
      return { claim: name, status: "skipped", reason: "already copied by this pass" };
    }
    const lock = await acquireReplicationLock(options.lockClient, {
      namespace: options.lockNamespace,
      replication: `${options.replication} (claim ${name})`,
      leaseName: claimLockName(name),
      holder: options.holder,
      now: options.now,
      signal: options.signal,
      ...(options.leaseSeconds === undefined ? {} : { leaseSeconds: options.leaseSeconds }),
      ...(options.lockWaitMs === undefined ? {} : { waitMs: options.lockWaitMs }),
    });
    const signal = options.signal ? AbortSignal.any([options.signal, lock.signal]) : lock.signal;
    try {
      // another pass may have finished this claim while we waited for its lock
      const fresh = await getObject<Claim>(to.client, PERSISTENT_VOLUME_CLAIMS, to.namespace, name, {
        signal,
      });
      if (record(fresh)?.pass === options.passId) {
        return { claim: name, status: "skipped", reason: "already copied by this pass" };
      }
      if (options.quietWaitMs !== undefined) {
        const busy = await waitQuiet(from, name, options.mounterImage, options.quietWaitMs, signal);
        if (busy.length > 0) {
          return {
            claim: name,
            status: "failed",
            reason: `still mounted by pod(s) ${
              busy.slice(0, 3).join(", ")
            } in cluster "${from.client.name}" after ${
              Math.round(options.quietWaitMs / 1000)
            } s: the copy would not be consistent`,
          };
        }
      }
      const transfer = await transferClaim(name, from, to, {
        mounterImage: options.mounterImage,
        bandwidthLimitKiB: options.bandwidthLimitKiB,
        verify: options.verify,
        signal,
        now: options.now,
        logger: log,
        ...(options.keyWaitMs === undefined ? {} : { keyWaitMs: options.keyWaitMs }),
        onProgress: (p) =>
          options.onProgress?.({ claim: name, ...p, claimsDone: done, claimsTotal: claims.length }),
      });
      const entry: PvcSyncRecord = {
        pass: options.passId,
        finishedAt: options.now().toISOString(),
        from: from.client.name,
        files: transfer.files,
        bytes: transfer.bytes,
      };
      await patchObject(to.client, PERSISTENT_VOLUME_CLAIMS, to.namespace, name, {
        metadata: { annotations: { [ANNOTATION_PVC_SYNC]: JSON.stringify(entry) } },
      }, { signal });
      log.info("claim copied", { claim: name, ...transfer });
      return { claim: name, status: "copied", transfer };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      log.warn("claim not copied", { claim: name, error });
      return { claim: name, status: "failed", reason: errorMessage(error) };
    } finally {
      await lock.release(lock.state).catch(() => {});
      done++;
      options.onProgress?.({
        claim: name,
        bytes: 0,
        percent: 100,
        claimsDone: done,
        claimsTotal: claims.length,
      });
    }
  };
  const results = await pooledMap(claims, options.concurrency ?? 2, copy);
  results.sort((a, b) => a.claim.localeCompare(b.claim));
  return {
    claims: results,
    bytes: results.reduce((n, r) => n + (r.transfer?.bytes ?? 0), 0),
    files: results.reduce((n, r) => n + (r.transfer?.files ?? 0), 0),
  };
}

/** A pass's claims as report entries (kind PersistentVolumeClaim, in the receiving namespace). */
export function claimObjects(result: PvcPassResult, namespace: string): ObjectResult[] {
  return result.claims.map((c) => ({
    kind: "PersistentVolumeClaim",
    group: "",
    name: c.claim,
    namespace,
    action: c.status === "copied"
      ? (c.transfer!.files > 0 || c.transfer!.bytes > 0 ? "updated" : "unchanged")
      : c.status,
    ...(c.reason === undefined
      ? c.transfer === undefined ? {} : { reason: describeTransfer(c.transfer) }
      : { reason: c.reason }),
  }));
}

function describeTransfer(t: ClaimTransferResult): string {
  const mib = (t.bytes / 1024 / 1024).toFixed(1);
  const verify = t.verify === undefined ? "" : `, verified (${t.verify.mode}, ${t.verify.checked} files)`;
  return `data: ${t.files} file(s), ${mib} MiB copied in ${
    (t.durationMs / 1000).toFixed(1)
  } s (${t.totalFiles} files in the volume)${verify}`;
}

/** A pass's totals for the run report and the metrics. */
export function passTotals(result: PvcPassResult): PvcDataTotals {
  const copied = result.claims.filter((c) => c.transfer !== undefined);
  return {
    claims: copied.length,
    files: result.files,
    bytes: result.bytes,
    wireBytes: copied.reduce((n, c) => n + c.transfer!.wireBytes, 0),
  };
}
