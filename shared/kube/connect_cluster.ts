import { createKubeClient, type KubeClient } from "./kube_client.ts";
import { type KubeconfigSource, loadKubeConfig, type LoadKubeConfigDeps } from "./load_kube_config.ts";

/** Loads a kubeconfig from any source and returns a client named `name` for it. */
export async function connectCluster(
  name: string,
  source: KubeconfigSource,
  deps: LoadKubeConfigDeps = {},
): Promise<KubeClient> {
  return createKubeClient(await loadKubeConfig(source, deps), { name });
}
