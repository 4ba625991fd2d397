/** Failback on the worst day: never down on both sides, DR's writes over before the source starts. */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { readReplicationState } from "../../shared/state/mod.ts";
import {
  denyDeploymentUpdates,
  deps,
  extraCluster,
  fixtures,
  read,
  seed,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";

type Workload = KubeObject & { spec: { replicas?: number } };
const replicas = async (client: KubeClient, ns: string, name: string) =>
  (await read<Workload>(client, "apps/v1", "Deployment", ns, name))?.spec.replicas;

Deno.test("failback undoes itself when restoring the source fails half-way: never down on both sides", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "fbundo", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 3),
      fixtures.deployment(ns.source, "stuck", 2),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    await cutover(deps(c), { replication: ns.spec() });
    const lift = await denyDeploymentUpdates(
      c.source,
      ns.source,
      "stuck",
      "object.spec.replicas == 0",
      "stuck must stay down",
      1,
    );
    try {
      const report = await failback(deps(c), { replication: ns.spec() });
      assert.equal(report.status, "failed");
      assert.equal(report.steps.find((s) => s.step === "restore-source")?.status, "failed");
      assert.match(
        report.steps.find((s) => s.step === "undo")?.detail ?? "",
        /DR scaled back up and the source back down/,
      );
      assert.deepEqual(
        [await replicas(c.dr, ns.dest, "web"), await replicas(c.dr, ns.dest, "stuck")],
        [3, 2],
        "DR serves again",
      );
      assert.deepEqual([
        await replicas(c.source, ns.source, "web"),
        await replicas(c.source, ns.source, "stuck"),
      ], [
        0,
        0,
      ]);
      assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");
    } finally {
      await lift();
    }
    const again = await failback(deps(c), { replication: ns.spec() });
    assert.equal(again.status, "succeeded", JSON.stringify(again.steps));
    assert.deepEqual([
      await replicas(c.source, ns.source, "web"),
      await replicas(c.source, ns.source, "stuck"),
    ], [
      3,
      2,
    ]);
  });
});

Deno.test("failback waits until DR's pods are gone before the source starts, and undoes when they stay", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "fbpods", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await stage(deps(c), { replication: ns.spec() });
    await cutover(deps(c), { replication: ns.spec() });
    // a pod that still writes for "web" on DR and does not go away (not owned, so nothing deletes it)
    await seed(c.dr, [{
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-straggler", namespace: ns.dest, labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "nginx:1.27" }] },
    }]);
    const seen: string[] = [];
    const report = await failback(deps(c, { afterStep: (step) => void seen.push(step) }), {
      replication: ns.spec(),
      podsGoneTimeoutMs: 1_500,
    });
    assert.equal(report.status, "failed");
    assert.match(
      report.steps.find((s) => s.step === "wait-dr-pods-gone")?.detail ?? "",
      /DR pods still there after the timeout: Deployment\/web \(1 pod\(s\)\)/,
    );
    assert.equal(report.steps.find((s) => s.step === "restore-source")?.status, "skipped");
    assert.equal(
      await replicas(c.source, ns.source, "web"),
      0,
      "the source did not start beside a live DR pod",
    );
    assert.equal(await replicas(c.dr, ns.dest, "web"), 2, "DR is back up: never down on both sides");
    await c.dr.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${ns.dest}/pods/web-straggler`,
      query: { gracePeriodSeconds: 0 },
    });
    for (let i = 0; i < 50 && await read(c.dr, "v1", "Pod", ns.dest, "web-straggler"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = await failback(deps(c), { replication: ns.spec() });
    assert.equal(done.status, "succeeded", JSON.stringify(done.steps));
    assert.equal(done.steps.find((s) => s.step === "wait-dr-pods-gone")?.status, "done");
    assert.equal(await replicas(c.source, ns.source, "web"), 2);
  });
});

Deno.test("failback can restore the source to the counts DR ran at", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "fbcounts", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await stage(deps(c), { replication: ns.spec() });
    await cutover(deps(c), { replication: ns.spec() });
    // during the disaster DR grew (an HPA, or by hand)
    await c.dr.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/web`,
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: 5 } },
    });
    const report = await failback(deps(c), { replication: ns.spec(), useDrCounts: true });
    assert.equal(report.status, "succeeded", JSON.stringify(report.steps));
    assert.equal(await replicas(c.source, ns.source, "web"), 5);
    const web = await read(c.source, "apps/v1", "Deployment", ns.source, "web");
    assert.equal(web?.metadata.annotations?.["dr-syncer.io/original-replicas"], undefined, "record cleared");
  });
});

Deno.test("failback works with DR unreachable: the source comes back from its own records", async () => {
  await using c = await testClusters();
  await using gone = await extraCluster("drgone");
  const dr = await connectCluster("dr", { path: gone.kubeconfig });
  try {
    await withNamespaces({ source: c.source, dr }, "fbnodr", async (ns) => {
      await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
      const clusters = { source: c.source, dr };
      await stage(deps(clusters), { replication: ns.spec() });
      await cutover(deps(clusters), { replication: ns.spec() });
      await gone.stop();
      await assert.rejects(failback(deps(clusters), { replication: ns.spec() }), /Cannot reach cluster "dr"/);
      const report = await failback(deps(clusters), { replication: ns.spec(), allowDrUnavailable: true });
      assert.equal(report.status, "succeeded", JSON.stringify(report.steps));
      assert.match(report.steps[0]?.detail ?? "", /unreachable: run failback again once it answers/);
      assert.equal(await replicas(c.source, ns.source, "web"), 3);
    });
  } finally {
    dr.close();
  }
});
