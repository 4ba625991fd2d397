/** The change-detection hash of a transformed object (sync-rules.md "Writing"). */
import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/types.ts";
import { isJsonObject } from "./_json.ts";
import { ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION } from "./names.ts";

/** Annotations that change without the content changing (the source's resourceVersion moves on every status update). */
const VOLATILE_ANNOTATIONS = [ANNOTATION_CONTENT_HASH, ANNOTATION_SOURCE_RESOURCE_VERSION];

/**
 * Appends to `out` the JSON of `value` with object keys sorted at every level; `undefined` members
 * are left out as `JSON.stringify` does. One flat list of pieces, joined once, rather than a string
 * per level: large objects (Helm release Secrets) are not copied once per nesting level.
 */
function writeCanonicalJson(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      if (!(i in value)) continue;
      if (value[i] === undefined) out.push("null");
      else writeCanonicalJson(value[i], out);
    }
    out.push("]");
  } else if (isJsonObject(value)) {
    out.push("{");
    let first = true;
    for (const key of Object.keys(value).sort()) {
      if (value[key] === undefined) continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(key), ":");
      writeCanonicalJson(value[key], out);
    }
    out.push("}");
  } else {
    out.push(String(JSON.stringify(value)));
  }
}

/**
 * Hex SHA-256 of the canonical JSON of `obj` without its content-hash and source-resource-version
 * annotations: equal for equal content, whatever the key order.
 */
export function contentHash(obj: KubeObject): string {
  const annotations = { ...obj.metadata.annotations };
  for (const key of VOLATILE_ANNOTATIONS) delete annotations[key];
  const stable = { ...obj, metadata: { ...obj.metadata, annotations } };
  const pieces: string[] = [];
  writeCanonicalJson(stable, pieces);
  return createHash("sha256").update(pieces.join("")).digest("hex");
}
