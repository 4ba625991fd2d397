/**
 * The contract of a per-kind rule: what the copy pipeline (filter, transform, planner, apply) and
 * the scaling steps of cutover and failback do differently for one kind. Beyond the kind and its
 * order every field is optional: a kind without one gets the generic handling only. The rules themselves are
 * listed in `kind_rules.ts`; the hooks of the kinds that need more than a line live in
 * `transform_*.ts` and depend only on this file.
 */
import type { KubeObject } from "../kube/types.ts";
import type { FilterContext, TransformContext } from "./contracts.ts";

/** What a per-kind transform reports besides its edits. */
export interface KindTransformResult {
  readonly warnings?: readonly string[];
  /** Reported as failures; the object is still written (e.g. a bad scale-override label). */
  readonly errors?: readonly string[];
  /** Set when the object cannot be copied at all (e.g. its StorageClass does not exist on DR). */
  readonly refusal?: string;
}

/**
 * Edits `draft` in place. `draft` is a private deep copy of the source object whose metadata is not
 * cleaned yet, so managedFields and the last-applied annotation can still be read.
 */
export type KindTransform = (draft: KubeObject, ctx: TransformContext) => KindTransformResult;

/** What filtering learns from the objects of the whole source namespace, as they are read. */
export interface FilterFacts {
  readonly servicesWithoutSelector: Set<string>;
}

/**
 * What a DR object that exists is written as: `desired`, except what DR must keep of `current`
 * (a claim's immutable fields and size), with warnings saying what was kept. Failback's copy-back uses
 * it the other way round: what a source object keeps of itself when DR's version is written over it.
 * (The rest of what the receiving cluster owns, a Service's addresses, a claim's binding, is kept by
 * `replacementOf` from who owns which field.)
 */
export type HoldExisting = (
  desired: KubeObject,
  current: KubeObject,
) => { readonly object: KubeObject; readonly warnings: readonly string[] };

/** How a workload kind stands by on DR, and how cutover and failback move it. */
export interface KindScale {
  /**
   * - `replicas`: `spec.replicas` at the standby count (0, or the scale-override label), the source's
   *   count in `dr-syncer.io/original-replicas`;
   * - `suspend`: `spec.suspend: true`, the source's value in `dr-syncer.io/original-suspend`;
   * - `park`: a nodeSelector no node matches (`dr-syncer.io/disabled`), for a kind that runs on every
   *   node or nowhere.
   */
  readonly by: "replicas" | "suspend" | "park";
  /** The plural the scaling steps list (at `v1` of the kind's group). */
  readonly resource: string;
  /** Short names a user may give the type (besides its plural, its singular and its kind). */
  readonly shortNames?: readonly string[];
  /** Its `spec.selector` is a plain label map (ReplicationController), not a LabelSelector. */
  readonly mapSelector?: true;
}

export interface KindRule {
  readonly group: string;
  readonly kind: string;
  /** Apply order, lowest first (docs/sync-rules.md, "Writing"); prunes run in reverse. */
  readonly order: number;
  readonly transform?: KindTransform;

  // --- filter (docs/sync-rules.md, "What is never copied"), in the order `filterObject` asks

  /** Never copied, whatever the object: the reason. Asked before the cluster-scoped rule. */
  readonly neverCopied?: string;
  /** Names Kubernetes creates in every namespace (`kube-root-ca.crt`...): never copied. */
  readonly createdByKubernetes?: readonly string[];
  /** Why an object of the kind is not copied (a token Secret, a finished Job...), or `undefined`. */
  readonly skip?: (obj: KubeObject, ctx: FilterContext) => string | undefined;
  /** For a skipped object: why its earlier DR copy must be deleted too (a finished Job's), or `undefined`. */
  readonly removeCopy?: (obj: KubeObject) => string | undefined;
  /** Notes what the filters of other kinds need to know of each object (Services without a selector). */
  readonly observe?: (obj: KubeObject, facts: FilterFacts) => void;
  /** Its `skip` needs what every other type observed: a type read page by page is planned last. */
  readonly filteredLast?: true;

  // --- reading

  /** Its transform reads the source's managedFields (they are dropped from listings otherwise). */
  readonly readsManagedFields?: true;
  /** Its transform checks the StorageClasses DR has: a stage that copies the kind lists them. */
  readonly checksStorageClasses?: true;

  // --- planning (docs/sync-rules.md, "Change detection", "Prune")

  /** What an existing DR object keeps of itself when written; the kind's DR objects are read in full. */
  readonly holdExisting?: HoldExisting;
  /** `false`: a DR copy is never checked for drift. */
  readonly checkDrift?: false;
  /** Maps whose keys are content: a key added on DR is drift, and is removed. */
  readonly contentMaps?: readonly string[];
  /** Prune deletes a copy whose source is gone only with this option; otherwise it is kept, and said so. */
  readonly pruneNeeds?: {
    readonly option: "pruneClaims";
    readonly keptReason: string;
    readonly keptWarning: string;
  };

  // --- apply

  /** A DR object that is never deleted to be recreated (immutable: recreate): why, for the report. */
  readonly neverRecreate?: string;

  // --- cutover and failback

  /** A workload: how it stands by on DR and is scaled by cutover and failback. */
  readonly scale?: KindScale;
}

/** Order of the kinds not in the table (custom resources...): after workloads, before Ingresses. */
export const DEFAULT_RULE_ORDER = 70;
/** Order of the DR Namespace itself. */
export const NAMESPACE_ORDER = 0;
