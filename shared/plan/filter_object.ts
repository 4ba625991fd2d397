/**
 * Which source objects are never copied (docs/sync-rules.md, "What is never copied"), and why: the
 * rules every object goes through (the ignore label, dr-syncer's own marks, deletion, owners), then
 * those of its kind (`KindRule`: `neverCopied`, `createdByKubernetes`, `skip`).
 */
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { FilterContext } from "./contracts.ts";
import { kindRuleFor, ownObjectRefusal } from "./kind_rules.ts";
import { LABEL_IGNORE } from "./names.ts";

export type { FilterContext } from "./contracts.ts";
export { hasNoSelector } from "./transform_service.ts";

function ownerPhrase(obj: KubeObject): string | undefined {
  const owners = obj.metadata.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  return owner && `owned by ${owner.kind} "${owner.name}"`;
}

/**
 * Whether another object owns `obj`: an owned object is never copied (its owner is), and never
 * scaled by dr-syncer (a Deployment's ReplicaSets, which carry its annotations, are its own).
 */
export function isOwned(obj: KubeObject): boolean {
  return ownerPhrase(obj) !== undefined;
}

/**
 * Why `obj` (of `type`) is not copied, as a short sentence for the report, or `undefined` when it
 * is copied.
 */
export function filterObject(
  obj: KubeObject,
  type: ResourceType,
  context: FilterContext = {},
): string | undefined {
  const meta = obj.metadata;
  if (meta.labels?.[LABEL_IGNORE]?.toLowerCase() === "true") return `labelled ${LABEL_IGNORE}`;
  const own = ownObjectRefusal(obj); // a run record's or the lock's marks: no copy may pass for one
  if (own !== undefined) return own;
  if (meta.deletionTimestamp) return "being deleted";
  const owned = ownerPhrase(obj);
  if (owned) return owned;
  const rule = kindRuleFor(type);
  if (rule.neverCopied !== undefined) return rule.neverCopied;
  if (!type.namespaced) return "cluster-scoped objects are never copied";
  if (rule.createdByKubernetes?.includes(meta.name)) return "created by Kubernetes in every namespace";
  return rule.skip?.(obj, context);
}
