/**
 * A client whose credentials follow their source: the kubeconfig (from a file, a variable or a
 * Secret) is read again at most every `refreshMs` and at once after a 401, and when it changed
 * the requests go to a new client built from it. A rotated Secret is so picked up without a
 * restart; requests in flight finish on the client they started with.
 */
import { isUnauthorized } from "../kube/kube_api_error.ts";
import { createKubeClient, type KubeClient, type KubeRequest, newRequestStats } from "../kube/kube_client.ts";
import type { ClusterAccess } from "../kube/cluster_access.ts";
import { type KubeconfigSource, loadKubeConfig, type LoadKubeConfigDeps } from "../kube/load_kube_config.ts";
import type { Logger } from "../log/logger.ts";

export interface RotatingKubeClientOptions extends LoadKubeConfigDeps {
  /** Read the source again at most this often (default 60 s); a 401 reads it at once. */
  readonly refreshMs?: number;
  /** How long a replaced client stays open for requests still in flight (default 60 s). */
  readonly retireMs?: number;
  readonly logger?: Logger | undefined;
  /** Builds the access from the source (default: `loadKubeConfig`); the in-cluster client passes its own. */
  readonly load?: () => Promise<ClusterAccess>;
}

/** True for sources that can change under a running process (an environment variable cannot). */
function canRotate(source: KubeconfigSource | undefined): boolean {
  return source === undefined || !("env" in source || "inline" in source);
}

/**
 * Connects to cluster `name` with the kubeconfig of `source`, and keeps following it. Fails like
 * `connectCluster` when the first load fails.
 */
export async function createRotatingKubeClient(
  name: string,
  source: KubeconfigSource | undefined,
  options: RotatingKubeClientOptions = {},
): Promise<KubeClient> {
  const refreshMs = options.refreshMs ?? 60_000;
  const retireMs = options.retireMs ?? 60_000;
  const load = options.load ??
    (() =>
      loadKubeConfig(source!, {
        ...(options.readEnv ? { readEnv: options.readEnv } : {}),
        ...(options.secretClient ? { secretClient: options.secretClient } : {}),
        ...(options.trust ? { trust: options.trust } : {}),
      }));
  let access = await load();
  let inner = createKubeClient(access, { name });
  let checkedAt = Date.now();
  let refreshing: Promise<boolean> | undefined;
  const retiring = new Map<ReturnType<typeof setTimeout>, KubeClient>();
  const stats = newRequestStats();
  const rotates = canRotate(source);
  let closed = false;

  /** Reads the source again; true when the client changed. Never throws: a failed read keeps the old one. */
  const refresh = (): Promise<boolean> => {
    refreshing ??= (async () => {
      try {
        const next = await load();
        checkedAt = Date.now();
        if (JSON.stringify(next) === JSON.stringify(access) || closed) return false;
        const old = inner;
        access = next;
        inner = createKubeClient(next, { name });
        const timer = setTimeout(() => {
          retiring.delete(timer);
          old.close();
        }, retireMs);
        Deno.unrefTimer(timer);
        retiring.set(timer, old);
        options.logger?.info("cluster credentials changed: using the new ones", { cluster: name });
        return true;
      } catch (error) {
        checkedAt = Date.now();
        options.logger?.warn("could not read the cluster credentials again; keeping the current ones", {
          cluster: name,
          error,
        });
        return false;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  };

  const count = (req: KubeRequest) => {
    stats.total++;
    stats.byMethod[req.method]++;
    if (req.method !== "GET") stats.writes++;
  };

  const current = (): KubeClient => {
    if (rotates && Date.now() - checkedAt > refreshMs) void refresh(); // in the background
    return inner;
  };

  return {
    name,
    get server() {
      return inner.server;
    },
    get contextNamespace() {
      return inner.contextNamespace;
    },
    stats,
    async request<T>(req: KubeRequest): Promise<T> {
      count(req);
      const client = current();
      try {
        return await client.request<T>(req);
      } catch (error) {
        // rotated credentials: the old ones are refused; read the source and try once more
        if (!rotates || !isUnauthorized(error) || !(await refresh())) throw error;
        return await inner.request<T>(req);
      }
    },
    async stream(req: KubeRequest): Promise<ReadableStream<string>> {
      count(req);
      try {
        return await current().stream(req);
      } catch (error) {
        if (!rotates || !isUnauthorized(error) || !(await refresh())) throw error;
        return await inner.stream(req);
      }
    },
    close() {
      closed = true;
      for (const [timer, old] of retiring) {
        clearTimeout(timer);
        old.close();
      }
      retiring.clear();
      inner.close();
    },
  };
}
