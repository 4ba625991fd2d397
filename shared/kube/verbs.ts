/**
 * Typed verbs over a `KubeClient`: the engine reads and writes objects through these, never
 * through REST paths. Reads are retried (429, 5xx, conflicts) and a get of a missing object is
 * `undefined`; writes are sent once, and callers that want them retried wrap them in `withRetry`.
 * Every verb takes an abort signal (a lost lock or a shutdown stops it).
 */
import type { KubeClient } from "./kube_client.ts";
import { isNotFound, KubeApiError } from "./kube_api_error.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import { apiVersionOf, type KubeList, type KubeObject, resourcePath, type ResourceType } from "./types.ts";

/** The field manager of every write dr-syncer makes. */
export const FIELD_MANAGER = "dr-syncer";

type TypeRef = Pick<ResourceType, "group" | "version" | "resource" | "namespaced">;

export interface VerbOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface ReadOptions extends VerbOptions {
  readonly retry?: RetryOptions | undefined;
}

const retried = <T>(fn: () => Promise<T>, options: ReadOptions) =>
  withRetry(fn, { ...options.retry, signal: options.signal ?? options.retry?.signal });

/** One object, or `undefined` when it does not exist. */
export async function getObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  namespace: string | undefined,
  name: string,
  options: ReadOptions = {},
): Promise<T | undefined> {
  try {
    return await retried(
      () =>
        client.request<T>({
          method: "GET",
          path: resourcePath(type, namespace, name),
          signal: options.signal,
        }),
      options,
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export interface ListOptions<T extends KubeObject = KubeObject> extends ReadOptions {
  readonly pageSize?: number;
  readonly labelSelector?: string | undefined;
  /** Keep `metadata.managedFields` (dropped by default: often the largest part of an object). */
  readonly keepManagedFields?: boolean;
  /**
   * Ask for the objects' metadata only (`PartialObjectMetadataList`): names, labels, annotations,
   * uid, resourceVersion, managedFields; no spec, data or status. A server that cannot answer so
   * sends the full objects.
   */
  readonly metadataOnly?: boolean;
  /** Ask for a smaller page of only the first object (existence checks). */
  readonly limit?: number;
  /** Sees each item as listed, managedFields included, before they are dropped. */
  readonly inspect?: ((item: T) => void) | undefined;
}

/** One page of a list. */
export interface ListPage<T extends KubeObject = KubeObject> {
  readonly items: T[];
  /**
   * The list started over (its continue token expired, 410): the pages before this one are to be
   * forgotten, this one is the first page of a new listing.
   */
  readonly restarted: boolean;
}

const expired = (error: unknown) => error instanceof KubeApiError && error.status === 410;

/** What a metadata-only list asks for (with the full objects as the fallback). */
export const METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/**
 * The objects of one type in a namespace (all namespaces for `undefined`), one page at a time, so
 * that a caller can be done with a page before the next is read: a 20,000-object namespace is
 * never held whole. A page that fails with 429, 5xx or a conflict is asked again; a list whose
 * continue token expired (410) starts over, and its next page says `restarted`. List items carry
 * no kind or apiVersion; they are filled in from the type.
 */
export async function* listPages<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  options: ListOptions<T> = {},
): AsyncGenerator<ListPage<T>> {
  const apiVersion = apiVersionOf(type);
  /** One page, its items ready; the list object around them is not kept. */
  const readPage = async (token: string | undefined): Promise<{ items: T[]; next: string | undefined }> => {
    const page: KubeList<T> = await retried(
      () =>
        client.request({
          method: "GET",
          path: resourcePath(type, namespace),
          query: {
            limit: options.limit ?? options.pageSize ?? 500,
            continue: token,
            labelSelector: options.labelSelector,
          },
          ...(options.metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}),
          signal: options.signal,
        }),
      options,
    );
    const items = page.items ?? []; // an empty PartialObjectMetadataList has `items: null`
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      options.inspect?.(item);
      if (!options.keepManagedFields) delete item.metadata.managedFields;
      items[i] = { ...item, apiVersion, kind: type.kind };
    }
    return { items, next: options.limit === undefined ? page.metadata.continue || undefined : undefined };
  };
  for (let attempt = 1;; attempt++) {
    let token: string | undefined;
    let restarted = attempt > 1;
    try {
      do {
        let page: { items: T[]; next: string | undefined } | undefined = await readPage(token);
        token = page.next;
        yield { items: page.items, restarted };
        page = undefined; // not kept alive while the next page is read
        restarted = false;
      } while (token);
      return;
    } catch (error) {
      if (!expired(error) || attempt >= 3) throw error;
    }
  }
}

/** Every object of one type in a namespace (all namespaces for `undefined`): `listPages`, held whole. */
export async function listObjects<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  options: ListOptions<T> = {},
): Promise<T[]> {
  const out: T[] = [];
  for await (const page of listPages(client, type, namespace, options)) {
    if (page.restarted) out.length = 0;
    for (const item of page.items) out.push(item);
  }
  return out;
}

/** Server-side apply of `object` with dr-syncer's field manager (`force` takes over conflicting fields). */
export async function applyObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  object: KubeObject,
  options: VerbOptions & { readonly force?: boolean } = {},
): Promise<T> {
  return await client.request<T>({
    method: "PATCH",
    path: resourcePath(type, object.metadata.namespace, object.metadata.name),
    query: { fieldManager: FIELD_MANAGER, force: options.force ?? true },
    contentType: "application/apply-patch+yaml",
    body: object,
    signal: options.signal,
  });
}

/** A JSON merge patch (RFC 7386) of one object. */
export async function patchObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  namespace: string | undefined,
  name: string,
  patch: Record<string, unknown>,
  options: VerbOptions = {},
): Promise<T> {
  return await client.request<T>({
    method: "PATCH",
    path: resourcePath(type, namespace, name),
    query: { fieldManager: FIELD_MANAGER },
    contentType: "application/merge-patch+json",
    body: patch,
    signal: options.signal,
  });
}

/** A merge patch of one object's `status` subresource (the object's spec and metadata are left alone). */
export async function patchStatus<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  namespace: string | undefined,
  name: string,
  status: Record<string, unknown>,
  options: VerbOptions = {},
): Promise<T> {
  return await client.request<T>({
    method: "PATCH",
    path: `${resourcePath(type, namespace, name)}/status`,
    // a field the schema does not know is refused, not dropped with only a warning
    query: { fieldManager: FIELD_MANAGER, fieldValidation: "Strict" },
    contentType: "application/merge-patch+json",
    body: { status },
    signal: options.signal,
  });
}

/**
 * A JSON patch (RFC 6902) of one object; a failed `test` operation is a 422 (Invalid), which the
 * scaling steps treat like a conflict: read again and decide again.
 */
export async function jsonPatchObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  namespace: string | undefined,
  name: string,
  operations: readonly unknown[],
  options: VerbOptions = {},
): Promise<T> {
  return await client.request<T>({
    method: "PATCH",
    path: resourcePath(type, namespace, name),
    query: { fieldManager: FIELD_MANAGER },
    contentType: "application/json-patch+json",
    body: operations,
    signal: options.signal,
  });
}

/** Creates `object`; an existing one is a 409 AlreadyExists. */
export async function createObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  object: KubeObject,
  options: VerbOptions = {},
): Promise<T> {
  return await client.request<T>({
    method: "POST",
    path: resourcePath(type, object.metadata.namespace),
    query: { fieldManager: FIELD_MANAGER },
    body: object,
    signal: options.signal,
  });
}

/** Replaces `object` (PUT); its resourceVersion makes the write conditional. */
export async function replaceObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: TypeRef,
  object: KubeObject,
  options: VerbOptions = {},
): Promise<T> {
  return await client.request<T>({
    method: "PUT",
    path: resourcePath(type, object.metadata.namespace, object.metadata.name),
    query: { fieldManager: FIELD_MANAGER },
    body: object,
    signal: options.signal,
  });
}

export interface DeleteOptions extends VerbOptions {
  /** Delete only the object with this uid (not one recreated since). */
  readonly uid?: string | undefined;
  readonly propagationPolicy?: "Background" | "Foreground" | "Orphan";
}

/** Deletes one object; `false` when it was already gone. */
export async function deleteObject(
  client: KubeClient,
  type: TypeRef,
  namespace: string | undefined,
  name: string,
  options: DeleteOptions = {},
): Promise<boolean> {
  try {
    await client.request({
      method: "DELETE",
      path: resourcePath(type, namespace, name),
      body: {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: options.propagationPolicy ?? "Background",
        ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
      },
      signal: options.signal,
    });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** The server's `/version`: answers whether the API server responds at all (any HTTP answer). */
export async function serverVersion(
  client: KubeClient,
  options: VerbOptions & { readonly timeoutMs?: number } = {},
): Promise<{ gitVersion?: string }> {
  return await client.request({
    method: "GET",
    path: "/version",
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
}

/** One event of a watch. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

export interface WatchOptions extends VerbOptions {
  /** Start after this version (from a list); a 410 event means it is too old: list again. */
  readonly resourceVersion?: string;
  /** Only the objects this selects, as `metadata.name=NAME` (which RBAC's `resourceNames` can allow alone). */
  readonly fieldSelector?: string;
  readonly allowBookmarks?: boolean;
  readonly timeoutSeconds?: number;
}

/** Watches one type in a namespace; the stream ends when the server closes it or `signal` aborts. */
export async function watchObjects<T extends KubeObject = KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  options: WatchOptions = {},
): Promise<ReadableStream<WatchEvent<T>>> {
  const lines = await client.stream({
    method: "GET",
    path: resourcePath(type, namespace),
    query: {
      watch: true,
      resourceVersion: options.resourceVersion,
      fieldSelector: options.fieldSelector,
      allowWatchBookmarks: options.allowBookmarks ?? true,
      timeoutSeconds: options.timeoutSeconds,
    },
    signal: options.signal,
  });
  return lines.pipeThrough(
    new TransformStream<string, WatchEvent<T>>({
      transform(line, controller) {
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type !== "ERROR" && event.type !== "BOOKMARK") {
          event.object.apiVersion ??= apiVersionOf(type);
          event.object.kind ??= type.kind;
        }
        controller.enqueue(event);
      },
    }),
  );
}
