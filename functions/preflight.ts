/** What cutover and failback read before deciding anything: is the source up, was anything staged, the state. */
import { isUnreachable } from "../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../shared/kube/kube_client.ts";
import { NAMESPACES } from "../shared/kube/types.ts";
import { getObject, serverVersion } from "../shared/kube/verbs.ts";
import { type ReplicationSpec, workloadTypeKeys } from "../shared/plan/replication_spec.ts";
import { readReplicationState } from "../shared/state/replication_lock.ts";
import type { ReplicationState } from "../shared/state/replication_state.ts";
import type { ScaleContext } from "../shared/sync/scale_workloads.ts";
import { clusterUid } from "../shared/sync/check_sync.ts";
import { type OperationDeps, OperationRefusedError } from "./operation_deps.ts";

/** Answers whether a cluster responds at all (any HTTP answer counts). */
export async function reachable(client: KubeClient): Promise<boolean> {
  try {
    await serverVersion(client, { timeoutMs: 5_000 });
    return true;
  } catch (error) {
    return !isUnreachable(error);
  }
}

/** The DR namespace must exist: the state and the staged copies live there. */
export async function requireStaged(
  deps: OperationDeps,
  spec: ReplicationSpec,
  operation: string,
): Promise<void> {
  if (await getObject(deps.dr, NAMESPACES, undefined, spec.destNamespace)) return;
  throw new OperationRefusedError(
    `Cannot ${operation} "${spec.name}": namespace "${spec.destNamespace}" does not exist in cluster "${deps.dr.name}": nothing was staged`,
  );
}

export interface Preflight {
  readonly sourceUp: boolean;
  readonly state: ReplicationState;
}

/** Reads side by side whether the source answers, that DR was staged, and the state. */
export async function preflight(
  deps: OperationDeps,
  spec: ReplicationSpec,
  operation: string,
): Promise<Preflight> {
  const [sourceUp, , state] = await Promise.all([
    reachable(deps.source),
    requireStaged(deps, spec, operation),
    readReplicationState(deps.dr, spec.destNamespace),
  ]);
  return { sourceUp, state };
}

/**
 * The scaling context of an undo: it must not give up on a conflict a controller's status write
 * caused, whatever retries the run was given (the undo is what keeps a service up on one side).
 */
export function repairContext(ctx: ScaleContext): ScaleContext {
  return { ...ctx, retry: { ...ctx.retry, attempts: Math.max(ctx.retry?.attempts ?? 6, 6) } };
}

/** The scaling steps' view of a run. */
export function scaleContext(deps: OperationDeps, spec: ReplicationSpec, signal?: AbortSignal): ScaleContext {
  return {
    source: deps.source,
    dr: deps.dr,
    spec,
    // only the workload types the replication copies (cutover narrows further once its final stage resolved them)
    types: workloadTypeKeys(spec),
    concurrency: deps.concurrency,
    retry: deps.retry,
    signal,
  };
}

/** The source cluster's identity, read (never throws: undefined when it cannot be read). */
export function sourceUid(deps: OperationDeps): Promise<string | undefined> {
  return clusterUid(deps.source).catch(() => undefined);
}

/**
 * The replication with its source cluster's identity, which provenance records: the uid of the
 * source's kube-system namespace; when the source cannot say (unreachable, or kube-system not
 * readable), the identity the last stage recorded in the state; else the cluster's name.
 */
export async function withSourceIdentity(
  deps: OperationDeps,
  spec: ReplicationSpec,
  state: ReplicationState | undefined,
  sourceUp = true,
  /** The source's identity when the caller already started reading it (`sourceUid`). */
  reading?: Promise<string | undefined>,
): Promise<ReplicationSpec> {
  if (spec.sourceClusterId !== undefined) return spec;
  const uid = sourceUp ? await (reading ?? sourceUid(deps)) : undefined;
  const recorded = state?.source?.namespace === spec.sourceNamespace ? state.source.cluster : undefined;
  const id = uid ?? recorded;
  if (id === undefined) {
    deps.logger.warn("the source cluster's identity is unknown: its copies are marked with its name", {
      cluster: spec.sourceCluster,
    });
  }
  return { ...spec, sourceClusterId: id };
}
