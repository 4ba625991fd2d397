/**
 * The runtime's clients, one per configured cluster, connected on first use and kept. Each follows
 * its credentials (a rotated Secret or file is picked up without a restart). Secrets are read with
 * `secretClient`: in a pod, its own ServiceAccount's client.
 */
import type { Cluster } from "../../shared/config/mod.ts";
import { createRotatingKubeClient } from "../../shared/credentials/mod.ts";
import { NotFoundError } from "../../shared/errors.ts";
import type { KubeClient } from "../../shared/kube/mod.ts";
import type { Logger } from "../../shared/log/mod.ts";

export interface ClusterPoolOptions {
  readonly readEnv: (name: string) => string | undefined;
  readonly secretClient?: KubeClient | undefined;
  readonly refreshMs?: number | undefined;
  readonly logger: Logger;
}

export class ClusterPool {
  readonly #clusters: ReadonlyMap<string, Cluster>;
  readonly #clients = new Map<string, Promise<KubeClient>>();
  readonly #options: ClusterPoolOptions;
  #closed = false;

  constructor(clusters: readonly Cluster[], options: ClusterPoolOptions) {
    this.#clusters = new Map(clusters.map((c) => [c.name, c]));
    this.#options = options;
  }

  /** The names of the configured clusters. */
  get names(): string[] {
    return [...this.#clusters.keys()];
  }

  /** The client of cluster `name`; a failed connection is tried again at the next call. */
  get(name: string): Promise<KubeClient> {
    if (this.#closed) return Promise.reject(new TypeError("The cluster pool is closed"));
    const known = this.#clients.get(name);
    if (known) return known;
    const cluster = this.#clusters.get(name);
    if (!cluster) return Promise.reject(new NotFoundError(`Unknown cluster "${name}"`));
    const { readEnv, secretClient, refreshMs, logger } = this.#options;
    const client = createRotatingKubeClient(name, cluster.kubeconfig, {
      readEnv,
      ...(secretClient ? { secretClient } : {}),
      ...(refreshMs !== undefined ? { refreshMs } : {}),
      logger,
    });
    this.#clients.set(name, client);
    client.catch(() => this.#clients.delete(name));
    return client;
  }

  /** Closes every client (and the Secret reader, when the pool owns it). */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = await Promise.allSettled(this.#clients.values());
    for (const c of clients) if (c.status === "fulfilled") c.value.close();
    this.#clients.clear();
  }
}
