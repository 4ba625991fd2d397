/**
 * The one generic object handler: copies a source object, runs the transform of its kind (from
 * `KIND_RULES`), then cleans the metadata (docs/sync-rules.md, "Metadata") and adds the provenance that
 * prune and change detection rely on. Deterministic: the same source object gives the same output.
 */
import { apiVersionOf, type KubeObject, type ObjectMeta, type ResourceType } from "../kube/types.ts";
import type { TransformContext, TransformOutcome } from "./contracts.ts";
import { isJsonObject } from "./_json.ts";
import { DEPLOYMENT_REVISION_ANNOTATION, LAST_APPLIED_ANNOTATION } from "./_kubernetes_names.ts";
import { kindRuleFor } from "./kind_rules.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_ORIGINAL_MANAGED_BY,
  ANNOTATION_SOURCE_RESOURCE_VERSION,
  ANNOTATION_SOURCE_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "./names.ts";
import { provenanceMetadata } from "./provenance.ts";

/** Metadata the source cluster owns. */
const SOURCE_METADATA = [
  "uid",
  "resourceVersion",
  "selfLink",
  "creationTimestamp",
  "generation",
  "generateName",
  "managedFields",
  "ownerReferences",
  "finalizers",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
] as const;

/** Annotations that describe the source object's history, not its content. */
const SOURCE_ANNOTATIONS = [LAST_APPLIED_ANNOTATION, DEPLOYMENT_REVISION_ANNOTATION, ANNOTATION_CONTENT_HASH];

function drMetadata(source: KubeObject, draft: KubeObject, ctx: TransformContext): ObjectMeta {
  const meta: ObjectMeta = { ...draft.metadata, namespace: ctx.destNamespace };
  for (const key of SOURCE_METADATA) delete meta[key];

  const provenance = provenanceMetadata(ctx);
  const sourceManager = meta.labels?.[LABEL_MANAGED_BY];
  const labels = { ...meta.labels, ...provenance.labels };

  const annotations = { ...meta.annotations };
  for (const key of SOURCE_ANNOTATIONS) delete annotations[key];
  if (sourceManager !== undefined && sourceManager !== MANAGED_BY_VALUE) {
    annotations[ANNOTATION_ORIGINAL_MANAGED_BY] = sourceManager;
  }
  Object.assign(annotations, provenance.annotations);
  if (source.metadata.uid) annotations[ANNOTATION_SOURCE_UID] = source.metadata.uid;
  if (source.metadata.resourceVersion) {
    annotations[ANNOTATION_SOURCE_RESOURCE_VERSION] = source.metadata.resourceVersion;
  }
  return { ...meta, labels, annotations };
}

/** Removes `creationTimestamp: null` from embedded metadata (pod templates, claim templates, job templates). */
function dropNullTimestamps(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropNullTimestamps(item);
  } else if (isJsonObject(value)) {
    if (isJsonObject(value.metadata) && value.metadata.creationTimestamp === null) {
      delete value.metadata.creationTimestamp;
    }
    for (const child of Object.values(value)) dropNullTimestamps(child);
  }
}

/**
 * A deep copy of a JSON value, as `structuredClone` makes it, except that strings (immutable) are
 * shared with `value` rather than duplicated, which matters for large Secrets and ConfigMaps.
 * Anything that is not plain JSON goes to `structuredClone` (which throws for a function).
 */
function copyJson<T>(value: T): T {
  const kind = typeof value;
  if (value === null || (kind !== "object" && kind !== "function" && kind !== "symbol")) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) copy[key] = copyJson(source[key]);
  return copy as T;
}

/**
 * The draft a kind transform edits: a deep copy of `obj`, except `metadata.managedFields`, often the
 * largest part of an object and always dropped from the DR form. The draft holds the source's own
 * managedFields array, not a copy, so that a transform can read them (the Service transform looks
 * for explicitly set nodePorts there); transforms must not edit them.
 */
function draftOf(obj: KubeObject, type: ResourceType): KubeObject {
  const { managedFields, ...metadata } = obj.metadata;
  const draft: KubeObject = {
    ...copyJson({ ...obj, metadata }),
    apiVersion: apiVersionOf(type),
    kind: type.kind,
  };
  if (managedFields !== undefined) draft.metadata.managedFields = managedFields;
  return draft;
}

/** The DR form of `obj` (of `type`); never mutates `obj`. Filtering is `filterObject`'s job. */
export function transformObject(
  obj: KubeObject,
  type: ResourceType,
  ctx: TransformContext,
): TransformOutcome {
  const draft = draftOf(obj, type);
  const result = kindRuleFor(type).transform?.(draft, ctx) ?? {};
  if (result.refusal !== undefined) return { action: "error", reason: result.refusal };

  draft.metadata = drMetadata(obj, draft, ctx);
  delete draft.status;
  dropNullTimestamps(draft.spec);
  return { action: "copy", object: draft, warnings: result.warnings ?? [], errors: result.errors ?? [] };
}
