/** Cluster access: kubeconfigs, the client, typed verbs, discovery, errors and retries. */
export * from "./types.ts";
export * from "./kube_api_error.ts";
export * from "./cluster_access.ts";
export * from "./kube_client.ts";
export * from "./load_kube_config.ts";
export * from "./connect_cluster.ts";
export * from "./verbs.ts";
export * from "./retry.ts";
export * from "./discover_resources.ts";
