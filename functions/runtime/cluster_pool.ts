/**
 * The runtime's clients, one per configured cluster, connected on first use and kept. Each follows
 * its credentials (a rotated Secret or file is picked up without a restart). Secrets are read with
 * `secretClient`: in a pod, its own ServiceAccount's client.
 */
import { type Cluster, isInCluster } from "../../shared/config/mod.ts";
import { KubeconfigError } from "../../shared/kube/load_kube_config.ts";
import { cacheDiscovery } from "../../shared/kube/discover_resources.ts";
import { createRotatingKubeClient, trustOf } from "../../shared/credentials/mod.ts";
import { NotFoundError } from "../../shared/errors.ts";
import type { KubeClient } from "../../shared/kube/mod.ts";
import type { Logger } from "../../shared/log/mod.ts";

export interface ClusterPoolOptions {
  readonly readEnv: (name: string) => string | undefined;
  readonly secretClient?: KubeClient | undefined;
  readonly refreshMs?: number | undefined;
  readonly logger: Logger;
}

/** How long a cluster's discovery is reused across runs (a type that appears is found by its name at once). */
export const DISCOVERY_TTL_MS = 30_000;

export class ClusterPool {
  #clusters: ReadonlyMap<string, Cluster>;
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
    if (isInCluster(cluster.kubeconfig)) {
      // the cluster the runtime runs in: its own client (in a pod, the pod's ServiceAccount)
      if (secretClient) cacheDiscovery(secretClient, DISCOVERY_TTL_MS);
      const home = secretClient ? Promise.resolve(secretClient) : Promise.reject(
        new KubeconfigError(
          `cluster "${name}" (inCluster)`,
          "the runtime does not run in a pod and has no DR_SYNCER_SECRETS_KUBECONFIG: give the cluster a kubeconfig",
        ),
      );
      home.catch(() => {});
      return home;
    }
    const client = createRotatingKubeClient(name, cluster.kubeconfig, {
      readEnv,
      ...(secretClient ? { secretClient } : {}),
      // what a kubeconfig from a Secret or a variable may do: the cluster's opt-ins (both off by default)
      trust: trustOf(name, cluster),
      ...(refreshMs !== undefined ? { refreshMs } : {}),
      logger,
    });
    // the runtime runs many operations: each cluster's discovery is kept a while across them
    client.then((c) => cacheDiscovery(c, DISCOVERY_TTL_MS), () => {});
    this.#clients.set(name, client);
    client.catch(() => this.#clients.delete(name));
    return client;
  }

  /**
   * Follows a new configuration: a new cluster is connected on first use, a removed one's client is
   * closed, and a changed one's is closed and connected again on next use.
   */
  update(clusters: readonly Cluster[]): void {
    const next = new Map(clusters.map((c) => [c.name, c]));
    for (const [name, client] of this.#clients) {
      const before = this.#clusters.get(name);
      const after = next.get(name);
      if (after !== undefined && JSON.stringify(after) === JSON.stringify(before)) continue;
      this.#clients.delete(name);
      // requests in flight (a run) finish on the old client; it closes a minute later
      void client.then((c) => {
        const timer = setTimeout(() => c.close(), 60_000);
        Deno.unrefTimer(timer);
      }, () => {});
    }
    this.#clusters = next;
  }

  /** Closes every client (and the Secret reader, when the pool owns it). */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = await Promise.allSettled(this.#clients.values());
    for (const c of clients) if (c.status === "fulfilled") c.value.close();
    this.#clients.clear();
  }
}
