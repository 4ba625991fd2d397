/** cutover and failback against the two real clusters. */
import assert from "node:assert/strict";
import { connectCluster, type KubeClient, type KubeObject, type KubeRequest } from "../../shared/kube/mod.ts";
import { LockHeldError, readReplicationState } from "../../shared/state/mod.ts";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { OperationRefusedError } from "../../functions/operation_deps.ts";
import { stage } from "../../functions/stage.ts";
import { sampleApp } from "../../functions/cli/sample_app.ts";
import { deps, extraCluster, fixtures, read, seed, testClusters, withNamespaces } from "../_clusters.ts";

type Workload = KubeObject & {
  spec: {
    replicas?: number;
    suspend?: boolean;
    template?: { spec?: { nodeSelector?: Record<string, string> } };
  };
};

const daemonSet = (ns: string) => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "agent", namespace: ns },
  spec: {
    selector: { matchLabels: { app: "agent" } },
    template: {
      metadata: { labels: { app: "agent" } },
      spec: { containers: [{ name: "a", image: "busybox" }] },
    },
  },
});

async function counts(client: KubeClient, ns: string) {
  const get = (apiVersion: string, kind: string, name: string) =>
    read<Workload>(client, apiVersion, kind, ns, name);
  const [web, api, db, cron, agent] = await Promise.all([
    get("apps/v1", "Deployment", "web"),
    get("apps/v1", "Deployment", "api"),
    get("apps/v1", "StatefulSet", "db"),
    get("batch/v1", "CronJob", "nightly-report"),
    get("apps/v1", "DaemonSet", "agent"),
  ]);
  return {
    web: web?.spec.replicas,
    api: api?.spec.replicas,
    db: db?.spec.replicas,
    cronSuspended: cron?.spec.suspend ?? false,
    agentParked: agent?.spec.template?.spec?.nodeSelector?.["dr-syncer.io/disabled"] === "true",
    recorded: web?.metadata.annotations?.["dr-syncer.io/original-replicas"],
  };
}

const LIVE = { web: 3, api: 2, db: 1, cronSuspended: false, agentParked: false };
const STANDBY = { web: 0, api: 0, db: 0, cronSuspended: true, agentParked: true };

function assertCounts(actual: Awaited<ReturnType<typeof counts>>, expected: typeof LIVE, where: string) {
  const { recorded: _, ...rest } = actual;
  assert.deepEqual(rest, expected, where);
}

Deno.test("cutover moves every workload to DR and failback restores every count", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "cycle", async (ns) => {
    await seed(c.source, [...sampleApp(ns.source), daemonSet(ns.source)]);
    assert.equal((await stage(deps(c), { replication: ns.spec() })).status, "succeeded");
    assertCounts(await counts(c.dr, ns.dest), STANDBY, "DR after stage");

    const cut = await cutover(deps(c), { replication: ns.spec() });
    assert.equal(cut.status, "succeeded", JSON.stringify(cut.steps));
    assert.deepEqual(cut.steps.map((s) => [s.step, s.status]), [
      ["final-stage", "done"],
      ["scale-source-down", "done"],
      ["pvc-final-sync", "skipped"],
      ["scale-dr-up", "done"],
    ]);
    assertCounts(await counts(c.dr, ns.dest), LIVE, "DR after cutover");
    const src = await counts(c.source, ns.source);
    assert.equal(src.web, 0);
    assert.equal(src.api, 0);
    assert.equal(src.db, 0);
    assert.equal(src.cronSuspended, true);
    assert.equal(src.agentParked, true, "the source DaemonSet is parked too");
    assert.equal(src.recorded, "3", "the source keeps its count in an annotation");
    const hpa = await read<KubeObject & { spec: { scaleTargetRef: { name: string }; minReplicas: number } }>(
      c.dr,
      "autoscaling/v2",
      "HorizontalPodAutoscaler",
      ns.dest,
      "api",
    );
    assert.equal(hpa!.spec.scaleTargetRef.name, "api", "the HPA stays in charge of its target on DR");
    assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");

    const back = await failback(deps(c), { replication: ns.spec() });
    assert.equal(back.status, "succeeded", JSON.stringify(back.steps));
    assertCounts(await counts(c.dr, ns.dest), STANDBY, "DR after failback");
    const restored = await counts(c.source, ns.source);
    assertCounts(restored, { ...LIVE, agentParked: false }, "source after failback");
    assert.equal(restored.recorded, undefined, "failback clears the record");
    const state = await readReplicationState(c.dr, ns.dest);
    assert.equal(state.activeSide, "source");
    assert.ok(state.lastSuccess.cutover && state.lastSuccess.failback && state.lastSuccess.stage);
  });
});

Deno.test("stage is refused while the replication is cut over", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "refuse", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await stage(deps(c), { replication: ns.spec() });
    await cutover(deps(c), { replication: ns.spec() });
    const writes = c.dr.stats.writes;
    await assert.rejects(
      stage(deps(c), { replication: ns.spec() }),
      (e: unknown) => e instanceof OperationRefusedError && /is cut over to DR/.test(e.message),
    );
    assert.equal(c.dr.stats.writes, writes, "a refused stage writes nothing");
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "web"))!.spec.replicas, 2);
  });
});

for (const crashAfter of ["final-stage", "scale-source-down", "scale-dr-up"]) {
  Deno.test(`a cutover that crashed after ${crashAfter} finishes when run again`, async () => {
    await using c = await testClusters();
    await withNamespaces(c, "crash", async (ns) => {
      await seed(c.source, [...sampleApp(ns.source), daemonSet(ns.source)]);
      await stage(deps(c), { replication: ns.spec() });
      const crash = new Error(`simulated crash after ${crashAfter}`);
      await assert.rejects(
        cutover(
          deps(c, {
            afterStep: (step) => {
              if (step === crashAfter) throw crash;
            },
          }),
          { replication: ns.spec() },
        ),
        (e: unknown) => e === crash,
      );
      const midway = await readReplicationState(c.dr, ns.dest);
      assert.equal(midway.activeSide, "source");
      assert.ok(midway.progress?.steps.includes(crashAfter), JSON.stringify(midway));
      await assert.rejects(stage(deps(c), { replication: ns.spec() }), /unfinished cutover/);

      const rerun = await cutover(deps(c), { replication: ns.spec() });
      assert.equal(rerun.status, "succeeded", JSON.stringify(rerun.steps));
      assertCounts(await counts(c.dr, ns.dest), LIVE, "DR after the re-run");
      const src = await counts(c.source, ns.source);
      assert.equal(src.web, 0);
      assert.equal(src.recorded, "3", "the recorded count survives the crash");
      const state = await readReplicationState(c.dr, ns.dest);
      assert.equal(state.activeSide, "dr");
      assert.equal(state.progress, undefined);

      assert.equal((await failback(deps(c), { replication: ns.spec() })).status, "succeeded");
      assertCounts(
        await counts(c.source, ns.source),
        { ...LIVE, agentParked: false },
        "source after failback",
      );
    });
  });
}

Deno.test("cutover works with the source API server stopped when allowed, and refuses otherwise", async () => {
  await using c = await testClusters();
  await using lost = await extraCluster("lost");
  const source = await connectCluster("source", { path: lost.kubeconfig });
  try {
    await withNamespaces({ source, dr: c.dr }, "dead", async (ns) => {
      await seed(source, sampleApp(ns.source));
      const clusters = { source, dr: c.dr };
      assert.equal((await stage(deps(clusters), { replication: ns.spec() })).status, "succeeded");
      await lost.stop(); // the source cluster's etcd, API server and controller manager are gone

      const writes = c.dr.stats.writes;
      await assert.rejects(
        cutover(deps(clusters), { replication: ns.spec() }),
        (e: unknown) =>
          e instanceof OperationRefusedError &&
          /unreachable; pass --allow-source-unavailable/.test(e.message),
      );
      assert.equal(c.dr.stats.writes, writes, "a refused cutover writes nothing");

      const report = await cutover(deps(clusters), { replication: ns.spec(), allowSourceUnavailable: true });
      assert.equal(report.status, "succeeded", JSON.stringify(report.steps));
      for (const step of ["final-stage", "scale-source-down"]) {
        assert.equal(report.steps.find((s) => s.step === step)?.status, "skipped");
      }
      const dr = await counts(c.dr, ns.dest);
      assert.equal(dr.web, 3);
      assert.equal(dr.api, 2);
      assert.equal(dr.db, 1);
      assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");
      await assert.rejects(
        failback(deps(clusters), { replication: ns.spec() }),
        /source cluster "source" .* is unreachable/,
      );
    });
  } finally {
    source.close();
  }
});

Deno.test("a concurrent writer is no conflict unless it changes what the record holds; then the record is retaken", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "race", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 3),
      fixtures.deployment(ns.source, "api", 2),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    // Other writers change each source Deployment between cutover's read and its write, once:
    // "web" gets a label (a status write by a controller is like it), "api" is scaled to 4 by hand.
    const raced = new Set<string>();
    const source: KubeClient = {
      ...c.source,
      stats: c.source.stats,
      async request<T>(req: KubeRequest): Promise<T> {
        const name = /\/deployments\/(web|api)$/.exec(req.path)?.[1];
        if (name && !raced.has(name) && req.method === "PATCH") {
          raced.add(name);
          const changed = fixtures.deployment(ns.source, name, name === "api" ? 4 : 3);
          if (name === "web") changed.metadata.labels = { touched: "by-someone-else" };
          await seed(c.source, [changed]);
        }
        return await c.source.request<T>(req);
      },
    };
    const retries: unknown[] = [];
    const report = await cutover(deps({ source, dr: c.dr }, { retry: { onRetry: (e) => retries.push(e) } }), {
      replication: ns.spec(),
    });
    assert.deepEqual([...raced].sort(), ["api", "web"]);
    assert.equal(report.status, "succeeded", JSON.stringify(report.steps));
    assert.equal(
      retries.length,
      1,
      "one retry: only the change to the replica count made the guarded patch fail",
    );
    assert.equal((retries[0] as { status?: number }).status, 422, "the API server's failed test operation");
    const web = await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web");
    assert.equal(web!.spec.replicas, 0);
    assert.equal(web!.metadata.annotations?.["dr-syncer.io/original-replicas"], "3");
    assert.equal(web!.metadata.labels?.touched, "by-someone-else", "the other writer's change is kept");
    const api = await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "api");
    assert.equal(
      api!.metadata.annotations?.["dr-syncer.io/original-replicas"],
      "4",
      "the count it really had",
    );
    assert.equal(api!.spec.replicas, 0);
  });
});

Deno.test("a held lock refuses a second run; an expired one is taken over", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "lock", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 1)]);
    await stage(deps(c), { replication: ns.spec() });
    // another run holds the lock and then crashes: its Lease is never renewed or released
    const now = new Date().toISOString().replace("Z", "000Z");
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns.dest}/leases/dr-syncer`;
    const lease = await c.dr.request<KubeObject>({ method: "GET", path }); // left by the stage above, released
    await c.dr.request({
      method: "PUT",
      path,
      body: {
        ...lease,
        spec: { holderIdentity: "other-run", leaseDurationSeconds: 2, acquireTime: now, renewTime: now },
      },
    });
    await assert.rejects(
      cutover(deps(c), { replication: ns.spec() }),
      (e: unknown) => e instanceof LockHeldError && e.holder === "other-run",
    );
    const report = await cutover(deps(c, { lock: { leaseSeconds: 15, waitMs: 10_000 } }), {
      replication: ns.spec(),
    });
    assert.equal(report.status, "succeeded", "the expired lock is taken over");
    assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");
  });
});
