/** The change-detection hash of a transformed object (docs/sync-rules.md, "Change detection"). */
import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/types.ts";
import { isJsonObject } from "./_json.ts";
import { ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION } from "./names.ts";

/** Annotations that change without the content changing (the source's resourceVersion moves on every status update). */
const VOLATILE_ANNOTATIONS = [ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION];

/** JSON with object keys sorted at every level; `undefined` members are left out as `JSON.stringify` does. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  }
  if (isJsonObject(value)) {
    const members = Object.keys(value).sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hex SHA-256 of the canonical JSON of `obj` without its content-hash and source-resource-version
 * annotations: equal for equal content, whatever the key order.
 */
export function contentHash(obj: KubeObject): string {
  const annotations = { ...obj.metadata.annotations };
  for (const key of VOLATILE_ANNOTATIONS) delete annotations[key];
  const stable = { ...obj, metadata: { ...obj.metadata, annotations } };
  return createHash("sha256").update(canonicalJson(stable)).digest("hex");
}
