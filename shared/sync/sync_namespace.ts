import type { KubeClient } from "../kube/kube_client.ts";
import { isAlreadyExists, isNotFound } from "../kube/kube_api_error.ts";
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { Logger } from "../log/logger.ts";
import { applyPlan, serverSideApply } from "./apply_plan.ts";
import { buildDesiredState } from "./build_desired_state.ts";
import { contentHash } from "./content_hash.ts";
import type { ObjectResult, SyncPlan, TypedObjects } from "./contracts.ts";
import { discoverResources } from "./discover_resources.ts";
import { listObjects } from "./list_objects.ts";
import { mapConcurrent } from "./map_concurrent.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_ORIGINAL_REPLICAS,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "./names.ts";
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

/** Source and DR are the same namespace of the same cluster: staging would overwrite production. */
export class SameNamespaceError extends Error {
  override readonly name = "SameNamespaceError";
}

async function kubeSystemUid(client: KubeClient): Promise<string | undefined> {
  return (await getOptional<KubeObject>(client, "/api/v1/namespaces/kube-system"))?.metadata.uid;
}

/**
 * Refuses a replication whose source and DR are one namespace of one cluster (two kubeconfigs for
 * the same cluster look different; the uid of kube-system does not).
 */
export async function assertDistinctTargets(
  source: KubeClient,
  dr: KubeClient,
  spec: ReplicationSpec,
): Promise<void> {
  if (spec.sourceNamespace !== spec.destNamespace) return;
  const [a, b] = source.server === dr.server
    ? ["same", "same"]
    : await Promise.all([kubeSystemUid(source), kubeSystemUid(dr)]);
  if (a !== undefined && a === b) {
    throw new SameNamespaceError(
      `Source and DR are the same namespace "${spec.sourceNamespace}" of the same cluster (${dr.server}): refusing to copy a namespace onto itself`,
    );
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
  /**
   * Source workloads at zero replicas that carry `dr-syncer.io/original-replicas`: what a cutover
   * leaves behind (the source was scaled down for DR to take over).
   */
  readonly sourceRecords: readonly string[];
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
/** What must hold before anything is written: both clusters answer, the source namespace exists, the types resolve. */
export interface CheckedSync {
  readonly sourceServed: readonly ResourceType[];
  readonly drServed: readonly ResourceType[];
  readonly sourceNamespace: KubeObject;
  readonly types: readonly ResourceType[];
}

/**
 * Reads only: discovery of both clusters, the source namespace, the resource types. Throws on bad
 * input (unknown types, a missing source namespace, source and DR the same namespace).
 */
export async function checkSync(
  source: KubeClient,
  dr: KubeClient,
  spec: ReplicationSpec,
): Promise<CheckedSync> {
  const [sourceServed, drServed, sourceNamespace] = await Promise.all([
    assertDistinctTargets(source, dr, spec).then(() => discoverResources(source)),
    discoverResources(dr),
    getOptional<KubeObject>(source, `/api/v1/namespaces/${encodeURIComponent(spec.sourceNamespace)}`),
  ]);
  if (!sourceNamespace) throw new SourceNamespaceNotFoundError(source.name, spec.sourceNamespace);
  const types = resolveResourceTypes(sourceServed, {
    ...(spec.resourceTypes ? { resourceTypes: spec.resourceTypes } : {}),
    ...(spec.excludeResourceTypes ? { excludeResourceTypes: spec.excludeResourceTypes } : {}),
    includeCustomResources: spec.includeCustomResources,
  });
  return { sourceServed, drServed, sourceNamespace, types };
}

export async function prepareSync(
  source: KubeClient,
  dr: KubeClient,
  options: PrepareSyncOptions & { readonly checked?: CheckedSync },
): Promise<PreparedSync> {
  const spec = options.replication;
  const [checked, destNs] = await Promise.all([
    options.checked ?? checkSync(source, dr, spec),
    getOptional<KubeObject>(dr, `/api/v1/namespaces/${encodeURIComponent(spec.destNamespace)}`),
  ]);
  const { drServed, types } = checked;
  const sourceNs = checked.sourceNamespace;
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
      // Services keep managedFields: they tell which node ports a user set explicitly
      const keepManagedFields = type.group === "" && type.resource === "services";
      const objects = await listObjects(source, type, spec.sourceNamespace, { keepManagedFields });
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
  const sourceRecords = sourceItems.filter((i) => i.type.group === "apps").flatMap((i) =>
    i.objects.filter((o) =>
      o.metadata.annotations?.[ANNOTATION_ORIGINAL_REPLICAS] !== undefined &&
      (o as { spec?: { replicas?: number } }).spec?.replicas === 0
    ).map((o) => `${i.type.kind}/${o.metadata.name}`)
  );
  return { plan, extraResults: [...crds.results, ...unserved], destNamespace: destNs, types, sourceRecords };
}

/** Creates the DR namespace, bare, when it is missing: it must exist to hold the replication's lock. */
export async function createDestNamespaceIfMissing(dr: KubeClient, spec: ReplicationSpec): Promise<void> {
  if (await getOptional(dr, `/api/v1/namespaces/${encodeURIComponent(spec.destNamespace)}`)) return;
  try {
    await dr.request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: spec.destNamespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE } },
      },
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
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
  /** The replication lock's signal: once aborted, no further write is sent. */
  readonly signal?: AbortSignal | undefined;
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
    signal: options.signal,
  });
  return [...prepared.extraResults, ...results];
}
