import { findReplication, loadConfigFile, type Replication } from "../../shared/config/mod.ts";
import { type ReplicationSpec, replicationSpec } from "../../shared/sync/replication_spec.ts";
import { describeKubeconfigSource } from "../../shared/kube/load_kube_config.ts";
import type { ResolvedReplication } from "./run_cli.ts";

/** The engine's view of a configured replication. */
export function specFromConfig(r: Replication): ReplicationSpec {
  return replicationSpec({
    name: r.name,
    sourceCluster: r.source.cluster,
    sourceNamespace: r.source.namespace,
    destCluster: r.destination.cluster,
    destNamespace: r.destination.namespace,
    ...(r.resourceTypes ? { resourceTypes: r.resourceTypes } : {}),
    excludeResourceTypes: r.excludeResourceTypes,
    includeCustomResources: r.includeCustomResources,
    syncCRDs: r.syncCRDs,
    scaleToZero: r.scaleToZero,
    prune: r.prune,
    immutable: r.immutable,
    preserveNodePorts: r.preserveNodePorts,
    storageClassMap: r.storageClassMap,
    accessModeMap: r.accessModeMap,
    ingressHostMap: r.ingressHostMap,
    ingressClassMap: r.ingressClassMap,
  });
}

/** Loads the config file and returns the named replication with its clusters' credential sources. */
export async function resolveFromConfig(
  path: string,
  name: string,
  _env: (name: string) => string | undefined,
): Promise<ResolvedReplication> {
  const config = await loadConfigFile(path);
  const replication = findReplication(config, name);
  const cluster = (n: string) => config.clusters.find((c) => c.name === n)!.kubeconfig;
  return {
    spec: specFromConfig(replication),
    source: cluster(replication.source.cluster),
    dest: cluster(replication.destination.cluster),
  };
}

/** Checks a config file; returns a summary of what it defines. */
export async function validateConfigFile(
  path: string,
  _env: (name: string) => string | undefined,
): Promise<string> {
  const config = await loadConfigFile(path);
  const lines = [`${path}: valid`];
  for (const c of config.clusters) {
    lines.push(`  cluster ${c.name}: kubeconfig from ${describeKubeconfigSource(c.kubeconfig)}`);
  }
  for (const r of config.replications) {
    const when = r.mode === "scheduled" ? `scheduled "${r.schedule}"` : r.mode;
    lines.push(
      `  replication ${r.name}: ${r.source.cluster}/${r.source.namespace} -> ${r.destination.cluster}/${r.destination.namespace} (${when})`,
    );
  }
  return lines.join("\n");
}
