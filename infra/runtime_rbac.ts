/**
 * The rights the runtime's ServiceAccount gets in each cluster, derived from what the engine calls for the
 * replications of the config (pure). Two kinds of objects:
 *
 * - one Role per namespace the runtime acts in: a replication's source namespace in its source cluster, its
 *   DR namespace in its destination cluster, the agents' namespace (PVC data), the namespaces of the Secrets
 *   the config reads credentials from;
 * - one ClusterRole for what has no namespace: `namespaces` by name, StorageClasses, the CRDs of the copied
 *   custom types by name (with `syncCRDs`);
 * - in the runtime's cluster and namespace, when it runs as the Deployment: the objects of the original
 *   DR-Syncer's API (RemoteCluster, ClusterMapping, NamespaceMapping) that it watches there, their `status`,
 *   the trigger annotations it clears on NamespaceMappings, and the Events it records about them
 *   (`operatorRules`).
 *
 * Nothing is granted with `*`: every type is named. Custom types are named by the config
 * (`includeCustomResources: [...]`, `resource.group` names) or, where only the cluster knows them
 * (`includeCustomResources: true`, a bare custom name), by the discovery of the replication's source cluster,
 * which `deploy` reads and `render` does not (it refuses such a config: `NeedsDiscoveryError`).
 *
 * What the runtime runs decides what it gets: the Deployment runs every operation on every replication (its
 * HTTP API), the watches of the continuous ones and the run records; the CronJob form runs only the schedule
 * jobs (`schedule_jobs.ts`: the stage of the scheduled and continuous replications, no watch; pvc-sync per
 * `pvc.schedule`), with their run records. No subresource is granted but the `status` of the original API's
 * objects: the engine scales workloads by patching them (no `/scale`), and never execs, attaches or asks for
 * tokens.
 *
 * Rules are collected per (group, resource, names) and merged into one rule per verb set, sorted, so the
 * output is stable.
 */
import { InvalidInputError } from "../shared/errors.ts";
import type { Config, Replication } from "../shared/config/config_schema.ts";
import { type ResourceType, typeKey } from "../shared/kube/types.ts";
import { DEFAULT_RESOURCE_TYPES } from "../shared/plan/default_resource_types.ts";
import { SCALED_TYPES } from "../shared/plan/kind_rules.ts";
import { resolveResourceTypes, UnknownResourceTypeError } from "../shared/plan/resolve_resource_types.ts";
import { AUTHORIZED_KEYS_SECRET } from "../shared/pvc/agent_names.ts";
import { LEASE_NAME } from "../shared/state/replication_state.ts";
import { NAMESPACE_MAPPING, OPERATOR_GROUP, OPERATOR_KINDS } from "../shared/config/operator_names.ts";
import { HOST_PUBLIC_KEY_CONFIG_MAP } from "./agent_public_key.ts";
import { WATCH_LEASE_NAME } from "./names.ts";
import { scheduleJobs } from "./schedule_jobs.ts";

export interface PolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly resourceNames?: string[];
  readonly verbs: string[];
}

/** Built-in namespaced types by every name a config may give them (plural, singular, kind, short names). */
export const BUILT_IN: readonly { group: string; resource: string; aliases: readonly string[] }[] = [
  { group: "", resource: "configmaps", aliases: ["configmap", "cm"] },
  { group: "", resource: "secrets", aliases: ["secret"] },
  { group: "", resource: "serviceaccounts", aliases: ["serviceaccount", "sa"] },
  { group: "", resource: "services", aliases: ["service", "svc"] },
  { group: "", resource: "persistentvolumeclaims", aliases: ["persistentvolumeclaim", "pvc"] },
  { group: "", resource: "pods", aliases: ["pod", "po"] },
  { group: "", resource: "endpoints", aliases: ["endpoint", "ep"] },
  { group: "", resource: "events", aliases: ["event", "ev"] },
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
const BUILT_IN_GROUPS = new Set(BUILT_IN.map((t) => t.group));

/** A resource type as RBAC names it. */
export interface RbacType {
  readonly group: string;
  readonly resource: string;
}

/** A version segment of a `resource.version.group` name. */
const VERSION = /^v\d+((alpha|beta)\d+)?$/;

/**
 * The RBAC type of a name as a config writes it, without a cluster: built-in names through the table above
 * (plural, singular, kind, short name, each also with `.group`); `resource.group` and
 * `resource.version.group` names as written (the first part is taken as the plural); `undefined` for a bare
 * name that is not a built-in type (its group is known only to the cluster's discovery).
 */
export function rbacType(name: string): RbacType | undefined {
  const lower = name.trim().toLowerCase();
  const dot = lower.indexOf(".");
  const head = dot < 0 ? lower : lower.slice(0, dot);
  let group = dot < 0 ? undefined : lower.slice(dot + 1);
  const second = group?.indexOf(".") ?? -1;
  if (group !== undefined && second > 0 && VERSION.test(group.slice(0, second))) {
    group = group.slice(second + 1);
  }
  for (const type of BUILT_IN) {
    if (group !== undefined && group !== type.group) continue;
    if (head === type.resource || type.aliases.includes(head)) {
      return { group: type.group, resource: type.resource };
    }
  }
  return group === undefined || group === "" ? undefined : { group, resource: head };
}

/** Whether `type` is one of the built-in types of the table (not a custom type). */
export function isBuiltInType(type: RbacType): boolean {
  return BUILT_IN.some((b) => b.group === type.group && b.resource === type.resource);
}

/** Whether a name is placed by the table alone (a built-in type): anything else is a custom type's name. */
function isBuiltInName(name: string): boolean {
  const type = rbacType(name);
  return type !== undefined && isBuiltInType(type);
}

/** The name of the CRD of a custom type (`resource.group`). */
export const crdName = (t: RbacType) => `${t.resource}.${t.group}`;

/** A replication whose custom types only the cluster's discovery can name: `render` cannot grant them. */
export class NeedsDiscoveryError extends InvalidInputError {
  override readonly name = "NeedsDiscoveryError";
}

/** The source clusters whose discovery deploy reads: those of replications that name a custom type. */
export function clustersToDiscover(config: Config): string[] {
  const clusters = config.replications.filter((r) =>
    r.includeCustomResources === true ||
    [...(r.resourceTypes ?? []), ...(Array.isArray(r.includeCustomResources) ? r.includeCustomResources : [])]
      .some((name) => !isBuiltInName(name))
  ).map((r) => r.source.cluster);
  return [...new Set(clusters)].sort();
}

/** What the source cluster's discovery reports of one name, or `undefined` when it serves no such type. */
function discovered(served: readonly ResourceType[], name: string): RbacType | undefined {
  try {
    const [type] = resolveResourceTypes(served, { resourceTypes: [name] });
    return type && { group: type.group, resource: type.resource };
  } catch (error) {
    if (error instanceof UnknownResourceTypeError) return undefined;
    throw error;
  }
}

/**
 * The types a replication copies, each named: its list (or the defaults), its custom types, minus its
 * exclusions. `served`: what its source cluster's discovery reports (deploy), which names the custom types
 * of `includeCustomResources: true` and places bare custom names; without it (render) those are refused.
 */
export function replicatedTypes(replication: Replication, served?: readonly ResourceType[]): RbacType[] {
  const where = `replication "${replication.name}"`;
  const custom = replication.includeCustomResources;
  const excluded = replication.excludeResourceTypes.map((n) => n.trim().toLowerCase());
  const place = (name: string): RbacType | undefined =>
    isBuiltInName(name) ? rbacType(name) : (served && discovered(served, name)) ?? rbacType(name);
  const types = new Map<string, RbacType>();
  const unplaced: string[] = [];
  const names = [
    ...(replication.resourceTypes ?? DEFAULT_RESOURCE_TYPES),
    ...(Array.isArray(custom) ? custom : []),
  ];
  for (const name of names) {
    const type = place(name);
    if (type) types.set(typeKey(type), type);
    else if (!excluded.includes(name.trim().toLowerCase())) unplaced.push(name);
  }
  if (custom === true) {
    if (served === undefined) {
      throw new NeedsDiscoveryError(
        `${where}: includeCustomResources: true names no type, and the runtime's rights name each type: which custom types cluster "${replication.source.cluster}" serves only its API server knows. List them (includeCustomResources: [widgets.example.com, ...]), or run "dr-syncer deploy", which reads them from the cluster's discovery`,
      );
    }
    for (const type of resolveResourceTypes(served, { resourceTypes: [], includeCustomResources: true })) {
      types.set(typeKey(type), { group: type.group, resource: type.resource });
    }
  }
  if (unplaced.length > 0) {
    const quoted = unplaced.map((n) => `"${n}"`).join(", ");
    throw new NeedsDiscoveryError(
      served === undefined
        ? `${where}: ${quoted} ${
          unplaced.length === 1 ? "is not a built-in type" : "are not built-in types"
        }, and the runtime's rights name each type with its API group: write custom types as resource.group (widgets.example.com), or run "dr-syncer deploy", which finds their group through the discovery of cluster "${replication.source.cluster}"`
        : `${where}: cluster "${replication.source.cluster}" serves no type ${quoted}`,
    );
  }
  // an exclusion no table or discovery places removes that resource in every group (it only takes away)
  for (const name of replication.excludeResourceTypes) {
    const type = place(name);
    const lower = name.trim().toLowerCase();
    for (const [k, t] of types) if (type ? k === typeKey(type) : t.resource === lower) types.delete(k);
  }
  return [...types.values()].sort((a, b) => typeKey(a).localeCompare(typeKey(b)));
}

const byCodeUnit = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

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
      const k = JSON.stringify([group, resource, names ? [...new Set(names)].sort() : null]);
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
      // by code unit, not localeCompare: the same in every locale, and as the Helm chart's sortAlpha orders them
      .sort((a, b) => byCodeUnit(JSON.stringify(a), JSON.stringify(b)));
  }
}

/**
 * What the runtime runs for a replication: `all` (the Deployment: every operation through its API, the
 * schedules, the watch of a continuous replication, the run records), `jobs` (the CronJob form: its schedule
 * jobs, with their run records; no watch), `none` (the CronJob form has no job for it).
 */
export type RuntimeRuns = "all" | "jobs" | "none";

export function runtimeRuns(config: Config, replication: Replication): RuntimeRuns {
  if (!config.runtime.cronJobs) return "all";
  return scheduleJobs([replication]).length > 0 ? "jobs" : "none";
}

/**
 * Whether the runtime copies the replication's PVC data: with `pvc.enabled`, the Deployment (pvc-sync,
 * cutover and failback with data); the CronJob form only with a `pvc.schedule` (its pvc-sync job).
 */
export function runsPvcData(config: Config, replication: Replication): boolean {
  if (!replication.pvc.enabled) return false;
  return !config.runtime.cronJobs || replication.pvc.schedule !== undefined;
}

const isScaled = (t: RbacType) =>
  SCALED_TYPES.some((s) => s.type.group === t.group && s.type.resource === t.resource);
const isRbacCopy = (t: RbacType) =>
  t.group === "rbac.authorization.k8s.io" && (t.resource === "roles" || t.resource === "rolebindings");

/** pvc-sync on either side (it copies both ways): mounter pods, the claims (read, recorded, grown). */
function pvcRules(rules: RuleSet) {
  rules.add("", "pods", ["get", "list", "create", "delete"]);
  rules.add("", "persistentvolumeclaims", ["get", "list", "patch"]);
}

/** The source namespace: read (and watched); workloads scaled down and back; pvc-sync. */
function sourceRules(
  rules: RuleSet,
  r: Replication,
  types: readonly RbacType[],
  runs: RuntimeRuns,
  pvc: boolean,
) {
  const watch = runs === "all" && r.mode === "continuous";
  for (const t of types) {
    rules.add(t.group, t.resource, watch ? ["get", "list", "watch"] : ["get", "list"]);
    // cutover, fence (also from stage, after a cutover that skipped the source) and failback patch the
    // workload objects themselves (merge and JSON patches: no /scale subresource)
    if (isScaled(t)) rules.add(t.group, t.resource, ["patch"]);
    // failback's copy-back writes on the source what changed on DR while it served: new objects
    // created, changed ones written over (update), their field owners patched, with prune deletions
    if (runs === "all") rules.add(t.group, t.resource, ["create", "update", "patch", "delete"]);
  }
  // cutover --allow-source-unavailable: whether the source answers a list
  if (runs === "all") rules.add("apps", "deployments", ["list"]);
  if (pvc) pvcRules(rules);
}

/** The DR namespace: the copies, the replication's Lease, the scaling, failback's wait, run records, pvc-sync. */
function destinationRules(
  rules: RuleSet,
  r: Replication,
  types: readonly RbacType[],
  runs: RuntimeRuns,
  pvc: boolean,
) {
  for (const t of types) {
    // server-side apply needs create and patch (a create checks `create` with the object's name), an
    // update of a copy is a write over it (update), prune, `immutable: recreate` and a finished Job's
    // copy delete, drift checks get
    rules.add(t.group, t.resource, ["get", "list", "create", "update", "patch", "delete"]);
    if (isRbacCopy(t)) {
      // copying a Role that grants more than the runtime holds, or a binding to one, needs these
      rules.add("rbac.authorization.k8s.io", "roles", ["bind", "escalate"]);
      rules.add("rbac.authorization.k8s.io", "clusterroles", ["bind"]);
    }
  }
  // the replication's Lease (its lock and state record), the continuous watcher's; pvc-sync locks each claim
  // with a Lease named after it (dr-syncer-pvc-<claim>), which no list of names can hold. Created by POST,
  // which RBAC cannot limit to names. A run waiting for a held lock watches that Lease alone (a watch with
  // `metadata.name`, which names can limit)
  rules.add("coordination.k8s.io", "leases", pvc ? ["get", "create", "update", "watch"] : ["create"]);
  if (!pvc) {
    const leases = runs === "all" && r.mode === "continuous" ? [LEASE_NAME, WATCH_LEASE_NAME] : [LEASE_NAME];
    rules.add("coordination.k8s.io", "leases", ["get", "update", "watch"], leases);
  }
  // failback waits until DR's pods are gone
  if (runs === "all") rules.add("", "pods", ["list"]);
  // the runtime's run records (the CronJob form's `run-job` keeps them too)
  rules.add("", "configmaps", ["get", "list", "create", "patch", "delete"]);
  if (pvc) pvcRules(rules);
}

/**
 * The original DR-Syncer API's objects, in the runtime's namespace only (not across the cluster, as the
 * original did: whoever may write them there directs the runtime, so they live where its own config is):
 * listed and watched; their status written (a merge patch of the `status` subresource); a NamespaceMapping
 * patched to remove the trigger annotation it acted on; Events about them (core `events`, created).
 */
function operatorRules(rules: RuleSet) {
  const plurals = OPERATOR_KINDS.map((k) => k.plural);
  rules.add(OPERATOR_GROUP, plurals, ["list", "watch"]);
  rules.add(OPERATOR_GROUP, plurals.map((p) => `${p}/status`), ["patch"]);
  rules.add(OPERATOR_GROUP, NAMESPACE_MAPPING.plural, ["patch"]);
  rules.add("", "events", ["create"]);
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
 * What the runtime will also run besides the config file: the replications of the original DR-Syncer's
 * objects in its namespace (deploy reads them), and the Secrets their RemoteClusters name.
 */
export interface LiveReplications {
  readonly replications: readonly Replication[];
  readonly secrets: readonly { readonly name: string; readonly namespace: string }[];
}

export interface RbacOptions {
  /** Per cluster, the types its discovery reports (deploy reads those of `clustersToDiscover`). */
  readonly served?: ReadonlyMap<string, readonly ResourceType[]> | undefined;
  /** The live objects' replications, granted like the config's (deploy reads them). */
  readonly live?: LiveReplications | undefined;
}

/** The config's replications and the live objects' (`options.live`), which get the same rights. */
export function rightsReplications(config: Config, options: RbacOptions = {}): readonly Replication[] {
  return options.live ? [...config.replications, ...options.live.replications] : config.replications;
}

/**
 * The runtime's rights in `cluster`. `runtimeCluster`: the cluster it runs in, where it also reads the
 * Secrets the config names as credential sources.
 */
export function runtimeRbac(
  config: Config,
  cluster: string,
  runtimeCluster: string,
  options: RbacOptions = {},
): ClusterRbac {
  const perNamespace = new Map<string, RuleSet>();
  const ns = (name: string) => {
    const set = perNamespace.get(name) ?? new RuleSet();
    perNamespace.set(name, set);
    return set;
  };
  const clusterRules = new RuleSet();
  const namespaces = { read: new Set<string>(), patch: new Set<string>() };
  let agents = false;
  for (const r of rightsReplications(config, options)) {
    const runs = runtimeRuns(config, r);
    if (runs === "none" || (r.source.cluster !== cluster && r.destination.cluster !== cluster)) continue;
    const types = replicatedTypes(r, options.served?.get(r.source.cluster));
    const pvc = runsPvcData(config, r);
    // the CRDs stage copies first (`syncCRDs`): those of the custom types, each by name
    const custom = r.syncCRDs && r.includeCustomResources !== false
      ? types.filter((t) => !BUILT_IN_GROUPS.has(t.group))
      : [];
    if (r.source.cluster === cluster) {
      sourceRules(ns(r.source.namespace), r, types, runs, pvc);
      namespaces.read.add(r.source.namespace);
      if (custom.length > 0) {
        clusterRules.add("apiextensions.k8s.io", "customresourcedefinitions", ["get"], custom.map(crdName));
      }
    }
    if (r.destination.cluster === cluster) {
      destinationRules(ns(r.destination.namespace), r, types, runs, pvc);
      namespaces.read.add(r.destination.namespace);
      // stage applies the DR namespace's labels and annotations
      namespaces.patch.add(r.destination.namespace);
      if (types.some((t) => t.group === "" && t.resource === "persistentvolumeclaims")) {
        // storage class mapping checks the classes DR has
        clusterRules.add("storage.k8s.io", "storageclasses", ["list"]);
      }
      if (custom.length > 0) {
        // server-side apply of each copied CRD: `create` is checked with the CRD's name, so both are limited
        clusterRules.add(
          "apiextensions.k8s.io",
          "customresourcedefinitions",
          ["get", "create", "patch"],
          custom.map(crdName),
        );
        // a copied CRD is served once its type can be listed (a list across namespaces of that type only)
        for (const t of custom) clusterRules.add(t.group, t.resource, ["list"]);
      }
    }
    if (pvc) agents = true;
  }
  if (namespaces.read.size > 0) {
    // the cluster's identity (the uid of kube-system) and the replicated namespaces
    clusterRules.add("", "namespaces", ["get"], ["kube-system", ...namespaces.read]);
  }
  if (namespaces.patch.size > 0) clusterRules.add("", "namespaces", ["patch"], [...namespaces.patch]);
  if (agents) {
    // pvc-sync finds the agent on a node, pins the cluster's host key (its public half only) and authorizes
    // each transfer's keys; the host private key stays the agents'
    const agent = ns(config.agent.namespace);
    agent.add("", "pods", ["list"]);
    agent.add("", "configmaps", ["get"], [HOST_PUBLIC_KEY_CONFIG_MAP]);
    agent.add("", "secrets", ["get", "patch"], [AUTHORIZED_KEYS_SECRET]);
  }
  if (cluster === runtimeCluster && !config.runtime.cronJobs) operatorRules(ns(config.runtime.namespace));
  if (cluster === runtimeCluster) {
    // credentials the config keeps in Secrets, read by the runtime with its ServiceAccount (the CronJob form
    // serves no API, so reads no token; its `run-job` reads the kubeconfigs)
    const refs = [
      ...config.clusters.flatMap((c) => "secret" in c.kubeconfig ? [c.kubeconfig.secret] : []),
      ...(config.runtime.cronJobs
        ? []
        : config.tokens.flatMap((t) => "secret" in t.value ? [t.value.secret] : [])),
      ...(options.live?.secrets ?? []),
    ];
    for (const ref of refs) ns(ref.namespace).add("", "secrets", ["get"], [ref.name]);
  }
  const rules = new Map(
    [...perNamespace.entries()].sort(([a], [b]) => a.localeCompare(b)).map((
      [name, set],
    ) => [name, set.rules()]),
  );
  return { namespaces: rules, cluster: clusterRules.rules() };
}
