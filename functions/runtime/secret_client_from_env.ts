/**
 * The client that reads credential Secrets, chosen from the environment: in a pod
 * (`KUBERNETES_SERVICE_HOST` set) the pod's ServiceAccount, read from
 * `DR_SYNCER_SERVICEACCOUNT_DIR` (default the standard mount); elsewhere the kubeconfig file
 * `DR_SYNCER_SECRETS_KUBECONFIG` when set; otherwise none (a Secret source then fails with a
 * message saying so).
 */
import { createRotatingKubeClient, inClusterAccess } from "../../shared/credentials/mod.ts";
import type { KubeClient } from "../../shared/kube/mod.ts";
import type { Logger } from "../../shared/log/mod.ts";

export const ENV_SERVICEACCOUNT_DIR = "DR_SYNCER_SERVICEACCOUNT_DIR";
export const ENV_SECRETS_KUBECONFIG = "DR_SYNCER_SECRETS_KUBECONFIG";

export async function secretClientFromEnv(
  readEnv: (name: string) => string | undefined,
  options: { readonly refreshMs?: number | undefined; readonly logger: Logger },
): Promise<KubeClient | undefined> {
  const host = readEnv("KUBERNETES_SERVICE_HOST");
  const common = {
    logger: options.logger,
    ...(options.refreshMs !== undefined ? { refreshMs: options.refreshMs } : {}),
  };
  if (host) {
    const settings = {
      host,
      port: readEnv("KUBERNETES_SERVICE_PORT") ?? "443",
      dir: readEnv(ENV_SERVICEACCOUNT_DIR),
    };
    return await createRotatingKubeClient("in-cluster", undefined, {
      ...common,
      load: () => inClusterAccess(settings),
    });
  }
  const path = readEnv(ENV_SECRETS_KUBECONFIG);
  if (path) return await createRotatingKubeClient("secrets", { path }, { ...common, readEnv });
  return undefined;
}
