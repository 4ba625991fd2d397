/**
 * Safety rules that need workloads that behave: on the test clusters, pods are scheduled onto
 * simulated nodes and run, and StatefulSets create (and, by their retention policy, delete) claims.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import { type KubeClient, type KubeObject, listObjects } from "../../shared/kube/mod.ts";
import type { replicationSpec } from "../../shared/plan/replication_spec.ts";
import { deps, read, seed, testClusters, withNamespaces } from "../_clusters.ts";

const CLAIMS = {
  group: "",
  version: "v1",
  resource: "persistentvolumeclaims",
  kind: "PersistentVolumeClaim",
  namespaced: true,
};
const PODS = { group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true };

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const claimNames = async (client: KubeClient, ns: string) =>
  (await listObjects(client, CLAIMS, ns)).filter((c) => !c.metadata.deletionTimestamp).map((c) =>
    c.metadata.name
  )
    .sort();
const runningPods = async (client: KubeClient, ns: string) =>
  (await listObjects<KubeObject & { status?: { phase?: string } }>(client, PODS, ns)).filter((p) =>
    p.status?.phase === "Running" && !p.metadata.deletionTimestamp
  ).length;

/** A StorageClass without a provisioner and `count` volumes of it on `client` (what a claim binds to). */
async function volumes(
  client: KubeClient,
  storageClass: string,
  count: number,
): Promise<() => Promise<void>> {
  await seed(client, [
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: storageClass },
      provisioner: "kubernetes.io/no-provisioner",
      volumeBindingMode: "Immediate",
    },
    ...Array.from({ length: count }, (_, i) => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `${storageClass}-${i}` },
      spec: {
        storageClassName: storageClass,
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        hostPath: { path: `/tmp/${storageClass}-${i}` },
      },
    })),
  ]);
  return async () => {
    for (let i = 0; i < count; i++) {
      await client.request({ method: "DELETE", path: `/api/v1/persistentvolumes/${storageClass}-${i}` })
        .catch(() => {});
    }
    await client.request({ method: "DELETE", path: `/apis/storage.k8s.io/v1/storageclasses/${storageClass}` })
      .catch(() => {});
  };
}

const statefulSet = (ns: string, replicas: number, storageClass: string) => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "db", namespace: ns },
  spec: {
    replicas,
    serviceName: "db",
    selector: { matchLabels: { app: "db" } },
    persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Retain" },
    template: {
      metadata: { labels: { app: "db" } },
      spec: { containers: [{ name: "c", image: "postgres:16" }] },
    },
    volumeClaimTemplates: [{
      metadata: { name: "data" },
      spec: {
        storageClassName: storageClass,
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
      },
    }],
  },
});

Deno.test("cutover and failback never delete the claims of a StatefulSet whose policy deletes them when scaled", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "stsclaims", async (ns) => {
    const storageClass = ns.source.slice(0, 40);
    const cleanups = [await volumes(c.source, storageClass, 2), await volumes(c.dr, storageClass, 2)];
    try {
      await claimsRoundTrip(c, ns, storageClass);
    } finally {
      for (const cleanup of cleanups) await cleanup();
    }
  });
});

async function claimsRoundTrip(
  c: { source: KubeClient; dr: KubeClient },
  ns: { source: string; dest: string; spec: () => ReturnType<typeof replicationSpec> },
  storageClass: string,
) {
  {
    await seed(c.source, [statefulSet(ns.source, 2, storageClass)]);
    await eventually(
      "2 running db pods on the source",
      async () => (await runningPods(c.source, ns.source)) === 2 || undefined,
    );
    assert.deepEqual(await claimNames(c.source, ns.source), ["data-db-0", "data-db-1"]);
    await stage(deps(c), { replication: ns.spec() });

    assert.equal((await cutover(deps(c), { replication: ns.spec() })).status, "succeeded");
    await eventually(
      "the source pods gone",
      async () => (await runningPods(c.source, ns.source)) === 0 || undefined,
    );
    await new Promise((r) => setTimeout(r, 3_000)); // time for the StatefulSet controller and the GC to act
    assert.deepEqual(
      await claimNames(c.source, ns.source),
      ["data-db-0", "data-db-1"],
      "the source keeps its data",
    );
    const held = await read<
      KubeObject & { spec: { persistentVolumeClaimRetentionPolicy: { whenScaled: string } } }
    >(
      c.source,
      "apps/v1",
      "StatefulSet",
      ns.source,
      "db",
    );
    assert.equal(held?.spec.persistentVolumeClaimRetentionPolicy.whenScaled, "Retain");
    await eventually(
      "2 running db pods on DR",
      async () => (await runningPods(c.dr, ns.dest)) === 2 || undefined,
    );
    assert.deepEqual(await claimNames(c.dr, ns.dest), ["data-db-0", "data-db-1"]);

    assert.equal((await failback(deps(c), { replication: ns.spec() })).status, "succeeded");
    await eventually("the DR pods gone", async () => (await runningPods(c.dr, ns.dest)) === 0 || undefined);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(
      await claimNames(c.dr, ns.dest),
      ["data-db-0", "data-db-1"],
      "DR keeps the data it served",
    );
    await eventually(
      "2 running db pods on the source again",
      async () => (await runningPods(c.source, ns.source)) === 2 || undefined,
    );
    const restored = await read<
      KubeObject & { spec: { persistentVolumeClaimRetentionPolicy: { whenScaled: string } } }
    >(
      c.source,
      "apps/v1",
      "StatefulSet",
      ns.source,
      "db",
    );
    assert.equal(
      restored?.spec.persistentVolumeClaimRetentionPolicy.whenScaled,
      "Delete",
      "its policy is back",
    );
  }
}

Deno.test("a Job that completed on the source is removed from DR, so cutover cannot run it again", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "jobdone", async (ns) => {
    await seed(c.source, [{
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate", namespace: ns.source },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            nodeSelector: { "example.com/no-such-node": "true" }, // its pod waits: the Job is running
            containers: [{ name: "c", image: "shop-migrate:2" }],
          },
        },
      },
    }, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns.source },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "c", image: "nginx" }] },
        },
      },
    }]);
    const pod = await eventually(
      "the Job's pod",
      async () => (await listObjects(c.source, PODS, ns.source))[0],
    );
    await stage(deps(c), { replication: ns.spec() });
    assert.ok(await read(c.dr, "batch/v1", "Job", ns.dest, "migrate"), "copied while it runs, suspended");
    // the Job finishes on the source
    await c.source.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${ns.source}/pods/${pod.metadata.name}/status`,
      contentType: "application/merge-patch+json",
      body: { status: { phase: "Succeeded" } },
    });
    await eventually("the source Job complete", async () => {
      const job = await read<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        c.source,
        "batch/v1",
        "Job",
        ns.source,
        "migrate",
      );
      return job?.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") || undefined;
    });
    const report = await stage(deps(c), { replication: ns.spec() });
    const entry = report.objects.find((o) => o.kind === "Job" && o.name === "migrate");
    assert.equal(entry?.action, "pruned");
    assert.match(entry?.reason ?? "", /its source Job completed: the copy would run it again at cutover/);
    await eventually(
      "the DR copy gone",
      async () => (await read(c.dr, "batch/v1", "Job", ns.dest, "migrate")) === undefined || undefined,
    );
    assert.equal((await cutover(deps(c), { replication: ns.spec() })).status, "succeeded");
    assert.equal(await read(c.dr, "batch/v1", "Job", ns.dest, "migrate"), undefined, "nothing to run again");
  });
});

Deno.test("an HPA copied to DR stays idle at zero and is in charge after cutover", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "hpa", async (ns) => {
    await seed(c.source, [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "api", namespace: ns.source },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "api" } },
          template: {
            metadata: { labels: { app: "api" } },
            spec: { containers: [{ name: "c", image: "api:1" }] },
          },
        },
      },
      {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "api", namespace: ns.source },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
          minReplicas: 2,
          maxReplicas: 5,
          metrics: [{
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          }],
        },
      },
    ]);
    await stage(deps(c), { replication: ns.spec() });
    await new Promise((r) => setTimeout(r, 4_000)); // the HPA controller syncs every few seconds
    const dr = async () =>
      (await read<KubeObject & { spec: { replicas: number } }>(c.dr, "apps/v1", "Deployment", ns.dest, "api"))
        ?.spec.replicas;
    assert.equal(await dr(), 0, "idle at zero: an HPA does not scale a target at zero");
    await cutover(deps(c), { replication: ns.spec() });
    assert.equal(await dr(), 2);
    // below its minimum by hand: the HPA on DR is in charge and brings it back
    await c.dr.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/api/scale`,
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: 1 } },
    });
    await eventually("the DR HPA back to its minimum", async () => (await dr()) === 2 || undefined, 45_000);
  });
});
