/** Small helpers for reading and editing untyped parts of Kubernetes objects (private to this folder). */
import type { KubeObject } from "../kube/types.ts";

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The object at `path` under `root`, or `undefined` when a step is missing or not an object. */
export function objectAt(root: unknown, ...path: readonly string[]): JsonObject | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (!isJsonObject(node)) return undefined;
    node = node[key];
  }
  return isJsonObject(node) ? node : undefined;
}

/** The object at `path` under `root`, created (`{}`) where a step is missing or not an object. */
export function ensureObjectAt(root: JsonObject, ...path: readonly string[]): JsonObject {
  let node = root;
  for (const key of path) {
    const next = node[key];
    if (isJsonObject(next)) {
      node = next;
    } else {
      const created: JsonObject = {};
      node[key] = created;
      node = created;
    }
  }
  return node;
}

/** The objects of the array at `path`, skipping entries that are not objects; `[]` when there is no array. */
export function objectsAt(root: unknown, ...path: readonly string[]): JsonObject[] {
  const parent = objectAt(root, ...path.slice(0, -1));
  const last = path[path.length - 1];
  const value = parent && last !== undefined ? parent[last] : undefined;
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

/** The object's annotations, created when missing, for editing. */
export function annotationsFor(obj: KubeObject): Record<string, string> {
  return obj.metadata.annotations ??= {};
}
