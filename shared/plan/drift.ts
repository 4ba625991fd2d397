/**
 * Drift: a copy changed on its receiving side by someone else (a hand edit, a standby scaled up by
 * hand, Helm). The comparison is exact: every field the copy sets must hold the copy's value, every
 * list as many items, and a field the copy does not set is drift when a writer (any field manager
 * but Kubernetes' own) owns it: a label, an annotation, a list entry, a map key added by hand. A field
 * nobody owns, or that only Kubernetes owns, is the receiving cluster's own (a default, an allocated
 * address, a claim's binding, a revision annotation) and is kept. Drift is put back by writing the
 * whole object (`replacementOf`): an update at the live resourceVersion, which removes what server-side
 * apply cannot (fields another manager owns).
 */
import type { KubeObject } from "../kube/types.ts";
import { isJsonObject } from "./_json.ts";
import {
  FieldOwners,
  isKubernetesManager,
  isOtherWriter,
  managedFieldsOf,
  managedFieldsValue,
  writerOwners,
} from "./field_owners.ts";
import { kindRuleOf } from "./kind_rules.ts";
import { ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION } from "./names.ts";

/** The managers other than dr-syncer and Kubernetes that wrote to `obj` (its spec, data or scale). */
export function foreignWriters(obj: KubeObject): string[] {
  const writers = managedFieldsOf(obj).flatMap((e) => {
    if (typeof e.manager !== "string" || !isOtherWriter(e)) return [];
    const subresource = typeof e.subresource === "string" ? e.subresource : "";
    return subresource === "" || subresource === "scale" ? [e.manager] : [];
  });
  return [...new Set(writers)].sort();
}

/** One difference between what a copy should be and what its receiving side holds. */
export interface Difference {
  /** Where, as `spec.template.spec.containers[app].image`. */
  readonly path: string;
  /** `added` on the receiving side, `removed` there, or `changed` there. */
  readonly change: "added" | "removed" | "changed";
}

/** Annotations whose value moves without the content changing: never a difference. */
const VOLATILE_ANNOTATIONS = new Set([ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION]);
/** Top-level fields that are not content. */
const NOT_CONTENT = new Set(["apiVersion", "kind", "metadata", "status"]);

function step(path: string, key: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return path === "" ? part : /^[A-Za-z0-9_-]+$/.test(key) ? `${path}.${part}` : `${path}[${part}]`;
}

/** The `name` of each item, when every item of both lists is an object with a distinct string name. */
function names(a: readonly unknown[], b: readonly unknown[]): string[] | undefined {
  const out: string[] = [];
  for (const list of [a, b]) {
    const seen = new Set<string>();
    for (const item of list) {
      if (!isJsonObject(item) || typeof item.name !== "string" || seen.has(item.name)) return undefined;
      seen.add(item.name);
      if (list === a) out.push(item.name);
    }
  }
  return out;
}

class Comparison {
  readonly found: Difference[] = [];

  /**
   * `want` (the copy) against `have` (the receiving side). `anyKey`: every key `have` adds is a
   * difference, whoever owns it (the data of a ConfigMap or Secret is content).
   */
  value(want: unknown, have: unknown, path: string, owners: FieldOwners, anyKey = false): void {
    if (want === undefined) return;
    if (have === undefined) {
      this.found.push({ path, change: "removed" });
    } else if (isJsonObject(want)) {
      if (!isJsonObject(have)) this.found.push({ path, change: "changed" });
      else this.map(want, have, path, owners, anyKey);
    } else if (Array.isArray(want)) {
      if (!Array.isArray(have)) this.found.push({ path, change: "changed" });
      else this.list(want, have, path, owners);
    } else if (want !== have) {
      this.found.push({ path, change: "changed" });
    }
  }

  map(
    want: Record<string, unknown>,
    have: Record<string, unknown>,
    path: string,
    owners: FieldOwners,
    anyKey = false,
    skip: ReadonlySet<string> = new Set(),
  ): void {
    for (const [key, value] of Object.entries(want)) {
      if (!skip.has(key)) this.value(value, have[key], step(path, key), owners.field(key));
    }
    for (const [key, value] of Object.entries(have)) {
      if (value === undefined || want[key] !== undefined || skip.has(key)) continue;
      if (anyKey || owners.field(key).owned) this.found.push({ path: step(path, key), change: "added" });
    }
  }

  list(want: readonly unknown[], have: readonly unknown[], path: string, owners: FieldOwners): void {
    const named = names(want, have);
    if (named !== undefined) {
      const before = this.found.length;
      const byName = new Map(have.map((item, i) => [(item as { name: string }).name, i]));
      const wanted = new Set(named);
      want.forEach((item, i) => {
        const at = `${path}[${named[i]}]`;
        const j = byName.get(named[i]!);
        if (j === undefined) this.found.push({ path: at, change: "removed" });
        else this.value(item, have[j], at, owners.item(have[j], j));
      });
      have.forEach((item) => {
        const name = (item as { name: string }).name;
        if (!wanted.has(name)) this.found.push({ path: `${path}[${name}]`, change: "added" });
      });
      if (this.found.length === before && named.some((name, i) => byName.get(name) !== i)) {
        this.found.push({ path, change: "changed" }); // the same items, in another order
      }
      return;
    }
    if (want.length !== have.length) {
      this.found.push({ path, change: want.length < have.length ? "added" : "removed" });
      return;
    }
    want.forEach((item, i) => this.value(item, have[i], `${path}[${i}]`, owners.item(have[i], i)));
  }
}

/**
 * How `live` (as its side holds it, with its managedFields) differs from `desired` (what the copy
 * should be): fields changed or removed there, list items added or removed, and fields a writer
 * added there (any field manager but Kubernetes' own; in a ConfigMap's or Secret's data, any key).
 * Labels and annotations are compared like the rest; other metadata and the status are not.
 */
export function differences(desired: KubeObject, live: KubeObject): Difference[] {
  const owners = writerOwners(live);
  const meta = owners.field("metadata");
  const compare = new Comparison();
  compare.map(
    desired.metadata.labels ?? {},
    live.metadata.labels ?? {},
    "metadata.labels",
    meta.field("labels"),
  );
  compare.map(
    desired.metadata.annotations ?? {},
    live.metadata.annotations ?? {},
    "metadata.annotations",
    meta.field("annotations"),
    false,
    VOLATILE_ANNOTATIONS,
  );
  const contentMaps = new Set(kindRuleOf(desired).contentMaps ?? []);
  for (const [key, want] of Object.entries(desired)) {
    if (NOT_CONTENT.has(key)) continue;
    if (contentMaps.has(key) && isJsonObject(want) && isJsonObject(live[key])) {
      compare.map(want, live[key] as Record<string, unknown>, key, owners.field(key), true);
    } else {
      compare.value(want, live[key], key, owners.field(key));
    }
  }
  for (const [key, have] of Object.entries(live)) {
    if (NOT_CONTENT.has(key) || have === undefined || desired[key] !== undefined) continue;
    if (contentMaps.has(key) || owners.field(key).owned) compare.found.push({ path: key, change: "added" });
  }
  return compare.found;
}

/** The differences for a report line: `added metadata.labels.extra; changed spec.replicas`, at most 6 paths. */
export function describeDifferences(found: readonly Difference[], most = 6): string {
  const parts: string[] = [];
  for (const change of ["added", "removed", "changed"] as const) {
    const paths = found.filter((d) => d.change === change).map((d) => d.path);
    if (paths.length > 0) parts.push(`${change} ${paths.join(", ")}`);
  }
  const text = parts.join("; ");
  if (found.length <= most) return text;
  const kept = found.slice(0, most);
  return `${describeDifferences(kept, most)} and ${found.length - most} more`;
}

export interface Drift {
  /** Who changed it (field managers). */
  readonly writers: readonly string[];
  /** Keys added on DR to content maps (a ConfigMap's data...), as a merge patch removing them, if any. */
  readonly cleanup?: Record<string, Record<string, null>>;
}

/**
 * The drift of `live` (as DR holds it, with managedFields) from `desired` (what dr-syncer writes),
 * or `undefined` when there is none: no writer but dr-syncer and Kubernetes wrote to it, or what
 * they wrote changed nothing (`differences` is empty).
 */
export function driftOf(
  desired: KubeObject,
  live: KubeObject,
  writers: readonly string[],
): Drift | undefined {
  if (writers.length === 0) return undefined;
  const found = differences(desired, live);
  if (found.length === 0) return undefined;
  const cleanup: Record<string, Record<string, null>> = {};
  for (const field of kindRuleOf(desired).contentMaps ?? []) {
    const want = isJsonObject(desired[field]) ? desired[field] : {};
    const have = isJsonObject(live[field]) ? live[field] : {};
    const added = Object.keys(have).filter((k) => !(k in want));
    if (added.length > 0) cleanup[field] = Object.fromEntries(added.map((k) => [k, null]));
  }
  return { writers, ...(Object.keys(cleanup).length > 0 ? { cleanup } : {}) };
}

/** `want`, with what `have` adds and no writer owns (the receiving cluster's own fields), kept. */
function keepOwn(want: unknown, have: unknown, owners: FieldOwners): unknown {
  if (!isJsonObject(want) || !isJsonObject(have)) return want;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(want)) out[key] = keepOwn(value, have[key], owners.field(key));
  for (const [key, value] of Object.entries(have)) {
    if (value !== undefined && want[key] === undefined && !owners.field(key).owned) out[key] = value;
  }
  return out;
}

/**
 * The whole object to write over `live` so that it becomes `desired` exactly: an update (PUT) at
 * `live`'s resourceVersion. It keeps what the receiving cluster owns and `desired` does not set (a
 * Service's allocated addresses and ports, a claim's binding, a Job's generated selector, defaults,
 * finalizers, the status), and drops everything a writer added. Its managedFields keep Kubernetes'
 * and dr-syncer's entries and drop the other writers' (their fields are gone or dr-syncer's now), so
 * that the next stage finds no other writer and reads nothing more.
 */
export function replacementOf(desired: KubeObject, live: KubeObject): KubeObject {
  const owners = writerOwners(live);
  const contentMaps = new Set(kindRuleOf(desired).contentMaps ?? []);
  const out: KubeObject = { apiVersion: desired.apiVersion, kind: desired.kind, metadata: { name: "" } };
  for (const [key, want] of Object.entries(desired)) {
    if (NOT_CONTENT.has(key) || want === undefined) continue;
    out[key] = contentMaps.has(key) ? want : keepOwn(want, live[key], owners.field(key));
  }
  for (const [key, have] of Object.entries(live)) {
    if (NOT_CONTENT.has(key) || have === undefined || desired[key] !== undefined || contentMaps.has(key)) {
      continue;
    }
    if (!owners.field(key).owned) out[key] = have;
  }
  if (live.status !== undefined) out.status = live.status;
  const meta = owners.field("metadata");
  const { name, namespace, uid, resourceVersion, finalizers } = live.metadata;
  const kept = managedFieldsOf(live).filter((e) => isKubernetesManager(e.manager) || !isOtherWriter(e));
  out.metadata = {
    name: desired.metadata.name ?? name,
    ...(namespace !== undefined ? { namespace: desired.metadata.namespace ?? namespace } : {}),
    labels: keepOwn(desired.metadata.labels ?? {}, live.metadata.labels, meta.field("labels")) as Record<
      string,
      string
    >,
    annotations: keepOwn(
      desired.metadata.annotations ?? {},
      live.metadata.annotations,
      meta.field("annotations"),
    ) as Record<string, string>,
    ...(uid !== undefined ? { uid } : {}),
    ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    ...(finalizers !== undefined ? { finalizers } : {}),
    managedFields: managedFieldsValue(kept),
  };
  return out;
}
