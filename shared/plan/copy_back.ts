/**
 * Failback's copy-back (docs/operations.md, "failback"), the pure part: what changed on DR while it
 * served, in the source's form, and what to write on the source before it comes back up.
 *
 * A DR object is copied back when it is this replication's copy (its provenance) whose content
 * differs from its source object, a Helm release record (Helm rewrites them whole on an upgrade or a
 * rollback), or an object created on DR since the cutover. Its source form is the forward transform
 * run the other way (namespaces swapped, the maps inverted), then the source object's own values
 * wherever the forward transform changes or drops them: its replica count, `suspend` and parking with
 * their records (the failback restores them), its allocated addresses and node ports, a claim's
 * binding and immutable fields, its managed-by label, the last-applied annotation, so that only
 * what DR changed comes back. With prune, a source object whose DR copy is gone is deleted.
 */
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { FilterContext, PlanEntry, TransformContext } from "./contracts.ts";
import { isJsonObject } from "./_json.ts";
import { LAST_APPLIED_ANNOTATION } from "./_kubernetes_names.ts";
import { describeDifferences, type Difference, differences, replacementOf } from "./drift.ts";
import {
  FieldOwners,
  isOtherWriter,
  type ManagedFieldsEntry,
  managedFieldsOf,
  sameJson,
  writerOwners,
} from "./field_owners.ts";
import { filterObject } from "./filter_object.ts";
import { isHelmRecord } from "./helm_records.ts";
import { kindRuleFor, type KindScale } from "./kind_rules.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_ORIGINAL_MANAGED_BY,
  ANNOTATION_ORIGINAL_REPLICAS,
  ANNOTATION_ORIGINAL_SUSPEND,
  ANNOTATION_ORIGINAL_WHEN_SCALED,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  ANNOTATION_SOURCE_RESOURCE_VERSION,
  ANNOTATION_SOURCE_UID,
  LABEL_DISABLED,
  LABEL_MANAGED_BY,
} from "./names.ts";
import { isCopyFrom } from "./provenance.ts";
import { transformObject } from "./transform_object.ts";

export interface CopyBackContext {
  /** The replication as stage copies it (source to DR): namespaces, maps, the source's identity. */
  readonly forward: TransformContext;
  /**
   * DR objects without this replication's provenance created at or after this time (ISO) are new on
   * DR (made while it served) and copied back; older ones are DR's own and left alone. `undefined`:
   * none is.
   */
  readonly newSince?: string | undefined;
  readonly prune: boolean;
  readonly pruneClaims: boolean;
  /** What filtering knows of DR's namespace (which Endpoints are maintained by hand). */
  readonly drFilters?: FilterContext;
  readonly sourceFilters?: FilterContext;
}

/** One write (or not) of the copy-back, on the source. */
export interface CopyBackEntry extends PlanEntry {
  /** The DR object's writers (field managers but Kubernetes and dr-syncer): the ownership the source takes. */
  readonly owners?: readonly ManagedFieldsEntry[];
  /**
   * A DR object copied back that carries no provenance (new on DR, a record Helm rewrote): marked as
   * this replication's copy of the source object once that is written, so that the next stage finds it.
   */
  readonly markOnDr?: KubeObject;
}

const PROVENANCE_ANNOTATIONS = [
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  ANNOTATION_SOURCE_UID,
  ANNOTATION_SOURCE_RESOURCE_VERSION,
  ANNOTATION_CONTENT_HASH,
];

/** `map` the other way round (a value mapped twice keeps its first key). */
function inverted(map: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [from, to] of Object.entries(map)) if (!Object.hasOwn(out, to)) out[to] = from;
  return out;
}

/** The transform context of the way back: DR is the sending side. */
export function reverseContext(forward: TransformContext): TransformContext {
  return {
    ...forward,
    sourceNamespace: forward.destNamespace,
    destNamespace: forward.sourceNamespace,
    scaleToZero: true,
    preserveNodePorts: false,
    storageClassMap: inverted(forward.storageClassMap),
    accessModeMap: inverted(forward.accessModeMap),
    ingressHostMap: inverted(forward.ingressHostMap),
    ingressClassMap: inverted(forward.ingressClassMap),
    destStorageClasses: undefined,
  };
}

/** The fields by which a workload stands by (`KindScale.by`): spec paths and their record annotations. */
const SCALE_FIELDS: Record<KindScale["by"], { spec: string[][]; annotations: string[] }> = {
  replicas: {
    spec: [["replicas"], ["persistentVolumeClaimRetentionPolicy", "whenScaled"]],
    annotations: [ANNOTATION_ORIGINAL_REPLICAS, ANNOTATION_ORIGINAL_WHEN_SCALED],
  },
  suspend: { spec: [["suspend"]], annotations: [ANNOTATION_ORIGINAL_SUSPEND] },
  park: { spec: [["template", "spec", "nodeSelector", LABEL_DISABLED]], annotations: [] },
};

function at(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) node = isJsonObject(node) ? node[key] : undefined;
  return node;
}

function put(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (!isJsonObject(node[key])) {
      if (value === undefined) return;
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = structuredClone(value);
}

/** Items of two lists matched: by their `name` when each has a distinct one, else by position (equal lengths). */
function pairs(a: readonly unknown[], b: readonly unknown[]): [number, number][] | undefined {
  const named = (list: readonly unknown[]) => {
    const names = list.map((i) => isJsonObject(i) && typeof i.name === "string" ? i.name : undefined);
    return names.every((n) => n !== undefined) && new Set(names).size === names.length
      ? names as string[]
      : undefined;
  };
  const na = named(a), nb = named(b);
  if (na && nb) return na.flatMap((n, i) => nb.includes(n) ? [[i, nb.indexOf(n)] as [number, number]] : []);
  return a.length === b.length ? a.map((_, i) => [i, i]) : undefined;
}

/**
 * In `target` (the source form of the DR object), the source object's value wherever the forward
 * transform (`sent`: what the source object became on its way to DR) changed or dropped its own
 * (`source`): what comes back is what DR changed, not what dr-syncer wrote on the way there.
 */
function holdSourceValues(target: Record<string, unknown>, source: unknown, sent: unknown): void {
  if (!isJsonObject(source) || !isJsonObject(sent)) return;
  for (const key of new Set([...Object.keys(source), ...Object.keys(sent)])) {
    const mine = source[key], theirs = sent[key];
    if (sameJson(mine, theirs)) continue;
    const map = (v: unknown) => v === undefined || isJsonObject(v);
    if (
      map(mine) && map(theirs) && (isJsonObject(mine) || isJsonObject(theirs)) && isJsonObject(target[key])
    ) {
      // a map the transform added to, or dropped from: key by key (a label DR added stays)
      holdSourceValues(target[key] as Record<string, unknown>, mine ?? {}, theirs ?? {});
    } else if (Array.isArray(mine) && Array.isArray(theirs) && Array.isArray(target[key])) {
      const list = target[key] as unknown[];
      const matched = pairs(mine, theirs);
      const onTarget = pairs(mine, list);
      if (matched === undefined || onTarget === undefined || mine.length !== theirs.length) continue;
      for (const [i, j] of matched) {
        const t = onTarget.find(([s]) => s === i)?.[1];
        if (t !== undefined && isJsonObject(list[t])) holdSourceValues(list[t], mine[i], theirs[j]);
      }
    } else if (mine === undefined) {
      delete target[key];
    } else {
      target[key] = structuredClone(mine);
    }
  }
}

/**
 * Drops from `form` what the source object lacks and no writer owns on DR: what DR's cluster added on
 * its own (a default of its version, an allocation), which is no change to bring back.
 */
function dropClusterOwn(form: Record<string, unknown>, source: unknown, owners: FieldOwners): void {
  if (!isJsonObject(source)) return;
  for (const [key, value] of Object.entries(form)) {
    if (key === "metadata" || key === "status") continue;
    const owner = owners.field(key);
    if (source[key] === undefined) {
      if (!owner.owned) delete form[key];
    } else if (isJsonObject(value)) {
      dropClusterOwn(value, source[key], owner);
    }
  }
}

/**
 * The source form of `drObject` (of `type`): what the source object should be so that it holds what
 * DR holds. `source`: the source object it is written over (its own values held), or `undefined` for
 * a new one (it then stands by like a DR copy: at zero replicas with DR's count recorded, suspended,
 * parked, until the failback restores the source). Throws when the object cannot be transformed.
 */
export function sourceFormOf(
  drObject: KubeObject,
  type: ResourceType,
  ctx: TransformContext,
  source: KubeObject | undefined,
): KubeObject {
  const outcome = transformObject(drObject, type, reverseContext(ctx));
  if (outcome.action !== "copy") throw new Error(outcome.reason);
  const form = outcome.object;
  const labels = { ...form.metadata.labels }, annotations = { ...form.metadata.annotations };
  for (const key of PROVENANCE_ANNOTATIONS) delete annotations[key];
  const managedBy = annotations[ANNOTATION_ORIGINAL_MANAGED_BY];
  delete annotations[ANNOTATION_ORIGINAL_MANAGED_BY];
  if (managedBy !== undefined) labels[LABEL_MANAGED_BY] = managedBy;
  else delete labels[LABEL_MANAGED_BY];
  form.metadata = { ...form.metadata, labels, annotations };
  const scale = kindRuleFor(type).scale;
  if (source === undefined) {
    // a new workload arrives standing by, whatever a scale-override says: the failback starts it
    if (scale?.by === "replicas" && isJsonObject(form.spec)) form.spec.replicas = 0;
    return form;
  }
  const sent = transformObject(source, type, ctx);
  if (sent.action === "copy") holdSourceValues(form, source, sent.object);
  dropClusterOwn(form, source, writerOwners(drObject));
  delete form.status;
  delete form.metadata.managedFields;
  if (scale !== undefined) {
    const fields = SCALE_FIELDS[scale.by];
    for (const path of fields.spec) put(form, ["spec", ...path], at(source, ["spec", ...path]));
    for (const key of fields.annotations) {
      const value = source.metadata.annotations?.[key];
      if (value === undefined) delete form.metadata.annotations![key];
      else form.metadata.annotations![key] = value;
    }
  }
  const applied = drObject.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (applied !== undefined) form.metadata.annotations![LAST_APPLIED_ANNOTATION] = applied;
  // what the source object must keep of itself (a claim's immutable fields; its size only grows)
  return kindRuleFor(type).holdExisting?.(form, source).object ?? form;
}

/** The differences in DR's words: what DR added, removed or changed compared with the source. */
export function describeFromDr(found: readonly Difference[]): string {
  const flip = { added: "removed", removed: "added", changed: "changed" } as const;
  return describeDifferences(found.map((d) => ({ ...d, change: flip[d.change] })));
}

/**
 * The copy-back of one type: per DR object, what to write on the source (create, update, nothing),
 * and with `prune`, the source objects whose DR copy is gone. `drObjects` and `sourceObjects` are
 * full objects with their managedFields.
 */
export function planCopyBack(
  type: ResourceType,
  drObjects: readonly KubeObject[],
  sourceObjects: readonly KubeObject[],
  ctx: CopyBackContext,
): CopyBackEntry[] {
  const namespace = ctx.forward.sourceNamespace;
  const order = kindRuleFor(type).order;
  const base = (name: string) => ({ type, name, namespace, order, warnings: [] as string[], errors: [] });
  const sources = new Map(sourceObjects.map((o) => [o.metadata.name, o]));
  const onDr = new Set<string>();
  const entries: CopyBackEntry[] = [];
  for (const drObject of drObjects) {
    const name = drObject.metadata.name;
    if (filterObject(drObject, type, ctx.drFilters ?? {}) !== undefined) continue;
    onDr.add(name);
    const source = sources.get(name);
    const linked = isCopyFrom(drObject, ctx.forward);
    const helm = !linked && isHelmRecord(drObject);
    const created = drObject.metadata.creationTimestamp;
    const isNew = !linked && !helm && ctx.newSince !== undefined && created !== undefined &&
      created >= ctx.newSince;
    if (linked && source === undefined) {
      entries.push({
        ...base(name),
        action: "skip",
        reason: "its source object is gone (deleted before the cutover): not copied back",
      });
      continue;
    }
    if (!linked && !helm && !isNew) {
      if (source !== undefined) {
        entries.push({
          ...base(name),
          action: "skip",
          reason:
            "not copied back: it exists on DR without this replication's provenance since before the cutover",
          warnings: [
            "Its changes on DR, if any, are not copied back: it is not a copy dr-syncer made (nor new since the cutover)",
          ],
        });
      }
      continue;
    }
    let form: KubeObject;
    try {
      form = sourceFormOf(drObject, type, ctx.forward, source);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      entries.push({ ...base(name), action: "error", reason: `Cannot copy back: ${detail}` });
      continue;
    }
    const owners = managedFieldsOf(drObject).filter(isOtherWriter);
    const mark = linked ? {} : { markOnDr: drObject };
    const why = helm ? "a Helm release record written on DR" : isNew ? "new on DR since the cutover" : "";
    if (source === undefined) {
      entries.push({
        ...base(name),
        action: "create",
        desired: { ...form, metadata: { ...form.metadata, namespace } },
        reason: `copied back from DR: ${why || "new on DR"}`,
        owners,
        ...mark,
      });
      continue;
    }
    const found = differences(form, source);
    if (found.length === 0) {
      entries.push({ ...base(name), action: "unchanged", current: source, ...mark });
      continue;
    }
    entries.push({
      ...base(name),
      action: "update",
      desired: form,
      current: source,
      replace: replacementOf(form, source),
      reason: `copied back from DR: ${why ? `${why}; ` : ""}changed on DR while it served (${
        describeFromDr(found)
      })`,
      owners,
      ...mark,
    });
  }
  for (const source of sourceObjects) {
    const name = source.metadata.name;
    if (onDr.has(name) || source.metadata.deletionTimestamp) continue;
    if (filterObject(source, type, ctx.sourceFilters ?? {}) !== undefined) continue;
    const needs = kindRuleFor(type).pruneNeeds;
    if (!ctx.prune || (needs !== undefined && !ctx[needs.option])) {
      entries.push({
        ...base(name),
        action: "skip",
        reason: "its DR copy is gone (deleted on DR while it served?): kept",
        warnings: [
          ctx.prune
            ? needs!.keptWarning
            : "Kept on the source: the copy-back deletes only with prune (--prune)",
        ],
      });
      continue;
    }
    entries.push({
      ...base(name),
      action: "prune",
      current: source,
      reason: "deleted on DR while it served",
    });
  }
  return entries;
}

/** The reason of a copy-back prune (what the prune limit counts). */
export const DELETED_ON_DR = "deleted on DR while it served";
