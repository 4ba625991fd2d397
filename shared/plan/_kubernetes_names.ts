/** Names Kubernetes and kubectl use that the engine reads or strips (private to this folder). */

export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
export const DEPLOYMENT_REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** Set by the API server on every Namespace. */
export const METADATA_NAME_LABEL = "kubernetes.io/metadata.name";
/** Ingress class before `spec.ingressClassName`. */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
