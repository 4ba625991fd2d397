import assert from "node:assert/strict";
import { ConfigError, type ConfigIssue, loadConfig } from "../../shared/config/mod.ts";

const REMOTE_CLUSTERS = `apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata:
  name: nyc3
  namespace: dr-syncer
spec:
  kubeconfigSecretRef:
    name: nyc3-kubeconfig
    namespace: dr-syncer
  defaultSchedule: "*/15 * * * *"
status:
  health: Healthy
---
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata:
  name: sfo3
  namespace: dr-syncer
spec:
  kubeconfigSecretRef:
    name: sfo3-kubeconfig
    key: config
`;

const CLUSTER_MAPPING = `apiVersion: dr-syncer.io/v1alpha1
kind: ClusterMapping
metadata:
  name: nyc3-to-sfo3
  namespace: dr-syncer
spec:
  sourceCluster: nyc3
  targetCluster: sfo3
  verifyConnectivity: true
`;

const SHOP = `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata:
  name: shop
  namespace: dr-syncer
spec:
  replicationMode: Scheduled
  schedule: "*/5 * * * *"
  clusterMappingRef:
    name: nyc3-to-sfo3
    namespace: dr-syncer
  sourceNamespace: shop
  destinationNamespace: shop-dr
  resourceTypes: [ConfigMaps, Secrets, Deployment]
  namespaceScopedResources: [widgets.example.com]
  scaleToZero: false
  syncCRDs: true
  immutableResourceConfig:
    defaultHandling: RecreateWithPodDrain
  pvcConfig:
    syncData: true
    storageClassMappings:
      - { from: do-block-storage, to: standard }
    accessModeMappings:
      - { from: ReadWriteMany, to: ReadWriteOnce }
    dataSyncConfig:
      bandwidthLimit: 10240
      verificationMode: sample
status:
  phase: Completed
`;

const MANIFESTS = [
  REMOTE_CLUSTERS,
  CLUSTER_MAPPING,
  "apiVersion: v1\nkind: Secret\nmetadata: { name: unrelated }\n",
  SHOP,
]
  .join("---\n");

function loadIssues(text: string): readonly ConfigIssue[] {
  try {
    loadConfig(text, "operator.yaml");
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("RemoteClusters become clusters with Secret kubeconfigs, defaulting namespace and key", () => {
  const config = loadConfig(MANIFESTS, "operator.yaml");
  assert.deepEqual(config.clusters, [
    {
      name: "nyc3",
      kubeconfig: { secret: { name: "nyc3-kubeconfig", namespace: "dr-syncer", key: "kubeconfig" } },
      allowExec: false,
      allowFileReferences: false,
    },
    {
      name: "sfo3",
      kubeconfig: { secret: { name: "sfo3-kubeconfig", namespace: "dr-syncer", key: "config" } },
      allowExec: false,
      allowFileReferences: false,
    },
  ]);
  assert.deepEqual(config.tokens, []);
});

Deno.test("a NamespaceMapping through a ClusterMapping becomes a replication with its options", () => {
  const config = loadConfig(MANIFESTS, "operator.yaml");
  assert.deepEqual(config.replications, [{
    name: "shop",
    source: { cluster: "nyc3", namespace: "shop" },
    destination: { cluster: "sfo3", namespace: "shop-dr" },
    mode: "scheduled",
    schedule: "*/5 * * * *",
    resourceTypes: ["configmaps", "secrets", "deployment"],
    excludeResourceTypes: [],
    includeCustomResources: ["widgets.example.com"],
    syncCRDs: true,
    scaleToZero: false,
    preserveNodePorts: false,
    prune: false,
    pruneClaims: false,
    maxPrune: 50,
    adopt: false,
    immutable: "recreate",
    storageClassMap: { "do-block-storage": "standard" },
    accessModeMap: { ReadWriteMany: "ReadWriteOnce" },
    ingressHostMap: {},
    ingressClassMap: {},
    pvc: { enabled: true, schedule: "*/5 * * * *", bandwidthLimit: 10240, verify: "sample" },
  }]);
});

Deno.test("a paused NamespaceMapping with direct clusters and a wildcard becomes a manual replication", () => {
  const blog = `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: { name: blog }
spec:
  paused: true
  schedule: "0 * * * *"
  sourceCluster: nyc3
  destinationCluster: sfo3
  sourceNamespace: blog
  resourceTypes: ["*"]
`;
  const [replication] = loadConfig(`${REMOTE_CLUSTERS}---\n${blog}`, "operator.yaml").replications;
  assert.ok(replication);
  assert.equal(replication.mode, "manual");
  assert.equal(replication.schedule, undefined);
  assert.deepEqual(replication.destination, { cluster: "sfo3", namespace: "blog" });
  assert.equal(replication.resourceTypes, undefined);
  assert.equal(replication.includeCustomResources, true);
});

Deno.test("a NamespaceMapping without a schedule takes its source RemoteCluster's default schedule", () => {
  const wiki = `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: { name: wiki, namespace: dr-syncer }
spec:
  replicationMode: Continuous
  clusterMappingRef: { name: nyc3-to-sfo3 }
  sourceNamespace: wiki
`;
  const [replication] = loadConfig([REMOTE_CLUSTERS, CLUSTER_MAPPING, wiki].join("---\n"), "x").replications;
  assert.equal(replication?.mode, "continuous");
  assert.equal(replication?.schedule, "*/15 * * * *");
});

Deno.test("manifests exported as a kind List are read item by item", () => {
  const list = `apiVersion: v1
kind: List
items:
  - apiVersion: dr-syncer.io/v1alpha1
    kind: RemoteCluster
    metadata: { name: a, namespace: dr }
    spec: { kubeconfigSecretRef: { name: a-kc } }
  - apiVersion: dr-syncer.io/v1alpha1
    kind: RemoteCluster
    metadata: { name: b, namespace: dr }
    spec: { kubeconfigSecretRef: { name: b-kc } }
  - apiVersion: dr-syncer.io/v1alpha1
    kind: NamespaceMapping
    metadata: { name: app, namespace: dr }
    spec: { replicationMode: Manual, sourceCluster: a, destinationCluster: b, sourceNamespace: app }
`;
  const config = loadConfig(list, "list.yaml");
  assert.deepEqual(config.clusters.map((cluster) => cluster.name), ["a", "b"]);
  assert.equal(config.replications[0]?.mode, "manual");
});

Deno.test("errors in converted manifests name the manifest field and its line", () => {
  const text = MANIFESTS.replace('schedule: "*/5 * * * *"', 'schedule: "*/5 * *"').replace(
    "targetCluster: sfo3",
    "targetCluster: sfo",
  );
  const issues = loadIssues(text);
  const schedule = issues.find((issue) => issue.path === "NamespaceMapping/shop.spec.schedule");
  assert.ok(schedule, JSON.stringify(issues));
  assert.match(schedule.message, /"\*\/5 \* \*" is not a valid cron expression/);
  assert.equal(schedule.line, 45);
  const target = issues.find((issue) => issue.path === "ClusterMapping/nyc3-to-sfo3.spec.targetCluster");
  assert.ok(target, JSON.stringify(issues));
  assert.match(target.message, /^Unknown cluster "sfo", did you mean "sfo3"\?/);
  assert.equal(target.line, 31);
});

Deno.test("a NamespaceMapping that references a missing ClusterMapping is an error at the reference", () => {
  const issues = loadIssues(
    MANIFESTS.replace("name: nyc3-to-sfo3\n    namespace", "name: nyc3-to-sfo9\n    namespace"),
  );
  assert.deepEqual(issues.map((issue) => issue.path), ["NamespaceMapping/shop.spec.clusterMappingRef.name"]);
  assert.match(issues[0]?.message ?? "", /^Unknown ClusterMapping "nyc3-to-sfo9" in namespace "dr-syncer"/);
});

Deno.test("a NamespaceMapping with no clusters at all is an error at its spec", () => {
  const orphan = `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: { name: orphan }
spec: { sourceNamespace: orphan }
`;
  const issues = loadIssues(`${REMOTE_CLUSTERS}---\n${orphan}`);
  assert.deepEqual(issues.map((issue) => issue.path), ["NamespaceMapping/orphan.spec"]);
  assert.equal(issues[0]?.message, "Needs clusterMappingRef, or sourceCluster and destinationCluster");
});

Deno.test("an unsupported kind or version in the dr-syncer.io group is an error, other groups are ignored", () => {
  const backup = "apiVersion: dr-syncer.io/v1alpha1\nkind: BackupRepository\nmetadata: { name: s3 }\n";
  assert.match(
    loadIssues(`${REMOTE_CLUSTERS}---\n${backup}`)[0]?.message ?? "",
    /^Unsupported kind "BackupRepository"/,
  );
  const v2 = REMOTE_CLUSTERS.replace("dr-syncer.io/v1alpha1", "dr-syncer.io/v2");
  assert.deepEqual(loadIssues(v2).map((issue) => issue.path), ["RemoteCluster/nyc3.apiVersion"]);
});

Deno.test("a wrongly typed manifest field is an error at that field", () => {
  const issues = loadIssues(MANIFESTS.replace("replicationMode: Scheduled", "replicationMode: Sometimes"));
  assert.deepEqual(issues.map((issue) => issue.path), ["NamespaceMapping/shop.spec.replicationMode"]);
  assert.match(issues[0]?.message ?? "", /^Expected one of "Scheduled", "Continuous", "Manual"/);
});
