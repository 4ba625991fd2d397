/**
 * The upstream DR-Syncer operator's manifests (group `dr-syncer.io/v1alpha1`) as an alternative config input.
 * Documents of other groups (a Secret, a Namespace...) are ignored, `kind: List` documents are read item by
 * item, and `status` is ignored everywhere. The mapping:
 *
 * RemoteCluster → `clusters[]`
 * - `metadata.name` → `name`
 * - `spec.kubeconfigSecretRef {name, namespace, key}` → `kubeconfig.secret` (namespace defaults to the
 *   RemoteCluster's own namespace, key to `"kubeconfig"`)
 * - `spec.defaultSchedule`, `spec.defaultResourceTypes`, `spec.pvcSync.defaultVerificationMode`: used by the
 *   NamespaceMappings whose source is this cluster when they do not set their own
 *
 * ClusterMapping → the source and destination clusters of the NamespaceMappings that reference it
 * - `spec.sourceCluster`, `spec.targetCluster` → `source.cluster`, `destination.cluster`
 * - `spec.paused: true` → its NamespaceMappings become `mode: manual`
 *
 * NamespaceMapping (and the older kind Replication, same spec) → `replications[]`
 * - `metadata.name` → `name`
 * - `spec.clusterMappingRef {name, namespace}` (namespace defaults to the NamespaceMapping's), or
 *   `spec.sourceCluster` and `spec.destinationCluster` → the clusters
 * - `spec.sourceNamespace`, `spec.destinationNamespace` → `source.namespace`, `destination.namespace`
 * - `spec.replicationMode` Scheduled | Continuous | Manual → `mode`; `spec.paused: true` → `manual`; a manual
 *   mapping's schedule is dropped (the operator did not use it)
 * - `spec.schedule` → `schedule`
 * - `spec.resourceTypes` → `resourceTypes`, lower-cased; `["*"]` → default types plus `includeCustomResources: true`
 * - `spec.namespaceScopedResources` → `includeCustomResources: [...]`
 * - `spec.excludeResourceTypes` / `spec.excludedResources` → `excludeResourceTypes`
 * - `spec.scaleToZero`, `spec.syncCRDs` → the same
 * - `spec.immutableResourceConfig.defaultHandling` NoChange | PartialUpdate → `immutable: report`;
 *   Recreate | RecreateWithPodDrain | ForceUpdate → `recreate`
 * - `spec.pvcConfig.storageClassMappings` / `accessModeMappings` `[{from, to}]` → `storageClassMap` / `accessModeMap`
 * - `spec.pvcConfig.syncData` → `pvc.enabled` (the data then follows the replication's schedule: `pvc.schedule`);
 *   `dataSyncConfig.bandwidthLimit` (KiB/s, 0 = none) → `pvc.bandwidthLimit`;
 *   `dataSyncConfig.verificationMode` → `pvc.verify`
 *
 * Not carried over (no equivalent, or our default already matches): `namespaceConfig`, `continuous`
 * (watch settings, background interval), `retryConfig`, `failureHandling`, `ingressConfig`,
 * `tempPodKeySecretRef`, `pvcConfig.syncPersistentVolumes`, `pvcConfig.preserveVolumeAttributes`, the other
 * `dataSyncConfig` fields, `immutableResourceConfig.resourceOverrides`, the ClusterMapping's SSH and
 * connectivity settings and the RemoteCluster's agent settings. No tokens are defined.
 */
import { z } from "zod";
import type { ImmutablePolicy, ReplicationMode } from "./config_schema.ts";
import { formatPath, type PathSegment, quote, quoteAll } from "./_text.ts";
import { parseWith, type PathIssue } from "./_validate.ts";

import { OPERATOR_API_VERSION, OPERATOR_GROUP } from "./operator_names.ts";

export { OPERATOR_API_VERSION };
const OPERATOR_GROUP_PREFIX = `${OPERATOR_GROUP}/`;
const SUPPORTED_KINDS = ["RemoteCluster", "ClusterMapping", "NamespaceMapping", "Replication"] as const;

/** A manifest inside a YAML stream: its document, and where it sits in it (inside a List). */
export interface ManifestRef {
  /** `NamespaceMapping/shop`, or `documents[2]` when it has no name. */
  readonly label: string;
  readonly docIndex: number;
  readonly basePath: readonly PathSegment[];
}

/** A field of a manifest. */
export interface ManifestLocation {
  readonly manifest: ManifestRef;
  readonly field: readonly PathSegment[];
}

export interface ManifestIssue {
  readonly at: ManifestLocation;
  readonly message: string;
}

export interface ConvertedManifests {
  /** The equivalent config, still to be validated with the config schema. */
  readonly input: unknown;
  /** Problems found while converting; when any, `input` is incomplete. */
  readonly issues: readonly ManifestIssue[];
  /** The manifest field a path of the converted config came from. */
  readonly locate: (path: readonly PathSegment[]) => ManifestLocation | undefined;
}

export interface StreamDocument {
  readonly index: number;
  readonly value: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

interface RawManifest {
  readonly docIndex: number;
  readonly basePath: readonly PathSegment[];
  readonly value: unknown;
}

function flatten(documents: readonly StreamDocument[]): RawManifest[] {
  const out: RawManifest[] = [];
  for (const { index, value } of documents) {
    if (value === null || value === undefined) continue;
    if (
      isRecord(value) && typeof value.kind === "string" && value.kind.endsWith("List") &&
      Array.isArray(value.items)
    ) {
      value.items.forEach((item, itemIndex) =>
        out.push({ docIndex: index, basePath: ["items", itemIndex], value: item })
      );
    } else out.push({ docIndex: index, basePath: [], value });
  }
  return out;
}

function isOperatorApiVersion(value: unknown): boolean {
  return isRecord(value) && typeof value.apiVersion === "string" &&
    value.apiVersion.startsWith(OPERATOR_GROUP_PREFIX);
}

/** Whether a YAML stream holds operator manifests (any object with an `apiVersion` in the dr-syncer.io group). */
export function isOperatorManifests(documents: readonly StreamDocument[]): boolean {
  return flatten(documents).some((manifest) => isOperatorApiVersion(manifest.value));
}

const metadataSchema = z.looseObject({ name: z.string().min(1), namespace: z.string().optional() });

const remoteClusterSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    kubeconfigSecretRef: z.looseObject({
      name: z.string(),
      namespace: z.string().optional(),
      key: z.string().optional(),
    }).optional(),
    /** The original README's short form: a Secret of that name, key `kubeconfig`, in the runtime's namespace. */
    kubeconfigSecret: z.string().min(1).optional(),
    defaultSchedule: z.string().optional(),
    defaultResourceTypes: z.array(z.string()).optional(),
    pvcSync: z.looseObject({ defaultVerificationMode: z.string().optional() }).optional(),
  }),
});

const clusterMappingSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    sourceCluster: z.string(),
    targetCluster: z.string(),
    paused: z.boolean().optional(),
  }),
});

const fromToSchema = z.array(z.looseObject({ from: z.string(), to: z.string() }));

const namespaceMappingSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    paused: z.boolean().optional(),
    replicationMode: z.enum(["Scheduled", "Continuous", "Manual"]).optional(),
    clusterMappingRef: z.looseObject({ name: z.string(), namespace: z.string().optional() }).optional(),
    sourceCluster: z.string().optional(),
    destinationCluster: z.string().optional(),
    sourceNamespace: z.string().optional(),
    destinationNamespace: z.string().optional(),
    schedule: z.string().optional(),
    resourceTypes: z.array(z.string()).optional(),
    namespaceScopedResources: z.array(z.string()).optional(),
    excludeResourceTypes: z.array(z.string()).optional(),
    excludedResources: z.array(z.string()).optional(),
    scaleToZero: z.boolean().optional(),
    syncCRDs: z.boolean().optional(),
    immutableResourceConfig: z.looseObject({
      defaultHandling: z.enum([
        "NoChange",
        "Recreate",
        "RecreateWithPodDrain",
        "PartialUpdate",
        "ForceUpdate",
      ])
        .optional(),
    }).optional(),
    pvcConfig: z.looseObject({
      syncData: z.boolean().optional(),
      storageClassMappings: fromToSchema.optional(),
      accessModeMappings: fromToSchema.optional(),
      dataSyncConfig: z.looseObject({
        bandwidthLimit: z.number().int().min(0).optional(),
        verificationMode: z.string().optional(),
      }).optional(),
    }).optional(),
  }),
});

type RemoteCluster = z.output<typeof remoteClusterSchema>;
type ClusterMapping = z.output<typeof clusterMappingSchema>;
type NamespaceMapping = z.output<typeof namespaceMappingSchema>;

interface Parsed<T> {
  readonly ref: ManifestRef;
  readonly object: T;
}

const IMMUTABLE: Readonly<Record<string, ImmutablePolicy>> = {
  NoChange: "report",
  PartialUpdate: "report",
  Recreate: "recreate",
  RecreateWithPodDrain: "recreate",
  ForceUpdate: "recreate",
};

const MODES: Readonly<Record<string, ReplicationMode>> = {
  Scheduled: "scheduled",
  Continuous: "continuous",
  Manual: "manual",
};

interface SourceMapEntry {
  readonly ours: readonly PathSegment[];
  readonly at: ManifestLocation;
  /** Whether the rest of a longer path is appended to the manifest field (same structure below). */
  readonly keepRest: boolean;
}

class Converter {
  readonly issues: ManifestIssue[] = [];
  readonly entries: SourceMapEntry[] = [];

  issue(manifest: ManifestRef, field: readonly PathSegment[], message: string): void {
    this.issues.push({ at: { manifest, field }, message });
  }

  map(
    ours: readonly PathSegment[],
    manifest: ManifestRef,
    field: readonly PathSegment[],
    keepRest = false,
  ): void {
    this.entries.push({ ours, at: { manifest, field }, keepRest });
  }

  locate(path: readonly PathSegment[]): ManifestLocation | undefined {
    let best: SourceMapEntry | undefined;
    for (const entry of this.entries) {
      const matches = entry.ours.length <= path.length &&
        entry.ours.every((segment, i) => path[i] === segment);
      if (matches && (best === undefined || entry.ours.length > best.ours.length)) best = entry;
    }
    if (best === undefined) return undefined;
    if (!best.keepRest) return best.at;
    return { manifest: best.at.manifest, field: [...best.at.field, ...path.slice(best.ours.length)] };
  }
}

function labelOf(raw: RawManifest): string {
  const value = raw.value;
  const kind = isRecord(value) && typeof value.kind === "string" ? value.kind : undefined;
  const metadata = isRecord(value) && isRecord(value.metadata) ? value.metadata : undefined;
  const name = typeof metadata?.name === "string" && metadata.name !== "" ? metadata.name : undefined;
  if (kind !== undefined && name !== undefined) return `${kind}/${name}`;
  return formatPath(["documents", raw.docIndex, ...raw.basePath]);
}

function parseManifest<T extends z.ZodType>(
  converter: Converter,
  schema: T,
  raw: RawManifest,
  ref: ManifestRef,
): Parsed<z.output<T>> | undefined {
  const result = parseWith(schema, raw.value);
  if (result.issues !== undefined) {
    result.issues.forEach((issue: PathIssue) => converter.issue(ref, issue.path, issue.message));
    return undefined;
  }
  return { ref, object: result.data };
}

/** `[{from, to}]` as a mapping; a `from` given twice is an error. */
function toMap(
  converter: Converter,
  ref: ManifestRef,
  field: readonly PathSegment[],
  pairs: readonly { readonly from: string; readonly to: string }[],
  ours: readonly PathSegment[],
): Record<string, string> {
  const entries = new Map<string, string>();
  pairs.forEach((pair, index) => {
    if (entries.has(pair.from)) {
      converter.issue(ref, [...field, index, "from"], `${quote(pair.from)} is mapped twice`);
    }
    entries.set(pair.from, pair.to);
    converter.map([...ours, pair.from], ref, [...field, index]);
  });
  return Object.fromEntries(entries);
}

function findClusterMapping(
  converter: Converter,
  mappings: readonly Parsed<ClusterMapping>[],
  mapping: Parsed<NamespaceMapping>,
): Parsed<ClusterMapping> | undefined {
  const wanted = mapping.object.spec.clusterMappingRef;
  if (wanted === undefined) return undefined;
  const namespace = wanted.namespace ?? mapping.object.metadata.namespace;
  const candidates = mappings.filter((m) =>
    m.object.metadata.name === wanted.name &&
    (namespace === undefined || m.object.metadata.namespace === undefined ||
      m.object.metadata.namespace === namespace)
  );
  const [found] = candidates;
  if (candidates.length === 1 && found !== undefined) return found;
  const where = namespace === undefined ? "" : ` in namespace ${quote(namespace)}`;
  const message = candidates.length > 1
    ? `ClusterMapping ${quote(wanted.name)} is defined more than once${where}`
    : `Unknown ClusterMapping ${quote(wanted.name)}${where} (defined: ${
      quoteAll(mappings.map((m) => m.object.metadata.name)) || "none"
    })`;
  converter.issue(mapping.ref, ["spec", "clusterMappingRef", "name"], message);
  return undefined;
}

function lower(values: readonly string[]): string[] {
  return values.map((value) => value.toLowerCase());
}

function convertMapping(
  converter: Converter,
  mapping: Parsed<NamespaceMapping>,
  index: number,
  clusterMappings: readonly Parsed<ClusterMapping>[],
  remoteClusters: ReadonlyMap<string, Parsed<RemoteCluster>>,
  local: OperatorManifestOptions["local"],
): Record<string, unknown> {
  const { ref, object } = mapping;
  const spec = object.spec;
  const base: PathSegment[] = ["replications", index];
  const at = (ours: readonly PathSegment[], field: readonly PathSegment[], keepRest = false, from = ref) =>
    converter.map([...base, ...ours], from, field, keepRest);
  at([], []);
  at(["name"], ["metadata", "name"]);
  at(["destination"], spec.destinationNamespace === undefined ? ["spec"] : ["spec", "destinationNamespace"]);
  at(["source", "namespace"], ["spec", "sourceNamespace"]);
  at(["destination", "namespace"], ["spec", "destinationNamespace"]);
  at(["mode"], ["spec", "replicationMode"]);

  let sourceCluster: string | undefined;
  let destinationCluster: string | undefined;
  let paused = spec.paused === true;
  if (spec.clusterMappingRef !== undefined) {
    const clusterMapping = findClusterMapping(converter, clusterMappings, mapping);
    if (clusterMapping !== undefined) {
      const cm = clusterMapping.object.spec;
      sourceCluster = cm.sourceCluster;
      destinationCluster = cm.targetCluster;
      paused ||= cm.paused === true;
      at(["source", "cluster"], ["spec", "sourceCluster"], false, clusterMapping.ref);
      at(["destination", "cluster"], ["spec", "targetCluster"], false, clusterMapping.ref);
      const name = quote(clusterMapping.object.metadata.name);
      if (spec.sourceCluster !== undefined && spec.sourceCluster !== cm.sourceCluster) {
        converter.issue(
          ref,
          ["spec", "sourceCluster"],
          `Differs from the source cluster of ClusterMapping ${name}`,
        );
      }
      if (spec.destinationCluster !== undefined && spec.destinationCluster !== cm.targetCluster) {
        converter.issue(
          ref,
          ["spec", "destinationCluster"],
          `Differs from the target cluster of ClusterMapping ${name}`,
        );
      }
    }
  } else if (spec.sourceCluster !== undefined && spec.destinationCluster !== undefined) {
    sourceCluster = spec.sourceCluster;
    destinationCluster = spec.destinationCluster;
    at(["source", "cluster"], ["spec", "sourceCluster"]);
    at(["destination", "cluster"], ["spec", "destinationCluster"]);
  } else if (spec.destinationCluster !== undefined && spec.sourceCluster === undefined) {
    // the original's default: the source is the cluster the controller runs in
    destinationCluster = spec.destinationCluster;
    at(["destination", "cluster"], ["spec", "destinationCluster"]);
    if (local !== undefined) {
      sourceCluster = local.cluster;
      at(["source", "cluster"], ["spec", "destinationCluster"]);
    } else {
      converter.issue(
        ref,
        ["spec", "sourceCluster"],
        "Required in a file: the original DR-Syncer took the cluster it runs in; name it here, or apply the NamespaceMapping in the cluster where dr-syncer serve runs",
      );
    }
  } else {
    converter.issue(ref, ["spec"], "Needs clusterMappingRef, or sourceCluster and destinationCluster");
  }
  const remote = sourceCluster === undefined ? undefined : remoteClusters.get(sourceCluster);

  const mode = paused
    ? "manual"
    : spec.replicationMode === undefined
    ? undefined
    : MODES[spec.replicationMode];
  let schedule: string | undefined;
  if (mode !== "manual") {
    if (spec.schedule !== undefined) {
      schedule = spec.schedule;
      at(["schedule"], ["spec", "schedule"]);
      at(["pvc", "schedule"], ["spec", "schedule"]);
    } else if (remote?.object.spec.defaultSchedule !== undefined) {
      schedule = remote.object.spec.defaultSchedule;
      at(["schedule"], ["spec", "defaultSchedule"], false, remote.ref);
      at(["pvc", "schedule"], ["spec", "defaultSchedule"], false, remote.ref);
    } else at(["schedule"], ["spec", "schedule"]);
  }

  const replication: Record<string, unknown> = {
    name: object.metadata.name,
    source: { cluster: sourceCluster, namespace: spec.sourceNamespace },
    destination: {
      cluster: destinationCluster,
      ...(spec.destinationNamespace === undefined ? {} : { namespace: spec.destinationNamespace }),
    },
  };
  if (mode !== undefined) replication.mode = mode;
  if (schedule !== undefined) replication.schedule = schedule;

  // an empty list meant the default types to the operator
  const ownTypes = spec.resourceTypes?.length ? spec.resourceTypes : undefined;
  const defaultTypes = remote?.object.spec.defaultResourceTypes;
  const types = ownTypes !== undefined
    ? { values: ownTypes, from: ref, field: ["spec", "resourceTypes"] }
    : defaultTypes?.length && remote !== undefined
    ? { values: defaultTypes, from: remote.ref, field: ["spec", "defaultResourceTypes"] }
    : undefined;
  let includeCustomResources: boolean | string[] = false;
  if (types !== undefined && types.values.includes("*")) includeCustomResources = true;
  else if (types !== undefined) {
    replication.resourceTypes = lower(types.values);
    at(["resourceTypes"], types.field, true, types.from);
  }
  if (includeCustomResources !== true && spec.namespaceScopedResources !== undefined) {
    includeCustomResources = lower(spec.namespaceScopedResources);
    at(["includeCustomResources"], ["spec", "namespaceScopedResources"], true);
  }
  if (includeCustomResources !== false) replication.includeCustomResources = includeCustomResources;

  const excluded = spec.excludeResourceTypes ?? spec.excludedResources;
  if (excluded !== undefined) {
    replication.excludeResourceTypes = lower(excluded);
    const field = spec.excludeResourceTypes === undefined ? "excludedResources" : "excludeResourceTypes";
    at(["excludeResourceTypes"], ["spec", field], true);
  }
  if (spec.scaleToZero !== undefined) replication.scaleToZero = spec.scaleToZero;
  if (spec.syncCRDs !== undefined) replication.syncCRDs = spec.syncCRDs;
  const handling = spec.immutableResourceConfig?.defaultHandling;
  if (handling !== undefined) replication.immutable = IMMUTABLE[handling];

  const pvcConfig = spec.pvcConfig;
  if (pvcConfig !== undefined) {
    const pvcField = ["spec", "pvcConfig"];
    if (pvcConfig.storageClassMappings !== undefined) {
      const field = [...pvcField, "storageClassMappings"];
      at(["storageClassMap"], field);
      replication.storageClassMap = toMap(converter, ref, field, pvcConfig.storageClassMappings, [
        ...base,
        "storageClassMap",
      ]);
    }
    if (pvcConfig.accessModeMappings !== undefined) {
      const field = [...pvcField, "accessModeMappings"];
      at(["accessModeMap"], field);
      replication.accessModeMap = toMap(converter, ref, field, pvcConfig.accessModeMappings, [
        ...base,
        "accessModeMap",
      ]);
    }
    const enabled = pvcConfig.syncData === true;
    const data = pvcConfig.dataSyncConfig;
    const pvc: Record<string, unknown> = { enabled };
    at(["pvc"], pvcField);
    at(["pvc", "enabled"], [...pvcField, "syncData"]);
    if (enabled && schedule !== undefined) pvc.schedule = schedule;
    if (data?.bandwidthLimit !== undefined && data.bandwidthLimit > 0) {
      pvc.bandwidthLimit = data.bandwidthLimit;
      at(["pvc", "bandwidthLimit"], [...pvcField, "dataSyncConfig", "bandwidthLimit"]);
    }
    const defaultVerify = remote?.object.spec.pvcSync?.defaultVerificationMode;
    if (data?.verificationMode !== undefined) {
      pvc.verify = data.verificationMode;
      at(["pvc", "verify"], [...pvcField, "dataSyncConfig", "verificationMode"]);
    } else if (defaultVerify !== undefined && remote !== undefined) {
      pvc.verify = defaultVerify;
      at(["pvc", "verify"], ["spec", "pvcSync", "defaultVerificationMode"], false, remote.ref);
    }
    replication.pvc = pvc;
  }
  return replication;
}

function convertRemoteCluster(
  converter: Converter,
  cluster: Parsed<RemoteCluster>,
  index: number,
  options: OperatorManifestOptions,
): unknown {
  const { ref, object } = cluster;
  const { kubeconfigSecretRef: secretRef, kubeconfigSecret } = object.spec;
  converter.map(["clusters", index], ref, []);
  converter.map(["clusters", index, "name"], ref, ["metadata", "name"]);
  if (object.metadata.name === options.local?.cluster) {
    converter.issue(
      ref,
      ["metadata", "name"],
      `${
        quote(object.metadata.name)
      } names the cluster the runtime runs in: give the RemoteCluster another name`,
    );
  }
  if ((secretRef === undefined) === (kubeconfigSecret === undefined)) {
    converter.issue(ref, ["spec"], 'Needs exactly one of "kubeconfigSecretRef" and "kubeconfigSecret"');
    return { name: object.metadata.name };
  }
  const field = secretRef !== undefined ? ["spec", "kubeconfigSecretRef"] : ["spec", "kubeconfigSecret"];
  // the short form's Secret is in the runtime's namespace (the original's), else the RemoteCluster's own
  const namespace = secretRef?.namespace ??
    (secretRef === undefined ? options.local?.namespace : undefined) ??
    object.metadata.namespace;
  if (namespace === undefined) {
    converter.issue(
      ref,
      secretRef !== undefined ? [...field, "namespace"] : field,
      "The Secret's namespace is unknown: the RemoteCluster has no namespace to default to",
    );
  }
  converter.map(["clusters", index, "kubeconfig"], ref, field);
  converter.map(["clusters", index, "kubeconfig", "secret"], ref, field, secretRef !== undefined);
  return {
    name: object.metadata.name,
    kubeconfig: {
      secret: { name: secretRef?.name ?? kubeconfigSecret, namespace, key: secretRef?.key ?? "kubeconfig" },
    },
  };
}

/** What the conversion knows of where it runs. */
export interface OperatorManifestOptions {
  /**
   * The cluster the runtime runs in (live objects): its name in the config, the source of a
   * NamespaceMapping that names none (the original's default), and the namespace where a RemoteCluster's
   * `kubeconfigSecret: NAME` is found.
   */
  readonly local?: { readonly cluster: string; readonly namespace: string } | undefined;
}

/** Converts operator manifests to the equivalent config input (see the mapping above). */
export function convertOperatorManifests(
  documents: readonly StreamDocument[],
  options: OperatorManifestOptions = {},
): ConvertedManifests {
  const converter = new Converter();
  const remoteClusters: Parsed<RemoteCluster>[] = [];
  const clusterMappings: Parsed<ClusterMapping>[] = [];
  const namespaceMappings: Parsed<NamespaceMapping>[] = [];

  for (const raw of flatten(documents)) {
    const ref: ManifestRef = { label: labelOf(raw), docIndex: raw.docIndex, basePath: raw.basePath };
    if (!isRecord(raw.value)) {
      converter.issue(ref, [], "Expected a Kubernetes object (a mapping with apiVersion and kind)");
      continue;
    }
    if (!isOperatorApiVersion(raw.value)) continue;
    if (raw.value.apiVersion !== OPERATOR_API_VERSION) {
      converter.issue(
        ref,
        ["apiVersion"],
        `Unsupported version ${quote(raw.value.apiVersion)}: expected ${quote(OPERATOR_API_VERSION)}`,
      );
      continue;
    }
    switch (raw.value.kind) {
      case "RemoteCluster": {
        const parsed = parseManifest(converter, remoteClusterSchema, raw, ref);
        if (parsed !== undefined) remoteClusters.push(parsed);
        break;
      }
      case "ClusterMapping": {
        const parsed = parseManifest(converter, clusterMappingSchema, raw, ref);
        if (parsed !== undefined) clusterMappings.push(parsed);
        break;
      }
      case "NamespaceMapping":
      case "Replication": {
        const parsed = parseManifest(converter, namespaceMappingSchema, raw, ref);
        if (parsed !== undefined) namespaceMappings.push(parsed);
        break;
      }
      default:
        converter.issue(
          ref,
          ["kind"],
          `Unsupported kind ${quote(raw.value.kind)}: expected one of ${quoteAll(SUPPORTED_KINDS)}`,
        );
    }
  }
  if (remoteClusters.length === 0 && converter.issues.length === 0 && options.local === undefined) {
    const first = namespaceMappings[0]?.ref ?? clusterMappings[0]?.ref;
    if (first !== undefined) {
      converter.issue(first, [], "No RemoteCluster is defined: every cluster needs one");
    }
  }

  const clusters: unknown[] = remoteClusters.map((cluster, index) =>
    convertRemoteCluster(converter, cluster, index, options)
  );
  if (options.local !== undefined) {
    clusters.push({ name: options.local.cluster, kubeconfig: { inCluster: true } });
  }
  const byName = new Map(remoteClusters.map((cluster) => [cluster.object.metadata.name, cluster]));
  const replications = namespaceMappings.map((mapping, index) =>
    convertMapping(converter, mapping, index, clusterMappings, byName, options.local)
  );
  return {
    input: { clusters, replications },
    issues: converter.issues,
    locate: (path) => converter.locate(path),
  };
}
