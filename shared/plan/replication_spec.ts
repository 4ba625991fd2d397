import type { TransformContext } from "./contracts.ts";

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
  readonly immutable: ImmutablePolicy;
  readonly preserveNodePorts: boolean;
  readonly storageClassMap: Readonly<Record<string, string>>;
  readonly accessModeMap: Readonly<Record<string, string>>;
  readonly ingressHostMap: Readonly<Record<string, string>>;
  readonly ingressClassMap: Readonly<Record<string, string>>;
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
    sourceCluster: spec.sourceCluster,
    sourceNamespace: spec.sourceNamespace,
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
