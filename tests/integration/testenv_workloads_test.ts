/**
 * Proves that workloads in the test environment behave as in a production cluster: the real controllers and
 * kube-scheduler act on them and KWOK's fake nodes play the kubelet (pods become Running and Ready, Job pods
 * complete, deleted pods go away). No container runs.
 */
import assert from "node:assert/strict";
import { isNotFound, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { createNamespace, deleteNamespace, testClusters, uniqueName } from "../_clusters.ts";

const DEADLINE_MS = 30_000;

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

type Pod = KubeObject & {
  spec: { nodeName?: string };
  status?: { phase?: string; podIP?: string; conditions?: Condition[] };
};

type Node = KubeObject & {
  spec: { taints?: { key: string; effect: string }[]; unschedulable?: boolean };
  status?: { conditions?: Condition[]; allocatable?: Record<string, string> };
};

type Workload = KubeObject & {
  spec: { replicas?: number };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
  };
};

type Job = KubeObject & { status?: { succeeded?: number; conditions?: Condition[] } };

type Claim = KubeObject & { status?: { phase?: string } };

type EndpointSlice = KubeObject & {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string }[];
};

const isTrue = (conditions: Condition[] | undefined, type: string) =>
  conditions?.some((c) => c.type === type && c.status === "True") ?? false;

/**
 * Polls `check` until it returns true; fails after the deadline with what `what` should have reached and the
 * state the last check saw (`check` returns a description of it when not there yet).
 */
async function eventually(
  what: string,
  check: () => Promise<true | string>,
  timeoutMs = DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await check();
    if (seen === true) return;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s; last seen: ${seen}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function list<T extends KubeObject>(client: KubeClient, path: string, labelSelector?: string) {
  const query = labelSelector ? { labelSelector } : {};
  return (await client.request<{ items: T[] }>({ method: "GET", path, query })).items;
}

async function get<T extends KubeObject>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>({ method: "GET", path });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function create(client: KubeClient, path: string, body: KubeObject): Promise<void> {
  await client.request({ method: "POST", path, body });
}

async function scale(client: KubeClient, path: string, replicas: number): Promise<void> {
  await client.request({
    method: "PATCH",
    path,
    contentType: "application/merge-patch+json",
    body: { spec: { replicas } },
  });
}

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

const podState = (pods: Pod[]) =>
  JSON.stringify(pods.map((p) => ({
    name: p.metadata.name,
    node: p.spec.nodeName,
    phase: p.status?.phase,
    ready: isTrue(p.status?.conditions, "Ready"),
    deleting: Boolean(p.metadata.deletionTimestamp),
  })));

/** Waits until the Deployment reports all replicas ready, then returns its pods. */
async function rolledOut(client: KubeClient, ns: string, name: string, replicas: number): Promise<Pod[]> {
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
  await eventually(
    `${client.name}: Deployment ${ns}/${name} rolled out with ${replicas} ready replicas`,
    async () => {
      const d = await get<Workload>(client, path);
      const s = d?.status ?? {};
      return s.observedGeneration === d?.metadata.generation && s.readyReplicas === replicas &&
          s.availableReplicas === replicas && s.updatedReplicas === replicas && s.replicas === replicas ||
        `status ${JSON.stringify(s)}; pods ${
          podState(await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`, `app=${name}`))
        }`;
    },
  );
  return await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`, `app=${name}`);
}

async function inNamespace(client: KubeClient, prefix: string, fn: (ns: string) => Promise<void>) {
  const ns = uniqueName(prefix);
  await createNamespace(client, ns);
  try {
    await fn(ns);
  } finally {
    await deleteNamespace(client, ns);
  }
}

Deno.test("testenv: each cluster has Ready fake nodes without taints, so ordinary pods fit on them", async () => {
  await using clusters = await testClusters();
  for (const client of [clusters.source, clusters.dr]) {
    const nodes = await list<Node>(client, "/api/v1/nodes", "type=kwok");
    assert.ok(nodes.length >= 2, `${client.name}: expected at least 2 fake nodes, found ${nodes.length}`);
    for (const node of nodes) {
      const where = `${client.name}: node ${node.metadata.name}`;
      assert.equal(node.metadata.annotations?.["kwok.x-k8s.io/node"], "fake", `${where} is managed by kwok`);
      assert.ok(
        isTrue(node.status?.conditions, "Ready"),
        `${where} is Ready: ${JSON.stringify(node.status)}`,
      );
      assert.deepEqual(node.spec.taints ?? [], [], `${where} has no taints`);
      assert.notEqual(node.spec.unschedulable, true, `${where} is schedulable`);
      const pods = node.status?.allocatable?.pods ?? "0"; // a quantity: "1k" is 1000
      assert.ok(Number(pods.replace(/k$/, "e3")) >= 100, `${where} has room for pods: ${pods}`);
    }
  }
});

Deno.test("testenv: a Deployment's pods are scheduled onto fake nodes and become Ready", async () => {
  await using clusters = await testClusters();
  await Promise.all(
    [clusters.source, clusters.dr].map((client) =>
      inNamespace(client, "wl-deploy", async (ns) => {
        await create(client, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment("web", 3));
        const pods = await rolledOut(client, ns, "web", 3);
        assert.equal(pods.length, 3, `${client.name}: ${podState(pods)}`);
        for (const pod of pods) {
          const where = `${client.name}: pod ${pod.metadata.name}`;
          assert.match(pod.spec.nodeName ?? "", /^kwok-node-/, `${where} is bound to a fake node`);
          assert.ok(isTrue(pod.status?.conditions, "PodScheduled"), `${where} was scheduled`);
          assert.equal(pod.status?.phase, "Running", where);
          assert.ok(isTrue(pod.status?.conditions, "Ready"), `${where} is Ready`);
          assert.ok(pod.status?.podIP, `${where} has an IP`);
          assert.equal(
            pod.metadata.ownerReferences?.[0]?.kind,
            "ReplicaSet",
            `${where} belongs to a ReplicaSet`,
          );
        }
        const replicaSets = await list<Workload>(client, `/apis/apps/v1/namespaces/${ns}/replicasets`);
        assert.equal(replicaSets.length, 1, `${client.name}: one ReplicaSet`);
        assert.equal(replicaSets[0]?.metadata.ownerReferences?.[0]?.name, "web");
      })
    ),
  );
});

Deno.test("testenv: scaling a Deployment to zero removes its pods", async () => {
  await using clusters = await testClusters();
  const client = clusters.source;
  await inNamespace(client, "wl-zero", async (ns) => {
    await create(client, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment("web", 2));
    await rolledOut(client, ns, "web", 2);
    await scale(client, `/apis/apps/v1/namespaces/${ns}/deployments/web`, 0);
    await eventually(`${client.name}: the pods of ${ns}/web are gone`, async () => {
      const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`, "app=web");
      return pods.length === 0 || podState(pods);
    });
    await eventually(`${client.name}: Deployment ${ns}/web reports zero replicas`, async () => {
      const s = (await get<Workload>(client, `/apis/apps/v1/namespaces/${ns}/deployments/web`))?.status;
      return (s?.replicas ?? 0) === 0 && (s?.readyReplicas ?? 0) === 0 || JSON.stringify(s);
    });
  });
});

Deno.test("testenv: deleting a Deployment deletes its ReplicaSet and pods", async () => {
  await using clusters = await testClusters();
  const client = clusters.dr;
  await inNamespace(client, "wl-gc", async (ns) => {
    await create(client, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment("web", 2));
    await rolledOut(client, ns, "web", 2);
    await client.request({ method: "DELETE", path: `/apis/apps/v1/namespaces/${ns}/deployments/web` });
    await eventually(`${client.name}: the ReplicaSet and pods of ${ns}/web are gone`, async () => {
      const replicaSets = await list<Workload>(client, `/apis/apps/v1/namespaces/${ns}/replicasets`);
      const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`);
      return replicaSets.length + pods.length === 0 ||
        `ReplicaSets ${replicaSets.map((r) => r.metadata.name)}; pods ${podState(pods)}`;
    });
  });
});

Deno.test("testenv: deleting a namespace with running pods completes", async () => {
  await using clusters = await testClusters();
  const client = clusters.source;
  const ns = uniqueName("wl-nsdel");
  await createNamespace(client, ns);
  try {
    await create(client, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment("web", 3));
    await rolledOut(client, ns, "web", 3);
    const started = Date.now();
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` });
    await eventually(`${client.name}: namespace ${ns} is gone`, async () => {
      const namespace = await get<KubeObject & { status?: unknown }>(client, `/api/v1/namespaces/${ns}`);
      if (!namespace) return true;
      const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`);
      return `namespace status ${JSON.stringify(namespace.status)}; pods ${podState(pods)}`;
    }, 60_000);
    assert.ok(Date.now() - started < 60_000);
  } finally {
    await deleteNamespace(client, ns);
  }
});

Deno.test("testenv: a Service's EndpointSlice lists the addresses of its Ready pods", async () => {
  await using clusters = await testClusters();
  const client = clusters.dr;
  await inNamespace(client, "wl-svc", async (ns) => {
    await create(client, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment("web", 2));
    await create(client, `/api/v1/namespaces/${ns}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 80 }] },
    });
    const pods = await rolledOut(client, ns, "web", 2);
    const podIPs = pods.map((p) => p.status?.podIP).sort();
    await eventually(`${client.name}: the EndpointSlice of ${ns}/web lists ${podIPs}`, async () => {
      const slices = await list<EndpointSlice>(
        client,
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        "kubernetes.io/service-name=web",
      );
      const ready = slices.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true);
      const addresses = ready.flatMap((e) => e.addresses).sort();
      return JSON.stringify(addresses) === JSON.stringify(podIPs) ||
        JSON.stringify(slices.map((s) => s.endpoints));
    });
  });
});

Deno.test("testenv: a DaemonSet runs one Ready pod on each fake node", async () => {
  await using clusters = await testClusters();
  const client = clusters.source;
  const nodes = (await list<Node>(client, "/api/v1/nodes")).map((n) => n.metadata.name).sort();
  assert.ok(nodes.length >= 2, `${client.name}: expected at least 2 nodes, found ${nodes}`);
  await inNamespace(client, "wl-ds", async (ns) => {
    await create(client, `/apis/apps/v1/namespaces/${ns}/daemonsets`, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { containers: [{ name: "agent", image: "busybox:1.37" }] },
        },
      },
    });
    await eventually(`${client.name}: one Ready pod of ${ns}/agent on each of ${nodes}`, async () => {
      const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`, "app=agent");
      const on = pods.filter((p) => isTrue(p.status?.conditions, "Ready")).map((p) => p.spec.nodeName).sort();
      return JSON.stringify(on) === JSON.stringify(nodes) || podState(pods);
    });
  });
});

Deno.test(
  "testenv: a StatefulSet creates its claims from volumeClaimTemplates and, with whenScaled: Delete, deletes them when scaled down",
  async () => {
    await using clusters = await testClusters();
    const client = clusters.dr;
    await inNamespace(client, "wl-sts", async (ns) => {
      // No provisioner runs: the claims bind to volumes made by hand, in a storage class of this test's own.
      const volumes = [0, 1, 2].map((i) => `${ns}-pv-${i}`);
      try {
        for (const name of volumes) {
          await create(client, "/api/v1/persistentvolumes", {
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name },
            spec: {
              capacity: { storage: "1Gi" },
              accessModes: ["ReadWriteOnce"],
              persistentVolumeReclaimPolicy: "Retain",
              storageClassName: ns,
              hostPath: { path: `/tmp/${name}` },
            },
          });
        }
        await create(client, `/api/v1/namespaces/${ns}/services`, {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "db" },
          spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] },
        });
        await create(client, `/apis/apps/v1/namespaces/${ns}/statefulsets`, {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: { name: "db" },
          spec: {
            replicas: 3,
            serviceName: "db",
            selector: { matchLabels: { app: "db" } },
            persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Retain" },
            template: {
              metadata: { labels: { app: "db" } },
              spec: {
                containers: [{
                  name: "db",
                  image: "postgres:16",
                  volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
                }],
              },
            },
            volumeClaimTemplates: [{
              metadata: { name: "data" },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: ns,
                resources: { requests: { storage: "1Gi" } },
              },
            }],
          },
        });
        const claims = () => list<Claim>(client, `/api/v1/namespaces/${ns}/persistentvolumeclaims`);
        const claimState = (items: Claim[]) =>
          JSON.stringify(items.map((c) => `${c.metadata.name}:${c.status?.phase}`).sort());
        const path = `/apis/apps/v1/namespaces/${ns}/statefulsets/db`;
        await eventually(`${client.name}: StatefulSet ${ns}/db has 3 ready replicas`, async () => {
          const s = (await get<Workload>(client, path))?.status;
          return s?.readyReplicas === 3 ||
            `status ${JSON.stringify(s)}; claims ${claimState(await claims())}; pods ${
              podState(await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`))
            }`;
        });
        assert.equal(
          claimState(await claims()),
          JSON.stringify(["data-db-0:Bound", "data-db-1:Bound", "data-db-2:Bound"]),
          "one bound claim per replica, named after the template and the pod",
        );

        await scale(client, path, 1);
        await eventually(`${client.name}: only the claim of db-0 is left`, async () => {
          const left = await claims();
          const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`);
          return claimState(left) === JSON.stringify(["data-db-0:Bound"]) &&
              pods.map((p) => p.metadata.name).join() === "db-0" ||
            `claims ${claimState(left)}; pods ${podState(pods)}`;
        });
      } finally {
        await deleteNamespace(client, ns);
        for (const name of volumes) {
          await client.request({ method: "DELETE", path: `/api/v1/persistentvolumes/${name}` }).catch(
            () => {},
          );
        }
      }
    });
  },
);

Deno.test("testenv: a Job's pods run to completion and the Job completes", async () => {
  await using clusters = await testClusters();
  const client = clusters.source;
  await inNamespace(client, "wl-job", async (ns) => {
    await create(client, `/apis/batch/v1/namespaces/${ns}/jobs`, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate" },
      spec: {
        completions: 3,
        parallelism: 2,
        template: {
          spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "busybox:1.37" }] },
        },
      },
    });
    await eventually(`${client.name}: Job ${ns}/migrate completes with 3 succeeded pods`, async () => {
      const job = await get<Job>(client, `/apis/batch/v1/namespaces/${ns}/jobs/migrate`);
      return job?.status?.succeeded === 3 && isTrue(job.status.conditions, "Complete") ||
        JSON.stringify(job?.status);
    });
    const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`, "job-name=migrate");
    assert.equal(pods.length, 3, podState(pods));
    for (const pod of pods) {
      assert.equal(pod.status?.phase, "Succeeded", `pod ${pod.metadata.name}`);
      assert.match(pod.spec.nodeName ?? "", /^kwok-node-/, `pod ${pod.metadata.name} ran on a fake node`);
    }
  });
});

Deno.test("testenv: a finished Job with ttlSecondsAfterFinished is deleted with its pods", async () => {
  await using clusters = await testClusters();
  const client = clusters.dr;
  await inNamespace(client, "wl-ttl", async (ns) => {
    await create(client, `/apis/batch/v1/namespaces/${ns}/jobs`, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "once" },
      spec: {
        ttlSecondsAfterFinished: 2,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "once", image: "busybox:1.37" }] } },
      },
    });
    let finished = false;
    await eventually(`${client.name}: Job ${ns}/once finishes, then is deleted with its pod`, async () => {
      const job = await get<Job>(client, `/apis/batch/v1/namespaces/${ns}/jobs/once`);
      if (job && isTrue(job.status?.conditions, "Complete")) finished = true;
      const pods = await list<Pod>(client, `/api/v1/namespaces/${ns}/pods`);
      return !job && finished && pods.length === 0 ||
        `finished seen: ${finished}; job ${JSON.stringify(job?.status)}; pods ${podState(pods)}`;
    });
  });
});
