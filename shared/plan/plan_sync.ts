/**
 * Compares the desired DR objects with what the DR namespace holds and decides, per object, what to
 * write (docs/sync-rules.md, "Writing"): create, update, nothing (same content hash: a re-run over an
 * unchanged namespace writes nothing), prune, or report a skip or an error.
 *
 * What the entries hold, kept small because a plan of 20,000 objects lives through the whole apply:
 * - create/update: `desired`, the object to apply (with its content-hash annotation).
 * - update/prune: `current`, the object DR holds, as listed (apply reads its uid, labels and
 *   annotations to recreate or delete it).
 * - unchanged: no `desired`, and `current` only the identity of the DR object (apiVersion, kind,
 *   name, namespace, uid, resourceVersion), not the listed object: nothing is written for it, and
 *   holding every listed object would keep the whole DR listing alive.
 */
import { type KubeObject, type ResourceType, typeKey } from "../kube/types.ts";
import type {
  DesiredState,
  PlanEntry,
  PlanSyncOptions,
  SyncPlan,
  TransformOutcome,
  TypedObjects,
} from "./contracts.ts";
import { contentHash } from "./content_hash.ts";
import { type KindRule, kindRuleFor } from "./kind_rules.ts";
import { describeDifferences, differences, replacementOf } from "./drift.ts";
import { ownsEveryField } from "./field_owners.ts";
import { isHelmRecordOf } from "./helm_records.ts";
import { ANNOTATION_CONTENT_HASH } from "./names.ts";
import { hasManagedByLabel, isCopyFrom, isOurCopy, provenanceOf } from "./provenance.ts";

export type { PlanSyncOptions } from "./contracts.ts";

type Copy = Extract<TransformOutcome, { action: "copy" }>;
type EntryBase = Pick<PlanEntry, "type" | "name" | "namespace" | "order">;

function objectKey(type: ResourceType, name: string): string {
  return `${typeKey(type)}/${name}`;
}

function withContentHash(obj: KubeObject, hash: string): KubeObject {
  const annotations = { ...obj.metadata.annotations, [ANNOTATION_CONTENT_HASH]: hash };
  return { ...obj, metadata: { ...obj.metadata, annotations } };
}

/** What an `unchanged` entry keeps of the DR object: its identity, not its content. */
function identityOf(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion } = obj.metadata;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    },
  };
}

/** What a DR object that is not this replication's copy is, for the report. */
function foreignReason(current: KubeObject): string {
  const from = provenanceOf(current);
  if (!from) return "exists on DR but dr-syncer did not create it";
  return `exists on DR as a copy from namespace "${from.sourceNamespace}" of cluster "${from.sourceCluster}"`;
}

function updateReason(current: KubeObject, options: PlanSyncOptions): string {
  if (!isCopyFrom(current, options)) return `adopting it: it ${foreignReason(current)}`;
  if (!hasManagedByLabel(current)) return "its managed-by label was changed on DR";
  return current.metadata.annotations?.[ANNOTATION_CONTENT_HASH] === undefined
    ? "no content hash from an earlier sync"
    : "changed since the last sync";
}

/** Why a Helm release record without provenance is still this replication's copy. */
const HELM_REWRITE_REASON =
  "Helm rewrote this release record on DR (its provenance with it): recognised by its release and revision, put back";

function planCopy(
  base: EntryBase,
  rule: KindRule,
  outcome: Copy,
  current: KubeObject | undefined,
  options: PlanSyncOptions,
): PlanEntry {
  const warnings = [...outcome.warnings];
  let object = outcome.object;
  if (current !== undefined && rule.holdExisting) {
    const kept = rule.holdExisting(object, current);
    object = kept.object;
    warnings.push(...kept.warnings);
  }
  const hash = contentHash(object);
  const common = { ...base, warnings, errors: outcome.errors };
  if (current === undefined) return { ...common, action: "create", desired: withContentHash(object, hash) };
  const helmRewrite = !isCopyFrom(current, options) && isHelmRecordOf(object, current);
  if (!isCopyFrom(current, options) && !helmRewrite && !options.adopt) {
    return {
      ...common,
      action: "error",
      reason: `It ${foreignReason(current)}: left alone; set adopt (--adopt) to take it over`,
    };
  }
  const key = objectKey(base.type, base.name);
  // DR's full object (the listing may hold its metadata only): what an update is written over
  const live = options.live?.get(key) ?? (rule.holdExisting ? current : undefined);
  const desired = withContentHash(object, hash);
  const update = (reason: string): PlanEntry => ({
    ...common,
    action: "update",
    desired,
    current: live ?? current,
    reason,
    ...(live !== undefined ? { replace: replacementOf(desired, live) } : {}),
  });
  if (isOurCopy(current, options) && current.metadata.annotations?.[ANNOTATION_CONTENT_HASH] === hash) {
    const unchanged: PlanEntry = { ...common, action: "unchanged", current: identityOf(current) };
    if (rule.checkDrift === false || options.writers === undefined) return unchanged;
    const writers = options.writers.get(key) ?? [];
    // a field it sets that nobody owns any more was removed on DR (a removal leaves no writer behind)
    const lost = ownsEveryField(desired, current) === false;
    if (writers.length === 0 && !lost) return unchanged;
    // without a map of full objects (a caller that listed DR in full), `current` is the full object
    const full = live ?? (options.live === undefined ? current : undefined);
    if (full === undefined) return { ...unchanged, readFull: true };
    const found = differences(desired, full);
    if (found.length === 0) return unchanged;
    const by = writers.length > 0 ? ` by ${writers.join(", ")}` : "";
    return update(`drift: changed on DR${by}; put back (${describeDifferences(found)})`);
  }
  return update(helmRewrite ? HELM_REWRITE_REASON : updateReason(current, options));
}

function compareEntries(a: PlanEntry, b: PlanEntry): number {
  const text = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return a.order - b.order || text(a.type.kind, b.type.kind) || text(a.type.group, b.type.group) ||
    text(a.name, b.name);
}

/**
 * One plan from plans of the same DR namespace made separately (one per resource type, when a
 * namespace is read type by type), sorted as `planSync` sorts.
 */
export function mergePlans(namespace: KubeObject, plans: readonly SyncPlan[]): SyncPlan {
  return { namespace, entries: plans.flatMap((p) => p.entries).sort(compareEntries) };
}

/** The reason of a prune whose source object is gone (what the prune limit counts). */
export const SOURCE_GONE = "the source object is gone";

/**
 * Why a run must not prune as planned: more prunes of objects whose source is gone than `maxPrune`
 * (a source namespace emptied by mistake must not empty DR). `undefined` when within the limit.
 */
export function pruneLimitRefusal(plan: SyncPlan, maxPrune: number, replication: string): string | undefined {
  const count = plan.entries.filter((e) => e.action === "prune" && e.reason === SOURCE_GONE).length;
  if (count <= maxPrune) return undefined;
  return `Stage of "${replication}" would prune ${count} objects whose source is gone, more than the limit of ${maxPrune}: no object was pruned or written; if the source really lost them, run again with --max-prune ${count} (maxPrune: ${count} in the config)`;
}

/** The warning of a skipped source object whose earlier DR copy stays (and is no longer updated). */
const KEPT_COPY_WARNING = "Kept its DR copy: dr-syncer does not delete a copy whose source still exists";

/**
 * The plan for one replication. `current` is what the DR namespace holds for the same types. With
 * `options.prune`, objects carrying this replication's provenance whose source object is absent
 * from the source listing are pruned. A source object that exists keeps its DR copy whatever
 * becomes of it: when it is now skipped (labelled `dr-syncer.io/ignore`, or it gained an owner, as
 * the claims of a StatefulSet whose claim retention policy deletes them) its entry is a `skip` that
 * warns that the DR copy stays; when its transform failed, an `error`. Objects without the
 * provenance are never pruned. Entries are sorted by order, kind, then name.
 */
export function planSync(
  desired: DesiredState,
  current: readonly TypedObjects[],
  options: PlanSyncOptions,
): SyncPlan {
  const namespace = desired.namespace.metadata.name;
  const held = new Map<string, KubeObject>();
  for (const { type, objects } of current) {
    for (const obj of objects) held.set(objectKey(type, obj.metadata.name), obj);
  }
  const entryBase = (type: ResourceType, name: string): EntryBase => ({
    type,
    name,
    namespace,
    order: kindRuleFor(type).order,
  });

  /** Every object of the source listing, copied, skipped or failed: none of their DR copies is pruned. */
  const inSource = new Set<string>();
  const entries: PlanEntry[] = [];
  for (const { type, name, outcome } of desired.entries) {
    const key = objectKey(type, name);
    inSource.add(key);
    const existing = held.get(key);
    const base = entryBase(type, name);
    if (outcome.action === "copy") {
      entries.push(planCopy(base, kindRuleFor(type), outcome, existing, options));
    } else if (outcome.action === "error") {
      entries.push({ ...base, action: "error", reason: outcome.reason, warnings: [], errors: [] });
    } else if (outcome.removeCopy && existing !== undefined && isOurCopy(existing, options)) {
      // a copy that must not stay (a finished Job would run again at cutover)
      if (!existing.metadata.deletionTimestamp) {
        entries.push({
          ...base,
          action: "prune",
          current: existing,
          reason: outcome.removeCopy,
          warnings: [],
          errors: [],
        });
      } else {
        entries.push({ ...base, action: "skip", reason: outcome.reason, warnings: [], errors: [] });
      }
    } else {
      const keptCopy = existing !== undefined && isOurCopy(existing, options) &&
        !existing.metadata.deletionTimestamp;
      entries.push({
        ...base,
        action: "skip",
        reason: outcome.reason,
        warnings: keptCopy ? [KEPT_COPY_WARNING] : [],
        errors: [],
      });
    }
  }

  if (options.prune) {
    const pruned = new Set<string>();
    for (const { type, objects } of current) {
      for (const obj of objects) {
        const key = objectKey(type, obj.metadata.name);
        if (
          inSource.has(key) || pruned.has(key) || !isOurCopy(obj, options) || obj.metadata.deletionTimestamp
        ) {
          continue;
        }
        pruned.add(key);
        const needs = kindRuleFor(type).pruneNeeds;
        if (needs !== undefined && !options[needs.option]) {
          entries.push({
            ...entryBase(type, obj.metadata.name),
            action: "skip",
            reason: needs.keptReason,
            warnings: [needs.keptWarning],
            errors: [],
          });
          continue;
        }
        entries.push({
          ...entryBase(type, obj.metadata.name),
          action: "prune",
          current: obj,
          reason: SOURCE_GONE,
          warnings: [],
          errors: [],
        });
      }
    }
  }
  return { namespace: desired.namespace, entries: entries.sort(compareEntries) };
}
