import type { KubeClient } from "../kube/kube_client.ts";
import { isNotFound } from "../kube/kube_api_error.ts";
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { Logger } from "../log/logger.ts";
import { applyPlan, serverSideApply } from "./apply_plan.ts";
import { buildDesiredState } from "./build_desired_state.ts";
import { contentHash } from "./content_hash.ts";
import type { ObjectResult, SyncPlan, TypedObjects } from "./contracts.ts";
import { discoverResources } from "./discover_resources.ts";
import { listObjects } from "./list_objects.ts";
import { mapConcurrent } from "./map_concurrent.ts";
import { ANNOTATION_CONTENT_HASH } from "./names.ts";
import { planSync } from "./plan_sync.ts";
import type { ReplicationSpec } from "./replication_spec.ts";
import { resolveResourceTypes } from "./resolve_resource_types.ts";
import { syncCustomResourceDefinitions } from "./sync_crds.ts";
import type { RetryOptions } from "./retry.ts";

/** The source namespace does not exist: nothing can be staged. */
export class SourceNamespaceNotFoundError extends Error {
  override readonly name = "SourceNamespaceNotFoundError";
  constructor(readonly cluster: string, readonly namespace: string) {
    super(`Source namespace "${namespace}" does not exist in cluster "${cluster}"`);
  }
}

export interface SyncProgress {
  readonly phase: "reading" | "writing";
  readonly done: number;
  readonly total: number;
}

export interface PrepareSyncOptions {
  readonly replication: ReplicationSpec;
  readonly prune: boolean;
  readonly logger: Logger;
  /** Reads in flight at once (default 8). */
  readonly readConcurrency?: number;
  readonly onProgress?: (progress: SyncProgress) => void;
  /** With the replication's `syncCRDs`: a dry run only says which CRDs it would copy. */
  readonly dryRun?: boolean;
  readonly retry?: RetryOptions | undefined;
}

/** Everything a sync decided before writing: the plan, what DR lacks, and the DR namespace as it is. */
export interface PreparedSync {
  readonly plan: SyncPlan;
  /** Results decided before the plan: copied CRDs, and objects whose type DR does not serve. */
  readonly extraResults: readonly ObjectResult[];
  /** The DR namespace now, or undefined when it does not exist yet. */
  readonly destNamespace: KubeObject | undefined;
  readonly types: readonly ResourceType[];
}

const typeKey = (t: Pick<ResourceType, "group" | "resource">) => `${t.resource}.${t.group}`;

async function getOptional<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>({ method: "GET", path });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Reads both clusters and plans the sync of one namespace. Resource types are resolved against
 * what the source serves; types the DR cluster does not serve are reported per object instead of
 * written. The only writes: with `syncCRDs` (and not `dryRun`), the missing CRDs of custom types.
 */
export async function prepareSync(
  source: KubeClient,
  dr: KubeClient,
  options: PrepareSyncOptions,
): Promise<PreparedSync> {
  const spec = options.replication;
  const [sourceServed, drServed, sourceNs, destNs] = await Promise.all([
    discoverResources(source),
    discoverResources(dr),
    getOptional<KubeObject>(source, `/api/v1/namespaces/${encodeURIComponent(spec.sourceNamespace)}`),
    getOptional<KubeObject>(dr, `/api/v1/namespaces/${encodeURIComponent(spec.destNamespace)}`),
  ]);
  if (!sourceNs) throw new SourceNamespaceNotFoundError(source.name, spec.sourceNamespace);
  const types = resolveResourceTypes(sourceServed, {
    ...(spec.resourceTypes ? { resourceTypes: spec.resourceTypes } : {}),
    ...(spec.excludeResourceTypes ? { excludeResourceTypes: spec.excludeResourceTypes } : {}),
    includeCustomResources: spec.includeCustomResources,
  });
  const drTypes = new Map(drServed.filter((t) => t.namespaced).map((t) => [typeKey(t), t]));
  const listable = new Set(drTypes.keys());
  const crds = spec.syncCRDs && spec.includeCustomResources !== false
    ? await syncCustomResourceDefinitions(source, dr, types, drServed, {
      sourceCluster: spec.sourceCluster,
      dryRun: options.dryRun ?? false,
      retry: options.retry,
    })
    : { results: [], served: [] };
  for (const type of crds.served) {
    drTypes.set(typeKey(type), type);
    if (!options.dryRun) listable.add(typeKey(type));
  }
  const wantsPvcs = types.some((t) => t.group === "" && t.resource === "persistentvolumeclaims");

  const total = types.length * (destNs ? 2 : 1);
  let done = 0;
  const tick = () => options.onProgress?.({ phase: "reading", done: ++done, total });
  const readConcurrency = options.readConcurrency ?? 8;
  const [sourceItems, destItems, storageClasses] = await Promise.all([
    mapConcurrent(types, readConcurrency, async (type): Promise<TypedObjects> => {
      const objects = await listObjects(source, type, spec.sourceNamespace);
      tick();
      return { type, objects };
    }),
    destNs
      ? mapConcurrent(types.filter((t) => listable.has(typeKey(t))), readConcurrency, async (type) => {
        const drType = drTypes.get(typeKey(type))!;
        const objects = await listObjects(dr, drType, spec.destNamespace);
        tick();
        return { type, objects } satisfies TypedObjects;
      })
      : Promise.resolve([] as TypedObjects[]),
    wantsPvcs
      ? dr.request<{ items: KubeObject[] }>({ method: "GET", path: "/apis/storage.k8s.io/v1/storageclasses" })
        .then((l) => new Set(l.items.map((sc) => sc.metadata.name)))
      : Promise.resolve(undefined),
  ]);

  const served = sourceItems.filter((i) => drTypes.has(typeKey(i.type)));
  const unserved: ObjectResult[] = sourceItems.filter((i) => !drTypes.has(typeKey(i.type))).flatMap((
    i,
  ) =>
    i.objects.map((o) => ({
      kind: i.type.kind,
      group: i.type.group,
      name: o.metadata.name,
      namespace: spec.destNamespace,
      action: "failed" as const,
      reason: `Cluster "${dr.name}" does not serve ${i.type.resource}.${
        i.type.group || "core"
      }: install its CustomResourceDefinition there first, or set syncCRDs`,
    }))
  );
  const desired = buildDesiredState({ namespace: sourceNs, items: served }, {
    sourceCluster: spec.sourceCluster,
    sourceNamespace: spec.sourceNamespace,
    destNamespace: spec.destNamespace,
    scaleToZero: spec.scaleToZero,
    preserveNodePorts: spec.preserveNodePorts,
    storageClassMap: spec.storageClassMap,
    accessModeMap: spec.accessModeMap,
    ingressHostMap: spec.ingressHostMap,
    ingressClassMap: spec.ingressClassMap,
    destStorageClasses: storageClasses,
  });
  const plan = planSync(desired, destItems, {
    prune: options.prune,
    sourceCluster: spec.sourceCluster,
    sourceNamespace: spec.sourceNamespace,
  });
  return { plan, extraResults: [...crds.results, ...unserved], destNamespace: destNs, types };
}

/** Creates or updates the DR namespace when it is missing or differs; otherwise sends nothing. */
export async function ensureDestNamespace(
  dr: KubeClient,
  prepared: PreparedSync,
  retry?: RetryOptions,
): Promise<boolean> {
  const desired = prepared.plan.namespace;
  const hash = contentHash(desired);
  if (prepared.destNamespace?.metadata.annotations?.[ANNOTATION_CONTENT_HASH] === hash) return false;
  const object: KubeObject = {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [ANNOTATION_CONTENT_HASH]: hash },
    },
  };
  await serverSideApply(
    dr,
    { group: "", version: "v1", resource: "namespaces", namespaced: false },
    object,
    retry,
  );
  return true;
}

export interface ApplySyncOptions {
  readonly dryRun: boolean;
  readonly immutable: ReplicationSpec["immutable"];
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
  readonly logger: Logger;
  readonly onProgress?: (progress: SyncProgress) => void;
}

/** Writes a prepared plan (the DR namespace must exist unless this is a dry run). */
export async function applySync(
  dr: KubeClient,
  prepared: PreparedSync,
  options: ApplySyncOptions,
): Promise<ObjectResult[]> {
  const results = await applyPlan(dr, prepared.plan, {
    dryRun: options.dryRun,
    immutable: options.immutable,
    logger: options.logger,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    onProgress: (done, total) => options.onProgress?.({ phase: "writing", done, total }),
  });
  return [...prepared.extraResults, ...results];
}
