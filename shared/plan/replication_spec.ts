import { typeKey } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";
import { DEFAULT_RESOURCE_TYPES } from "./default_resource_types.ts";
import { SCALED_TYPES, type ScaledType, scaledTypeNames } from "./kind_rules.ts";
import type { CopySource } from "./provenance.ts";

/** What to do with an object whose immutable field changed: report it, or delete and recreate it. */
export type ImmutablePolicy = "report" | "recreate";

/** One replication as the engine runs it (from the config file or from CLI flags). */
export interface ReplicationSpec {
  readonly name: string;
  readonly sourceCluster: string;
  readonly sourceNamespace: string;
  readonly destCluster: string;
  readonly destNamespace: string;
  /** Replaces the default types when set. */
  readonly resourceTypes?: readonly string[] | undefined;
  readonly excludeResourceTypes?: readonly string[] | undefined;
  readonly includeCustomResources: boolean | readonly string[];
  /** Copy the CRDs of copied custom resources to DR first (default false). */
  readonly syncCRDs: boolean;
  readonly scaleToZero: boolean;
  readonly prune: boolean;
  /** Prune may delete PVCs (and so their data); off unless asked for separately. */
  readonly pruneClaims: boolean;
  /** The most objects one run may prune: more is refused, naming the option that allows it. */
  readonly maxPrune: number;
  /** Take over DR objects without dr-syncer's provenance (by default: reported and left alone). */
  readonly adopt: boolean;
  /** Copy the claims' data too: cutover's final pass, failback's reverse pass, pvc-sync. */
  readonly pvcDataSync: boolean;
  /** How PVC data moves (pvc-sync, and the passes of cutover and failback). */
  readonly pvcData: PvcDataOptions;
  /**
   * The source cluster's identity (the uid of its kube-system namespace), resolved at run time:
   * what provenance records, so runs that name the cluster differently recognise the same copies.
   */
  readonly sourceClusterId?: string | undefined;
  readonly immutable: ImmutablePolicy;
  readonly preserveNodePorts: boolean;
  readonly storageClassMap: Readonly<Record<string, string>>;
  readonly accessModeMap: Readonly<Record<string, string>>;
  readonly ingressHostMap: Readonly<Record<string, string>>;
  readonly ingressClassMap: Readonly<Record<string, string>>;
}

export interface PvcDataOptions {
  /** rsync's bandwidth limit, KiB/s. */
  readonly bandwidthLimitKiB?: number | undefined;
  /** After the copy: compare nothing, a sample of files, or every file by checksum. */
  readonly verify: "none" | "sample" | "full";
  /** Where the agents and their Secrets are, in both clusters. */
  readonly agentNamespace: string;
  /** The image of the pods that mount a claim no running pod mounts. */
  readonly mounterImage: string;
}

export const DEFAULT_PVC_DATA: PvcDataOptions = {
  verify: "none",
  agentNamespace: "dr-syncer-system",
  mounterImage: "registry.k8s.io/pause:3.10",
};

/** How many objects one run may prune by default. */
export const DEFAULT_MAX_PRUNE = 50;

/** The identity a replication's copies carry: the source cluster's id (or, until resolved, its name). */
export function copySource(spec: ReplicationSpec): CopySource {
  return { sourceCluster: spec.sourceClusterId ?? spec.sourceCluster, sourceNamespace: spec.sourceNamespace };
}

/** A replication with every option at its default. */
export function replicationSpec(
  fields: Pick<ReplicationSpec, "name" | "sourceNamespace" | "destNamespace"> & Partial<ReplicationSpec>,
): ReplicationSpec {
  return {
    sourceCluster: "source",
    destCluster: "dr",
    includeCustomResources: false,
    syncCRDs: false,
    scaleToZero: true,
    prune: false,
    pruneClaims: false,
    maxPrune: DEFAULT_MAX_PRUNE,
    adopt: false,
    pvcDataSync: false,
    pvcData: DEFAULT_PVC_DATA,
    immutable: "report",
    preserveNodePorts: false,
    storageClassMap: {},
    accessModeMap: {},
    ingressHostMap: {},
    ingressClassMap: {},
    ...fields,
  };
}

/** What the transforms need of a replication; `destStorageClasses` when known (then checked). */
export function transformContext(
  spec: ReplicationSpec,
  destStorageClasses?: ReadonlySet<string> | undefined,
): TransformContext {
  return {
    ...copySource(spec),
    destNamespace: spec.destNamespace,
    scaleToZero: spec.scaleToZero,
    preserveNodePorts: spec.preserveNodePorts,
    storageClassMap: spec.storageClassMap,
    accessModeMap: spec.accessModeMap,
    ingressHostMap: spec.ingressHostMap,
    ingressClassMap: spec.ingressClassMap,
    destStorageClasses,
  };
}

/**
 * The workload types (`typeKey`s) the replication copies, from its names alone (no discovery): the steps
 * that scale workloads list only these, so they need no rights on the others. Without names, the
 * default types' (ReplicaSets and ReplicationControllers are scaled only when named).
 */
export function workloadTypeKeys(
  spec: Pick<ReplicationSpec, "resourceTypes" | "excludeResourceTypes">,
): Set<string> {
  const named = (names: readonly string[] | undefined, scaled: ScaledType) => {
    const accepted = scaledTypeNames(scaled);
    return (names ?? []).some((name) => accepted.includes(name.trim().toLowerCase()));
  };
  return new Set(
    SCALED_TYPES.filter((scaled) =>
      named(spec.resourceTypes ?? DEFAULT_RESOURCE_TYPES, scaled) && !named(spec.excludeResourceTypes, scaled)
    ).map(({ type }) => typeKey(type)),
  );
}
