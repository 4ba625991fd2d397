/** The DR namespace: created bare before the lock (which lives in it), then kept like the source's. */
import { isAlreadyExists } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type RetryOptions, withRetry } from "../kube/retry.ts";
import { type KubeObject, NAMESPACES } from "../kube/types.ts";
import { applyObject, createObject, getObject } from "../kube/verbs.ts";
import { contentHash } from "../plan/content_hash.ts";
import { ANNOTATION_CONTENT_HASH, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "../plan/names.ts";

/**
 * Creates the DR namespace, bare, when it is missing: it must exist to hold the replication's lock.
 * `knownMissing` (a read or a write just found it missing) skips the read: a namespace created
 * meanwhile is left as it is all the same.
 */
export async function createDestNamespaceIfMissing(
  dr: KubeClient,
  namespace: string,
  options: { readonly knownMissing?: boolean } = {},
): Promise<void> {
  if (!options.knownMissing && await getObject(dr, NAMESPACES, undefined, namespace)) return;
  try {
    await createObject(dr, NAMESPACES, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE } },
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/**
 * Applies the desired DR namespace when `current` is missing or was applied with other content;
 * otherwise sends nothing. Returns whether it wrote.
 */
export async function ensureDestNamespace(
  dr: KubeClient,
  desired: KubeObject,
  current: KubeObject | undefined,
  options: { readonly retry?: RetryOptions | undefined; readonly signal?: AbortSignal | undefined } = {},
): Promise<boolean> {
  const hash = contentHash(desired);
  if (current?.metadata.annotations?.[ANNOTATION_CONTENT_HASH] === hash) return false;
  const object: KubeObject = {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [ANNOTATION_CONTENT_HASH]: hash },
    },
  };
  await withRetry(() => applyObject(dr, NAMESPACES, object, { signal: options.signal }), {
    ...options.retry,
    signal: options.signal,
  });
  return true;
}
