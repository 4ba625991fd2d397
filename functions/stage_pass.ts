/**
 * One stage pass, shared by stage and by cutover's final stage: copy the CRDs (with `syncCRDs`),
 * read both clusters and plan, then apply the DR namespace and the plan. The replication's lock
 * must be held unless this is a dry run.
 */
import { type KubeObject, type ResourceType, typeKey } from "../shared/kube/types.ts";
import { pruneLimitRefusal } from "../shared/plan/plan_sync.ts";
import { copySource, type ReplicationSpec } from "../shared/plan/replication_spec.ts";
import type { ObjectResult } from "../shared/run_report.ts";
import { applyPlan } from "../shared/sync/apply_plan.ts";
import { type CheckedSync, checkSync } from "../shared/sync/check_sync.ts";
import { ensureDestNamespace } from "../shared/sync/dest_namespace.ts";
import { type PreparedSync, prepareSync } from "../shared/sync/prepare_sync.ts";
import { syncCustomResourceDefinitions } from "../shared/sync/sync_crds.ts";
import { type OperationDeps, OperationRefusedError, refuseIf } from "./operation_deps.ts";

/** A namespace being deleted: its objects are going, so their absence means nothing. */
function isTerminating(namespace: KubeObject): boolean {
  return namespace.metadata.deletionTimestamp !== undefined ||
    (namespace.status as { phase?: string } | undefined)?.phase === "Terminating";
}

export interface StagePassOptions {
  readonly dryRun: boolean;
  readonly prune: boolean;
  /** The checks, when the caller already ran them. */
  readonly checked?: CheckedSync | undefined;
  /** The lock's signal: once aborted, nothing more is written. */
  readonly signal?: AbortSignal | undefined;
  /** Called between planning and the first object write: a throw stops the pass before it writes. */
  readonly beforeWrite?: (prepared: PreparedSync) => void;
  /** The reads and the plan, when the caller started them already (`readAndPlan`; not with `syncCRDs`). */
  readonly prepared?: Promise<PreparedSync> | undefined;
}

/**
 * Reads both clusters and plans, for a replication that copies no CRDs (the CRDs are written before
 * the plan): what a stage may start before it holds the lock (see `stage`).
 */
export function readAndPlan(
  deps: OperationDeps,
  spec: ReplicationSpec,
  checked: CheckedSync,
  options: {
    readonly prune: boolean;
    /** The DR namespace as just read (it exists). */
    readonly destNamespace: KubeObject;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<PreparedSync> {
  if (copiesCrds(spec)) {
    throw new Error("readAndPlan: a replication that copies CRDs plans after writing them");
  }
  return prepare(deps, spec, checked, { ...options, dryRun: false, copiedCrdTypes: [] });
}

/** Whether the pass copies CRDs (`syncCRDs`), which it writes before it plans. */
export function copiesCrds(spec: ReplicationSpec): boolean {
  return spec.syncCRDs && spec.includeCustomResources !== false;
}

function prepare(
  deps: OperationDeps,
  spec: ReplicationSpec,
  checked: CheckedSync,
  options: {
    readonly prune: boolean;
    readonly dryRun: boolean;
    readonly copiedCrdTypes: readonly ResourceType[];
    readonly destNamespace?: KubeObject | undefined;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<PreparedSync> {
  return prepareSync(deps.source, deps.dr, {
    replication: spec,
    checked,
    ...options,
    retry: deps.retry,
    onProgress: deps.onProgress,
  });
}

export interface StagePassResult {
  readonly prepared: PreparedSync;
  /** What the checks found (both clusters' discovery, the types). */
  readonly checked: CheckedSync;
  /** Whether the DR namespace was written (created or updated). */
  readonly namespaceApplied: boolean;
  /** Per object: CRDs copied, objects DR cannot hold, then the plan's results. */
  readonly objects: readonly ObjectResult[];
}

export async function stagePass(
  deps: OperationDeps,
  spec: ReplicationSpec,
  options: StagePassOptions,
): Promise<StagePassResult> {
  const { dryRun, signal } = options;
  const checked = options.checked ?? await checkSync(deps.source, deps.dr, spec);
  if (options.prune && isTerminating(checked.sourceNamespace)) {
    throw new OperationRefusedError(
      `Source namespace "${spec.sourceNamespace}" is being deleted: refusing to prune "${spec.name}" (a deleted production namespace must not empty DR); stage without prune to keep the DR copy as it is`,
    );
  }
  // a type DR serves at other versions only has a CRD there already: its objects fail, the CRD is left alone
  const crdTypes = checked.types.filter((t) => !checked.mismatched?.has(typeKey(t)));
  const crds = copiesCrds(spec)
    ? await syncCustomResourceDefinitions(deps.source, deps.dr, crdTypes, checked.drServed, {
      sourceCluster: spec.sourceCluster,
      dryRun,
      retry: deps.retry,
      signal,
    })
    : { results: [], served: [] };
  const prepared = await (options.prepared ??
    prepare(deps, spec, checked, { prune: options.prune, dryRun, copiedCrdTypes: crds.served, signal }));
  if (!dryRun) refuseIf(pruneLimitRefusal(prepared.plan, spec.maxPrune, spec.name));
  options.beforeWrite?.(prepared);
  const namespaceApplied = !dryRun &&
    await ensureDestNamespace(deps.dr, prepared.plan.namespace, prepared.destNamespace, {
      retry: deps.retry,
      signal,
    });
  const applied = await applyPlan(deps.dr, prepared.plan, {
    source: copySource(spec),
    dryRun,
    immutable: spec.immutable,
    logger: deps.logger,
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    onProgress: (done, total) => deps.onProgress?.({ phase: "writing", done, total }),
    signal,
  });
  return {
    prepared,
    checked,
    namespaceApplied,
    objects: [...crds.results, ...prepared.unserved, ...applied],
  };
}
