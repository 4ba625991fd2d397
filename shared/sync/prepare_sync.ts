/**
 * The reading half of a stage: lists the source namespace and what DR holds, and plans the writes
 * (pure planning in `shared/plan/`). Sends no write.
 */
import { unservedReason } from "../plan/served_versions.ts";
import { pooledMap } from "../async/pooled_map.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import type { RetryOptions } from "../kube/retry.ts";
import { type KubeObject, NAMESPACES, type ResourceType, STORAGE_CLASSES, typeKey } from "../kube/types.ts";
import { getObject, listObjects, listPages } from "../kube/verbs.ts";
import { buildDesiredState, filterFacts, observeFacts } from "../plan/build_desired_state.ts";
import { foreignWriters } from "../plan/drift.ts";
import type { DesiredEntry, SyncPlan } from "../plan/contracts.ts";
import { isOwned } from "../plan/filter_object.ts";
import { kindRuleFor } from "../plan/kind_rules.ts";
import { mergePlans, planSync } from "../plan/plan_sync.ts";
import { isOurCopy } from "../plan/provenance.ts";
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
  /** The DR namespace as the caller just read it (then it is not read again). */
  readonly destNamespace?: KubeObject | undefined;
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

/** Full DR objects fetched one by one for a drift check; more than this in one type, and the type is listed. */
const DRIFT_GETS_PER_TYPE = 32;

/**
 * Reads both clusters and plans the sync of one namespace. Types the DR cluster does not serve
 * are reported per object instead of written.
 *
 * Memory stays bounded by the plan, not by what is read: each type is planned on its own (its DR
 * objects, then its source objects page by page), so the source namespace is never held whole,
 * and DR is read as metadata only (names, labels, annotations, uid, resourceVersion and who wrote
 * what): that decides create, update, unchanged and prune. Full DR objects are read only where
 * their content is compared: the kinds that keep what DR has (`KindRule.holdExisting`: a claim's
 * immutable fields and size), this replication's copies that another field manager wrote to, and those
 * that lost the owner of a field they set (someone removed it): the drift check. An update of any other
 * copy reads its object when it is written (`writeOver`).
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
  const wantsStorageClasses = types.some((t) => kindRuleFor(t).checksStorageClasses);
  // read beside the source's types; DR's are listed once it is known to exist (its Roles live in it)
  const destNsRead = options.destNamespace
    ? Promise.resolve(options.destNamespace)
    : getObject(dr, NAMESPACES, undefined, spec.destNamespace, read);
  destNsRead.catch(() => {}); // awaited below; a failure is thrown there

  // each type read on the source, and on DR when the namespace exists
  let total = types.length * 2;
  destNsRead.then((ns) => ns || (total = types.length), () => {});
  let done = 0;
  const tick = () => options.onProgress?.({ phase: "reading", done: ++done, total });
  const readConcurrency = options.readConcurrency ?? 16;
  const copy = copySource(spec);
  const planOptions = {
    ...copy,
    prune: options.prune,
    pruneClaims: spec.pruneClaims,
    adopt: spec.adopt,
    writers: new Map<string, string[]>(),
    live: new Map<string, KubeObject>(),
  };
  const storageClasses = wantsStorageClasses
    ? listObjects(dr, STORAGE_CLASSES, undefined, read).then((l) => new Set(l.map((sc) => sc.metadata.name)))
    : Promise.resolve(undefined);
  storageClasses.catch(() => {}); // awaited below; a failure is thrown there
  const sourceNamespace = options.checked.sourceNamespace;
  const desiredNamespace =
    buildDesiredState({ namespace: sourceNamespace, items: [] }, transformContext(spec))
      .namespace;
  /** What filtering learns from the whole source namespace (which Endpoints are copied). */
  const facts = filterFacts();

  /** DR's full objects of `names` (read one by one, or the type listed in full when many), by name. */
  const readFull = async (type: ResourceType, names: readonly string[]) => {
    const drType = drTypes.get(typeKey(type))!;
    const fetched = new Map<string, KubeObject | undefined>();
    if (names.length <= DRIFT_GETS_PER_TYPE) {
      await pooledMap(names, readConcurrency, async (name) => {
        fetched.set(name, await getObject(dr, drType, spec.destNamespace, name, read));
      });
    } else {
      const wanted = new Set(names);
      for (
        const o of await listObjects(dr, drType, spec.destNamespace, { ...read, keepManagedFields: true })
      ) {
        if (wanted.has(o.metadata.name)) fetched.set(o.metadata.name, o);
      }
    }
    return fetched;
  };

  /** Adds `fetched` to the full objects, and gives `objects` with them in place (those deleted since left out). */
  const withFull = (
    type: ResourceType,
    objects: KubeObject[],
    fetched: Map<string, KubeObject | undefined>,
  ) =>
    objects.flatMap((o) => {
      if (!fetched.has(o.metadata.name)) return [o];
      const live = fetched.get(o.metadata.name);
      if (live === undefined) return []; // deleted since it was listed
      planOptions.live.set(`${typeKey(type)}/${o.metadata.name}`, live);
      return [live];
    });

  /**
   * What DR holds of one type: metadata only (with who owns which field), full objects where content
   * is compared (the kinds that keep what DR has, and this replication's copies another manager wrote to).
   */
  const readDr = async (type: ResourceType): Promise<KubeObject[]> => {
    const drType = drTypes.get(typeKey(type))!;
    const full = kindRuleFor(type).holdExisting !== undefined;
    const compared: string[] = [];
    const objects = await listObjects(dr, drType, spec.destNamespace, {
      ...read,
      metadataOnly: !full,
      // who owns which field: a field of the copy nobody owns any more was removed on DR; an update is
      // written over the object as its owners left it
      keepManagedFields: true,
      inspect: (item) => {
        const foreign = foreignWriters(item);
        if (foreign.length === 0) return;
        planOptions.writers.set(`${typeKey(type)}/${item.metadata.name}`, foreign);
        if (!full && isOurCopy(item, copy)) compared.push(item.metadata.name);
      },
    });
    if (compared.length === 0) return objects;
    return withFull(type, objects, await readFull(type, compared));
  };

  interface TypePlan {
    readonly plan?: SyncPlan;
    readonly unserved: readonly ObjectResult[];
    readonly records: readonly string[];
  }
  /** One type, read and planned; its source objects are dropped page by page. */
  const planType = async (type: ResourceType, held?: KubeObject[]): Promise<TypePlan> => {
    const served = drTypes.has(typeKey(type));
    // DR is read while the source pages are transformed: only planning needs both
    const reading = served && listable.has(typeKey(type))
      ? destNsRead.then((ns) => ns ? readDr(type).then((objects) => (tick(), objects)) : undefined)
      : Promise.resolve(undefined);
    reading.catch(() => {}); // awaited below; a failure is thrown there
    const rule = kindRuleFor(type);
    // (Services: managedFields tell which node ports a user set explicitly)
    const keepManagedFields = rule.readsManagedFields === true;
    // the source's first page is asked for while DR's StorageClasses (which transforming needs) arrive
    const pages = held
      ? undefined
      : listPages(source, type, spec.sourceNamespace, { ...read, keepManagedFields })[Symbol.asyncIterator]();
    const firstPage = pages?.next();
    firstPage?.catch(() => {}); // awaited below; a failure is thrown there
    const ctx = transformContext(spec, await storageClasses);
    let entries: DesiredEntry[] = [];
    let unserved: ObjectResult[] = [];
    let records: string[] = [];
    const take = (objects: readonly KubeObject[]) => {
      if (rule.scale?.by === "replicas") {
        for (const o of objects) {
          if (!isOwned(o) && isCutoverRecord(o as Workload)) records.push(`${type.kind}/${o.metadata.name}`);
        }
      }
      if (!served) {
        const reason = unservedReason(type, dr.name, options.checked.mismatched);
        for (const o of objects) unserved.push(unservedResult(type, o, spec.destNamespace, reason));
        return;
      }
      observeFacts({ type, objects }, facts);
      const page = buildDesiredState({ namespace: sourceNamespace, items: [{ type, objects }] }, ctx, facts);
      for (const e of page.entries) entries.push(e);
    };
    if (held) take(held);
    else {
      for (let next = await firstPage!; !next.done; next = await pages!.next()) {
        if (next.value.restarted) [entries, unserved, records] = [[], [], []];
        take(next.value.items);
      }
      tick();
    }
    let current = await reading;
    if (!served) return { unserved, records };
    const desired = { namespace: desiredNamespace, entries };
    let plan = planSync(desired, current ? [{ type, objects: current }] : [], planOptions);
    const unverified = plan.entries.filter((e) => e.readFull).map((e) => e.name);
    if (current && unverified.length > 0) {
      // copies that lost a field on DR: compared with their full objects, and planned again
      current = withFull(type, current, await readFull(type, unverified));
      plan = planSync(desired, [{ type, objects: current }], planOptions);
    }
    return { plan, unserved, records };
  };

  // a kind filtered with what the others observed (Endpoints: copied only for the Services without a
  // selector) is read beside them, and planned once every other type is read
  const last = types.filter((t) => kindRuleFor(t).filteredLast);
  const firstTypes = types.filter((t) => !kindRuleFor(t).filteredLast);
  const [planned, lastObjects] = await Promise.all([
    pooledMap(firstTypes, readConcurrency, (type) => planType(type)),
    pooledMap(last, readConcurrency, (type) => listObjects(source, type, spec.sourceNamespace, read)),
  ]);
  const destNs = await destNsRead;
  const byType = new Map(planned.map((p, i) => [typeKey(firstTypes[i]!), p]));
  for (const [i, type] of last.entries()) {
    tick();
    byType.set(typeKey(type), await planType(type, lastObjects[i]!));
  }
  const inOrder = types.map((t) => byType.get(typeKey(t))!);
  return {
    plan: mergePlans(desiredNamespace, inOrder.flatMap((p) => p.plan ? [p.plan] : [])),
    unserved: inOrder.flatMap((p) => p.unserved),
    destNamespace: destNs,
    types,
    sourceRecords: inOrder.flatMap((p) => p.records),
  };
}

function unservedResult(type: ResourceType, o: KubeObject, namespace: string, reason: string): ObjectResult {
  return { kind: type.kind, group: type.group, name: o.metadata.name, namespace, action: "failed", reason };
}
