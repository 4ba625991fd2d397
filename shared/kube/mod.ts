export * from "./types.ts";
export * from "./kube_api_error.ts";
export * from "./kube_client.ts";
export * from "./load_kube_config.ts";
export * from "./connect_cluster.ts";
