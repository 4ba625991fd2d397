/**
 * Drift: a DR copy changed on DR by someone else (a hand edit, a standby scaled up by hand). A copy
 * has drifted when a field manager that is neither dr-syncer nor Kubernetes itself wrote to it and
 * it no longer holds what dr-syncer applied. Both must hold: a foreign writer that changed
 * nothing, or a value the server merely normalised, is not drift (and costs no write).
 */
import type { KubeObject } from "../kube/types.ts";
import { isJsonObject } from "./_json.ts";
import { kindRuleOf } from "./kind_rules.ts";
import { ANNOTATION_SOURCE_RESOURCE_VERSION } from "./names.ts";

/** Field managers whose writes are not drift: dr-syncer itself and Kubernetes' own controllers. */
const NOT_DRIFT = new Set([
  "dr-syncer",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "before-first-apply",
]);

/** The managers other than dr-syncer and Kubernetes that wrote to `obj` (its spec, data or scale). */
export function foreignWriters(obj: KubeObject): string[] {
  const entries = Array.isArray(obj.metadata.managedFields) ? obj.metadata.managedFields : [];
  const writers = entries.flatMap((e: unknown) => {
    if (!isJsonObject(e) || typeof e.manager !== "string") return [];
    const subresource = typeof e.subresource === "string" ? e.subresource : "";
    if (NOT_DRIFT.has(e.manager) || (subresource !== "" && subresource !== "scale")) return [];
    return [e.manager];
  });
  return [...new Set(writers)].sort();
}

/** Whether every field of `want` is in `have` with the same value (`have` may hold more: defaults). */
function contains(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  }
  if (isJsonObject(want)) {
    return isJsonObject(have) &&
      Object.entries(want).every(([k, w]) => w === undefined || contains(have[k], w));
  }
  return have === want;
}

/**
 * Keys of a content map (`KindRule.contentMaps`: a ConfigMap's data...) that DR holds but the copy
 * does not (added on DR). Elsewhere, extra fields are defaults the server filled in.
 */
function addedKeys(desired: KubeObject, live: KubeObject): Record<string, string[]> {
  const added: Record<string, string[]> = {};
  for (const field of kindRuleOf(desired).contentMaps ?? []) {
    const want = isJsonObject(desired[field]) ? desired[field] : {};
    const have = isJsonObject(live[field]) ? live[field] : {};
    const extra = Object.keys(have).filter((k) => !(k in want));
    if (extra.length > 0) added[field] = extra;
  }
  return added;
}

export interface Drift {
  /** Who changed it (field managers). */
  readonly writers: readonly string[];
  /** A merge patch removing what was added on DR to content maps (keys of a ConfigMap...), if any. */
  readonly cleanup?: Record<string, Record<string, null>>;
}

/**
 * The drift of `live` (as DR holds it, with managedFields) from `desired` (what dr-syncer applies),
 * or `undefined` when there is none.
 */
export function driftOf(
  desired: KubeObject,
  live: KubeObject,
  writers: readonly string[],
): Drift | undefined {
  if (writers.length === 0) return undefined;
  const { metadata: wantMeta, ...wantRest } = desired;
  const { metadata: haveMeta, ...haveRest } = live;
  const added = addedKeys(desired, live);
  // the source's resourceVersion moves with every write to the source: no part of the content
  const { [ANNOTATION_SOURCE_RESOURCE_VERSION]: _version, ...wantAnnotations } = wantMeta.annotations ?? {};
  const same = contains(haveRest, wantRest) && contains(haveMeta.labels ?? {}, wantMeta.labels ?? {}) &&
    contains(haveMeta.annotations ?? {}, wantAnnotations) && Object.keys(added).length === 0;
  if (same) return undefined;
  const cleanup = Object.fromEntries(
    Object.entries(added).map(([field, keys]) => [field, Object.fromEntries(keys.map((k) => [k, null]))]),
  );
  return { writers, ...(Object.keys(cleanup).length > 0 ? { cleanup } : {}) };
}
