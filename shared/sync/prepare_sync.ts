/**
 * The reading half of a stage: lists the source namespace and what DR holds, and plans the writes
 * (pure planning in `shared/plan/`). Sends no write.
 */
import { pooledMap } from "../async/pooled_map.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import type { RetryOptions } from "../kube/retry.ts";
import { type KubeObject, NAMESPACES, type ResourceType, STORAGE_CLASSES, typeKey } from "../kube/types.ts";
import { getObject, listObjects } from "../kube/verbs.ts";
import { buildDesiredState } from "../plan/build_desired_state.ts";
import { foreignWriters } from "../plan/drift.ts";
import type { SyncPlan, TypedObjects } from "../plan/contracts.ts";
import { planSync } from "../plan/plan_sync.ts";
import { copySource, type ReplicationSpec, transformContext } from "../plan/replication_spec.ts";
import { isCutoverRecord, type Workload } from "../plan/scale_decisions.ts";
import type { ObjectResult } from "../run_report.ts";
import type { CheckedSync } from "./check_sync.ts";

export interface SyncProgress {
  /** `pvc-data`: claims copied (`done` of `total`), the running claim's bytes in `detail`. */
  readonly phase: "reading" | "writing" | "pvc-data";
  readonly done: number;
  readonly total: number;
  readonly detail?: string;
}

export interface PrepareSyncOptions {
  readonly replication: ReplicationSpec;
  readonly checked: CheckedSync;
  readonly prune: boolean;
  /** Types whose CRD this run copied to DR (served there now; in a dry run, only would be). */
  readonly copiedCrdTypes?: readonly ResourceType[];
  readonly dryRun?: boolean;
  /** Reads in flight at once (default 8). */
  readonly readConcurrency?: number;
  readonly onProgress?: ((progress: SyncProgress) => void) | undefined;
  readonly retry?: RetryOptions | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Everything a sync decided before writing: the plan, what DR lacks, and the DR namespace as it is. */
export interface PreparedSync {
  readonly plan: SyncPlan;
  /** Objects whose type DR does not serve, reported as failed instead of written. */
  readonly unserved: readonly ObjectResult[];
  /** The DR namespace now, or undefined when it does not exist yet. */
  readonly destNamespace: KubeObject | undefined;
  readonly types: readonly ResourceType[];
  /**
   * Source workloads at zero replicas that carry `dr-syncer.io/original-replicas`: what a cutover
   * leaves behind (the source was scaled down for DR to take over).
   */
  readonly sourceRecords: readonly string[];
}

/**
 * Reads both clusters and plans the sync of one namespace. Types the DR cluster does not serve
 * are reported per object instead of written.
 */
export async function prepareSync(
  source: KubeClient,
  dr: KubeClient,
  options: PrepareSyncOptions,
): Promise<PreparedSync> {
  const spec = options.replication;
  const { drServed, types } = options.checked;
  const read = { retry: options.retry, signal: options.signal };
  const drTypes = new Map(drServed.filter((t) => t.namespaced).map((t) => [typeKey(t), t]));
  const listable = new Set(drTypes.keys());
  for (const type of options.copiedCrdTypes ?? []) {
    drTypes.set(typeKey(type), type);
    if (!options.dryRun) listable.add(typeKey(type));
  }
  const wantsPvcs = types.some((t) => t.group === "" && t.resource === "persistentvolumeclaims");
  const destNs = await getObject(dr, NAMESPACES, undefined, spec.destNamespace, read);

  const total = types.length * (destNs ? 2 : 1);
  let done = 0;
  const tick = () => options.onProgress?.({ phase: "reading", done: ++done, total });
  const readConcurrency = options.readConcurrency ?? 8;
  const writers = new Map<string, string[]>();
  const [sourceItems, destItems, storageClasses] = await Promise.all([
    pooledMap(types, readConcurrency, async (type): Promise<TypedObjects> => {
      // Services keep managedFields: they tell which node ports a user set explicitly
      const keepManagedFields = type.group === "" && type.resource === "services";
      const objects = await listObjects(source, type, spec.sourceNamespace, { ...read, keepManagedFields });
      tick();
      return { type, objects };
    }),
    destNs
      ? pooledMap(types.filter((t) => listable.has(typeKey(t))), readConcurrency, async (type) => {
        const objects = await listObjects(dr, drTypes.get(typeKey(type))!, spec.destNamespace, {
          ...read,
          inspect: (item) => {
            const foreign = foreignWriters(item);
            if (foreign.length > 0) writers.set(`${typeKey(type)}/${item.metadata.name}`, foreign);
          },
        });
        tick();
        return { type, objects } satisfies TypedObjects;
      })
      : Promise.resolve([] as TypedObjects[]),
    wantsPvcs
      ? listObjects(dr, STORAGE_CLASSES, undefined, read).then((l) =>
        new Set(l.map((sc) => sc.metadata.name))
      )
      : Promise.resolve(undefined),
  ]);

  const served = sourceItems.filter((i) => drTypes.has(typeKey(i.type)));
  const unserved: ObjectResult[] = sourceItems.filter((i) => !drTypes.has(typeKey(i.type))).flatMap((i) =>
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
  const desired = buildDesiredState(
    { namespace: options.checked.sourceNamespace, items: served },
    transformContext(spec, storageClasses),
  );
  const plan = planSync(desired, destItems, {
    ...copySource(spec),
    prune: options.prune,
    pruneClaims: spec.pruneClaims,
    adopt: spec.adopt,
    writers,
  });
  const sourceRecords = sourceItems.filter((i) => i.type.group === "apps").flatMap((i) =>
    i.objects.filter((o) => isCutoverRecord(o as Workload)).map((o) => `${i.type.kind}/${o.metadata.name}`)
  );
  return { plan, unserved, destNamespace: destNs, types, sourceRecords };
}
