/** Replica counts as Kubernetes accepts them, and the records dr-syncer keeps of them. */
import type { KubeObject } from "../kube/types.ts";
import { ANNOTATION_ORIGINAL_REPLICAS, ANNOTATION_ORIGINAL_SUSPEND, LABEL_SCALE_OVERRIDE } from "./names.ts";

/** The largest count Kubernetes accepts (`spec.replicas` is an int32). */
export const MAX_REPLICAS = 2 ** 31 - 1;

/** A replica count written in decimal, from 0 to 2^31-1; anything else is `undefined`. */
export function parseReplicaCount(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) && Number(text) <= MAX_REPLICAS ? Number(text) : undefined;
}

/** The count recorded in `dr-syncer.io/original-replicas`, when it holds a valid one. */
export function recordedReplicas(obj: KubeObject): number | undefined {
  return parseReplicaCount(obj.metadata.annotations?.[ANNOTATION_ORIGINAL_REPLICAS]);
}

/** Whether the object carries a `dr-syncer.io/original-suspend` record. */
export function hasSuspendRecord(obj: KubeObject): boolean {
  return obj.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] !== undefined;
}

/** The label `dr-syncer.io/scale-override`: absent, a valid count, or an invalid text. */
export function scaleOverride(
  obj: KubeObject,
): { readonly count: number } | { readonly invalid: string } | undefined {
  const text = obj.metadata.labels?.[LABEL_SCALE_OVERRIDE];
  if (text === undefined) return undefined;
  const count = parseReplicaCount(text);
  return count === undefined ? { invalid: text } : { count };
}
