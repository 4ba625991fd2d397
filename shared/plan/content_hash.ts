/** The change-detection hash of a transformed object (docs/sync-rules.md, "Change detection"). */
import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/types.ts";
import { isJsonObject } from "./_json.ts";
import { ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION } from "./names.ts";

/** Annotations that change without the content changing (the source's resourceVersion moves on every status update). */
const VOLATILE_ANNOTATIONS = [ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION];

/** Keys `JSON.stringify` writes as they are: printable ASCII without a quote or a backslash. */
const PLAIN_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quoted(key: string): string {
  return PLAIN_KEY.test(key) ? `"${key}"` : JSON.stringify(key);
}

/**
 * JSON with object keys sorted at every level; `undefined` members are left out as `JSON.stringify`
 * does. Built by appending to one string per level, without an array per object or member: it runs
 * for every copied object of every stage (20,000 in a large namespace), and its garbage was most of
 * what a stage allocated.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i === 0 ? "" : ",") + (item === undefined ? "null" : canonicalJson(item));
    }
    return out + "]";
  }
  if (isJsonObject(value)) {
    let out = "{";
    let first = true;
    for (const key of Object.keys(value).sort()) {
      const member = value[key];
      if (member === undefined) continue;
      out += (first ? "" : ",") + quoted(key) + ":" + canonicalJson(member);
      first = false;
    }
    return out + "}";
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
