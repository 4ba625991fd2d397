/** Label and annotation names (the same as the original DR-Syncer; users and tests rely on them). */

export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "dr-syncer";
export const LABEL_IGNORE = "dr-syncer.io/ignore";
export const LABEL_SCALE_OVERRIDE = "dr-syncer.io/scale-override";
export const LABEL_STORAGE_CLASS = "dr-syncer.io/storage-class";
export const LABEL_ACCESS_MODE = "dr-syncer.io/access-mode";
/** nodeSelector key that keeps a copied DaemonSet off every node until cutover. */
export const LABEL_DISABLED = "dr-syncer.io/disabled";

export const ANNOTATION_ORIGINAL_REPLICAS = "dr-syncer.io/original-replicas";
export const ANNOTATION_ORIGINAL_SUSPEND = "dr-syncer.io/original-suspend";
/**
 * A StatefulSet's `persistentVolumeClaimRetentionPolicy.whenScaled` before dr-syncer scaled it down:
 * `Delete` would delete its claims (and their data) on the way to zero, so it is `Retain` meanwhile.
 */
export const ANNOTATION_ORIGINAL_WHEN_SCALED = "dr-syncer.io/original-pvc-retention-when-scaled";
export const ANNOTATION_SOURCE_CLUSTER = "dr-syncer.io/source-cluster";
export const ANNOTATION_SOURCE_NAMESPACE = "dr-syncer.io/source-namespace";
export const ANNOTATION_SOURCE_UID = "dr-syncer.io/source-uid";
export const ANNOTATION_SOURCE_RESOURCE_VERSION = "dr-syncer.io/source-resource-version";
/** Hash of the transformed object as last applied (change detection; excludes the resource version). */
export const ANNOTATION_CONTENT_HASH = "dr-syncer.io/content-hash";
/**
 * The source's own `app.kubernetes.io/managed-by` value (e.g. `Helm`), which dr-syncer's label replaces
 * on DR. (Nothing puts it back yet: after a cutover, such a tool must be told to adopt the object.)
 */
export const ANNOTATION_ORIGINAL_MANAGED_BY = "dr-syncer.io/original-managed-by";
