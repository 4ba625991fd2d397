/**
 * The objects of one type in a cluster (every namespace, or one), kept current: listed, then watched
 * from the list's version (with bookmarks); an expired version (410), a dropped connection or a
 * server restart lists again after a short backoff. `onChange` is called after every change, and once
 * after each full list.
 */
import { delay } from "../../shared/async/delay.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { type KubeObject, resourcePath, type ResourceType } from "../../shared/kube/types.ts";
import { watchObjects } from "../../shared/kube/verbs.ts";
import type { Logger } from "../../shared/log/logger.ts";

export interface ObjectStoreOptions {
  readonly client: KubeClient;
  readonly type: ResourceType;
  /** One namespace, or every namespace (default). */
  readonly namespace?: string | undefined;
  readonly onChange: () => void;
  readonly logger: Logger;
  /** A watch request's server-side timeout (default 300 s). */
  readonly watchTimeoutSeconds?: number;
}

const backoff = (attempt: number) => Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));

export class ObjectStore<T extends KubeObject = KubeObject> {
  readonly #o: ObjectStoreOptions;
  readonly #objects = new Map<string, T>();
  #listed = false;

  constructor(options: ObjectStoreOptions) {
    this.#o = options;
  }

  /** Whether a first list has arrived. */
  get listed(): boolean {
    return this.#listed;
  }

  /** The objects now, by `namespace/name`. */
  get objects(): readonly T[] {
    return [...this.#objects.values()];
  }

  /** Lists and watches until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { client, type, namespace } = this.#o;
    const key = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    let version: string | undefined;
    for (let attempt = 0; !signal.aborted;) {
      try {
        if (version === undefined) {
          const list = await client.request<{ items?: T[]; metadata?: { resourceVersion?: string } }>({
            method: "GET",
            path: resourcePath(type, namespace),
            signal,
          });
          this.#objects.clear();
          for (const item of list.items ?? []) this.#objects.set(key(item), item);
          version = list.metadata?.resourceVersion;
          this.#listed = true;
          this.#o.onChange();
        }
        const events = await watchObjects<T>(client, type, namespace, {
          ...(version ? { resourceVersion: version } : {}),
          allowBookmarks: true,
          timeoutSeconds: this.#o.watchTimeoutSeconds ?? 300,
          signal,
        });
        const reader = events.getReader();
        const cancel = () => void reader.cancel().catch(() => {});
        signal.addEventListener("abort", cancel, { once: true });
        try {
          for (;;) {
            const { value: event, done } = await reader.read();
            if (done) break;
            if (event.type === "ERROR") {
              version = undefined; // expired: list again
              break;
            }
            version = event.object.metadata.resourceVersion ?? version;
            if (event.type === "BOOKMARK") continue;
            if (event.type === "DELETED") this.#objects.delete(key(event.object));
            else this.#objects.set(key(event.object), event.object);
            attempt = 0;
            this.#o.onChange();
          }
        } finally {
          signal.removeEventListener("abort", cancel);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.#o.logger.warn("watching objects failed; listing them again", { type: type.resource, error });
        version = undefined;
        await delay(backoff(attempt++), { signal }).catch(() => {});
      }
    }
  }
}
