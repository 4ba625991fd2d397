/** Object shapes shared by the engine. Only what dr-syncer reads is typed; the rest passes through. */

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** An API resource as discovery reports it. */
export interface ResourceType {
  readonly group: string; // "" for the core group
  readonly version: string;
  readonly resource: string; // plural, e.g. "deployments"
  readonly kind: string;
  readonly namespaced: boolean;
  readonly singular?: string;
  readonly shortNames?: readonly string[];
  readonly verbs?: readonly string[];
  /**
   * Every version of its group that serves it, the group's preferred first (discovery sets it; `version` is
   * the first of them). A type another cluster serves at other versions is read and written at one both serve.
   */
  readonly versions?: readonly string[];
}

/** `apps/v1` or `v1`. */
export function apiVersionOf(type: Pick<ResourceType, "group" | "version">): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/** The REST path of a resource collection or of one object. */
export function resourcePath(
  type: Pick<ResourceType, "group" | "version" | "resource" | "namespaced">,
  namespace?: string,
  name?: string,
): string {
  const base = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const one = name === undefined ? "" : `/${encodeURIComponent(name)}`;
  return `${base}${ns}/${type.resource}${one}`;
}

/** `deployments.apps`, `configmaps.` (core group): the one key of a resource type in maps and sets. */
export function typeKey(type: Pick<ResourceType, "group" | "resource">): string {
  return `${type.resource}.${type.group}`;
}

/** `deployments.apps`, or `configmaps` for the core group: a type's name as users write it. */
export function qualifiedName(type: Pick<ResourceType, "group" | "resource">): string {
  return type.group === "" ? type.resource : `${type.resource}.${type.group}`;
}

function builtIn(group: string, resource: string, kind: string, namespaced = true): ResourceType {
  return { group, version: "v1", resource, kind, namespaced };
}

/** Built-in types the engine itself reads or writes (fixed versions: served by every supported server). */
export const NAMESPACES = builtIn("", "namespaces", "Namespace", false);
export const SECRETS = builtIn("", "secrets", "Secret");
export const CONFIG_MAPS = builtIn("", "configmaps", "ConfigMap");
export const EVENTS = builtIn("", "events", "Event");
export const PODS = builtIn("", "pods", "Pod");
export const PERSISTENT_VOLUME_CLAIMS = builtIn("", "persistentvolumeclaims", "PersistentVolumeClaim");
export const PERSISTENT_VOLUMES = builtIn("", "persistentvolumes", "PersistentVolume", false);
export const STORAGE_CLASSES = builtIn("storage.k8s.io", "storageclasses", "StorageClass", false);
export const LEASES = builtIn("coordination.k8s.io", "leases", "Lease");
export const CRDS = builtIn(
  "apiextensions.k8s.io",
  "customresourcedefinitions",
  "CustomResourceDefinition",
  false,
);
export const DEPLOYMENTS = builtIn("apps", "deployments", "Deployment");
export const STATEFULSETS = builtIn("apps", "statefulsets", "StatefulSet");
export const DAEMONSETS = builtIn("apps", "daemonsets", "DaemonSet");
export const CRONJOBS = builtIn("batch", "cronjobs", "CronJob");
export const JOBS = builtIn("batch", "jobs", "Job");
