/**
 * The types copied when a replication names none (docs/sync-rules.md, "The defaults"), as
 * `resource.group` names resolved through discovery like any name a user gives.
 */
export const DEFAULT_RESOURCE_TYPES: readonly string[] = [
  "configmaps",
  "secrets",
  "serviceaccounts",
  "roles.rbac.authorization.k8s.io",
  "rolebindings.rbac.authorization.k8s.io",
  "services",
  "ingresses.networking.k8s.io",
  "networkpolicies.networking.k8s.io",
  "persistentvolumeclaims",
  "deployments.apps",
  "statefulsets.apps",
  "daemonsets.apps",
  "cronjobs.batch",
  "jobs.batch",
  "horizontalpodautoscalers.autoscaling",
  "poddisruptionbudgets.policy",
];
