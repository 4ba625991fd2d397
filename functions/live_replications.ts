/**
 * The replications of the original DR-Syncer's objects (`dr-syncer.io/v1alpha1`: RemoteCluster,
 * ClusterMapping, NamespaceMapping) in the runtime's namespace of its cluster, converted as `serve` converts
 * them (`configFromOperatorObjects`), for deploy to grant them the rights it grants the config's own: a
 * mapping applied before a deploy is then not refused by the API server. Read with the deployer's kubeconfig;
 * none while the API is not served (a first deploy installs the CRDs) and none for the CronJob form, which
 * does not read these objects.
 */
import { configFromOperatorObjects, type OperatorObject } from "../shared/config/operator_objects.ts";
import { OPERATOR_GROUP, OPERATOR_KINDS, OPERATOR_VERSION } from "../shared/config/operator_names.ts";
import type { Config } from "../shared/config/config_schema.ts";
import { isNotFound } from "../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../shared/kube/kube_client.ts";
import { listObjects } from "../shared/kube/verbs.ts";
import { runtimeClusterOf } from "../infra/render.ts";
import type { LiveReplications } from "../infra/runtime_rbac.ts";

/** One object read: the replication it gives, or why it gives none. */
export interface LiveObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** A NamespaceMapping's replication, granted rights. */
  readonly replication?: string;
  /** Why the object is left out (the runtime reports the same in its status). */
  readonly problem?: string;
}

export interface LiveReplicationsRead extends LiveReplications {
  /** Whether the cluster serves the API (`false`: its CRDs are not installed yet; nothing read). */
  readonly served: boolean;
  readonly objects: readonly LiveObject[];
  /** What the user should know: a side deploy cannot reach. */
  readonly notes: readonly string[];
}

const NONE: LiveReplicationsRead = { served: false, replications: [], secrets: [], objects: [], notes: [] };

/** Reads and converts the objects in `config.runtime.namespace` of the runtime's cluster (`client`). */
export async function readLiveReplications(
  config: Config,
  client: KubeClient,
): Promise<LiveReplicationsRead> {
  if (config.runtime.cronJobs) return NONE;
  const namespace = config.runtime.namespace;
  const lists = await Promise.all(OPERATOR_KINDS.map(async (kind) => {
    try {
      const type = {
        group: OPERATOR_GROUP,
        version: OPERATOR_VERSION,
        resource: kind.plural,
        kind: kind.kind,
        namespaced: true,
      };
      const items = await listObjects(client, type, namespace);
      return items.map((item): OperatorObject => ({ ...item, kind: kind.kind }) as OperatorObject);
    } catch (error) {
      if (isNotFound(error)) return undefined; // the API is not served (yet)
      throw error;
    }
  }));
  if (lists.some((list) => list === undefined)) return NONE;
  const local = runtimeClusterOf(config);
  const converted = configFromOperatorObjects(lists.flat() as OperatorObject[], config, {
    local: { cluster: local, namespace },
  });
  const configured = new Set(config.clusters.map((c) => c.name));
  const remotes = new Map(converted.clusters.map((c) => [c.name, c]));
  const secrets = new Map<string, { name: string; namespace: string }>();
  const notes: string[] = [];
  for (const r of converted.replications) {
    for (const side of new Set([r.source.cluster, r.destination.cluster])) {
      if (configured.has(side)) continue;
      const remote = remotes.get(side);
      if (remote && "secret" in remote.kubeconfig) {
        const ref = remote.kubeconfig.secret;
        secrets.set(`${ref.namespace}/${ref.name}`, { name: ref.name, namespace: ref.namespace });
      }
      notes.push(
        `replication "${r.name}" (NamespaceMapping ${namespace}/${r.name}): cluster "${side}" is a RemoteCluster, not a cluster of the config: deploy installs nothing there, and the runtime has the rights of its kubeconfig`,
      );
    }
  }
  const objects = converted.results.map((result): LiveObject => ({
    kind: result.object.kind,
    namespace: result.object.metadata.namespace ?? namespace,
    name: result.object.metadata.name,
    ...(result.replication ? { replication: result.replication.name } : {}),
    ...(result.problem !== undefined ? { problem: result.problem } : {}),
  }));
  return {
    served: true,
    replications: converted.replications,
    secrets: [...secrets.values()],
    objects,
    notes,
  };
}
