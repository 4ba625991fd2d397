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

Deno.test("render: the CronJob form has one CronJob per scheduled replication running stage, no Deployment", () => {
  const { objects } = renderCluster(config({ runtime: { cronJobs: true } }), "dr");
  const cronJobs = objects.filter((o) => o.kind === "CronJob") as Loose[];
  assert.deepEqual(cronJobs.map((c) => c.metadata.name), ["dr-syncer-stage-shop"]);
  const job = cronJobs[0]!.spec;
  assert.equal(job.schedule, "*/5 * * * *");
  assert.equal(job.timeZone, "Etc/UTC");
  assert.equal(job.concurrencyPolicy, "Forbid");
  const container = job.jobTemplate.spec.template.spec.containers[0];
  assert.deepEqual(container.args, [
    "stage",
    "--config",
    "/etc/dr-syncer/config/config.yaml",
    "--replication",
    "shop",
    "--output",
    "json",
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
    { path: "/etc/dr-syncer/config/in-cluster.kubeconfig" },
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
  // a DR namespace: the copies are written; nothing is watched there
  assert.deepEqual(verbsOf("apps", "deployments"), ["create", "delete", "get", "list", "patch"]);
  assert.deepEqual(verbsOf("", "secrets"), [], "blog copies no Secrets");
  assert.deepEqual(role.rules.filter((r: { resources: string[] }) => r.resources.includes("leases")), [
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["dr-syncer"],
      verbs: ["get", "update"],
    },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  ]);
  assert.deepEqual(verbsOf("", "pods"), ["list"]);
  // shop has PVC data: mounter pods, claims, the agents' public key and authorized keys by name
  const shop = find(objects, "Role", "dr-syncer-runtime-dr-syncer-system", "shop-dr").rules as typeof rules;
  assert.ok(shop.some((r) => r.resources.includes("pods") && r.verbs.includes("create")));
  assert.ok(shop.some((r) => r.resources.includes("roles") && r.verbs.includes("escalate")));
  const agent = find(objects, "Role", "dr-syncer-runtime-dr-syncer-system", "dr-syncer-system").rules;
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
  // the source side reads, and patches only the workloads it scales; it creates and deletes nothing there
  const source = find(
    renderCluster(config(), "prod").objects,
    "Role",
    "dr-syncer-runtime-dr-syncer-system",
    "blog",
  )
    .rules as typeof rules;
  assert.deepEqual(verbsOf("", "configmaps", source), ["get", "list"]);
  assert.deepEqual(verbsOf("apps", "deployments", source), ["get", "list", "patch"]);
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
