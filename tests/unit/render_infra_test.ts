import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { type ConfigInput, configSchema } from "../../shared/config/mod.ts";
import type { KubeObject } from "../../shared/kube/types.ts";
import {
  AGENT_HEALTH_PORT,
  AGENT_NAME,
  AUTHORIZED_KEYS_SECRET,
  HOST_KEY_SECRET,
} from "../../shared/pvc/agent_names.ts";
import {
  renderCluster,
  renderConfig,
  renderYaml,
  runtimeClusterOf,
  runtimeConfigFile,
} from "../../infra/render.ts";
import { rbacType, replicatedTypes } from "../../infra/runtime_rbac.ts";
import { cronJobName } from "../../infra/names.ts";
import { HOST_PUBLIC_KEY_CONFIG_MAP } from "../../infra/agent_public_key.ts";
import {
  NAMESPACE_MAPPING_COLUMNS,
  NAMESPACE_MAPPING_PHASES,
  operatorCrds,
  type Schema,
} from "../../infra/operator_crds.ts";
import { OPERATOR_GROUP, OPERATOR_KINDS } from "../../shared/config/operator_names.ts";

// deno-lint-ignore no-explicit-any
type Loose = KubeObject & Record<string, any>;

function config(extra: Partial<ConfigInput> = {}) {
  return configSchema.parse({
    clusters: [
      { name: "prod", kubeconfig: { path: "/etc/prod.kubeconfig" } },
      { name: "dr", kubeconfig: { env: "DR_KUBECONFIG" } },
    ],
    tokens: [{ name: "ops", value: { env: "OPS" }, operations: ["read", "stage"] }],
    replications: [
      {
        name: "shop",
        source: { cluster: "prod", namespace: "shop" },
        destination: { cluster: "dr", namespace: "shop-dr" },
        schedule: "*/5 * * * *",
        pvc: { enabled: true },
      },
      {
        name: "blog",
        source: { cluster: "prod", namespace: "blog" },
        destination: { cluster: "dr" },
        resourceTypes: ["cm", "deploy"],
      },
    ],
    ...extra,
  });
}

const find = (objects: KubeObject[], kind: string, name: string, namespace?: string) => {
  const found = objects.find((o) =>
    o.kind === kind && o.metadata.name === name &&
    (namespace === undefined || o.metadata.namespace === namespace)
  );
  assert.ok(found, `${kind} ${namespace ?? ""}/${name} is rendered`);
  return found as Loose;
};

Deno.test("render: the runtime runs in the replications' destination cluster unless runtime.cluster says", () => {
  assert.equal(runtimeClusterOf(config()), "dr");
  assert.equal(runtimeClusterOf(config({ runtime: { cluster: "prod" } })), "prod");
  const split = config({
    replications: [
      { name: "a", source: { cluster: "prod", namespace: "a" }, destination: { cluster: "dr" } },
      { name: "b", source: { cluster: "dr", namespace: "b" }, destination: { cluster: "prod" } },
    ],
  });
  assert.throws(() => runtimeClusterOf(split), /several clusters \("dr", "prod"\): set runtime.cluster/);
  assert.throws(() => runtimeClusterOf(config({ replications: [] })), /set runtime.cluster/);
});

Deno.test("render: the agent DaemonSet on the host network, kubelet pods with HostToContainer, minimal rights", () => {
  const { objects } = renderCluster(config(), "prod");
  const ds = find(objects, "DaemonSet", AGENT_NAME, "dr-syncer-system");
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  const [container] = pod.containers;
  assert.deepEqual(container.command.slice(0, 2), ["deno", "run"]);
  assert.ok(container.command.includes("agent/main.ts"));
  assert.deepEqual(container.args, [
    "--root",
    "/var/lib/kubelet",
    "--port",
    "2222",
    "--host-key",
    "/etc/dr-syncer/host-key/ssh_host_ed25519_key",
    "--authorized-keys",
    "/etc/dr-syncer/authorized-keys",
    "--health-host",
    "127.0.0.1",
    "--health-port",
    String(AGENT_HEALTH_PORT),
    "--grace-period",
    "30",
  ]);
  assert.deepEqual(
    container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
    [
      ["ssh", 2222],
      ["health", 9222],
    ],
  );
  const sc = container.securityContext;
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.capabilities.drop, ["ALL"]);
  assert.deepEqual(sc.capabilities.add, [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "MKNOD",
    "SETFCAP",
    "SYS_ADMIN",
  ]);
  const mount = container.volumeMounts.find((m: { name: string }) => m.name === "kubelet-pods");
  assert.deepEqual(mount, {
    name: "kubelet-pods",
    mountPath: "/var/lib/kubelet/pods",
    mountPropagation: "HostToContainer",
  });
  assert.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === "/tmp"));
  const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
  assert.equal(volumes["kubelet-pods"].hostPath.path, "/var/lib/kubelet/pods");
  assert.equal(volumes["host-key"].secret.secretName, HOST_KEY_SECRET);
  assert.equal(volumes["authorized-keys"].secret.secretName, AUTHORIZED_KEYS_SECRET);
  assert.ok(volumes.tmp.emptyDir);
  assert.deepEqual(ds.spec.selector.matchLabels, { "app.kubernetes.io/name": AGENT_NAME });
  // a privileged port adds the right to bind it, and nothing else
  const low = renderCluster(config({ agent: { port: 22 } }), "prod").objects;
  const lowSc = find(low, "DaemonSet", AGENT_NAME).spec.template.spec.containers[0].securityContext;
  assert.ok(lowSc.capabilities.add.includes("NET_BIND_SERVICE"));
});

Deno.test("render: the authorized-keys Secret has no data (deploy never owns pvc-sync's keys); no host key is rendered", () => {
  const { objects } = renderCluster(config(), "dr");
  const secret = find(objects, "Secret", AUTHORIZED_KEYS_SECRET, "dr-syncer-system");
  assert.equal(secret.data, undefined);
  assert.equal(secret.stringData, undefined);
  assert.ok(!objects.some((o) => o.metadata.name === HOST_KEY_SECRET));
  const sa = find(objects, "ServiceAccount", AGENT_NAME, "dr-syncer-system");
  assert.equal(sa.automountServiceAccountToken, false);
});

Deno.test("render: the runtime Deployment and Service under the restricted pod security standard", () => {
  const { objects, runtime } = renderCluster(config({ runtime: { port: 9090, replicas: 2 } }), "dr");
  assert.equal(runtime, true);
  const deployment = find(objects, "Deployment", "dr-syncer-runtime", "dr-syncer-system");
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  const [c] = pod.containers;
  assert.deepEqual(c.securityContext, {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  });
  assert.deepEqual(c.args.slice(0, 3), ["serve", "--config", "/etc/dr-syncer/config/config.yaml"]);
  assert.ok(c.args.includes("9090"));
  const mounts = c.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
  assert.deepEqual(mounts, [
    "/etc/dr-syncer/config",
    "/etc/dr-syncer/clusters/prod",
    "/etc/dr-syncer/tokens",
    "/tmp",
  ]);
  const service = find(objects, "Service", "dr-syncer-runtime", "dr-syncer-system");
  assert.equal(service.spec.ports[0].port, 9090);
  // nothing of the runtime itself in the other cluster: only its account, token Secret and RBAC
  const prod = renderCluster(config(), "prod").objects;
  assert.ok(!prod.some((o) => o.kind === "Deployment" || o.kind === "ConfigMap"));
  assert.equal(find(prod, "Secret", "dr-syncer-runtime-token").type, "kubernetes.io/service-account-token");
});

Deno.test("render: the CronJob form has one CronJob per schedule job running run-job, no Deployment", () => {
  const { objects } = renderCluster(config({ runtime: { cronJobs: true } }), "dr");
  const cronJobs = objects.filter((o) => o.kind === "CronJob") as Loose[];
  assert.deepEqual(cronJobs.map((c) => c.metadata.name), ["dr-syncer-stage-shop"]);
  const job = cronJobs[0]!.spec;
  assert.equal(job.schedule, "*/5 * * * *");
  assert.equal(job.timeZone, "Etc/UTC");
  assert.equal(job.concurrencyPolicy, "Forbid");
  const container = job.jobTemplate.spec.template.spec.containers[0];
  assert.deepEqual(container.args, [
    "run-job",
    "--config",
    "/etc/dr-syncer/config/config.yaml",
    "--job",
    "stage-shop",
  ]);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.ok(!objects.some((o) => o.kind === "Deployment" || o.kind === "Service"));
  assert.ok(cronJobName("x".repeat(63)).length <= 52);
});

Deno.test("render: the runtime's config points every credential at the pod's files and parses", () => {
  const text = runtimeConfigFile(config());
  const parsed = configSchema.parse(parse(text));
  assert.deepEqual(parsed.clusters.map((c) => c.kubeconfig), [
    { path: "/etc/dr-syncer/clusters/prod/kubeconfig" },
    { inCluster: true },
  ]);
  assert.deepEqual(parsed.tokens[0]!.value, { path: "/etc/dr-syncer/tokens/ops" });
  assert.equal(parsed.runtime.cluster, "dr");
  assert.deepEqual(parsed.replications, config().replications);
});

Deno.test("render: RBAC per replicated namespace from the replicated types; cluster rules by name", () => {
  const { objects } = renderCluster(config(), "dr");
  const role = find(objects, "Role", "dr-syncer-runtime-dr-syncer-system", "blog");
  assert.equal(role.metadata.labels?.["dr-syncer.io/ignore"], "true");
  const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  const verbsOf = (group: string, resource: string, list = rules) =>
    list.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs)
      .sort();
  // a DR namespace: the copies are written; nothing is watched there but the lock's Lease, by a run waiting for it
  assert.deepEqual(verbsOf("apps", "deployments"), ["create", "delete", "get", "list", "patch", "update"]);
  assert.deepEqual(verbsOf("", "secrets"), [], "blog copies no Secrets");
  assert.deepEqual(role.rules.filter((r: { resources: string[] }) => r.resources.includes("leases")), [
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["dr-syncer"],
      verbs: ["get", "update", "watch"],
    },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  ]);
  assert.deepEqual(verbsOf("", "pods"), ["list"]);
  // shop has PVC data: mounter pods, claims, the agents' public key and authorized keys by name
  const shop = find(objects, "Role", "dr-syncer-runtime-dr-syncer-system", "shop-dr").rules as typeof rules;
  assert.ok(shop.some((r) => r.resources.includes("pods") && r.verbs.includes("create")));
  assert.ok(shop.some((r) => r.resources.includes("roles") && r.verbs.includes("escalate")));
  // the runtime's namespace is the agents' here: its Role there also has the original API's objects
  const agent = find(objects, "Role", "dr-syncer-runtime-dr-syncer-system", "dr-syncer-system").rules
    .filter((r: { apiGroups: string[]; resources: string[] }) =>
      r.apiGroups[0] !== "dr-syncer.io" && !r.resources.includes("events")
    );
  assert.deepEqual(agent, [
    {
      apiGroups: [""],
      resources: ["configmaps"],
      resourceNames: [HOST_PUBLIC_KEY_CONFIG_MAP],
      verbs: ["get"],
    },
    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    {
      apiGroups: [""],
      resources: ["secrets"],
      resourceNames: [AUTHORIZED_KEYS_SECRET],
      verbs: ["get", "patch"],
    },
  ]);
  const rbac = objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
  assert.ok(!JSON.stringify(rbac).includes(`"${HOST_KEY_SECRET}"`), "the host private key is not granted");
  const clusterRole = find(objects, "ClusterRole", "dr-syncer-runtime-dr-syncer-system");
  assert.deepEqual(clusterRole.rules[0], {
    apiGroups: [""],
    resources: ["namespaces"],
    resourceNames: ["blog", "kube-system", "shop-dr"],
    verbs: ["get"],
  });
  assert.ok(!JSON.stringify(clusterRole.rules).includes('"*"'));
  // the source side reads and patches the workloads it scales; failback's copy-back writes there what
  // changed on DR while it served (created, written over, field owners patched, deleted with prune)
  const source = find(
    renderCluster(config(), "prod").objects,
    "Role",
    "dr-syncer-runtime-dr-syncer-system",
    "blog",
  )
    .rules as typeof rules;
  assert.deepEqual(verbsOf("", "configmaps", source), ["create", "delete", "get", "list", "patch", "update"]);
  assert.deepEqual(verbsOf("apps", "deployments", source), [
    "create",
    "delete",
    "get",
    "list",
    "patch",
    "update",
  ]);
});

Deno.test("render: type names resolve like the CLI's (short names, resource.group); exclusions win", () => {
  assert.deepEqual(rbacType("deploy"), { group: "apps", resource: "deployments" });
  assert.deepEqual(rbacType("HPA"), { group: "autoscaling", resource: "horizontalpodautoscalers" });
  assert.deepEqual(rbacType("ingresses.networking.k8s.io"), {
    group: "networking.k8s.io",
    resource: "ingresses",
  });
  assert.deepEqual(rbacType("ingress.networking.k8s.io"), {
    group: "networking.k8s.io",
    resource: "ingresses",
  });
  assert.deepEqual(rbacType("invoices.billing.example.com"), {
    group: "billing.example.com",
    resource: "invoices",
  });
  assert.deepEqual(rbacType("invoices.v1beta1.billing.example.com"), {
    group: "billing.example.com",
    resource: "invoices",
  });
  assert.equal(rbacType("widgets"), undefined, "a bare custom name has no group without discovery");
  const r = config().replications[0]!;
  const types = replicatedTypes({ ...r, excludeResourceTypes: ["secrets", "roles"] });
  assert.ok(!types.some((t) => t.resource === "secrets" || t.resource === "roles"));
  assert.ok(types.some((t) => t.resource === "rolebindings"));
});

Deno.test("render: stable multi-document YAML, one object per document", () => {
  const a = renderYaml(renderConfig(config()));
  const b = renderYaml(renderConfig(config()));
  assert.equal(a, b);
  const documents = parseAllDocuments(a).map((d) => d.toJS() as KubeObject);
  assert.equal(documents.length, renderConfig(config()).reduce((n, r) => n + r.objects.length, 0));
  assert.ok(documents.every((d) => d.apiVersion && d.kind && d.metadata.name));
  assert.equal(documents[0]!.kind, "Namespace");
  assert.throws(() => renderConfig(config(), "nope"), /Unknown cluster "nope"/);
});

// ---- the CRDs of the original DR-Syncer's API ----

const crdOf = (kind: string) => {
  const crd = operatorCrds().find((c) => (c as Loose).spec.names.kind === kind) as Loose;
  return {
    crd,
    version: crd.spec.versions[0],
    schema: crd.spec.versions[0].schema.openAPIV3Schema as Schema,
  };
};

/** Every leaf path of a schema (`a.b`, `list[].c`, `map{}`), and every node with its path. */
function walk(schema: Schema, path = "", nodes: [string, Schema][] = []): [string, Schema][] {
  nodes.push([path, schema]);
  const properties = schema.properties as Record<string, Schema> | undefined;
  for (const [name, child] of Object.entries(properties ?? {})) {
    walk(child, path ? `${path}.${name}` : name, nodes);
  }
  if (schema.items) walk(schema.items as Schema, `${path}[]`, nodes);
  if (typeof schema.additionalProperties === "object") {
    walk(schema.additionalProperties as Schema, `${path}{}`, nodes);
  }
  return nodes;
}
/** The leaf fields (no fields of their own, nor their items'), by path without `[]` and `{}`. */
const leaves = (schema: Schema) =>
  walk(schema).filter(([path, node]) => !node.properties && !/(\[\]|\{\})$/.test(path))
    .map(([path]) => path.replaceAll("[]", "").replaceAll("{}", ""))
    .filter((p, i, all) => p !== "" && all.indexOf(p) === i && !all.some((q) => q.startsWith(`${p}.`)))
    .sort();

/**
 * The spec fields of the original DR-Syncer's types (api/v1alpha1), by path: every one is in our CRDs, so
 * its users' objects apply unchanged; besides them only dr-syncer's own (`EXTENSIONS`).
 */
const ORIGINAL_SPEC: Record<string, string[]> = {
  RemoteCluster: [
    "kubeconfigSecretRef.name",
    "kubeconfigSecretRef.namespace",
    "kubeconfigSecretRef.key",
    "defaultSchedule",
    "defaultResourceTypes",
    ...[
      "enabled",
      "image.repository",
      "image.tag",
      "image.pullPolicy",
      "ssh.port",
      "ssh.keySecretRef.name",
      "ssh.keySecretRef.namespace",
      "concurrency",
      "globalConcurrencyLimit",
      "retryConfig.maxRetries",
      "retryConfig.initialDelay",
      "retryConfig.maxDelay",
      "deployment.hostNetwork",
      "deployment.nodeSelector",
      "deployment.tolerations",
      "deployment.resources.limits",
      "deployment.resources.requests",
      "deployment.annotations",
      "deployment.labels",
      "deployment.priorityClassName",
      "deployment.privileged",
      "deployment.extraEnv.name",
      "deployment.extraEnv.value",
      "deployment.extraEnv.valueFrom.fieldRef.fieldPath",
      "healthCheck.interval",
      "healthCheck.sshTimeout",
      "healthCheck.retryAttempts",
      "healthCheck.retryInterval",
      "defaultVerificationMode",
      "defaultSamplePercent",
      "rsyncDaemonSet.enabled",
      "rsyncDaemonSet.image",
      "rsyncDaemonSet.namespace",
      "rsyncDaemonSet.sshSecretName",
    ].map((p) => `pvcSync.${p}`),
  ],
  ClusterMapping: [
    "paused",
    "sourceCluster",
    "targetCluster",
    "sshKeySecretRef.name",
    "sshKeySecretRef.namespace",
    "sshKeySecretRef.publicKeyKey",
    "sshKeySecretRef.privateKeyKey",
    "verifyConnectivity",
    "connectivityTimeoutSeconds",
  ],
  NamespaceMapping: [
    "paused",
    "replicationMode",
    "namespaceConfig.createNamespace",
    "namespaceConfig.preserveLabels",
    "namespaceConfig.preserveAnnotations",
    "continuous.watchResources",
    "continuous.backgroundSyncInterval",
    "retryConfig.maxRetries",
    "retryConfig.initialBackoff",
    "retryConfig.maxBackoff",
    "retryConfig.backoffMultiplier",
    "tempPodKeySecretRef.name",
    "tempPodKeySecretRef.namespace",
    "sourceCluster",
    "destinationCluster",
    "sourceNamespace",
    "destinationNamespace",
    "schedule",
    "resourceTypes",
    "scaleToZero",
    "namespaceScopedResources",
    "pvcConfig.syncPersistentVolumes",
    "pvcConfig.storageClassMappings.from",
    "pvcConfig.storageClassMappings.to",
    "pvcConfig.accessModeMappings.from",
    "pvcConfig.accessModeMappings.to",
    "pvcConfig.preserveVolumeAttributes",
    "pvcConfig.syncData",
    ...[
      "concurrentSyncs",
      "excludePaths",
      "rsyncOptions",
      "bandwidthLimit",
      "timeout",
      "verificationMode",
      "samplePercent",
    ].map((p) => `pvcConfig.dataSyncConfig.${p}`),
    "immutableResourceConfig.defaultHandling",
    "immutableResourceConfig.resourceOverrides",
    "immutableResourceConfig.drainTimeout",
    "immutableResourceConfig.forceDeleteTimeout",
    "syncCRDs",
    ...["defaultMode", "storageClassNotFound", "resourceNotFound", "validationFailure", "networkError"].map((
      p,
    ) => `failureHandling.${p}`),
    "ingressConfig.preserveAnnotations",
    "ingressConfig.preserveTLS",
    "ingressConfig.preserveBackends",
    "clusterMappingRef.name",
    "clusterMappingRef.namespace",
  ],
};
const EXTENSIONS: Record<string, string[]> = {
  RemoteCluster: ["kubeconfigSecret"],
  ClusterMapping: [],
  NamespaceMapping: ["excludeResourceTypes", "excludedResources"],
};

/**
 * The spec fields dr-syncer reads (docs/config.md, "Operator manifests"): their descriptions say what they do,
 * never "not used".
 */
const USED: Record<string, string[]> = {
  RemoteCluster: [
    "kubeconfigSecretRef.name",
    "kubeconfigSecretRef.namespace",
    "kubeconfigSecretRef.key",
    "kubeconfigSecret",
    "defaultSchedule",
    "defaultResourceTypes",
    "pvcSync.defaultVerificationMode",
  ],
  ClusterMapping: ["paused", "sourceCluster", "targetCluster"],
  NamespaceMapping: [
    "paused",
    "replicationMode",
    "clusterMappingRef.name",
    "clusterMappingRef.namespace",
    "sourceCluster",
    "destinationCluster",
    "sourceNamespace",
    "destinationNamespace",
    "schedule",
    "resourceTypes",
    "namespaceScopedResources",
    "excludeResourceTypes",
    "excludedResources",
    "scaleToZero",
    "syncCRDs",
    "immutableResourceConfig.defaultHandling",
    "pvcConfig.storageClassMappings",
    "pvcConfig.accessModeMappings",
    "pvcConfig.syncData",
    "pvcConfig.dataSyncConfig.bandwidthLimit",
    "pvcConfig.dataSyncConfig.verificationMode",
  ],
};

Deno.test("render: the original DR-Syncer API's CRDs in the runtime's cluster, first, with the Deployment only", () => {
  const dr = renderCluster(config(), "dr").objects;
  const crds = dr.filter((o) => o.kind === "CustomResourceDefinition");
  assert.deepEqual(crds.map((c) => c.metadata.name), [
    "clustermappings.dr-syncer.io",
    "namespacemappings.dr-syncer.io",
    "remoteclusters.dr-syncer.io",
  ]);
  assert.ok(
    dr.slice(0, 3).every((o) => o.kind === "CustomResourceDefinition"),
    "applied before anything else",
  );
  assert.ok(crds.every((c) => c.metadata.labels?.["app.kubernetes.io/managed-by"] === "dr-syncer-deploy"));
  assert.ok(!renderCluster(config(), "prod").objects.some((o) => o.kind === "CustomResourceDefinition"));
  assert.ok(
    !renderCluster(config({ runtime: { cronJobs: true } }), "dr").objects.some((o) =>
      o.kind === "CustomResourceDefinition"
    ),
    "the CronJob form runs stage from the config file only",
  );
});

Deno.test("CRDs: namespaced, the original's kinds and plurals, short names kubectl resolves, a category, status subresource", () => {
  for (const kind of OPERATOR_KINDS) {
    const { crd, version } = crdOf(kind.kind);
    assert.equal(crd.metadata.name, `${kind.plural}.${OPERATOR_GROUP}`);
    assert.equal(crd.spec.scope, "Namespaced");
    assert.equal(crd.spec.names.plural, kind.plural);
    assert.equal(crd.spec.names.singular, kind.singular);
    assert.equal(crd.spec.names.listKind, kind.listKind);
    assert.deepEqual(crd.spec.names.categories, ["dr-syncer"]);
    // the original's rc and cm are ReplicationControllers' and ConfigMaps' in kubectl: never ours
    for (const short of crd.spec.names.shortNames) assert.ok(!["rc", "cm", "ns"].includes(short), short);
    assert.equal(version.name, "v1alpha1");
    assert.ok(version.served && version.storage);
    assert.deepEqual(version.subresources, { status: {} });
  }
});

Deno.test("CRDs: strict structural schemas, a description on every field, no preserve-unknown-fields", () => {
  for (const kind of OPERATOR_KINDS) {
    const { schema } = crdOf(kind.kind);
    assert.ok(!JSON.stringify(schema).includes("x-kubernetes-preserve-unknown-fields"), kind.kind);
    for (const [path, node] of walk(schema)) {
      const where = `${kind.kind} ${path || "(root)"}`;
      assert.ok(node.type !== undefined || node["x-kubernetes-int-or-string"] === true, `${where}: a type`);
      if (node.type === "object" && path !== "metadata") {
        assert.ok(node.properties || node.additionalProperties, `${where}: its fields, or a map's values`);
      }
      const isItem = /(\[\]|\{\})$/.test(path);
      if (!isItem && path !== "metadata") {
        assert.ok(typeof node.description === "string" && node.description, `${where}: a description`);
      }
    }
  }
});

Deno.test("CRDs: every spec field of the original's types, and only dr-syncer's own besides; used fields say what they do", () => {
  for (const kind of OPERATOR_KINDS) {
    const { schema } = crdOf(kind.kind);
    const spec = (schema.properties as Record<string, Schema>).spec!;
    assert.deepEqual(
      leaves(spec),
      [...ORIGINAL_SPEC[kind.kind]!, ...EXTENSIONS[kind.kind]!].sort(),
      `${kind.kind}: the spec's fields`,
    );
    const byPath = new Map(
      walk(spec).filter(([p]) => !/(\[\]|\{\})$/.test(p)).map(([p, n]) => [p.replaceAll("[]", ""), n]),
    );
    for (const path of USED[kind.kind]!) {
      const description = byPath.get(path)?.description as string;
      assert.ok(description && !description.includes("not used"), `${kind.kind} ${path}: ${description}`);
    }
    // a field not read says so, or one of the fields it is in does
    const unusedSays = (path: string): boolean =>
      /not used by dr-syncer/.test(byPath.get(path)?.description as string) ||
      (path.includes(".") && unusedSays(path.slice(0, path.lastIndexOf("."))));
    for (const path of byPath.keys()) {
      if (path === "") continue;
      if (USED[kind.kind]!.some((u) => u === path || u.startsWith(`${path}.`) || path.startsWith(`${u}.`))) {
        continue;
      }
      assert.ok(unusedSays(path), `${kind.kind} ${path}: not read, and its description does not say so`);
    }
  }
  // the same constraints as the original (its objects satisfy them); the schedule is any 5-field cron
  const { schema } = crdOf("NamespaceMapping");
  const spec = walk(schema).find(([p]) => p === "spec")![1];
  const field = (p: string) => walk(spec).find(([q]) => q === p)![1];
  assert.deepEqual(field("replicationMode").enum, ["Scheduled", "Continuous", "Manual"]);
  assert.deepEqual(field("immutableResourceConfig.defaultHandling").enum, [
    "NoChange",
    "Recreate",
    "RecreateWithPodDrain",
    "PartialUpdate",
    "ForceUpdate",
  ]);
  assert.equal(field("pvcConfig.dataSyncConfig.bandwidthLimit").minimum, 0);
  const cron = new RegExp(field("schedule").pattern as string);
  for (const ok of ["*/5 * * * *", "0 9 * * 1-5", "0 0,12 1 */2 *"]) assert.ok(cron.test(ok), ok);
  for (const bad of ["@hourly", "* * * *", "0 0 * * * *"]) assert.ok(!cron.test(bad), bad);
  const remote = walk(crdOf("RemoteCluster").schema).find(([p]) => p === "spec")![1];
  assert.deepEqual(remote.required, undefined, "kubeconfigSecretRef or kubeconfigSecret: a rule says which");
  assert.match(
    JSON.stringify(remote["x-kubernetes-validations"]),
    /has\(self.kubeconfigSecretRef\) != has\(self.kubeconfigSecret\)/,
  );
});

Deno.test("CRDs: the status the runtime writes, and kubectl get's columns over it", () => {
  const { schema, version } = crdOf("NamespaceMapping");
  const status = (schema.properties as Record<string, Schema>).status!;
  assert.deepEqual(Object.keys(status.properties as object).sort(), [
    "activeSide",
    "conditions",
    "destination",
    "lastError",
    "lastRun",
    "lastSyncTime",
    "message",
    "mode",
    "nextSyncTime",
    "observedGeneration",
    "phase",
    "pvcData",
    "rpo",
    "source",
    "syncStats",
  ]);
  const field = (p: string) => walk(status).find(([q]) => q === p)![1];
  assert.deepEqual(field("phase").enum, [...NAMESPACE_MAPPING_PHASES]);
  assert.deepEqual(field("conditions[].type").enum, ["Ready", "Synced", "CutOver"]);
  assert.equal(field("conditions")["x-kubernetes-list-type"], "map");
  assert.deepEqual(field("rpo.level").enum, ["ok", "warning", "critical", "none"]);
  assert.deepEqual(field("lastRun.result").enum, ["succeeded", "failed"]);
  assert.equal(field("lastRun.counts{}").type, "integer");
  for (
    const p of ["lastSyncTime", "nextSyncTime", "lastRun.startedAt", "lastRun.finishedAt", "lastError.time"]
  ) {
    assert.equal(field(p).format, "date-time", p);
  }
  for (const kind of ["RemoteCluster", "ClusterMapping"]) {
    const s = (crdOf(kind).schema.properties as Record<string, Schema>).status!;
    assert.deepEqual(Object.keys(s.properties as object).sort(), [
      "conditions",
      "lastChecked",
      "message",
      "observedGeneration",
      "phase",
    ]);
  }
  // the columns: where from and to, the mode, the active side, the phase, last and next sync, the RPO
  const columns = version.additionalPrinterColumns as {
    name: string;
    jsonPath: string;
    type: string;
    priority?: number;
  }[];
  assert.deepEqual(columns.filter((c) => !c.priority).map((c) => c.name), [
    "Source",
    "Destination",
    "Mode",
    "Active",
    "Phase",
    "Last Sync",
    "Next Sync",
    "RPO",
    "Age",
  ]);
  assert.equal(
    columns.find((c) => c.name === "Next Sync")!.type,
    "string",
    "a date column shows a time to come as <invalid>",
  );
  assert.equal(NAMESPACE_MAPPING_COLUMNS.length, columns.length);
  // every column reads a field the schema has
  for (const kind of OPERATOR_KINDS) {
    const { schema, version } = crdOf(kind.kind);
    const paths = new Set(walk(schema).map(([p]) => `.${p.replaceAll("[]", "")}`));
    for (const column of version.additionalPrinterColumns as { jsonPath: string }[]) {
      const path = column.jsonPath.replace(/\[\?\(@\.type=="\w+"\)\]/, "");
      assert.ok(
        path === ".metadata.creationTimestamp" || paths.has(path),
        `${kind.kind}: ${column.jsonPath}`,
      );
    }
  }
});

Deno.test("render: the runtime's rights on the original API's objects: its namespace only, status patched, Events created", () => {
  const dr = renderCluster(config({ runtime: { namespace: "ops" } }), "dr").objects;
  const role = find(dr, "Role", "dr-syncer-runtime-ops", "ops");
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["events"], verbs: ["create"] },
    {
      apiGroups: ["dr-syncer.io"],
      resources: ["clustermappings", "remoteclusters"],
      verbs: ["list", "watch"],
    },
    {
      apiGroups: ["dr-syncer.io"],
      resources: ["clustermappings/status", "namespacemappings/status", "remoteclusters/status"],
      verbs: ["patch"],
    },
    { apiGroups: ["dr-syncer.io"], resources: ["namespacemappings"], verbs: ["list", "patch", "watch"] },
  ]);
  const rbac = (objects: KubeObject[]) =>
    JSON.stringify(
      objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").map((o) => (o as Loose).rules),
    );
  const elsewhere = dr.filter((o) => o.kind === "ClusterRole" || o.metadata.namespace !== "ops");
  assert.ok(!rbac(elsewhere).includes('"dr-syncer.io"'), "nowhere else, and not across the cluster");
  assert.ok(!rbac(renderCluster(config(), "prod").objects).includes('"dr-syncer.io"'));
  const cron = renderCluster(config({ runtime: { cronJobs: true, namespace: "ops" } }), "dr").objects;
  assert.ok(!rbac(cron).includes('"dr-syncer.io"'), "the CronJob form reads no such object");
});
