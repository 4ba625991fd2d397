/**
 * The rights the runtime's ServiceAccount gets in each cluster, derived from what the engine calls for the
 * replications of the config (pure). Two kinds of objects:
 *
 * - one Role per replicated namespace (a replication's source namespace in its source cluster, its DR
 *   namespace in its destination cluster), with the replicated types and what the operations touch there;
 * - one ClusterRole for what has no namespace: `namespaces` by name, StorageClasses, PersistentVolumes,
 *   CustomResourceDefinitions (with `syncCRDs`).
 *
 * Rules are collected per (group, resource) and merged into one rule per verb set, sorted, so the output
 * is stable.
 */
import { AUTHORIZED_KEYS_SECRET, HOST_KEY_SECRET } from "../shared/pvc/agent_names.ts";
import { DEFAULT_RESOURCE_TYPES } from "../shared/plan/default_resource_types.ts";
import type { Config, Replication } from "../shared/config/config_schema.ts";

export interface PolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly resourceNames?: string[];
  readonly verbs: string[];
}

/** Built-in namespaced types by every name a config may give them (plural, singular, kind, short names). */
const BUILT_IN: readonly { group: string; resource: string; aliases: readonly string[] }[] = [
  { group: "", resource: "configmaps", aliases: ["configmap", "cm"] },
  { group: "", resource: "secrets", aliases: ["secret"] },
  { group: "", resource: "serviceaccounts", aliases: ["serviceaccount", "sa"] },
  { group: "", resource: "services", aliases: ["service", "svc"] },
  { group: "", resource: "persistentvolumeclaims", aliases: ["persistentvolumeclaim", "pvc"] },
  { group: "", resource: "pods", aliases: ["pod", "po"] },
  { group: "", resource: "endpoints", aliases: ["endpoint", "ep"] },
  { group: "", resource: "limitranges", aliases: ["limitrange", "limits"] },
  { group: "", resource: "resourcequotas", aliases: ["resourcequota", "quota"] },
  { group: "", resource: "podtemplates", aliases: ["podtemplate"] },
  { group: "", resource: "replicationcontrollers", aliases: ["replicationcontroller", "rc"] },
  { group: "apps", resource: "deployments", aliases: ["deployment", "deploy"] },
  { group: "apps", resource: "statefulsets", aliases: ["statefulset", "sts"] },
  { group: "apps", resource: "daemonsets", aliases: ["daemonset", "ds"] },
  { group: "apps", resource: "replicasets", aliases: ["replicaset", "rs"] },
  { group: "apps", resource: "controllerrevisions", aliases: ["controllerrevision"] },
  { group: "batch", resource: "cronjobs", aliases: ["cronjob", "cj"] },
  { group: "batch", resource: "jobs", aliases: ["job"] },
  { group: "autoscaling", resource: "horizontalpodautoscalers", aliases: ["horizontalpodautoscaler", "hpa"] },
  { group: "policy", resource: "poddisruptionbudgets", aliases: ["poddisruptionbudget", "pdb"] },
  { group: "networking.k8s.io", resource: "ingresses", aliases: ["ingress", "ing"] },
  { group: "networking.k8s.io", resource: "networkpolicies", aliases: ["networkpolicy", "netpol"] },
  { group: "rbac.authorization.k8s.io", resource: "roles", aliases: ["role"] },
  { group: "rbac.authorization.k8s.io", resource: "rolebindings", aliases: ["rolebinding"] },
  { group: "discovery.k8s.io", resource: "endpointslices", aliases: ["endpointslice"] },
  { group: "coordination.k8s.io", resource: "leases", aliases: ["lease"] },
];

/** A resource type as RBAC names it; `group: "*"` when a bare name is not a built-in type. */
export interface RbacType {
  readonly group: string;
  readonly resource: string;
}

/**
 * The RBAC type of a name as a config writes it. Built-in names resolve through the table above; a
 * `resource.group` name gives its group; any other bare name (a custom type's plural) matches that resource
 * in every group, since which group serves it is only known to the cluster's discovery.
 */
export function rbacType(name: string): RbacType {
  const lower = name.toLowerCase();
  for (const type of BUILT_IN) {
    const qualified = type.group === "" ? type.resource : `${type.resource}.${type.group}`;
    if (
      lower === type.resource || lower === qualified || type.aliases.includes(lower) ||
      lower === `${type.resource}.${type.group}`
    ) return { group: type.group, resource: type.resource };
  }
  const dot = lower.indexOf(".");
  if (dot > 0) return { group: lower.slice(dot + 1), resource: lower.slice(0, dot) };
  return { group: "*", resource: lower };
}

const key = (t: RbacType) => `${t.group}|${t.resource}`;

/** The types a replication copies: its list (or the defaults), its custom types, minus its exclusions. */
export function replicatedTypes(replication: Replication): { types: RbacType[]; allCustom: boolean } {
  const names = [...(replication.resourceTypes ?? DEFAULT_RESOURCE_TYPES)];
  const custom = replication.includeCustomResources;
  if (Array.isArray(custom)) names.push(...custom);
  const excluded = new Set(replication.excludeResourceTypes.map((n) => key(rbacType(n))));
  const types = new Map<string, RbacType>();
  for (const name of names) {
    const type = rbacType(name);
    if (!excluded.has(key(type))) types.set(key(type), type);
  }
  return { types: [...types.values()], allCustom: custom === true };
}

/** Collects verbs per (group, resource, resourceNames) and merges them into sorted rules. */
export class RuleSet {
  readonly #verbs = new Map<string, Set<string>>();

  add(
    group: string,
    resources: string | readonly string[],
    verbs: readonly string[],
    names?: readonly string[],
  ) {
    for (const resource of typeof resources === "string" ? [resources] : resources) {
      const k = JSON.stringify([group, resource, names ? [...names].sort() : null]);
      const set = this.#verbs.get(k) ?? new Set<string>();
      for (const verb of verbs) set.add(verb);
      this.#verbs.set(k, set);
    }
    return this;
  }

  get empty(): boolean {
    return this.#verbs.size === 0;
  }

  /** One rule per (group, names, verbs), resources merged; sorted. */
  rules(): PolicyRule[] {
    const merged = new Map<
      string,
      { group: string; names: string[] | null; verbs: string[]; resources: string[] }
    >();
    for (const [k, verbs] of this.#verbs) {
      const [group, resource, names] = JSON.parse(k) as [string, string, string[] | null];
      const sortedVerbs = [...verbs].sort();
      const mk = JSON.stringify([group, names, sortedVerbs]);
      const rule = merged.get(mk) ?? { group, names, verbs: sortedVerbs, resources: [] };
      rule.resources.push(resource);
      merged.set(mk, rule);
    }
    return [...merged.values()]
      .map((r) => ({
        apiGroups: [r.group],
        resources: r.resources.sort(),
        ...(r.names ? { resourceNames: r.names } : {}),
        verbs: r.verbs,
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
}

/** Reading and writing copies: lists and watches (continuous mode), server-side apply (create + patch), prune. */
const COPY_VERBS = ["get", "list", "watch", "create", "patch", "delete"];

/** What one replication needs in one of its namespaces (`side`: which end of it this namespace is). */
function namespaceRules(rules: RuleSet, replication: Replication, side: "source" | "destination") {
  const { types, allCustom } = replicatedTypes(replication);
  for (const type of types) {
    rules.add(type.group, type.resource, COPY_VERBS);
    if (
      type.group === "rbac.authorization.k8s.io" &&
      (type.resource === "roles" || type.resource === "rolebindings")
    ) {
      // copying a Role that grants more than the runtime holds, or a binding to one, needs these
      rules.add("rbac.authorization.k8s.io", "roles", ["bind", "escalate"]);
      rules.add("rbac.authorization.k8s.io", "clusterroles", ["bind"]);
    }
  }
  if (allCustom) rules.add("*", "*", COPY_VERBS);
  // cutover checks that the source can be listed; scaling reads and patches the workloads it finds
  rules.add("apps", "deployments", ["list"]);
  // failback waits until DR's pods are gone
  rules.add("", "pods", ["get", "list"]);
  if (side === "destination") {
    // the replication's Lease: its lock and state record; the continuous watcher's Lease
    rules.add("coordination.k8s.io", "leases", ["get", "create", "update"]);
    // the runtime's run records
    rules.add("", "configmaps", ["get", "list", "create", "patch", "delete"]);
  }
  if (replication.pvc.enabled) {
    // pvc-sync: mounter pods, the claims (read, grown), per-claim locks (Leases in the DR namespace)
    rules.add("", "pods", ["get", "list", "create", "delete"]);
    rules.add("", "persistentvolumeclaims", ["get", "list", "patch"]);
    if (side === "destination") {
      rules.add("coordination.k8s.io", "leases", ["get", "create", "update", "delete"]);
    }
  }
}

/** The runtime's rights in one cluster. */
export interface ClusterRbac {
  /** Per namespace, the rules of the runtime's Role there. */
  readonly namespaces: Map<string, PolicyRule[]>;
  /** The rules of the runtime's ClusterRole (none: no ClusterRole). */
  readonly cluster: PolicyRule[];
}

/** The replications' namespaces in `cluster`: which are sources and which are DR namespaces. */
export function replicatedNamespaces(
  config: Config,
  cluster: string,
): { source: string[]; destination: string[] } {
  const source = new Set<string>(), destination = new Set<string>();
  for (const r of config.replications) {
    if (r.source.cluster === cluster) source.add(r.source.namespace);
    if (r.destination.cluster === cluster) destination.add(r.destination.namespace);
  }
  return { source: [...source].sort(), destination: [...destination].sort() };
}

/**
 * The runtime's rights in `cluster`. `runtimeCluster`: the cluster it runs in, where it also reads the
 * Secrets the config names as credential sources.
 */
export function runtimeRbac(config: Config, cluster: string, runtimeCluster: string): ClusterRbac {
  const perNamespace = new Map<string, RuleSet>();
  const ns = (name: string) => {
    const set = perNamespace.get(name) ?? new RuleSet();
    perNamespace.set(name, set);
    return set;
  };
  const clusterRules = new RuleSet();
  const { source, destination } = replicatedNamespaces(config, cluster);
  let pvc = false;
  for (const r of config.replications) {
    for (const side of ["source", "destination"] as const) {
      if (r[side].cluster !== cluster) continue;
      namespaceRules(ns(r[side].namespace), r, side);
      if (r.pvc.enabled) pvc = true;
      const { types, allCustom } = replicatedTypes(r);
      if (
        side === "destination" && types.some((t) => t.group === "" && t.resource === "persistentvolumeclaims")
      ) {
        // storage class mapping checks the classes DR has
        clusterRules.add("storage.k8s.io", "storageclasses", ["list"]);
      }
      if (r.syncCRDs && r.includeCustomResources !== false) {
        const custom = types.filter((t) => t.group !== "*" && !BUILT_IN.some((b) => b.group === t.group));
        const crdNames = allCustom ? undefined : custom.map((t) => `${t.resource}.${t.group}`);
        if (crdNames === undefined || crdNames.length > 0) {
          clusterRules.add("apiextensions.k8s.io", "customresourcedefinitions", ["get"], crdNames);
          if (side === "destination") {
            // a CRD is created by server-side apply: create cannot be limited to names
            clusterRules.add("apiextensions.k8s.io", "customresourcedefinitions", ["create"]);
            clusterRules.add("apiextensions.k8s.io", "customresourcedefinitions", ["patch"], crdNames);
            // a copied CRD is served once its type can be listed
            if (allCustom) clusterRules.add("*", "*", ["list"]);
            else for (const t of custom) clusterRules.add(t.group, t.resource, ["list"]);
          }
        }
      }
    }
  }
  if (source.length + destination.length > 0) {
    // the cluster's identity (the uid of kube-system) and the replicated namespaces
    clusterRules.add("", "namespaces", ["get"], ["kube-system", ...new Set([...source, ...destination])]);
  }
  // stage applies the DR namespace's labels and annotations
  if (destination.length > 0) clusterRules.add("", "namespaces", ["patch"], destination);
  if (pvc) {
    clusterRules.add("", "persistentvolumes", ["get"]);
    const agent = ns(config.agent.namespace);
    agent.add("", "pods", ["list"]);
    agent.add("", "secrets", ["get"], [HOST_KEY_SECRET]);
    agent.add("", "secrets", ["get", "patch"], [AUTHORIZED_KEYS_SECRET]);
  }
  if (cluster === runtimeCluster) {
    // credentials the config keeps in Secrets, read by the runtime with its ServiceAccount
    const refs = [
      ...config.clusters.flatMap((c) => "secret" in c.kubeconfig ? [c.kubeconfig.secret] : []),
      ...config.tokens.flatMap((t) => "secret" in t.value ? [t.value.secret] : []),
    ];
    for (const ref of refs) ns(ref.namespace).add("", "secrets", ["get"], [ref.name]);
  }
  const namespaces = new Map(
    [...perNamespace.entries()].sort(([a], [b]) => a.localeCompare(b)).map((
      [name, set],
    ) => [name, set.rules()]),
  );
  return { namespaces, cluster: clusterRules.rules() };
}
