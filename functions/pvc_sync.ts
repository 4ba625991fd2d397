import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import {
  claimObjects,
  passTotals,
  type PvcPassResult,
  type PvcProgress,
  runPvcPass,
} from "../shared/pvc/pvc_pass.ts";
import type { ClaimSide } from "../shared/pvc/sync_claim.ts";
import { buildRunReport, type RunReport } from "../shared/run_report.ts";
import { readReplicationState } from "../shared/state/replication_lock.ts";
import type { ReplicationState } from "../shared/state/replication_state.ts";
import { type OperationDeps, refuseIf, type RunDeps, runDeps } from "./operation_deps.ts";
import { requireStaged, withSourceIdentity } from "./preflight.ts";

/** Which way the data goes: to DR (while the source serves), or back to the source (failback, while DR serves). */
export type PvcDirection = "to-dr" | "to-source";

export interface PvcSyncRequest {
  readonly replication: ReplicationSpec;
  /** List the claims that would be copied, copy nothing. */
  readonly dryRun?: boolean;
  /** Default `to-dr`. */
  readonly direction?: PvcDirection;
  /** Copy against the active side's wishes (see `pvcSyncRefusal`). */
  readonly force?: boolean;
}

/** Refuses to copy over the side that serves: data goes from the active side to the standby only. */
export function pvcSyncRefusal(
  name: string,
  state: ReplicationState,
  direction: PvcDirection,
  force: boolean,
): string | undefined {
  if (force) return undefined;
  if (direction === "to-dr" && state.activeSide === "dr") {
    return `Cannot copy PVC data of "${name}" to DR: the replication is cut over (DR serves, its data is the newer); copy it back with failback --reverse-migrate-pvc-data, or pass --force`;
  }
  if (direction === "to-source" && state.activeSide === "source") {
    return `Cannot copy PVC data of "${name}" back to the source: the source serves (nothing is cut over); pass --force to overwrite the source's volumes anyway`;
  }
  return undefined;
}

export interface PvcPassRequest {
  readonly spec: ReplicationSpec;
  readonly direction: PvcDirection;
  /** Claims recorded with this id on the receiving side are skipped (a re-run of the same pass). */
  readonly passId: string;
  /** The sending side must be quiet: wait this long for its application pods to be gone. */
  readonly quietWaitMs?: number | undefined;
  /** How long to wait for a claim another pass is copying (default 10 minutes). */
  readonly lockWaitMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** One pass over the replication's claims in one direction (shared by pvc-sync, cutover and failback). */
export function pvcPass(deps: RunDeps, request: PvcPassRequest): Promise<PvcPassResult> {
  const { spec } = request;
  const sourceSide: ClaimSide = {
    client: deps.source,
    namespace: spec.sourceNamespace,
    agentNamespace: spec.pvcData.agentNamespace,
  };
  const drSide: ClaimSide = {
    client: deps.dr,
    namespace: spec.destNamespace,
    agentNamespace: spec.pvcData.agentNamespace,
  };
  const [from, to] = request.direction === "to-dr" ? [sourceSide, drSide] : [drSide, sourceSide];
  let last = 0;
  return runPvcPass({
    replication: spec.name,
    from,
    to,
    lockClient: deps.dr,
    lockNamespace: spec.destNamespace,
    passId: request.passId,
    mounterImage: spec.pvcData.mounterImage,
    bandwidthLimitKiB: spec.pvcData.bandwidthLimitKiB,
    verify: spec.pvcData.verify,
    quietWaitMs: request.quietWaitMs,
    holder: deps.runId,
    lockWaitMs: request.lockWaitMs ?? 600_000,
    ...(deps.lock?.leaseSeconds === undefined ? {} : { leaseSeconds: deps.lock.leaseSeconds }),
    signal: request.signal,
    now: deps.now,
    logger: deps.logger,
    onProgress: (p: PvcProgress) => {
      const at = performance.now();
      if (p.percent < 100 && at - last < 1000) return;
      last = at;
      deps.onProgress?.({
        phase: "pvc-data",
        done: p.claimsDone,
        total: p.claimsTotal,
        detail: `${p.claim}: ${(p.bytes / 1024 / 1024).toFixed(1)} MiB (${p.percent}%)`,
      });
    },
  });
}

/** The detail line of a pass: claims and bytes. */
export function describePass(result: PvcPassResult): string {
  const copied = result.claims.filter((c) => c.status === "copied").length;
  const failed = result.claims.filter((c) => c.status === "failed").length;
  const skipped = result.claims.length - copied - failed;
  return `${copied} claim(s) copied (${result.files} file(s), ${
    (result.bytes / 1024 / 1024).toFixed(1)
  } MiB)` +
    (skipped > 0 ? `, ${skipped} skipped` : "") + (failed > 0 ? `, ${failed} failed` : "");
}

/**
 * pvc-sync: copies the data of the replication's claims to DR (or back to the source), each claim under its
 * own lock, so it runs beside stage on its own schedule. Refuses to copy over the side that serves.
 */
export async function pvcSync(operationDeps: OperationDeps, request: PvcSyncRequest): Promise<RunReport> {
  const deps = runDeps(operationDeps);
  const startedAt = deps.now();
  const direction = request.direction ?? "to-dr";
  await requireStaged(deps, request.replication, "copy PVC data of");
  const state = await readReplicationState(deps.dr, request.replication.destNamespace);
  const spec = await withSourceIdentity(deps, request.replication, state);
  refuseIf(pvcSyncRefusal(spec.name, state, direction, request.force ?? false));
  const receiving = direction === "to-dr" ? spec.destNamespace : spec.sourceNamespace;
  if (request.dryRun) {
    return buildRunReport({
      runId: deps.runId,
      operation: "pvc-sync",
      replication: spec.name,
      dryRun: true,
      startedAt,
      finishedAt: deps.now(),
      objects: [],
      steps: [{ step: `pvc-sync-${direction}`, status: "skipped", detail: "dry run" }],
    });
  }
  const result = await pvcPass(deps, {
    spec,
    direction,
    passId: `pvc-sync:${deps.runId}`,
    signal: deps.signal,
  });
  const objects = claimObjects(result, receiving);
  return buildRunReport({
    runId: deps.runId,
    operation: "pvc-sync",
    replication: spec.name,
    dryRun: false,
    startedAt,
    finishedAt: deps.now(),
    objects,
    steps: [{
      step: `pvc-sync-${direction}`,
      status: objects.some((o) => o.action === "failed") ? "failed" : "done",
      detail: describePass(result),
    }],
    pvcData: passTotals(result),
  });
}
