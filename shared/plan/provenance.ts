/**
 * Provenance: which DR objects are dr-syncer's copies, and of which source. The one definition of
 * "our copy" that planning, writing, pruning and scaling share.
 */
import type { KubeObject } from "../kube/types.ts";
import {
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "./names.ts";

/** Where a replication copies from: the identity its copies carry. */
export interface CopySource {
  readonly sourceCluster: string;
  readonly sourceNamespace: string;
}

/** Labelled `app.kubernetes.io/managed-by: dr-syncer`. */
export function hasManagedByLabel(obj: KubeObject): boolean {
  return obj.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE;
}

/** The source an object says it was copied from, or `undefined` when it carries no provenance. */
export function provenanceOf(obj: KubeObject): CopySource | undefined {
  const annotations = obj.metadata.annotations ?? {};
  const sourceCluster = annotations[ANNOTATION_SOURCE_CLUSTER];
  const sourceNamespace = annotations[ANNOTATION_SOURCE_NAMESPACE];
  return sourceCluster === undefined || sourceNamespace === undefined
    ? undefined
    : { sourceCluster, sourceNamespace };
}

/**
 * Copied from `source`, by its provenance annotations alone. Scaling uses this: on a live DR side
 * a tool such as Helm may rewrite the managed-by label, and cutover and failback must still find
 * the workloads.
 */
export function isCopyFrom(obj: KubeObject, source: CopySource): boolean {
  const from = provenanceOf(obj);
  return from?.sourceCluster === source.sourceCluster && from.sourceNamespace === source.sourceNamespace;
}

/**
 * Our copy: labelled as dr-syncer's and copied from `source`. Only our copies are left unwritten
 * when unchanged, pruned when their source is gone, or deleted to recreate them.
 */
export function isOurCopy(obj: KubeObject, source: CopySource): boolean {
  return hasManagedByLabel(obj) && isCopyFrom(obj, source);
}

/** The provenance labels and annotations a copy gets. */
export function provenanceMetadata(
  source: CopySource,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
    annotations: {
      [ANNOTATION_SOURCE_CLUSTER]: source.sourceCluster,
      [ANNOTATION_SOURCE_NAMESPACE]: source.sourceNamespace,
    },
  };
}
