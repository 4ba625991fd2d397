/**
 * Who owns which field of an object (its `managedFields`), as far as copying needs to know:
 * - which managers are Kubernetes' own (their fields are the receiving cluster's business: a claim's
 *   binding, a Deployment's revision annotation) and which are writers (dr-syncer, a person, a tool);
 * - whether a field the copy does not set was added by a writer (drift, to be removed) or by nobody
 *   (a default or an allocation of the receiving cluster, to be kept);
 * - the field ownership a copy hands over when its side goes live (cutover, failback), so that the
 *   tools that manage the objects (Helm, `kubectl apply --server-side`, GitOps) see on that side the
 *   ownership they left on the other, and server-side apply neither conflicts with dr-syncer nor
 *   forgets what it set.
 * Pure: reads the objects it is given.
 */
import type { KubeObject } from "../kube/types.ts";
import { isJsonObject, type JsonObject } from "./_json.ts";
import { MANAGED_BY_VALUE } from "./names.ts";

/** One `metadata.managedFields` entry, as the API server writes it. */
export interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: string;
  readonly apiVersion?: string;
  readonly time?: string;
  readonly fieldsType?: string;
  readonly fieldsV1?: unknown;
  readonly subresource?: string;
}

/** dr-syncer's own field manager (`FIELD_MANAGER` of the client's verbs). */
export const DR_SYNCER_MANAGER = MANAGED_BY_VALUE;

/**
 * Field managers of Kubernetes itself: what they write is the cluster's own (a binding, an
 * allocation, a revision annotation, a status), never a change to undo. `before-first-apply` owns
 * what existed before an object's first server-side apply.
 */
const KUBERNETES_MANAGERS = new Set([
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kube-apiserver",
  "before-first-apply",
]);

/** A manager of Kubernetes itself. */
export function isKubernetesManager(manager: string | undefined): boolean {
  return manager !== undefined && KUBERNETES_MANAGERS.has(manager);
}

/** The object's managedFields entries (an object listed without them has none). */
export function managedFieldsOf(obj: KubeObject): ManagedFieldsEntry[] {
  const entries = obj.metadata.managedFields;
  return Array.isArray(entries) ? entries.filter(isJsonObject) as ManagedFieldsEntry[] : [];
}

/** A writer that is neither Kubernetes nor dr-syncer: a person, a tool, another controller. */
export function isOtherWriter(entry: ManagedFieldsEntry): boolean {
  return entry.manager !== DR_SYNCER_MANAGER && !isKubernetesManager(entry.manager);
}

/**
 * The fields the given entries own, walked along a path of the object. A node of `fieldsV1` is a
 * map: `f:<name>` for a field, `k:<json>` for the item of an associative list with those key
 * fields, `v:<json>` for an item of a set, `i:<n>` for an item by index, `.` for the node itself.
 */
export class FieldOwners {
  private constructor(private readonly nodes: readonly JsonObject[]) {}

  /** The owners of the whole object among `entries`. */
  static of(entries: readonly ManagedFieldsEntry[]): FieldOwners {
    return new FieldOwners(entries.flatMap((e) => isJsonObject(e.fieldsV1) ? [e.fieldsV1] : []));
  }

  /** Whether any of the entries owns the field here (or something under it). */
  get owned(): boolean {
    return this.nodes.length > 0;
  }

  /** Whether an entry owns the field here whole (a scalar, an atomic list or struct: a node with no fields). */
  get whole(): boolean {
    return this.nodes.some((n) => Object.keys(n).every((k) => k === "."));
  }

  /** The owners of the map field `name` under this one. */
  field(name: string): FieldOwners {
    const key = `f:${name}`;
    return new FieldOwners(this.nodes.flatMap((n) => isJsonObject(n[key]) ? [n[key]] : []));
  }

  /** The owners of list item `index`, whose value is `item`. */
  item(item: unknown, index: number): FieldOwners {
    const found: JsonObject[] = [];
    for (const node of this.nodes) {
      for (const [key, child] of Object.entries(node)) {
        if (!isJsonObject(child) || !itemKeyMatches(key, item, index)) continue;
        found.push(child);
      }
    }
    return new FieldOwners(found);
  }
}

function itemKeyMatches(key: string, item: unknown, index: number): boolean {
  if (key.startsWith("i:")) return Number(key.slice(2)) === index;
  if (!key.startsWith("k:") && !key.startsWith("v:")) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(key.slice(2));
  } catch {
    return false;
  }
  if (key.startsWith("v:")) return sameJson(parsed, item);
  return isJsonObject(parsed) && isJsonObject(item) &&
    Object.entries(parsed).every(([field, value]) => sameJson(item[field], value));
}

/** Deep equality of JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    return keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length &&
      keys.every((k) => sameJson(a[k], b[k]));
  }
  return false;
}

/** The owners, among `obj`'s entries, that are not Kubernetes itself (dr-syncer included). */
export function writerOwners(obj: KubeObject): FieldOwners {
  return FieldOwners.of(managedFieldsOf(obj).filter((e) => !isKubernetesManager(e.manager)));
}

/**
 * Whether a server-side applier other than dr-syncer manages `obj` (an `Apply` entry: Helm,
 * `kubectl apply --server-side`, a GitOps tool). Such an applier conflicts with any other owner of a
 * field it changes, and removes only fields it owns: its copy must carry its ownership.
 */
export function hasOtherApplier(obj: KubeObject): boolean {
  return managedFieldsOf(obj).some((e) => e.operation === "Apply" && isOtherWriter(e));
}

/** The managers of entries, sorted, once each. */
export function managersOf(entries: readonly ManagedFieldsEntry[]): string[] {
  return [...new Set(entries.flatMap((e) => e.manager === undefined ? [] : [e.manager]))].sort();
}

/**
 * `entries` as a write sends them: an empty list would leave the API server's own in place, so no
 * entry at all is said with the one empty entry that resets them.
 */
export function managedFieldsValue(entries: readonly ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  return entries.length > 0 ? [...entries] : [{}];
}

/**
 * The ownership a copy takes when its side goes live: its own side's Kubernetes entries, and the
 * writers' entries of the object it was copied from (`from`), dr-syncer's left out. Without `from`
 * (the other side cannot be read), dr-syncer's entries are dropped and the rest kept. `undefined`
 * when the copy already has exactly that ownership.
 */
export function handedOverEntries(
  copy: KubeObject,
  from: KubeObject | undefined,
): ManagedFieldsEntry[] | undefined {
  const own = managedFieldsOf(copy);
  const next = from === undefined
    ? own.filter((e) => e.manager !== DR_SYNCER_MANAGER)
    : [...own.filter((e) => isKubernetesManager(e.manager)), ...managedFieldsOf(from).filter(isOtherWriter)];
  return sameJson(next, own) ? undefined : next;
}

/** The same entry (its fields aside, which other writes may have taken from it). */
function sameEntry(a: ManagedFieldsEntry, b: ManagedFieldsEntry): boolean {
  return a.manager === b.manager && a.operation === b.operation && a.apiVersion === b.apiVersion &&
    (a.subresource ?? "") === (b.subresource ?? "") && a.time === b.time;
}

/**
 * The ownership of a copy going back to standby: the writers' entries a hand-over gave it (those
 * still the same as an entry of the object it was copied from, `from`) dropped; its own side's
 * writers' (a hand edit, Helm on DR: entries of their own) stay, so the next stage names them.
 * `undefined` when there is none to drop.
 */
export function takenBackEntries(
  copy: KubeObject,
  from: KubeObject | undefined,
): ManagedFieldsEntry[] | undefined {
  const own = managedFieldsOf(copy);
  const handed = from === undefined ? [] : managedFieldsOf(from);
  const next = own.filter((e) => !(isOtherWriter(e) && handed.some((h) => sameEntry(h, e))));
  return next.length === own.length ? undefined : next;
}

/**
 * Whether every field of `value` is owned by some entry (`owners` at its place): what a write leaves
 * behind (the writer owns what it wrote). A field nobody owns was removed by someone since (a pure
 * removal leaves no entry of its own), or never kept by the server.
 */
export function isCovered(value: unknown, owners: FieldOwners): boolean {
  if (value === undefined) return true;
  if (!owners.owned) return false;
  if (owners.whole) return true;
  if (Array.isArray(value)) return value.every((item, i) => isCovered(item, owners.item(item, i)));
  if (isJsonObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (!isCovered(child, owners.field(key))) return false;
    }
  }
  return true;
}

/**
 * Whether `live` (as listed, with its managedFields) still has an owner for every field `desired`
 * sets, in its labels, annotations and content. `undefined` when `live` was listed without them.
 */
export function ownsEveryField(desired: KubeObject, live: KubeObject): boolean | undefined {
  const entries = managedFieldsOf(live);
  if (entries.length === 0) return undefined;
  const owners = FieldOwners.of(entries);
  const meta = owners.field("metadata");
  if (!isCovered(desired.metadata.labels ?? {}, meta.field("labels"))) return false;
  if (!isCovered(desired.metadata.annotations ?? {}, meta.field("annotations"))) return false;
  for (const [key, value] of Object.entries(desired)) {
    if (key === "apiVersion" || key === "kind" || key === "metadata" || key === "status") continue;
    if (!isCovered(value, owners.field(key))) return false;
  }
  return true;
}

/**
 * The ownership `copy` takes from the writers of the object it was written from (`writers`: their
 * entries there): its own side's Kubernetes entries and those writers'. `undefined` when it has it.
 */
export function entriesWithWriters(
  copy: KubeObject,
  writers: readonly ManagedFieldsEntry[],
): ManagedFieldsEntry[] | undefined {
  const own = managedFieldsOf(copy);
  const next = [...own.filter((e) => isKubernetesManager(e.manager)), ...writers];
  return sameJson(next, own) ? undefined : next;
}
