/**
 * Faults on real API servers (extra clusters this file starts and breaks), each with the promise it checks:
 * - the DR API server frozen (SIGSTOP) in the middle of a stage, then resumed: the stage fails (its lock is
 *   lost, no write after that), the re-run brings DR to the source exactly, and the source is never written;
 * - the source API server killed (SIGKILL) during a cutover: never up on both sides, never down on both; the
 *   re-run with the source unavailable finishes it, and the source is fenced once it is back;
 * - an API server throttling (max in-flight requests far below the stage's concurrency, real 429s) under a
 *   5,000-object stage: everything arrives, the 429s were retried.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { stage } from "../../functions/stage.ts";
import { connectCluster, type KubeClient, type KubeObject, listObjects } from "../../shared/kube/mod.ts";
import { DEPLOYMENTS } from "../../shared/kube/types.ts";
import { readReplicationState } from "../../shared/state/mod.ts";
import {
  createNamespace,
  deleteNamespace,
  deps,
  extraCluster,
  fixtures,
  seed,
  testClusters,
  uniqueName,
} from "../_clusters.ts";
import { replicationSpec } from "../../shared/plan/replication_spec.ts";

type Workload = KubeObject & { spec: { replicas?: number } };

const CONFIG_MAPS = { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true };

/** Creates `count` ConfigMaps in `ns` quickly (POSTs, 16 at a time). */
async function configMaps(client: KubeClient, ns: string, count: number, prefix = "cm"): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const i = next++;
      await client.request({
        method: "POST",
        path: `/api/v1/namespaces/${ns}/configmaps`,
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `${prefix}-${i}` },
          data: { i: String(i) },
        },
      });
    }
  }));
}

/** name -> data of every ConfigMap in `ns` (kube-root-ca.crt left out). */
async function contents(client: KubeClient, ns: string): Promise<Map<string, string>> {
  const items = await listObjects<KubeObject & { data?: Record<string, string> }>(client, CONFIG_MAPS, ns);
  return new Map(
    items.filter((o) => o.metadata.name !== "kube-root-ca.crt").map((
      o,
    ) => [o.metadata.name, JSON.stringify(o.data)]),
  );
}

async function resourceVersions(client: KubeClient, ns: string): Promise<string[]> {
  const items = await listObjects(client, CONFIG_MAPS, ns);
  return items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
}

Deno.test("fault: the DR API server frozen mid-stage; the re-run converges and the source is never written", async () => {
  await using c = await testClusters();
  await using frozen = await extraCluster("drfrozen");
  const dr = await connectCluster("dr", { path: frozen.kubeconfig });
  const ns = uniqueName("frozen");
  await createNamespace(c.source, ns);
  try {
    await configMaps(c.source, ns, 600);
    const before = await resourceVersions(c.source, ns);
    const spec = replicationSpec({ name: "frozen", sourceNamespace: ns, destNamespace: ns });
    let frozeAt = -1;
    const run = stage(
      deps({ source: c.source, dr }, {
        lock: { leaseSeconds: 3 },
        concurrency: 4,
        onProgress: (p) => {
          if (p.phase === "writing" && p.done >= 100 && frozeAt < 0) {
            frozeAt = p.done;
            void frozen.freeze();
            setTimeout(() => frozen.thaw(), 8_000); // well past the 3 s lease
          }
        },
      }),
      { replication: spec },
    );
    const first = await run.then((r) => r.status, (e: unknown) => e instanceof Error ? e.name : String(e));
    assert.ok(frozeAt >= 100, "the API server was frozen in the middle of the writes");
    assert.notEqual(first, "succeeded", "the frozen stage does not claim success");
    await new Promise((r) => setTimeout(r, 9_000));
    const again = await stage(deps({ source: c.source, dr }, { lock: { leaseSeconds: 3, waitMs: 10_000 } }), {
      replication: spec,
    });
    assert.equal(
      again.status,
      "succeeded",
      JSON.stringify(again.objects.filter((o) => o.action === "failed")),
    );
    assert.deepEqual(await contents(dr, ns), await contents(c.source, ns), "DR equals the source");
    assert.deepEqual(await resourceVersions(c.source, ns), before, "stage never wrote the source");
  } finally {
    await deleteNamespace(c.source, ns);
    dr.close();
  }
});

Deno.test("fault: the source API server killed during cutover; never up or down on both sides, the re-run finishes", async () => {
  await using c = await testClusters();
  await using crashed = await extraCluster("srckilled");
  const source = await connectCluster("source", { path: crashed.kubeconfig });
  const ns = uniqueName("srckill");
  await createNamespace(source, ns);
  try {
    await seed(source, [fixtures.deployment(ns, "web", 3), fixtures.deployment(ns, "api", 2)]);
    const clusters = { source, dr: c.dr };
    const spec = replicationSpec({ name: "srckill", sourceNamespace: ns, destNamespace: ns });
    await stage(deps(clusters), { replication: spec });
    const replicas = async (client: KubeClient) =>
      Object.fromEntries(
        (await listObjects<Workload>(client, DEPLOYMENTS, ns)).map((w) => [w.metadata.name, w.spec.replicas]),
      );
    // the crash comes right after the final stage, before the source is scaled down
    const report = await cutover(
      deps(clusters, {
        afterStep: async (step) => {
          if (step === "final-stage") await crashed.killApiServer();
        },
      }),
      { replication: spec, allowSourceUnavailable: true },
    );
    assert.equal(report.status, "failed", JSON.stringify(report.steps));
    assert.deepEqual(await replicas(c.dr), { web: 0, api: 0 }, "DR not up while the source may still run");
    const state = await readReplicationState(c.dr, ns);
    assert.equal(state.activeSide, "source");

    const rerun = await cutover(deps(clusters, { lock: { waitMs: 70_000 } }), {
      replication: spec,
      allowSourceUnavailable: true,
    });
    assert.equal(rerun.status, "succeeded", JSON.stringify(rerun.steps));
    assert.deepEqual(await replicas(c.dr), { web: 3, api: 2 }, "DR up with the recorded counts");
    assert.equal((await readReplicationState(c.dr, ns)).fenceSource, true, "the source must be fenced");

    await crashed.restartApiServer();
    assert.deepEqual(await replicas(source), { web: 3, api: 2 }, "the source came back as it was");
    // the next stage that reaches the source fences it: never up on both sides for long
    await assert.rejects(stage(deps(clusters), { replication: spec }), /fenced first/);
    assert.deepEqual(await replicas(source), { web: 0, api: 0 });
    assert.deepEqual(await replicas(c.dr), { web: 3, api: 2 });
  } finally {
    await deleteNamespace(c.dr, ns);
    source.close();
  }
});

Deno.test("fault: a throttling API server (real 429s) under a 5,000-object stage; everything arrives", async () => {
  await using c = await testClusters();
  await using slow = await extraCluster("throttled", {
    // the classic in-flight limit answers 429 at once when over it (APF would queue instead)
    apiserverArgs: [
      "--enable-priority-and-fairness=false",
      "--max-requests-inflight=4",
      "--max-mutating-requests-inflight=2",
    ],
  });
  // system:masters is exempt from the in-flight limit: write as a user with cluster-admin instead
  const admin = await connectCluster("dr-admin", { path: slow.kubeconfig });
  await seed(admin, [{
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "throttled-writer" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "testenv-norights" }],
  }]);
  admin.close();
  const dr = await connectCluster("dr", { path: slow.kubeconfig, context: "throttled-norights" });
  const ns = uniqueName("throttle");
  await createNamespace(c.source, ns);
  try {
    await configMaps(c.source, ns, 5_000);
    let throttled = 0;
    const counting: KubeClient = new Proxy(dr, {
      get(target, property, receiver) {
        if (property !== "request") return Reflect.get(target, property, receiver);
        return async (...args: Parameters<KubeClient["request"]>) => {
          try {
            return await target.request(...args);
          } catch (error) {
            if ((error as { status?: number }).status === 429) throttled++;
            throw error;
          }
        };
      },
    });
    const spec = replicationSpec({ name: "throttle", sourceNamespace: ns, destNamespace: ns });
    const report = await stage(deps({ source: c.source, dr: counting }, { concurrency: 16 }), {
      replication: spec,
    });
    assert.equal(
      report.status,
      "succeeded",
      JSON.stringify(report.objects.filter((o) => o.action === "failed").slice(0, 3)),
    );
    assert.equal(report.counts.created, 5_000);
    assert.ok(throttled > 0, `the API server throttled (429s seen: ${throttled})`);
    const copied = await contents(dr, ns);
    assert.equal(copied.size, 5_000);
    assert.deepEqual(copied, await contents(c.source, ns));
  } finally {
    await deleteNamespace(c.source, ns);
    dr.close();
  }
});
