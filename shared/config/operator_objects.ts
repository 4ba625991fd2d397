/**
 * The original operator's objects as they live in a cluster (RemoteCluster, ClusterMapping,
 * NamespaceMapping), turned into clusters and replications object by object: one bad object is
 * reported on itself (why, with the field) and leaves the others running, where a file is valid or not
 * as a whole. A replication or cluster the config file defines wins over an object of the same name, and
 * two mappings that write to one namespace leave the later one out. Pure.
 */
import type { Cluster, Config, Replication } from "./config_schema.ts";
import {
  convertOperatorManifests,
  OPERATOR_API_VERSION,
  type OperatorManifestOptions,
} from "./_operator_manifests.ts";
import { formatPath, quote } from "./_text.ts";
import { type ConfigOptions, configSchemaOf, validateConfig } from "./_validate.ts";

/** An object as listed from the cluster: `kind`, `metadata.{name, namespace, uid, generation}`, `spec`. */
export interface OperatorObject {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
}

/** What became of one object. */
export interface OperatorObjectResult {
  readonly object: OperatorObject;
  /** `undefined` when it is in use; else why not (field and problem). */
  readonly problem?: string;
  /** A NamespaceMapping's replication (same name), when valid. */
  readonly replication?: Replication;
  /** A RemoteCluster's cluster (same name), when valid. */
  readonly cluster?: Cluster;
}

export interface OperatorConfig {
  readonly clusters: readonly Cluster[];
  readonly replications: readonly Replication[];
  /** One result per object, in the order given. */
  readonly results: readonly OperatorObjectResult[];
}

/** `Kind/namespace/name`: an object's key. */
export function operatorObjectKey(object: Pick<OperatorObject, "kind" | "metadata">): string {
  return `${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function problemOf(
  issues: readonly { readonly path: string; readonly message: string }[],
): string | undefined {
  if (issues.length === 0) return undefined;
  return issues.slice(0, 5).map((i) => i.path === "" ? i.message : `${i.path}: ${i.message}`).join("; ");
}

/** The conversion's issues of one object (its label is `Kind/name`), with paths inside it. */
function issuesOf(
  converted: ReturnType<typeof convertOperatorManifests>,
  docIndex: number,
): { path: string; message: string }[] {
  return converted.issues
    .filter((issue) => issue.at.manifest.docIndex === docIndex)
    .map((issue) => ({ path: formatPath(issue.at.field), message: issue.message }));
}

/**
 * The clusters and replications of `objects`, each object checked on its own, then against the file's
 * `base` config (names it defines win) and the others (one destination per namespace).
 */
export function configFromOperatorObjects(
  objects: readonly OperatorObject[],
  base: Config,
  options: OperatorManifestOptions & ConfigOptions,
): OperatorConfig {
  const results = new Map<OperatorObject, OperatorObjectResult>(objects.map((o) => [o, { object: o }]));
  const fail = (object: OperatorObject, problem: string) => results.set(object, { object, problem });
  // objects listed from a cluster carry their apiVersion; one handed in without it is of the same group
  const docs = (list: readonly OperatorObject[]) =>
    list.map((value, index) => ({ index, value: { apiVersion: OPERATOR_API_VERSION, ...value } }));
  const ofKind = (...kinds: string[]) => objects.filter((o) => kinds.includes(o.kind));
  const clusterSchema = configSchemaOf(options).shape.clusters.element;
  const baseClusters = new Set(base.clusters.map((c) => c.name));
  const baseReplications = new Set(base.replications.map((r) => r.name));

  // RemoteClusters, each alone
  const clusters: Cluster[] = [];
  const goodRemotes: OperatorObject[] = [];
  for (const remote of ofKind("RemoteCluster")) {
    const converted = convertOperatorManifests(docs([remote]), options);
    const problem = problemOf(issuesOf(converted, 0));
    if (problem !== undefined) {
      fail(remote, problem);
      continue;
    }
    const input = (converted.input as { clusters: unknown[] }).clusters[0];
    const parsed = clusterSchema.safeParse(input);
    if (!parsed.success) {
      fail(
        remote,
        problemOf(parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })))!,
      );
      continue;
    }
    const name = parsed.data.name;
    if (baseClusters.has(name) || clusters.some((c) => c.name === name)) {
      fail(
        remote,
        `A cluster named ${quote(name)} is already defined (${
          baseClusters.has(name) ? "in the config file" : "by another RemoteCluster"
        })`,
      );
      continue;
    }
    clusters.push(parsed.data);
    goodRemotes.push(remote);
    results.set(remote, { object: remote, cluster: parsed.data });
  }
  const knownClusters = new Set([
    ...baseClusters,
    ...clusters.map((c) => c.name),
    ...(options.local ? [options.local.cluster] : []),
  ]);

  // ClusterMappings: their clusters must exist
  const goodMappings: OperatorObject[] = [];
  for (const mapping of ofKind("ClusterMapping")) {
    const spec = mapping.spec as { sourceCluster?: unknown; targetCluster?: unknown } | undefined;
    const unknown = [spec?.sourceCluster, spec?.targetCluster].filter((c) =>
      typeof c !== "string" || !knownClusters.has(c)
    );
    if (unknown.length > 0) {
      fail(mapping, `spec: unknown cluster ${unknown.map(quote).join(", ")} (no RemoteCluster of that name)`);
    } else goodMappings.push(mapping);
  }

  // NamespaceMappings, each with the good clusters and mappings
  const replications: Replication[] = [];
  const allClusters = [...base.clusters, ...clusters];
  const local = options.local && !baseClusters.has(options.local.cluster)
    ? [{ name: options.local.cluster, kubeconfig: { inCluster: true } }]
    : [];
  for (const mapping of ofKind("NamespaceMapping", "Replication")) {
    const set = [...goodRemotes, ...goodMappings, mapping];
    const converted = convertOperatorManifests(docs(set), options);
    const problem = problemOf(issuesOf(converted, set.length - 1));
    if (problem !== undefined) {
      fail(mapping, problem);
      continue;
    }
    const replication = (converted.input as { replications: unknown[] }).replications[0];
    const checked = validateConfig(
      { clusters: [...allClusters, ...local], replications: [replication] },
      options,
    );
    if (checked.issues !== undefined) {
      const mine = checked.issues.map((i) => ({
        path: formatPath(i.path.slice(2)),
        message: i.message,
      }));
      fail(mapping, problemOf(mine)!);
      continue;
    }
    const [parsed] = checked.data.replications;
    if (parsed === undefined) continue;
    if (baseReplications.has(parsed.name) || replications.some((r) => r.name === parsed.name)) {
      fail(
        mapping,
        `A replication named ${quote(parsed.name)} is already defined (${
          baseReplications.has(parsed.name) ? "in the config file" : "by another NamespaceMapping"
        }): rename it`,
      );
      continue;
    }
    const clash = [...base.replications, ...replications].find((r) =>
      r.destination.cluster === parsed.destination.cluster &&
      r.destination.namespace === parsed.destination.namespace
    );
    if (clash !== undefined) {
      fail(
        mapping,
        `Same destination as replication ${quote(clash.name)} (cluster ${
          quote(parsed.destination.cluster)
        }, namespace ${quote(parsed.destination.namespace)}): two replications cannot write to one namespace`,
      );
      continue;
    }
    replications.push(parsed);
    results.set(mapping, { object: mapping, replication: parsed });
  }
  const usesLocal = replications.some((r) =>
    r.source.cluster === options.local?.cluster || r.destination.cluster === options.local?.cluster
  );
  const localCluster = usesLocal && options.local && !baseClusters.has(options.local.cluster)
    ? clusterSchema.parse({ name: options.local.cluster, kubeconfig: { inCluster: true } })
    : undefined;
  return {
    clusters: localCluster ? [...clusters, localCluster] : clusters,
    replications,
    results: objects.map((o) => results.get(o)!),
  };
}
