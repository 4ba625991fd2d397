/**
 * What `dr-syncer render` prints and `dr-syncer deploy` applies, per cluster (pure): the agents in every
 * cluster of the config; the runtime's ServiceAccount and RBAC in every cluster it reaches; the runtime
 * itself (config, Deployment and Service, or a CronJob per schedule job) in `runtime.cluster`, and there, with
 * the Deployment, the CRDs of the original DR-Syncer's API (`operator_crds.ts`), whose objects the runtime
 * watches. Objects come in a stable order: CRDs, namespaces, accounts, secrets, config, RBAC, workloads.
 *
 * Left out, because they hold credentials or keys that only deploy can make: the agent's host-key Secret and
 * the ConfigMap that publishes its public key, the kubeconfig Secrets of the other clusters and the tokens
 * Secret (see docs/deploy.md). The runtime's rights name every type; custom types that only a cluster's
 * discovery can name (`includeCustomResources: true`, bare custom names) need `RenderOptions.served`, which
 * deploy reads from the clusters: without it such a config is refused (`NeedsDiscoveryError`).
 */
import { stringify } from "yaml";
import { InvalidInputError } from "../shared/errors.ts";
import type { Config } from "../shared/config/config_schema.ts";
import type { KubeObject } from "../shared/kube/types.ts";
import {
  agentAuthorizedKeysSecret,
  agentDaemonSet,
  agentNamespace,
  agentServiceAccount,
} from "./agent_templates.ts";
import { CLUSTERS_DIR, TOKENS_DIR } from "./names.ts";
import { operatorCrds } from "./operator_crds.ts";
import { type RbacOptions, rightsReplications, runtimeRbac } from "./runtime_rbac.ts";
import { scheduleJobs } from "./schedule_jobs.ts";
import {
  namespace,
  runtimeClusterRole,
  runtimeClusterRoleBinding,
  runtimeConfigMap,
  runtimeCronJob,
  runtimeDeployment,
  type RuntimeMounts,
  runtimeRole,
  runtimeRoleBinding,
  runtimeService,
  runtimeServiceAccount,
  runtimeTokenSecret,
} from "./runtime_templates.ts";

/**
 * The cluster the runtime runs in: `runtime.cluster`, else the one destination cluster of the replications
 * (the DR side: it must keep running when the source is lost).
 */
export function runtimeClusterOf(config: Config): string {
  if (config.runtime.cluster !== undefined) return config.runtime.cluster;
  const destinations = [...new Set(config.replications.map((r) => r.destination.cluster))].sort();
  if (destinations.length === 1) return destinations[0]!;
  if (destinations.length === 0) {
    throw new InvalidInputError(
      "runtime.cluster: the config has no replication whose destination would say where the runtime runs: set runtime.cluster",
    );
  }
  throw new InvalidInputError(
    `runtime.cluster: the replications go to several clusters (${
      destinations.map((d) => `"${d}"`).join(", ")
    }): set runtime.cluster to the one the runtime runs in`,
  );
}

/**
 * What render and deploy refuse before anything else: a runtime cluster that cannot be decided, another
 * cluster read `inCluster` (that is the runtime's own), and a replication of the agents' namespace (the
 * runtime's rights there would reach the agents' host private key).
 */
export function checkDeployable(config: Config): void {
  const local = runtimeClusterOf(config);
  for (const c of config.clusters) {
    if (c.name === local || !("inCluster" in c.kubeconfig)) continue;
    throw new InvalidInputError(
      `clusters: "${c.name}" is read inCluster, which is the cluster the runtime runs in ("${local}"): give it a kubeconfig`,
    );
  }
  config.replications.forEach((r, index) => {
    for (const side of ["source", "destination"] as const) {
      if (r[side].namespace !== config.agent.namespace) continue;
      throw new InvalidInputError(
        `replications[${index}] "${r.name}": its ${side} namespace "${
          r[side].namespace
        }" is agent.namespace, which holds the agents' host private key: the runtime's rights to copy it would reach that key; replicate another namespace, or set agent.namespace`,
      );
    }
  });
}

/**
 * The clusters whose kubeconfig deploy writes for the runtime: every other cluster not read from a Secret (nor
 * `inCluster`, which only the runtime's own cluster may be).
 */
export function remoteClusters(config: Config): string[] {
  const local = runtimeClusterOf(config);
  const own = (c: Config["clusters"][number]) => "secret" in c.kubeconfig || "inCluster" in c.kubeconfig;
  return config.clusters.filter((c) => c.name !== local && !own(c)).map((c) => c.name);
}

/** The tokens deploy copies into the tokens Secret (those not read from a Secret already). */
export function copiedTokens(config: Config): string[] {
  return config.tokens.filter((t) => !("secret" in t.value)).map((t) => t.name);
}

/** A kubeconfig with a ServiceAccount token (`caData`: the CA bundle, base64) (what deploy writes for the runtime to reach another cluster). */
export function tokenKubeconfig(cluster: string, server: string, caData: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: cluster,
      cluster: { server, "certificate-authority-data": caData },
    }],
    users: [{ name: "dr-syncer-runtime", user: { token } }],
    contexts: [{ name: cluster, context: { cluster, user: "dr-syncer-runtime" } }],
    "current-context": cluster,
  });
}

/**
 * The config file as the runtime's pod reads it: the same replications, with every credential pointing at
 * what the pod has (its own cluster `inCluster`: its ServiceAccount and `KUBERNETES_SERVICE_HOST`; the other
 * clusters' kubeconfigs and the copied tokens as mounted files; Secret sources as they are).
 */
export function runtimeConfigFile(config: Config): string {
  const local = runtimeClusterOf(config);
  const remote = new Set(remoteClusters(config));
  // a cluster keeps what its kubeconfig may do (allowExec, allowFileReferences: a Secret's kubeconfig needs them)
  const clusters = config.clusters.map((c) => ({
    ...c,
    kubeconfig: c.name === local
      ? { inCluster: true as const }
      : remote.has(c.name)
      ? { path: `${CLUSTERS_DIR}/${c.name}/kubeconfig` }
      : c.kubeconfig,
  }));
  const tokens = config.tokens.map((t) => ({
    ...t,
    value: "secret" in t.value ? t.value : { path: `${TOKENS_DIR}/${t.name}` },
  }));
  const file = {
    clusters,
    tokens,
    replications: config.replications,
    agent: config.agent,
    runtime: { ...config.runtime, cluster: local },
  };
  return `# written by dr-syncer deploy from the deployed config; credentials point at the pod's files\n${
    stringify(file)
  }`;
}

const KIND_ORDER = [
  "CustomResourceDefinition",
  "Namespace",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "DaemonSet",
  "Deployment",
  "Service",
  "CronJob",
];

/** Sorts objects by kind (the order above), namespace and name. */
export function sortObjects(objects: readonly KubeObject[]): KubeObject[] {
  const rank = (o: KubeObject) => {
    const i = KIND_ORDER.indexOf(o.kind);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return [...objects].sort((a, b) =>
    rank(a) - rank(b) ||
    (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
    a.metadata.name.localeCompare(b.metadata.name)
  );
}

/** The clusters the config names, each with its objects. */
export interface RenderedCluster {
  readonly cluster: string;
  /** Whether the runtime runs here. */
  readonly runtime: boolean;
  readonly objects: KubeObject[];
}

/** What render knows besides the config: the types the clusters' discovery reports (deploy reads them). */
export type RenderOptions = RbacOptions;

/** The objects of one cluster. */
export function renderCluster(config: Config, cluster: string, options: RenderOptions = {}): RenderedCluster {
  if (!config.clusters.some((c) => c.name === cluster)) {
    throw new InvalidInputError(
      `Unknown cluster "${cluster}" (configured clusters: ${
        config.clusters.map((c) => `"${c.name}"`).join(", ")
      })`,
    );
  }
  checkDeployable(config);
  const local = runtimeClusterOf(config);
  const isLocal = cluster === local;
  const settings = config.runtime;
  const objects: KubeObject[] = [
    agentNamespace(config.agent),
    agentServiceAccount(config.agent),
    agentAuthorizedKeysSecret(config.agent),
    agentDaemonSet(config.agent),
  ];
  const namespaces = new Map<string, KubeObject>([[config.agent.namespace, objects[0]!]]);
  const addNamespace = (object: KubeObject) => {
    if (!namespaces.has(object.metadata.name)) {
      namespaces.set(object.metadata.name, object);
      objects.push(object);
    }
  };
  addNamespace(namespace(settings.namespace, "runtime"));
  const replications = rightsReplications(config, options);
  for (const r of replications) {
    if (r.destination.cluster === cluster) addNamespace(namespace(r.destination.namespace, "destination"));
  }
  for (const r of replications) {
    if (r.source.cluster === cluster) addNamespace(namespace(r.source.namespace, "source"));
  }
  objects.push(runtimeServiceAccount(settings, isLocal));
  if (!isLocal) objects.push(runtimeTokenSecret(settings));
  const rbac = runtimeRbac(config, cluster, local, options);
  if (rbac.cluster.length > 0) {
    objects.push(runtimeClusterRole(settings, rbac.cluster), runtimeClusterRoleBinding(settings));
  }
  for (const [ns, rules] of rbac.namespaces) {
    objects.push(runtimeRole(settings, ns, rules), runtimeRoleBinding(settings, ns));
  }
  if (isLocal) {
    const mounts: RuntimeMounts = {
      remoteClusters: remoteClusters(config),
      tokens: copiedTokens(config).length > 0,
    };
    objects.push(runtimeConfigMap(settings, { "config.yaml": runtimeConfigFile(config) }));
    if (settings.cronJobs) {
      // the CronJob form runs the schedule jobs of the config file only: nothing would act on the original
      // API's objects
      for (const job of scheduleJobs(config.replications)) {
        objects.push(runtimeCronJob(settings, job, mounts));
      }
    } else {
      objects.push(...operatorCrds(), runtimeDeployment(settings, mounts), runtimeService(settings));
    }
  }
  return { cluster, runtime: isLocal, objects: sortObjects(objects) };
}

/**
 * What render and deploy tell the user besides the objects: in the CronJob form, that a continuous
 * replication has no watcher (only its schedule's full stage runs) and that the replications without a
 * schedule job get no rights.
 */
export function renderNotes(config: Config): string[] {
  if (!config.runtime.cronJobs) return [];
  const jobs = scheduleJobs(config.replications);
  return config.replications.flatMap((r) => {
    if (r.mode === "continuous") {
      const stage = jobs.find((j) => j.replication === r.name && j.operation === "stage")!;
      return [
        `replication "${r.name}" is continuous, but the CronJob form (runtime.cronJobs: true) has no watcher: it is staged in full on its schedule only ("${stage.schedule}", UTC); run the Deployment for continuous sync`,
      ];
    }
    if (!jobs.some((j) => j.replication === r.name)) {
      return [
        `replication "${r.name}" has no schedule, and the CronJob form (runtime.cronJobs: true) runs schedules only: the runtime gets no rights for it`,
      ];
    }
    return [];
  });
}

/** Every cluster of the config (or only `cluster`), in the config's order. */
export function renderConfig(
  config: Config,
  cluster?: string,
  options: RenderOptions = {},
): RenderedCluster[] {
  const names = cluster === undefined ? config.clusters.map((c) => c.name) : [cluster];
  return names.map((name) => renderCluster(config, name, options));
}

/** Multi-document YAML, one object per document, each headed by a comment naming its cluster. */
export function renderYaml(rendered: readonly RenderedCluster[]): string {
  return rendered.flatMap((r) =>
    r.objects.map((o) => `# cluster: ${r.cluster}\n${stringify(o, { lineWidth: 0 })}`)
  ).join("---\n");
}
