/**
 * DR safety on the worst day (issue "DR safety"): each test shows one way a DR tool loses data or
 * leaves an application down (or up) on both sides, against the two real clusters.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { pvcSync } from "../../functions/pvc_sync.ts";
import { OperationRefusedError } from "../../functions/operation_deps.ts";
import { stage } from "../../functions/stage.ts";
import { RefusedError } from "../../shared/errors.ts";
import {
  CRONJOBS,
  DAEMONSETS,
  getObject,
  type KubeClient,
  type KubeObject,
  NAMESPACES,
  patchObject,
} from "../../shared/kube/mod.ts";
import { clusterUid } from "../../shared/sync/check_sync.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { deps, fixtures, names, read, seed, testClusters, withNamespaces } from "../_clusters.ts";

type Workload = KubeObject & {
  spec: {
    replicas?: number;
    suspend?: boolean;
    template?: { spec?: { nodeSelector?: Record<string, string> } };
  };
};

const CLAIM = (ns: string, name: string) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: ns },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
});

const cronJob = (ns: string, name: string) => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name, namespace: ns },
  spec: {
    schedule: "*/5 * * * *",
    jobTemplate: {
      spec: {
        template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox:1.36" }] } },
      },
    },
  },
});

const daemonSet = (ns: string, name: string) => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name, namespace: ns },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "c", image: "fluent:1" }] },
    },
  },
});

function actionOf(report: RunReport, kind: string, name: string) {
  return report.objects.find((o) => o.kind === kind && o.name === name);
}

async function deleteConfigMaps(client: KubeClient, ns: string, ...which: string[]) {
  for (const name of which) {
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}/configmaps/${name}` });
  }
}

Deno.test("prune is capped per run, and the refusal names the override", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "prunecap", async (ns) => {
    await seed(c.source, ["a", "b", "c", "keep"].map((n) => fixtures.configMap(ns.source, n)));
    await stage(deps(c), { replication: ns.spec() });
    await deleteConfigMaps(c.source, ns.source, "a", "b", "c");
    const capped = ns.spec({ prune: true, maxPrune: 2 });
    await assert.rejects(
      stage(deps(c), { replication: capped }),
      (e: unknown) =>
        e instanceof OperationRefusedError &&
        /would prune 3 objects .* limit of 2: .*--max-prune 3/.test(e.message),
    );
    assert.deepEqual(await names(c.dr, "v1", "ConfigMap", ns.dest), [
      "a",
      "b",
      "c",
      "keep",
      "kube-root-ca.crt",
    ]);
    const report = await stage(deps(c), { replication: ns.spec({ prune: true, maxPrune: 3 }) });
    assert.equal(report.counts.pruned, 3);
    assert.deepEqual(await names(c.dr, "v1", "ConfigMap", ns.dest), ["keep", "kube-root-ca.crt"]);
  });
});

Deno.test("prune never deletes a DR claim unless claims may be pruned", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "pruneclaim", async (ns) => {
    await seed(c.source, [CLAIM(ns.source, "data"), fixtures.configMap(ns.source, "a")]);
    await stage(deps(c), { replication: ns.spec() });
    await c.source.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${ns.source}/persistentvolumeclaims/data`,
    });
    for (let i = 0; i < 100 && await read(c.source, "v1", "PersistentVolumeClaim", ns.source, "data"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const kept = await stage(deps(c), { replication: ns.spec({ prune: true }) });
    assert.equal(actionOf(kept, "PersistentVolumeClaim", "data")?.action, "skipped");
    assert.match(actionOf(kept, "PersistentVolumeClaim", "data")!.warnings![0]!, /pruneClaims/);
    assert.ok(
      await read(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data"),
      "the DR claim and its data stay",
    );
    const pruned = await stage(deps(c), { replication: ns.spec({ prune: true, pruneClaims: true }) });
    assert.equal(actionOf(pruned, "PersistentVolumeClaim", "data")?.action, "pruned");
  });
});

Deno.test("prune is refused while the source namespace is being deleted", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "terminating", async (ns) => {
    // a finalizer keeps one object, and so the namespace, in Terminating
    await seed(c.source, [
      {
        ...fixtures.configMap(ns.source, "held"),
        metadata: { name: "held", namespace: ns.source, finalizers: ["example.com/hold"] },
      },
      fixtures.configMap(ns.source, "b"),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    await c.source.request({ method: "DELETE", path: `/api/v1/namespaces/${ns.source}` });
    try {
      for (let i = 0; i < 100; i++) {
        const live = await getObject(c.source, NAMESPACES, undefined, ns.source);
        if (live?.metadata.deletionTimestamp && !await read(c.source, "v1", "ConfigMap", ns.source, "b")) {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await assert.rejects(
        stage(deps(c), { replication: ns.spec({ prune: true }) }),
        (e: unknown) =>
          e instanceof OperationRefusedError && /is being deleted: refusing to prune/.test(e.message),
      );
      assert.deepEqual(await names(c.dr, "v1", "ConfigMap", ns.dest), ["b", "held", "kube-root-ca.crt"]);
    } finally {
      await patchObject(
        c.source,
        { group: "", version: "v1", resource: "configmaps", namespaced: true },
        ns.source,
        "held",
        {
          metadata: { finalizers: null },
        },
      ).catch(() => {});
    }
  });
});

Deno.test("PVC data: a cutover whose final data pass cannot run is undone, and pvc-sync never copies over the serving side", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "pvcdata", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    // no agents in this namespace: the data pass must fail, and the source must come back
    const spec = ns.spec({
      pvcDataSync: true,
      pvcData: { ...ns.spec().pvcData, agentNamespace: "no-agents-here" },
    });
    await stage(deps(c), { replication: spec });
    await seed(c.source, [{
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: ns.source },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        volumeName: "pv-x",
      },
    }]);
    await stage(deps(c), { replication: spec });
    const report = await cutover(deps(c), { replication: spec, quietWaitMs: 2_000 });
    assert.equal(report.status, "failed");
    const step = (name: string) => report.steps.find((s) => s.step === name);
    assert.equal(step("pvc-final-sync")?.status, "failed", JSON.stringify(report.steps));
    assert.equal(step("scale-dr-up")?.status, "skipped");
    assert.equal(step("undo-scale-source-down")?.status, "done", JSON.stringify(report.steps));
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web"))?.spec.replicas,
      2,
    );
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "web"))?.spec.replicas, 0);
    // the source serves: pvc-sync back to it is refused; cut over: pvc-sync to DR is refused
    await assert.rejects(
      pvcSync(deps(c), { replication: spec, direction: "to-source" }),
      (e: unknown) => e instanceof RefusedError && /back to the source: the source serves/.test(e.message),
    );
    const plain = ns.spec();
    assert.equal((await cutover(deps(c), { replication: plain })).status, "succeeded");
    const writes = c.dr.stats.writes + c.source.stats.writes;
    await assert.rejects(
      pvcSync(deps(c), { replication: spec }),
      (e: unknown) => e instanceof RefusedError && /to DR: the replication is cut over/.test(e.message),
    );
    assert.equal(c.dr.stats.writes + c.source.stats.writes, writes, "a refusal writes nothing");
  });
});

Deno.test("copies are keyed by the source cluster's identity: a config-named stage and a flag-named cutover find each other", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "identity", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
    await stage(deps(c), { replication: ns.spec({ sourceCluster: "prod" }) }); // as a config names it
    const copy = await read(c.dr, "apps/v1", "Deployment", ns.dest, "web");
    assert.equal(copy?.metadata.annotations?.["dr-syncer.io/source-cluster"], await clusterUid(c.source));
    const again = await stage(deps(c), { replication: ns.spec() }); // as CLI flags name it: "source"
    assert.equal(again.counts.unchanged, 1, "the same copies, nothing rewritten");
    const report = await cutover(deps(c), { replication: ns.spec() });
    assert.equal(report.status, "succeeded", JSON.stringify(report.steps));
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "web"))?.spec.replicas, 3);
    assert.equal(
      (await failback(deps(c), { replication: ns.spec({ sourceCluster: "prod" }) })).status,
      "succeeded",
    );
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web"))?.spec.replicas,
      3,
    );
  });
});

Deno.test("a warm standby (scaleToZero false) still runs no CronJob and no DaemonSet on DR until cutover", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "warmhold", async (ns) => {
    await seed(c.source, [cronJob(ns.source, "nightly"), daemonSet(ns.source, "agent")]);
    const spec = ns.spec({ scaleToZero: false });
    await stage(deps(c), { replication: spec });
    const held = async () => ({
      suspend: (await getObject<Workload>(c.dr, CRONJOBS, ns.dest, "nightly"))?.spec.suspend,
      parked: (await getObject<Workload>(c.dr, DAEMONSETS, ns.dest, "agent"))?.spec.template?.spec
        ?.nodeSelector
        ?.["dr-syncer.io/disabled"],
    });
    assert.deepEqual(await held(), { suspend: true, parked: "true" }, "held on DR after stage");
    await cutover(deps(c), { replication: spec });
    assert.deepEqual(await held(), { suspend: false, parked: undefined }, "running on DR after cutover");
    await failback(deps(c), { replication: spec });
    assert.deepEqual(await held(), { suspend: true, parked: "true" }, "held again after failback");
  });
});

Deno.test("an object on DR that dr-syncer did not create is reported and left alone, unless adopted", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "adopt", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "settings", { mode: "source" })]);
    await c.dr.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns.dest } } });
    await seed(c.dr, [fixtures.configMap(ns.dest, "settings", { mode: "hand-made on DR" })]);
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(report.status, "failed");
    assert.match(
      actionOf(report, "ConfigMap", "settings")!.reason!,
      /dr-syncer did not create it: left alone; set adopt/,
    );
    const untouched = await read<KubeObject & { data: Record<string, string> }>(
      c.dr,
      "v1",
      "ConfigMap",
      ns.dest,
      "settings",
    );
    assert.equal(untouched?.data.mode, "hand-made on DR");
    const adopted = await stage(deps(c), { replication: ns.spec({ adopt: true }) });
    assert.equal(actionOf(adopted, "ConfigMap", "settings")?.action, "updated");
    const copy = await read<KubeObject & { data: Record<string, string> }>(
      c.dr,
      "v1",
      "ConfigMap",
      ns.dest,
      "settings",
    );
    assert.equal(copy?.data.mode, "source");
  });
});

Deno.test("an unbound DR claim the source grew, or whose class changed, does not fail the stage and is never recreated", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "claimhold", async (ns) => {
    await seed(c.source, [CLAIM(ns.source, "data")]); // no volume: stays Pending (unbound) on both sides
    await stage(deps(c), { replication: ns.spec() });
    const before = await read(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data");
    await c.source.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${ns.source}/persistentvolumeclaims/data`,
    });
    for (let i = 0; i < 100 && await read(c.source, "v1", "PersistentVolumeClaim", ns.source, "data"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const changed = CLAIM(ns.source, "data");
    changed.spec.resources.requests.storage = "5Gi";
    await seed(c.source, [{ ...changed, spec: { ...changed.spec, accessModes: ["ReadWriteMany"] } }]);
    for (const immutable of ["report", "recreate"] as const) {
      const report = await stage(deps(c), { replication: ns.spec({ immutable }) });
      assert.equal(
        report.status,
        "succeeded",
        JSON.stringify(report.objects.filter((o) => o.action === "failed")),
      );
      const claim = actionOf(report, "PersistentVolumeClaim", "data")!;
      assert.match(claim.warnings!.join("\n"), /accessModes .*cannot change, so DR keeps its own/);
      assert.match(claim.warnings!.join("\n"), /not bound yet, so it cannot grow to "5Gi"/);
    }
    const after = await read(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data");
    assert.equal(
      after?.metadata.uid,
      before?.metadata.uid,
      "the DR claim (and its data) was never recreated",
    );
  });
});

Deno.test("cutover never scales a warm standby below its standby count", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "warmfloor", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "api", 1, { "dr-syncer.io/scale-override": "2" })]);
    await stage(deps(c), { replication: ns.spec() });
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "api"))?.spec.replicas, 2);
    await cutover(deps(c), { replication: ns.spec() });
    assert.equal(
      (await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "api"))?.spec.replicas,
      2,
      "DR takes traffic at 2, not the source's 1",
    );
    await failback(deps(c), { replication: ns.spec() });
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "api"))?.spec.replicas, 2);
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "api"))?.spec.replicas,
      1,
    );
  });
});

Deno.test("cutover with nothing to move is refused and does not record DR as active", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "nothing", async (ns) => {
    await seed(c.source, [
      fixtures.configMap(ns.source, "only-config"),
      fixtures.deployment(ns.source, "web", 2),
    ]);
    const spec = ns.spec({ resourceTypes: ["configmaps"] });
    await stage(deps(c), { replication: spec });
    await assert.rejects(
      cutover(deps(c), { replication: spec }),
      (e: unknown) => e instanceof OperationRefusedError && /nothing to cut over/.test(e.message),
    );
    const { readReplicationState } = await import("../../shared/state/mod.ts");
    assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "source");
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web"))?.spec.replicas,
      2,
    );
    assert.equal((await stage(deps(c), { replication: spec })).status, "succeeded", "stage still works");
  });
});

Deno.test("drift on DR is put back by the next stage and reported; an undrifted namespace still costs no write", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "drift", async (ns) => {
    await seed(c.source, [
      fixtures.configMap(ns.source, "settings", { mode: "source" }),
      fixtures.deployment(ns.source, "web", 3),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    // by hand on DR: a key added to the ConfigMap, the standby Deployment scaled up
    await c.dr.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${ns.dest}/configmaps/settings`,
      query: { fieldManager: "kubectl-edit" },
      contentType: "application/merge-patch+json",
      body: { data: { debug: "true" } },
    });
    await c.dr.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/web/scale`,
      query: { fieldManager: "kubectl" },
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: 2 } },
    });
    const repaired = await stage(deps(c), { replication: ns.spec() });
    assert.equal(repaired.status, "succeeded");
    assert.match(
      actionOf(repaired, "ConfigMap", "settings")?.reason ?? "",
      /^drift: changed on DR by kubectl-edit; put back/,
    );
    assert.match(
      actionOf(repaired, "Deployment", "web")?.reason ?? "",
      /^drift: changed on DR by kubectl; put back/,
    );
    const settings = await read<KubeObject & { data: Record<string, string> }>(
      c.dr,
      "v1",
      "ConfigMap",
      ns.dest,
      "settings",
    );
    assert.deepEqual(settings?.data, { mode: "source" }, "the added key is gone");
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "web"))?.spec.replicas, 0);
    const before = c.dr.stats.writes;
    const quiet = await stage(deps(c), { replication: ns.spec() });
    assert.equal(quiet.counts.updated + quiet.counts.created, 0);
    assert.equal(c.dr.stats.writes - before, 2, "only the lock's two writes");
  });
});

Deno.test("drift among many copies another manager wrote to: the type is read again in full, only the drifted copy is written", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "drift-many", async (ns) => {
    const count = 40; // more than are fetched one by one
    await seed(
      c.source,
      Array.from({ length: count }, (_, i) => fixtures.configMap(ns.source, `cm-${i}`, { v: String(i) })),
    );
    await stage(deps(c), { replication: ns.spec() });
    // another manager writes to every copy: it applies the value the copy already holds (it co-owns
    // the field, which changes nothing: not drift), and makes one real change. (An annotation of its
    // own would be drift now: the standby equals the source exactly.)
    for (let i = 0; i < count; i++) {
      await c.dr.request({
        method: "PATCH",
        path: `/api/v1/namespaces/${ns.dest}/configmaps/cm-${i}`,
        query: { fieldManager: "policy-agent", force: true },
        contentType: "application/apply-patch+yaml",
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` }, data: { v: String(i) } },
      });
      if (i === 7) {
        await c.dr.request({
          method: "PATCH",
          path: `/api/v1/namespaces/${ns.dest}/configmaps/cm-${i}`,
          query: { fieldManager: "policy-agent" },
          contentType: "application/merge-patch+json",
          body: { data: { v: "x" } },
        });
      }
    }
    const before = c.dr.stats.writes;
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(report.status, "succeeded");
    assert.match(
      actionOf(report, "ConfigMap", "cm-7")?.reason ?? "",
      /^drift: changed on DR by policy-agent/,
    );
    assert.equal(report.counts.updated, 1);
    assert.equal(report.counts.unchanged, count - 1);
    assert.equal(c.dr.stats.writes - before, 3, "the drifted copy and the lock's two writes");
    const cm7 = await read<KubeObject & { data: Record<string, string> }>(
      c.dr,
      "v1",
      "ConfigMap",
      ns.dest,
      "cm-7",
    );
    assert.deepEqual(cm7?.data, { v: "7" });
  });
});
