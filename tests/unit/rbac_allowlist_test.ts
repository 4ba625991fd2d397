/**
 * The runtime's rendered rights against an allowlist read from the engine's own code.
 *
 * The allowlist: every call of the typed verbs (`shared/kube/verbs.ts`) in `shared/` and `functions/` (not
 * deploy's, nor the local demo's, which run with the operator's kubeconfig), each mapped to the RBAC verb the
 * API server checks, per fixed type (`PODS`, `LEASES`...) or "a copied type" (a type variable), plus the few
 * raw requests, listed per file below: a new call, or a raw request somewhere new, fails here until this
 * table says what it needs.
 *
 * Then every config shape is rendered and every rule of every Role and ClusterRole checked: no `*`, no
 * subresource, only verbs the code calls on that resource, copied types only where a replication copies
 * them, Secrets only where the code reads them (the copied Secrets of a replicated namespace, the agents'
 * authorized keys, the credentials the config names; by name; never the agents' host private key, never a
 * list across the cluster), CRD writes only by the names of the copied CRDs, the original DR-Syncer API's
 * objects (RemoteCluster, ClusterMapping, NamespaceMapping: `functions/sources/`, whose types are built from
 * the kinds) only in the runtime's namespace of its cluster, their `status` the only subresource.
 */
import assert from "node:assert/strict";
import { type ConfigInput, configSchema } from "../../shared/config/mod.ts";
import type { Config } from "../../shared/config/config_schema.ts";
import * as kubeTypes from "../../shared/kube/types.ts";
import type { KubeObject, ResourceType } from "../../shared/kube/types.ts";
import { AUTHORIZED_KEYS_SECRET, HOST_KEY_SECRET } from "../../shared/pvc/agent_names.ts";
import { renderCluster, renderConfig } from "../../infra/render.ts";
import {
  crdName,
  NeedsDiscoveryError,
  type PolicyRule,
  replicatedTypes,
  runsPvcData,
  runtimeRuns,
} from "../../infra/runtime_rbac.ts";
import { HOST_PUBLIC_KEY_CONFIG_MAP } from "../../infra/agent_public_key.ts";
import { WATCH_LEASE_NAME } from "../../infra/names.ts";
import { WATCH_LEASE_NAME as WATCHER_LEASE } from "../../functions/watch/watch_lease.ts";
import { hostKeyOf } from "../../functions/deploy.ts";
import { OPERATOR_GROUP, OPERATOR_KINDS } from "../../shared/config/operator_names.ts";
import { generateHostKey } from "../../functions/deploy.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Files whose calls are not the runtime's: deploy (the operator's rights), the local demo and test app. */
const NOT_THE_RUNTIME = new Set([
  "functions/deploy.ts",
  "functions/cli/demo.ts",
  "functions/cli/sample_app.ts",
  "functions/cli/start.ts",
  "shared/kube/verbs.ts",
]);

/** The typed verbs and the RBAC verbs the API server checks for them. */
const VERBS: Record<string, readonly string[]> = {
  getObject: ["get"],
  listObjects: ["list"],
  listPages: ["list"],
  watchObjects: ["watch"],
  // server-side apply: `patch`, and `create` (checked with the object's name) when the object is new
  applyObject: ["patch", "create"],
  serverSideApply: ["patch", "create"],
  patchObject: ["patch"],
  jsonPatchObject: ["patch"],
  createObject: ["create"],
  replaceObject: ["update"],
  deleteObject: ["delete"],
  // a merge patch of the `status` subresource
  patchStatus: ["patch"],
};

/** The typed verbs that act on a subresource of the object, and which. */
const SUBRESOURCE: Record<string, string> = { patchStatus: "status" };

/**
 * Where a type that is not fixed is one of the original DR-Syncer API's kinds (built from the kind:
 * `typeOf(kind)`), not a copied type: the runtime's watch of those objects, their status and annotations.
 */
const OPERATOR_OBJECT_FILES = "functions/sources/";
const OPERATOR_TYPES = OPERATOR_KINDS.map((k) => `${k.plural}.${OPERATOR_GROUP}`);
const OPERATOR_STATUS = OPERATOR_KINDS.map((k) => `${k.plural}/status.${OPERATOR_GROUP}`);

/** The raw requests of the engine, per file: how many, and what each needs (`copied`: a copied type). */
const RAW_REQUESTS: Record<string, { count: number; needs: readonly (readonly [string, string])[] }> = {
  // discovery: /api and /apis, which every authenticated user may read
  "shared/kube/discover_resources.ts": { count: 1, needs: [] },
  // the run records: created (POST), written again (server-side apply), listed (metadata only)
  "shared/runs/run_record_store.ts": {
    count: 3,
    needs: [["configmaps.", "create"], ["configmaps.", "patch"], ["configmaps.", "list"]],
  },
  // the watcher's first list of each copied type (limit 1: the resourceVersion to watch from)
  "functions/watch/continuous_replication.ts": { count: 1, needs: [["copied", "list"]] },
  // the API server's clock: a dry-run create of a Lease
  "shared/state/replication_lock.ts": { count: 1, needs: [["leases.coordination.k8s.io", "create"]] },
  // the original API's objects: each kind listed (then watched) in the runtime's namespace
  "functions/sources/_object_store.ts": { count: 1, needs: OPERATOR_TYPES.map((t) => [t, "list"] as const) },
  // whether the original API is served: discovery of dr-syncer.io/v1alpha1, which every user may read
  "functions/sources/operator_resources.ts": { count: 1, needs: [] },
  // passes other calls through
  "shared/credentials/rotating_kube_client.ts": { count: 4, needs: [] },
};

async function* engineFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* engineFiles(path);
    else if (path.endsWith(".ts") && !path.endsWith("_test.ts") && !NOT_THE_RUNTIME.has(path)) yield path;
  }
}

/** A type argument as written (`PODS`, `type`, `{ ...type, namespaced: false }`): its key, or `copied`. */
function typeArgument(text: string, local: Record<string, string>): string {
  const name = text.trim().replace(/!$/, "");
  const fixed = (kubeTypes as Record<string, unknown>)[name] as ResourceType | undefined;
  if (fixed && typeof fixed === "object" && "resource" in fixed) return kubeTypes.typeKey(fixed);
  return local[name] ?? "copied";
}

/** What the engine calls: `resource.group` (or `copied`) -> RBAC verbs. */
async function engineCalls(): Promise<{ calls: Map<string, Set<string>>; raw: Record<string, number> }> {
  const calls = new Map<string, Set<string>>();
  const add = (type: string, verb: string) => calls.set(type, (calls.get(type) ?? new Set()).add(verb));
  const call = new RegExp(
    `\\b(${Object.keys(VERBS).join("|")})\\s*(?:<[^()]*?>)?\\(\\s*([^,()]+),\\s*([^,]+),`,
    "g",
  );
  const raw = /\.(request|stream)\s*(?:<[^()]*?>)?\(/g;
  const rawFound: Record<string, number> = {};
  for (const dir of ["shared", "functions"]) {
    for await (const file of engineFiles(dir)) {
      const text = await Deno.readTextFile(`${ROOT}${file}`);
      // a file's own constants of a fixed type (`const CONFIG_MAPS: ResourceType = {...resource: "configmaps"`)
      const local: Record<string, string> = {};
      for (
        const m of text.matchAll(
          /const (\w+): ResourceType = \{[^}]*?group: "([^"]*)"[^}]*?resource: "(\w+)"/g,
        )
      ) {
        local[m[1]!] = `${m[3]}.${m[2]}`;
      }
      for (const m of text.matchAll(call)) {
        if (text.slice(Math.max(0, m.index - 16), m.index).includes("function ")) continue; // a definition
        const type = typeArgument(m[3]!, local);
        const types = type === "copied" && file.startsWith(OPERATOR_OBJECT_FILES) ? OPERATOR_TYPES : [type];
        const sub = SUBRESOURCE[m[1]!];
        for (const t of types) {
          // `resource/sub.group` for a call on a subresource
          const key = sub === undefined ? t : t.replace(/^([^.]*)/, `$1/${sub}`);
          for (const verb of VERBS[m[1]!]!) add(key, verb);
        }
      }
      const requests = [...text.matchAll(raw)].length;
      if (requests > 0) rawFound[file] = requests;
    }
  }
  for (const r of Object.values(RAW_REQUESTS)) for (const [type, verb] of r.needs) add(type, verb);
  return { calls, raw: rawFound };
}

const { calls: CALLS, raw: RAW_FOUND } = await engineCalls();

Deno.test("the engine's calls, read from its code: the verbs per type the allowlist is made of", () => {
  assert.deepEqual(
    RAW_FOUND,
    Object.fromEntries(Object.entries(RAW_REQUESTS).map(([file, r]) => [file, r.count])),
    "a raw request to the API server: say in RAW_REQUESTS what it needs",
  );
  const of = (type: string) => [...(CALLS.get(type) ?? [])].sort();
  // these are what the rules below may grant; a change here is a change of the runtime's rights
  assert.deepEqual(
    of("copied"),
    ["create", "delete", "get", "list", "patch", "update", "watch"],
    "copied types: read, watched, applied, written over (updates, failback's copy-back), patched (scaling, field owners), deleted (prune, recreate)",
  );
  assert.ok(!CALLS.has("persistentvolumes."), "no PersistentVolume is read");
  assert.deepEqual(
    of("secrets."),
    ["get", "patch"],
    "Secrets: read by name (credentials, keys), keys patched",
  );
  assert.deepEqual(of("namespaces."), ["create", "get", "patch"]);
  assert.deepEqual(of("customresourcedefinitions.apiextensions.k8s.io"), ["create", "get", "patch"]);
  assert.deepEqual(
    [...CALLS.keys()].filter((k) => k.includes("/")).sort(),
    [...OPERATOR_STATUS].sort(),
    "no subresource is called but the status of the original API's objects",
  );
  for (const status of OPERATOR_STATUS) assert.deepEqual(of(status), ["patch"], status);
  // the original API's objects: listed and watched, a NamespaceMapping's trigger annotation removed
  for (const t of OPERATOR_TYPES) assert.deepEqual(of(t), ["list", "patch", "watch"], t);
  assert.deepEqual(of("events."), ["create"], "Events about those objects, created");
});

// deno-lint-ignore no-explicit-any
type Loose = KubeObject & Record<string, any>;

/** What one rendered config is checked against. */
interface Shape {
  readonly name: string;
  readonly config: Config;
  readonly served?: ReadonlyMap<string, readonly ResourceType[]>;
}

const type = (
  group: string,
  resource: string,
  kind: string,
  namespaced = true,
  verbs = ["get", "list", "watch", "create", "patch", "delete"],
): ResourceType => ({
  group,
  version: "v1",
  resource,
  kind,
  namespaced,
  singular: kind.toLowerCase(),
  shortNames: [],
  verbs,
});

/** A source cluster's discovery: some built-in types, custom types, one cluster-scoped, one read-only. */
const SERVED: ResourceType[] = [
  type("", "configmaps", "ConfigMap"),
  type("", "secrets", "Secret"),
  type("", "pods", "Pod"),
  type("", "persistentvolumeclaims", "PersistentVolumeClaim"),
  type("apps", "deployments", "Deployment"),
  type("rbac.authorization.k8s.io", "roles", "Role"),
  type("widgets.example.com", "widgets", "Widget"),
  type("gadgets.example.com", "gadgets", "Gadget"),
  type("gateway.networking.k8s.io", "httproutes", "HTTPRoute"),
  type("example.com", "clusterthings", "ClusterThing", false),
  type("example.com", "readonlythings", "ReadonlyThing", true, ["get", "list"]),
];

function config(input: Partial<ConfigInput> & Pick<ConfigInput, "replications">): Config {
  return configSchema.parse({
    clusters: [
      { name: "prod", kubeconfig: { path: "/etc/prod.kubeconfig" } },
      { name: "dr", kubeconfig: { env: "DR_KUBECONFIG" } },
    ],
    ...input,
  });
}

const repl = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  source: { cluster: "prod", namespace: name },
  destination: { cluster: "dr", namespace: `${name}-dr` },
  ...extra,
});

/** The CronJob form: a scheduled replication with PVC data and a CRD, a manual one, a continuous one. */
const CRONJOB_FORM = config({
  tokens: [{
    name: "ops",
    value: { secret: { namespace: "dr-syncer-system", name: "api-tokens" } },
    operations: ["read"],
  }],
  runtime: { cronJobs: true },
  replications: [
    repl("nightly", {
      schedule: "0 3 * * *",
      pvc: { enabled: true },
      includeCustomResources: ["widgets.widgets.example.com"],
      syncCRDs: true,
    }),
    repl("manual"),
    repl("live", { mode: "continuous" }),
  ],
});

const SHAPES: Shape[] = [
  {
    name: "scheduled with PVC data, manual with a few types, continuous",
    config: config({
      tokens: [{ name: "ops", value: { env: "OPS" }, operations: ["read", "stage"] }],
      replications: [
        repl("shop", { schedule: "*/5 * * * *", pvc: { enabled: true } }),
        repl("blog", { resourceTypes: ["cm", "deploy"] }),
        repl("feed", { mode: "continuous", resourceTypes: ["configmaps", "secrets", "sts"] }),
      ],
    }),
  },
  {
    name: "custom resources listed, with syncCRDs, Roles copied, one type excluded",
    config: config({
      replications: [
        repl("crd", {
          mode: "continuous",
          includeCustomResources: ["widgets.widgets.example.com", "gadgets.v1.gadgets.example.com"],
          syncCRDs: true,
          excludeResourceTypes: ["secrets"],
        }),
        repl("nosync", { includeCustomResources: ["widgets.widgets.example.com"], resourceTypes: ["cm"] }),
      ],
    }),
  },
  {
    name: "includeCustomResources: true with syncCRDs, named by discovery; a bare custom name",
    config: config({
      replications: [
        repl("all", { includeCustomResources: true, syncCRDs: true, pvc: { enabled: true } }),
        repl("bare", { resourceTypes: ["widgets", "configmaps"], excludeResourceTypes: ["gadgets"] }),
      ],
    }),
    served: new Map([["prod", SERVED]]),
  },
  {
    name: "the CronJob form: the schedule jobs only",
    config: CRONJOB_FORM,
  },
  {
    name: "the CronJob form with a PVC schedule and a kubeconfig read from a Secret",
    config: configSchema.parse({
      clusters: [
        { name: "prod", kubeconfig: { secret: { namespace: "creds", name: "prod-kubeconfig" } } },
        { name: "dr", kubeconfig: { env: "DR_KUBECONFIG" } },
      ],
      runtime: { cronJobs: true },
      replications: [
        repl("files", { schedule: "*/15 * * * *", pvc: { enabled: true, schedule: "0 * * * *" } }),
        repl("live", { mode: "continuous", schedule: "*/30 * * * *", pvc: { enabled: true } }),
      ],
    }),
  },
  {
    name: "several clusters, the runtime in a third one, credentials in Secrets",
    config: configSchema.parse({
      clusters: [
        { name: "eu", kubeconfig: { path: "/etc/eu" } },
        { name: "us", kubeconfig: { secret: { namespace: "creds", name: "us-kubeconfig" } } },
        { name: "dr", kubeconfig: { env: "DR" } },
        { name: "ops", kubeconfig: { path: "/etc/ops" } },
      ],
      tokens: [{
        name: "ops",
        value: { secret: { namespace: "creds", name: "api-token" } },
        operations: ["read"],
      }],
      replications: [
        {
          name: "a",
          source: { cluster: "eu", namespace: "shop" },
          destination: { cluster: "dr", namespace: "eu-shop" },
          pvc: { enabled: true },
        },
        {
          name: "b",
          source: { cluster: "us", namespace: "shop" },
          destination: { cluster: "dr", namespace: "us-shop" },
          mode: "continuous",
        },
        {
          name: "c",
          source: { cluster: "dr", namespace: "tools" },
          destination: { cluster: "eu", namespace: "tools" },
          resourceTypes: ["cm", "rolebindings"],
        },
      ],
      runtime: { cluster: "ops", namespace: "dr-syncer" },
    }),
  },
  {
    name: "the runtime in the source cluster",
    config: config({
      runtime: { cluster: "prod" },
      replications: [repl("shop", { schedule: "0 * * * *", pvc: { enabled: true } })],
    }),
  },
];

const RBAC_EXTRA: Record<string, readonly string[]> = {
  // the API server's escalation checks when a copied Role or RoleBinding grants more than the runtime holds
  "roles.rbac.authorization.k8s.io": ["bind", "escalate"],
  "clusterroles.rbac.authorization.k8s.io": ["bind"],
};

/** Checks every rule of one rendered config; returns how many rules it checked. */
function checkShape(shape: Shape): number {
  const { config: c } = shape;
  let checked = 0;
  for (const rendered of renderConfig(c, undefined, { served: shape.served })) {
    const cluster = rendered.cluster;
    // what the replications that run here copy, per namespace
    const copiedIn = new Map<string, Set<string>>();
    const sourceIn = new Set<string>(), destIn = new Set<string>();
    /** Sources of replications whose failbacks the runtime runs: its copy-back writes there. */
    const failbackIn = new Set<string>();
    const crds = new Set<string>(), customTypes = new Set<string>();
    let pvc = false;
    for (const r of c.replications) {
      if (runtimeRuns(c, r) === "none") continue;
      const types = replicatedTypes(r, shape.served?.get(r.source.cluster));
      for (const side of ["source", "destination"] as const) {
        if (r[side].cluster !== cluster) continue;
        const set = copiedIn.get(r[side].namespace) ?? new Set<string>();
        for (const t of types) set.add(`${t.resource}.${t.group}`);
        copiedIn.set(r[side].namespace, set);
        (side === "source" ? sourceIn : destIn).add(r[side].namespace);
        if (side === "source" && runtimeRuns(c, r) === "all") failbackIn.add(r[side].namespace);
        if (runsPvcData(c, r)) pvc = true;
        if (r.syncCRDs && r.includeCustomResources !== false) {
          for (const t of types.filter((t) => t.group.includes("."))) {
            if (t.group.endsWith(".k8s.io") && t.group !== "gateway.networking.k8s.io") continue;
            crds.add(crdName(t));
            if (side === "destination") customTypes.add(`${t.resource}.${t.group}`);
          }
        }
      }
    }
    const credentials = cluster === rendered.cluster && rendered.runtime
      ? [
        ...c.clusters.flatMap((x) => "secret" in x.kubeconfig ? [x.kubeconfig.secret] : []),
        ...(c.runtime.cronJobs ? [] : c.tokens.flatMap((t) => "secret" in t.value ? [t.value.secret] : [])),
      ]
      : [];
    // the runtime (the Deployment) watches the original API's objects in its own namespace
    const operatorNs = rendered.runtime && !c.runtime.cronJobs ? c.runtime.namespace : undefined;
    for (const o of rendered.objects as Loose[]) {
      if (o.kind !== "Role" && o.kind !== "ClusterRole") continue;
      const ns = o.metadata.namespace as string | undefined;
      const where = `${shape.name}: ${cluster} ${o.kind} ${ns ?? ""}`;
      if (o.kind === "Role") {
        const known = copiedIn.has(ns!) || ns === c.agent.namespace ||
          credentials.some((r) => r.namespace === ns) || ns === operatorNs;
        assert.ok(known, `${where}: a Role where the runtime does nothing`);
      }
      for (const rule of o.rules as PolicyRule[]) {
        checked++;
        const text = JSON.stringify(rule);
        assert.ok(!text.includes("*"), `${where}: a wildcard in ${text}`);
        assert.ok(
          rule.resources.every((r) =>
            !r.includes("/") || OPERATOR_STATUS.includes(`${r}.${rule.apiGroups[0]}`)
          ),
          `${where}: a subresource in ${text}`,
        );
        assert.equal(rule.apiGroups.length, 1, text);
        if (rule.apiGroups[0] === OPERATOR_GROUP) {
          assert.ok(
            ns !== undefined && ns === operatorNs,
            `${where}: the original API's objects outside the runtime's namespace`,
          );
        }
        for (const resource of rule.resources) {
          const k = `${resource}.${rule.apiGroups[0]}`;
          // a copied type: in a Role, of a replication acting in that namespace; in the ClusterRole, a copied
          // custom type (listed across namespaces to see its copied CRD served)
          const copied = ns === undefined ? customTypes.has(k) : copiedIn.get(ns)?.has(k) === true;
          const allowed = new Set([
            ...(CALLS.get(k) ?? []),
            ...(copied ? CALLS.get("copied")! : []),
            ...(RBAC_EXTRA[k] ?? []),
          ]);
          for (const verb of rule.verbs) {
            assert.ok(
              allowed.has(verb),
              `${where}: "${verb}" on ${k}, which the code does not call (${text})`,
            );
          }
          assert.ok(
            CALLS.has(k) || copied || RBAC_EXTRA[k] !== undefined,
            `${where}: ${k} is neither called nor copied`,
          );
          if (RBAC_EXTRA[k] && rule.verbs.some((v) => RBAC_EXTRA[k]!.includes(v))) {
            const copiesRbac = [...(copiedIn.get(ns ?? "") ?? [])].some((t) =>
              /^role(binding)?s\.rbac/.test(t)
            );
            assert.ok(
              copiesRbac && destIn.has(ns!),
              `${where}: ${rule.verbs} on ${k} without copying RBAC here`,
            );
          }
          if (k === "secrets.") {
            assert.equal(o.kind, "Role", `${where}: Secrets across the cluster`);
            const names = rule.resourceNames ?? [];
            assert.ok(!names.includes(HOST_KEY_SECRET), `${where}: the agents' host private key`);
            if (names.length === 0) {
              assert.ok(copied, `${where}: Secrets of a namespace that copies none`);
              assert.ok(
                destIn.has(ns!) || failbackIn.has(ns!) ||
                  rule.verbs.every((v) => ["get", "list", "watch"].includes(v)),
                `${where}: Secrets written on a source`,
              );
            } else {
              for (const name of names) {
                const allowedName = (ns === c.agent.namespace && pvc && name === AUTHORIZED_KEYS_SECRET) ||
                  credentials.some((r) => r.namespace === ns && r.name === name);
                assert.ok(allowedName, `${where}: Secret "${name}", which the code does not read`);
              }
              if (!names.includes(AUTHORIZED_KEYS_SECRET)) assert.deepEqual(rule.verbs, ["get"], where);
            }
          }
          if (k === "events." && !copied) {
            assert.equal(ns, operatorNs, `${where}: Events outside the runtime's namespace`);
            assert.deepEqual(rule.verbs, ["create"], where);
          }
          if (k === "configmaps." && rule.resourceNames) {
            assert.deepEqual(rule.resourceNames, [HOST_PUBLIC_KEY_CONFIG_MAP], where);
            assert.deepEqual(rule.verbs, ["get"], where);
          }
          const operatorRule = ns === operatorNs && (rule.apiGroups[0] === OPERATOR_GROUP || k === "events.");
          if (ns === c.agent.namespace && !copied && !operatorRule) {
            assert.ok(pvc, `${where}: rights in the agents' namespace without PVC data`);
          }
          if (k === "namespaces.") {
            assert.ok(rule.resourceNames && rule.resourceNames.length > 0, `${where}: namespaces by name`);
            assert.ok(!rule.verbs.includes("create"), `${where}: namespaces are created by deploy`);
          }
          if (k === "customresourcedefinitions.apiextensions.k8s.io") {
            assert.ok(rule.resourceNames && rule.resourceNames.length > 0, `${where}: CRDs by name: ${text}`);
            for (const name of rule.resourceNames!) {
              assert.ok(crds.has(name), `${where}: CRD ${name} is not copied`);
            }
          }
          if (o.kind === "ClusterRole" && !CALLS.has(k)) {
            assert.ok(customTypes.has(k), `${where}: ${k} across the cluster, not a copied custom type`);
            assert.deepEqual(
              rule.verbs,
              ["list"],
              `${where}: a copied custom type is only listed across namespaces`,
            );
          }
          if (rule.verbs.includes("update")) {
            // a copy is written over (an update); failback's copy-back writes over source objects too
            assert.ok(k === "leases.coordination.k8s.io" || copied, `${where}: update on ${k}`);
          }
          if (sourceIn.has(ns!) && !destIn.has(ns!) && copied) {
            // a source is written only by failback's copy-back (what changed on DR while it served),
            // where the runtime runs failbacks; otherwise only its workloads are patched (scaled)
            const writes = failbackIn.has(ns!) ? ["create", "update", "delete"] : [];
            assert.ok(
              rule.verbs.every((v) => ["get", "list", "watch", "patch", ...writes].includes(v)),
              `${where}: ${rule.verbs} on the source's ${k}`,
            );
          }
        }
      }
    }
  }
  return checked;
}

for (const shape of SHAPES) {
  Deno.test(`rendered RBAC within the allowlist: ${shape.name}`, () => {
    assert.ok(checkShape(shape) > 0);
  });
}

const rulesOf = (objects: KubeObject[], kind: string, namespace?: string) =>
  ((objects.find((o) => o.kind === kind && o.metadata.namespace === namespace) as Loose | undefined)?.rules ??
    []) as PolicyRule[];

const verbs = (rules: PolicyRule[], group: string, resource: string, names?: string[]) =>
  [
    ...new Set(
      rules.filter((r) =>
        r.apiGroups.includes(group) && r.resources.includes(resource) &&
        (names === undefined || JSON.stringify(r.resourceNames) === JSON.stringify(names))
      ).flatMap((r) => r.verbs),
    ),
  ].sort();

Deno.test("custom types are granted by name: listed ones without a cluster, `true` from discovery, CRD writes by name", () => {
  const listed = config({
    replications: [repl("crd", { includeCustomResources: ["widgets.widgets.example.com"], syncCRDs: true })],
  });
  const dr = renderCluster(listed, "dr").objects;
  assert.deepEqual(verbs(rulesOf(dr, "Role", "crd-dr"), "widgets.example.com", "widgets"), [
    "create",
    "delete",
    "get",
    "list",
    "patch",
    "update",
  ]);
  const cluster = rulesOf(dr, "ClusterRole");
  const crd = ["widgets.widgets.example.com"];
  assert.deepEqual(verbs(cluster, "apiextensions.k8s.io", "customresourcedefinitions", crd), [
    "create",
    "get",
    "patch",
  ]);
  assert.deepEqual(verbs(cluster, "apiextensions.k8s.io", "customresourcedefinitions"), [
    "create",
    "get",
    "patch",
  ]);
  assert.deepEqual(verbs(cluster, "widgets.example.com", "widgets"), ["list"]);
  // the source reads the CRD by name and the objects; the objects are written there only by failback's
  // copy-back (what changed on DR while it served)
  const prod = renderCluster(listed, "prod").objects;
  assert.deepEqual(verbs(rulesOf(prod, "ClusterRole"), "apiextensions.k8s.io", "customresourcedefinitions"), [
    "get",
  ]);
  assert.deepEqual(verbs(rulesOf(prod, "Role", "crd"), "widgets.example.com", "widgets"), [
    "create",
    "delete",
    "get",
    "list",
    "patch",
    "update",
  ]);

  // `true`: what the source's discovery names (copyable namespaced custom types), each by name
  const all = config({ replications: [repl("all", { includeCustomResources: true, syncCRDs: true })] });
  assert.throws(() => renderCluster(all, "dr"), NeedsDiscoveryError);
  assert.throws(
    () => renderConfig(all),
    /includeCustomResources: true names no type.*List them \(includeCustomResources: \[widgets.example.com, \.\.\.\]\), or run "dr-syncer deploy"/,
  );
  const served = new Map([["prod", SERVED]]);
  const drAll = renderCluster(all, "dr", { served }).objects;
  const names = rulesOf(drAll, "ClusterRole").find((r) => r.resources.includes("customresourcedefinitions"))!
    .resourceNames;
  assert.deepEqual(names, [
    "gadgets.gadgets.example.com",
    "httproutes.gateway.networking.k8s.io",
    "widgets.widgets.example.com",
  ]);
  const role = rulesOf(drAll, "Role", "all-dr");
  for (const [group, resource] of [["widgets.example.com", "widgets"], ["gadgets.example.com", "gadgets"]]) {
    assert.deepEqual(verbs(role, group!, resource!), ["create", "delete", "get", "list", "patch", "update"]);
  }
  assert.ok(!JSON.stringify(drAll).includes("clusterthings"), "a cluster-scoped custom type is not copied");
  assert.ok(!JSON.stringify(drAll).includes("readonlythings"), "nor one that cannot be patched");

  // a bare custom name: its group only discovery knows
  const bare = config({ replications: [repl("bare", { resourceTypes: ["widgets"] })] });
  assert.throws(
    () => renderConfig(bare),
    /"widgets" is not a built-in type.*write custom types as resource.group/,
  );
  assert.deepEqual(
    verbs(
      rulesOf(renderCluster(bare, "dr", { served }).objects, "Role", "bare-dr"),
      "widgets.example.com",
      "widgets",
    ),
    ["create", "delete", "get", "list", "patch", "update"],
  );
  assert.throws(
    () =>
      renderConfig(config({ replications: [repl("bare", { resourceTypes: ["nothings"] })] }), undefined, {
        served,
      }),
    /cluster "prod" serves no type "nothings"/,
  );
});

Deno.test("the CronJob form grants its schedule jobs only: no watches, PVC data without a PVC schedule, or API tokens", () => {
  const c = CRONJOB_FORM;
  const dr = renderCluster(c, "dr").objects;
  const roles = dr.filter((o) => o.kind === "Role").map((o) => o.metadata.namespace);
  assert.deepEqual(
    roles,
    ["live-dr", "nightly-dr"],
    "no Role for replications no CronJob runs (manual), none for the agents (no PVC schedule)",
  );
  const role = rulesOf(dr, "Role", "nightly-dr");
  assert.deepEqual(verbs(role, "", "pods"), [], "no pods: no failback, no pvc-sync");
  assert.deepEqual(
    verbs(role, "", "configmaps"),
    ["create", "delete", "get", "list", "patch", "update"],
    "only as copies",
  );
  assert.deepEqual(verbs(role, "coordination.k8s.io", "leases", ["dr-syncer"]), ["get", "update", "watch"]);
  const prod = renderCluster(c, "prod").objects;
  assert.deepEqual(verbs(rulesOf(prod, "Role", "nightly"), "apps", "deployments"), ["get", "list", "patch"]);
  assert.deepEqual(
    (rulesOf(prod, "ClusterRole").find((r) => r.resources.includes("namespaces"))!).resourceNames,
    ["kube-system", "live", "nightly"],
  );
  // the continuous replication's safety-net stage: no watch, no watcher's Lease
  assert.deepEqual(verbs(rulesOf(prod, "Role", "live"), "", "configmaps"), ["get", "list"]);
  assert.deepEqual(verbs(rulesOf(dr, "Role", "live-dr"), "coordination.k8s.io", "leases", ["dr-syncer"]), [
    "get",
    "update",
    "watch",
  ]);
  assert.ok(!JSON.stringify(dr).includes(WATCH_LEASE_NAME), "no watcher's Lease");
});

Deno.test("the CronJob form with a PVC schedule: pvc-sync's rights for that replication, the Secret-sourced kubeconfig read", () => {
  const c = SHAPES.find((s) => s.name.startsWith("the CronJob form with a PVC schedule"))!.config;
  const dr = renderCluster(c, "dr").objects;
  const files = rulesOf(dr, "Role", "files-dr");
  assert.deepEqual(verbs(files, "", "pods"), ["create", "delete", "get", "list"], "mounter pods");
  assert.deepEqual(
    verbs(files, "coordination.k8s.io", "leases"),
    ["create", "get", "update", "watch"],
    "claim locks",
  );
  const live = rulesOf(dr, "Role", "live-dr");
  assert.deepEqual(verbs(live, "", "pods"), [], "no pvc.schedule: no PVC data in the CronJob form");
  const agents = rulesOf(dr, "Role", "dr-syncer-system");
  assert.deepEqual(verbs(agents, "", "secrets", [AUTHORIZED_KEYS_SECRET]), ["get", "patch"]);
  assert.deepEqual(verbs(agents, "", "configmaps", [HOST_PUBLIC_KEY_CONFIG_MAP]), ["get"]);
  assert.deepEqual(verbs(rulesOf(dr, "Role", "creds"), "", "secrets", ["prod-kubeconfig"]), ["get"]);
  const prod = renderCluster(c, "prod").objects;
  assert.deepEqual(verbs(rulesOf(prod, "Role", "files"), "", "persistentvolumeclaims"), [
    "get",
    "list",
    "patch",
  ]);
});

Deno.test("a continuous replication watches its source, and its watcher's Lease is granted by name", () => {
  assert.equal(WATCH_LEASE_NAME, WATCHER_LEASE);
  const c = config({ replications: [repl("live", { mode: "continuous", resourceTypes: ["cm"] })] });
  // watched, and written by failback's copy-back
  assert.deepEqual(verbs(rulesOf(renderCluster(c, "prod").objects, "Role", "live"), "", "configmaps"), [
    "create",
    "delete",
    "get",
    "list",
    "patch",
    "update",
    "watch",
  ]);
  const dr = rulesOf(renderCluster(c, "dr").objects, "Role", "live-dr");
  assert.deepEqual(verbs(dr, "", "configmaps"), ["create", "delete", "get", "list", "patch", "update"]);
  assert.deepEqual(verbs(dr, "coordination.k8s.io", "leases", ["dr-syncer", "dr-syncer-watch"]), [
    "get",
    "update",
    "watch",
  ]);
});

Deno.test("a replication of the agents' namespace is refused: its rights would reach their host private key", () => {
  const c = config({
    replications: [repl("x", { destination: { cluster: "dr", namespace: "dr-syncer-system" } })],
  });
  assert.throws(() => renderConfig(c), /destination namespace "dr-syncer-system" is agent.namespace/);
});

Deno.test("deploy publishes the host public key: from the Secret's .pub key, else from its private key; a key that cannot serve is named", () => {
  const key = generateHostKey("test");
  const line = key.publicKey.trim();
  assert.deepEqual(
    hostKeyOf({
      data: { ssh_host_ed25519_key: btoa(key.privateKey), "ssh_host_ed25519_key.pub": btoa(key.publicKey) },
    }),
    { publicKey: line },
  );
  assert.deepEqual(hostKeyOf({ data: { ssh_host_ed25519_key: btoa(key.privateKey) } }), {
    publicKey: line.split(" ").slice(0, 2).join(" "),
  });
  const problem = (data: Record<string, string>) => {
    const found = hostKeyOf({ data });
    return "problem" in found ? found.problem : undefined;
  };
  assert.match(problem({})!, /has no private key "ssh_host_ed25519_key"/);
  assert.match(problem({ "ssh_host_ed25519_key.pub": btoa(key.publicKey) })!, /has no private key/);
  assert.match(problem({ ssh_host_ed25519_key: btoa("not a key") })!, /private key .* cannot be read/);
  assert.match(
    problem({ ssh_host_ed25519_key: btoa(key.privateKey), "ssh_host_ed25519_key.pub": btoa("nonsense") })!,
    /is not an OpenSSH public key line/,
  );
  const other = generateHostKey("other");
  assert.match(
    problem({
      ssh_host_ed25519_key: btoa(key.privateKey),
      "ssh_host_ed25519_key.pub": btoa(other.publicKey),
    })!,
    /is not its private key's/,
  );
});
