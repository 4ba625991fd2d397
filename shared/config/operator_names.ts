/**
 * The names of the original DR-Syncer operator's API, as dr-syncer serves it in the runtime's cluster: the
 * group and version, the three kinds and their REST names, and the annotations that trigger a run from
 * `kubectl annotate`. The CustomResourceDefinitions are `infra/operator_crds.ts`; the runtime watches the
 * objects; both read these names. Constants only (pure).
 */

/** The API group of the original operator's objects. */
export const OPERATOR_GROUP = "dr-syncer.io";
/** Their only version. */
export const OPERATOR_VERSION = "v1alpha1";
/** `apiVersion` of the objects. */
export const OPERATOR_API_VERSION = `${OPERATOR_GROUP}/${OPERATOR_VERSION}`;

/** One kind: its names in the API (all three are namespaced, as in the original). */
export interface OperatorKind {
  readonly kind: string;
  readonly listKind: string;
  /** The REST resource (`/apis/dr-syncer.io/v1alpha1/namespaces/NS/<plural>`). */
  readonly plural: string;
  readonly singular: string;
}

/** A cluster and the Secret holding its kubeconfig. */
export const REMOTE_CLUSTER: OperatorKind = {
  kind: "RemoteCluster",
  listKind: "RemoteClusterList",
  plural: "remoteclusters",
  singular: "remotecluster",
};

/** A source cluster and a target cluster, referenced by NamespaceMappings (`spec.clusterMappingRef`). */
export const CLUSTER_MAPPING: OperatorKind = {
  kind: "ClusterMapping",
  listKind: "ClusterMappingList",
  plural: "clustermappings",
  singular: "clustermapping",
};

/** A replication: a source namespace copied to a namespace of another cluster. */
export const NAMESPACE_MAPPING: OperatorKind = {
  kind: "NamespaceMapping",
  listKind: "NamespaceMappingList",
  plural: "namespacemappings",
  singular: "namespacemapping",
};

export const OPERATOR_KINDS: readonly OperatorKind[] = [REMOTE_CLUSTER, CLUSTER_MAPPING, NAMESPACE_MAPPING];

/** On a NamespaceMapping: run a stage now (any value); the runtime removes it once the run is started. */
export const ANNOTATION_SYNC_NOW = "dr-syncer.io/sync-now";
/** The original's older spelling of `sync-now`, which it still read. */
export const ANNOTATION_TRIGGER_SYNC = "dr-syncer.io/trigger-sync";
/** On a NamespaceMapping: cut over now; removed by the runtime once the run is started. */
export const ANNOTATION_CUTOVER = "dr-syncer.io/cutover";
/** On a NamespaceMapping: fail back now; removed by the runtime once the run is started. */
export const ANNOTATION_FAILBACK = "dr-syncer.io/failback";
