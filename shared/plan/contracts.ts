/**
 * The planning contracts: what goes into the pure copy pipeline (a snapshot of the source
 * namespace, the transform context) and what comes out (the desired DR objects, then a plan
 * against what DR holds).
 */
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { CopySource } from "./provenance.ts";

/** Everything the transforms need to know about one replication. */
export interface TransformContext {
  readonly sourceCluster: string;
  readonly sourceNamespace: string;
  readonly destNamespace: string;
  /** Deployments/StatefulSets at 0 replicas, CronJobs suspended, DaemonSets parked (default true). */
  readonly scaleToZero: boolean;
  /** Keep `nodePort`s even when the user did not set them explicitly (default false). */
  readonly preserveNodePorts: boolean;
  readonly storageClassMap: Readonly<Record<string, string>>;
  readonly accessModeMap: Readonly<Record<string, string>>;
  readonly ingressHostMap: Readonly<Record<string, string>>;
  readonly ingressClassMap: Readonly<Record<string, string>>;
  /** StorageClasses that exist on DR; `undefined` when not known (then not checked). */
  readonly destStorageClasses?: ReadonlySet<string> | undefined;
}

/**
 * What filtering knows of the whole source namespace, noted by the kind rules' `observe` as the
 * objects are read.
 */
export interface FilterContext {
  /** Names of the snapshot's Services that have no selector (their Endpoints are maintained by hand). */
  readonly servicesWithoutSelector?: ReadonlySet<string>;
}

/** The objects of one resource type, as listed. */
export interface TypedObjects {
  readonly type: ResourceType;
  readonly objects: readonly KubeObject[];
}

/** The source namespace as listed: the Namespace object and every selected type's objects. */
export interface SourceSnapshot {
  readonly namespace: KubeObject;
  readonly items: readonly TypedObjects[];
}

/** What the transform pipeline decided for one source object. */
export type TransformOutcome =
  /** Copy `object`. `errors` non-empty means it is written but reported as failed (e.g. bad scale-override). */
  | {
    readonly action: "copy";
    readonly object: KubeObject;
    readonly warnings: readonly string[];
    readonly errors: readonly string[];
  }
  /**
   * Never copied, with the reason (owned, ignored, never-copied kind...). `removeCopy`: an earlier
   * DR copy must go too, and why (a finished Job's copy would run it again at cutover).
   */
  | { readonly action: "skip"; readonly reason: string; readonly removeCopy?: string }
  /** Cannot be copied (e.g. the mapped StorageClass does not exist on DR); reported as failed. */
  | { readonly action: "error"; readonly reason: string };

export interface DesiredEntry {
  readonly type: ResourceType;
  /** Name of the source object (the DR object has the same name). */
  readonly name: string;
  readonly outcome: TransformOutcome;
}

export interface DesiredState {
  /** The DR Namespace object to ensure (labels/annotations of the source minus system ones, plus managed-by). */
  readonly namespace: KubeObject;
  readonly entries: readonly DesiredEntry[];
}

export type PlanAction = "create" | "update" | "unchanged" | "prune" | "skip" | "error";

export interface PlanEntry {
  readonly action: PlanAction;
  readonly type: ResourceType;
  readonly name: string;
  /** The DR namespace. */
  readonly namespace: string;
  /** For create/update: the object to apply (with its content-hash annotation set). */
  readonly desired?: KubeObject;
  /** For update/unchanged/prune: the object DR holds now. */
  readonly current?: KubeObject;
  /** For skip/error/prune, and for updates: why. */
  readonly reason?: string;
  readonly warnings: readonly string[];
  /** Errors to report for this object even when it is written (e.g. bad scale-override). */
  readonly errors: readonly string[];
  /**
   * For an update: the whole object written over the DR object (an update at its resourceVersion, see
   * `replacementOf`), when the plan had DR's full object; otherwise the apply reads it first.
   */
  readonly replace?: KubeObject;
  /**
   * For an unchanged entry: a field the copy sets has no owner on DR any more (someone removed it),
   * so DR's full object must be read and compared (the planner then plans it again with `live`).
   */
  readonly readFull?: true;
  /** Apply order (namespace first, HPAs last); prunes run in reverse order. */
  readonly order: number;
}

export interface SyncPlan {
  readonly namespace: KubeObject;
  /** Sorted by `order`, then kind, then name. */
  readonly entries: readonly PlanEntry[];
}

/** Which replication's copies the plan may leave unwritten or prune (see `provenance.ts`), and whether to prune. */
export interface PlanSyncOptions extends CopySource {
  readonly prune: boolean;
  /** Prune may delete PVCs too (default: their copies stay, with a warning). */
  readonly pruneClaims?: boolean;
  /** Take over DR objects that are not this replication's copies (default: each is an error, left alone). */
  readonly adopt?: boolean;
  /**
   * Who else wrote to each DR object (field managers other than dr-syncer and Kubernetes), by
   * `typeKey/name`: what drift detection starts from. Absent: drift is not checked.
   */
  readonly writers?: ReadonlyMap<string, readonly string[]>;
  /**
   * DR objects read in full (with their managedFields), by `typeKey/name`, where the listing held
   * only their metadata: what drift is compared against, and what an update is written over.
   */
  readonly live?: ReadonlyMap<string, KubeObject>;
}
