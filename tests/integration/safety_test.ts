/** The guards that keep a DR tool from taking production down, against the two real clusters. */
import assert from "node:assert/strict";
import { connectCluster, type KubeObject } from "../../shared/kube/mod.ts";
import { acquireReplicationLock, LockLostError, readReplicationState } from "../../shared/state/mod.ts";
import { SameNamespaceError } from "../../shared/sync/check_sync.ts";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { OperationRefusedError } from "../../functions/operation_deps.ts";
import { stage } from "../../functions/stage.ts";
import {
  denyDeploymentUpdates,
  deps,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";

type Workload = KubeObject & { spec: { replicas?: number } };
const replicas = async (client: Parameters<typeof read>[0], ns: string, name: string) =>
  (await read<Workload>(client, "apps/v1", "Deployment", ns, name))?.spec.replicas;

Deno.test("stage refuses to copy a namespace onto itself through two kubeconfigs of one cluster", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "self", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
    const again = await connectCluster("dr", { path: SOURCE_KUBECONFIG, context: "source" });
    try {
      const spec = { ...ns.spec(), destNamespace: ns.source };
      await assert.rejects(stage({ ...deps(c), dr: again }, { replication: spec }), SameNamespaceError);
      assert.equal(again.stats.writes, 0);
      assert.equal(await replicas(c.source, ns.source, "web"), 3, "production untouched");
    } finally {
      again.close();
    }
  });
});

Deno.test("a repeated cutover or failback succeeds with nothing to do; failback of nothing is refused; force reruns", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "twice", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await stage(deps(c), { replication: ns.spec() });
    await assert.rejects(failback(deps(c), { replication: ns.spec() }), /is not cut over/);
    assert.equal((await cutover(deps(c), { replication: ns.spec() })).status, "succeeded");
    const writes = c.source.stats.writes + c.dr.stats.writes;
    const again = await cutover(deps(c), { replication: ns.spec() });
    assert.equal(again.status, "succeeded");
    assert.match(again.steps[0]?.detail ?? "", /already cut over: DR is the active side; nothing to do/);
    assert.equal(c.source.stats.writes + c.dr.stats.writes, writes, "a repeat writes nothing");
    assert.equal((await cutover(deps(c), { replication: ns.spec(), force: true })).status, "succeeded");
    assert.equal(await replicas(c.dr, ns.dest, "web"), 2);
    assert.equal((await failback(deps(c), { replication: ns.spec() })).status, "succeeded");
    assert.equal(await replicas(c.source, ns.source, "web"), 2);
    const repeat = await failback(deps(c), { replication: ns.spec() });
    assert.equal(repeat.status, "succeeded");
    assert.match(repeat.steps[0]?.detail ?? "", /already failed back/);
  });
});

Deno.test("stage refuses when source workloads show a cutover, even with the state record gone", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "lostate", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await stage(deps(c), { replication: ns.spec() });
    await cutover(deps(c), { replication: ns.spec() });
    await c.dr.request({
      method: "DELETE",
      path: `/apis/coordination.k8s.io/v1/namespaces/${ns.dest}/leases/dr-syncer`,
    });
    await assert.rejects(
      stage(deps(c), { replication: ns.spec() }),
      (e: unknown) => e instanceof OperationRefusedError && /Deployment\/web/.test(e.message),
    );
    assert.equal(await replicas(c.dr, ns.dest, "web"), 2, "the live DR side keeps running");
  });
});

Deno.test("a source scale-down that fails half-way is undone and DR stays on standby", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "halfway", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 3),
      fixtures.deployment(ns.source, "stuck", 2),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    // a real admission policy on the source refuses to scale "stuck" to zero
    const lift = await denyDeploymentUpdates(
      c.source,
      ns.source,
      "stuck",
      "object.spec.replicas > 0",
      "stuck must keep running",
      0,
    );
    try {
      const report = await cutover(deps(c, { retry: { attempts: 1 } }), { replication: ns.spec() });
      assert.equal(report.status, "failed");
      assert.equal(report.steps.find((s) => s.step === "scale-source-down")?.status, "failed");
      assert.equal(report.steps.find((s) => s.step === "scale-dr-up")?.status, "skipped");
      assert.match(
        report.objects.find((o) => o.name === "stuck" && o.action === "failed")?.reason ?? "",
        /stuck must keep running/,
      );
      assert.equal(await replicas(c.source, ns.source, "web"), 3, "the source was restored");
      assert.equal(await replicas(c.source, ns.source, "stuck"), 2);
      const web = await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web");
      assert.equal(
        web!.metadata.annotations?.["dr-syncer.io/original-replicas"],
        undefined,
        "the record is cleared",
      );
      assert.equal(await replicas(c.dr, ns.dest, "web"), 0, "DR stays on standby");
    } finally {
      await lift();
    }
    // with the policy gone, running cutover again finishes the job
    for (let i = 0; i < 50; i++) {
      const report = await cutover(deps(c), { replication: ns.spec() });
      if (report.status === "succeeded") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await replicas(c.source, ns.source, "stuck"), 0);
    assert.equal(await replicas(c.dr, ns.dest, "stuck"), 2);
    assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");
  });
});

Deno.test("failback finds its workloads by provenance and records, even after Helm relabels DR objects", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "relabel", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
    await stage(deps(c), { replication: ns.spec() });
    await cutover(deps(c), { replication: ns.spec() });
    await c.dr.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/web`,
      contentType: "application/merge-patch+json",
      body: { metadata: { labels: { "app.kubernetes.io/managed-by": "Helm" } } },
    });
    assert.equal((await failback(deps(c), { replication: ns.spec() })).status, "succeeded");
    assert.equal(await replicas(c.source, ns.source, "web"), 3);
    assert.equal(await replicas(c.dr, ns.dest, "web"), 0);
  });
});

Deno.test("failback puts a warm standby (scaleToZero false, scale-override) back to its standby count", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "warmstandby", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 3),
      fixtures.deployment(ns.source, "api", 4, { "dr-syncer.io/scale-override": "1" }),
    ]);
    const spec = ns.spec({ scaleToZero: false });
    await stage(deps(c), { replication: spec });
    assert.equal(await replicas(c.dr, ns.dest, "web"), 3);
    assert.equal(await replicas(c.dr, ns.dest, "api"), 1);
    await cutover(deps(c), { replication: spec });
    assert.equal(await replicas(c.dr, ns.dest, "api"), 4, "cutover brings DR to the source's count");
    await failback(deps(c), { replication: spec });
    assert.equal(await replicas(c.dr, ns.dest, "web"), 3, "back to the warm standby");
    assert.equal(await replicas(c.dr, ns.dest, "api"), 1, "back to the override");
    assert.equal(await replicas(c.source, ns.source, "web"), 3);
  });
});

Deno.test("a lock taken over by another run aborts the holder's signal", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "lost", async (ns) => {
    await seed(c.dr, [fixtures.configMap(ns.dest, "x")]).catch(() => {});
    await c.dr.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns.dest } } })
      .catch(() => {});
    const lock = await acquireReplicationLock(c.dr, {
      namespace: ns.dest,
      replication: "lost",
      holder: "me",
      leaseSeconds: 3,
    });
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns.dest}/leases/dr-syncer`;
    const lease = await c.dr.request<KubeObject & { spec: Record<string, unknown> }>({ method: "GET", path });
    await c.dr.request({
      method: "PUT",
      path,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "thief" } },
    });
    for (let i = 0; i < 40 && !lock.signal.aborted; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(lock.signal.aborted, "the renewal's conflict aborts the signal");
    assert.ok(lock.signal.reason instanceof LockLostError);
    await assert.rejects(lock.release(lock.state), LockLostError);
  }, { destSuffix: "-dr" });
});
