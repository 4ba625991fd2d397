/**
 * A client of a configured cluster, whatever its credentials' source: a kubeconfig (file, environment
 * variable, Secret) through `connectCluster`, or `{inCluster: true}`, the cluster the process runs in,
 * with its pod's ServiceAccount (the edge hands in the environment).
 */
import type { ClusterKubeconfig } from "../config/config_schema.ts";
import { isInCluster } from "../config/config_schema.ts";
import { connectCluster } from "../kube/connect_cluster.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import {
  describeKubeconfigSource,
  KubeconfigError,
  type KubeconfigTrust,
  type LoadKubeConfigDeps,
} from "../kube/load_kube_config.ts";
import { createKubeClient } from "../kube/kube_client.ts";
import { inClusterAccess } from "./in_cluster_access.ts";

export interface ConnectConfiguredDeps extends Omit<LoadKubeConfigDeps, "trust"> {
  /** The client of the cluster this process runs in, when it has one (`serve` in a pod, or its Secret reader). */
  readonly home?: KubeClient | undefined;
}

/** A cluster as the config names it: its credentials' source and what a kubeconfig of it may do. */
export interface ConfiguredCluster {
  readonly kubeconfig: ClusterKubeconfig;
  readonly allowExec?: boolean | undefined;
  readonly allowFileReferences?: boolean | undefined;
}

/** What a kubeconfig of `cluster` from a Secret or an environment variable may do: the config's opt-ins. */
export function trustOf(name: string, cluster: ConfiguredCluster): KubeconfigTrust {
  return {
    cluster: name,
    allowExec: cluster.allowExec ?? false,
    allowFileReferences: cluster.allowFileReferences ?? false,
  };
}

export async function connectConfiguredCluster(
  name: string,
  cluster: ConfiguredCluster,
  deps: ConnectConfiguredDeps = {},
): Promise<KubeClient> {
  const source = cluster.kubeconfig;
  if (!isInCluster(source)) {
    return await connectCluster(name, source, { ...deps, trust: trustOf(name, cluster) });
  }
  if (deps.home) return deps.home;
  const host = deps.readEnv?.("KUBERNETES_SERVICE_HOST");
  const port = deps.readEnv?.("KUBERNETES_SERVICE_PORT") ?? "443";
  if (!host) {
    throw new KubeconfigError(
      `cluster "${name}" (inCluster)`,
      "this process does not run in a pod (KUBERNETES_SERVICE_HOST is not set): give the cluster a kubeconfig",
    );
  }
  const dir = deps.readEnv?.("DR_SYNCER_SERVICEACCOUNT_DIR");
  return createKubeClient(await inClusterAccess({ host, port, ...(dir ? { dir } : {}) }), { name });
}

/** Where a configured cluster's credentials come from, in words (no secret content). */
export function describeClusterSource(source: ClusterKubeconfig): string {
  return isInCluster(source)
    ? "the runtime's own ServiceAccount (inCluster)"
    : describeKubeconfigSource(source);
}
