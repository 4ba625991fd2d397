/**
 * Credentials the runtime reads: the pod's in-cluster access, API tokens and cluster kubeconfigs
 * from a file, an environment variable or a Secret, read again when they rotate.
 */
export * from "./in_cluster_access.ts";
export * from "./read_credential.ts";
export * from "./rotating_kube_client.ts";
export * from "./token_verifier.ts";
export * from "./connect_configured_cluster.ts";
