/** stage against the two real clusters: one test per copy rule. */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { stage } from "../../functions/stage.ts";
import { clusterUid } from "../../shared/sync/check_sync.ts";
import { sampleApp } from "../../functions/cli/sample_app.ts";
import { deps, fixtures, names, read, seed, testClusters, withNamespaces } from "../_clusters.ts";

type Obj = KubeObject & { spec?: Record<string, unknown>; data?: Record<string, string> };

function actionOf(report: RunReport, kind: string, name: string): string | undefined {
  return report.objects.find((o) => o.kind === kind && o.name === name)?.action;
}

function reasonOf(report: RunReport, kind: string, name: string): string {
  return report.objects.find((o) => o.kind === kind && o.name === name)?.reason ?? "";
}

Deno.test("stage copies the default types of a whole app", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "defaults", async (ns) => {
    await seed(c.source, sampleApp(ns.source));
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(
      report.status,
      "succeeded",
      JSON.stringify(report.objects.filter((o) => o.action === "failed")),
    );
    for (
      const [apiVersion, kind, name] of [
        ["v1", "ConfigMap", "shop-config"],
        ["v1", "Secret", "shop-db-credentials"],
        ["v1", "PersistentVolumeClaim", "uploads"],
        ["apps/v1", "Deployment", "web"],
        ["apps/v1", "StatefulSet", "db"],
        ["batch/v1", "CronJob", "nightly-report"],
        ["v1", "Service", "web"],
        ["networking.k8s.io/v1", "Ingress", "shop"],
        ["autoscaling/v2", "HorizontalPodAutoscaler", "api"],
      ]
    ) {
      const copy = await read(c.dr, apiVersion!, kind!, ns.dest, name!);
      const sourceId = await clusterUid(c.source);
      assert.ok(copy, `${kind} ${name} is on DR`);
      assert.equal(copy.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
      assert.equal(copy.metadata.annotations?.["dr-syncer.io/source-namespace"], ns.source);
      assert.equal(
        copy.metadata.annotations?.["dr-syncer.io/source-cluster"],
        sourceId,
        "the source's identity",
      );
      assert.ok(copy.metadata.annotations?.["dr-syncer.io/source-uid"]);
      assert.equal(actionOf(report, kind!, name!), "created");
    }
    const secret = await read<Obj>(c.dr, "v1", "Secret", ns.dest, "shop-db-credentials");
    assert.equal(atob(secret!.data!.password!), "demo-only-password");
  });
});

Deno.test("explicit resource types replace the defaults, in any accepted form", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "explicit", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 1)]);
    const report = await stage(deps(c), { replication: ns.spec({ resourceTypes: ["cm"] }) });
    assert.equal(report.status, "succeeded");
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "a"));
    assert.equal(await read(c.dr, "apps/v1", "Deployment", ns.dest, "web"), undefined);
    const again = await stage(deps(c), { replication: ns.spec({ resourceTypes: ["deployments.apps"] }) });
    assert.equal(again.status, "succeeded");
    assert.ok(await read(c.dr, "apps/v1", "Deployment", ns.dest, "web"));
  });
});

Deno.test("excluded types are not copied and exclusion wins over inclusion", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "exclude", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 1)]);
    const report = await stage(deps(c), {
      replication: ns.spec({
        resourceTypes: ["configmaps", "deployments"],
        excludeResourceTypes: ["deploy"],
      }),
    });
    assert.equal(report.status, "succeeded");
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "a"));
    assert.equal(await read(c.dr, "apps/v1", "Deployment", ns.dest, "web"), undefined);
  });
});

Deno.test("objects labelled dr-syncer.io/ignore are skipped with a reason", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "ignore", async (ns) => {
    await seed(c.source, [
      fixtures.configMap(ns.source, "kept"),
      fixtures.configMap(ns.source, "ignored", {}, { "dr-syncer.io/ignore": "true" }),
    ]);
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "kept"));
    assert.equal(await read(c.dr, "v1", "ConfigMap", ns.dest, "ignored"), undefined);
    assert.equal(actionOf(report, "ConfigMap", "ignored"), "skipped");
    assert.match(reasonOf(report, "ConfigMap", "ignored"), /ignore/);
  });
});

Deno.test("workloads arrive at zero replicas with the source count in an annotation", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "zero", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 3),
      fixtures.statefulSet(ns.source, "db", 2),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    const web = await read<Obj>(c.dr, "apps/v1", "Deployment", ns.dest, "web");
    assert.equal(web!.spec!.replicas, 0);
    assert.equal(web!.metadata.annotations?.["dr-syncer.io/original-replicas"], "3");
    const db = await read<Obj>(c.dr, "apps/v1", "StatefulSet", ns.dest, "db");
    assert.equal(db!.spec!.replicas, 0);
    assert.equal(db!.metadata.annotations?.["dr-syncer.io/original-replicas"], "2");
    const src = await read<Obj>(c.source, "apps/v1", "Deployment", ns.source, "web");
    assert.equal(src!.spec!.replicas, 3, "the source is untouched");
  });
});

Deno.test("scaleToZero false keeps the source counts", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "keep", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
    await stage(deps(c), { replication: ns.spec({ scaleToZero: false }) });
    const web = await read<Obj>(c.dr, "apps/v1", "Deployment", ns.dest, "web");
    assert.equal(web!.spec!.replicas, 3);
  });
});

Deno.test("a valid scale-override sets the DR count; an invalid one is an error and gets 0", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "override", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "good", 4, { "dr-syncer.io/scale-override": "1" }),
      fixtures.deployment(ns.source, "bad", 4, { "dr-syncer.io/scale-override": "lots" }),
    ]);
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal((await read<Obj>(c.dr, "apps/v1", "Deployment", ns.dest, "good"))!.spec!.replicas, 1);
    assert.equal((await read<Obj>(c.dr, "apps/v1", "Deployment", ns.dest, "bad"))!.spec!.replicas, 0);
    assert.equal(actionOf(report, "Deployment", "good"), "created");
    assert.equal(actionOf(report, "Deployment", "bad"), "failed");
    assert.match(reasonOf(report, "Deployment", "bad"), /lots/);
    assert.equal(report.status, "failed", "a partial failure is a failure");
  });
});

Deno.test("CronJobs arrive suspended, DaemonSets parked, HPAs as they are", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "kinds", async (ns) => {
    await seed(c.source, [
      sampleApp(ns.source).find((o) => o.kind === "CronJob")!,
      sampleApp(ns.source).find((o) => o.kind === "HorizontalPodAutoscaler")!,
      fixtures.deployment(ns.source, "api", 2),
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "agent", namespace: ns.source },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: { nodeSelector: { role: "worker" }, containers: [{ name: "a", image: "busybox" }] },
          },
        },
      },
    ]);
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(report.status, "succeeded");
    const cj = await read<Obj>(c.dr, "batch/v1", "CronJob", ns.dest, "nightly-report");
    assert.equal(cj!.spec!.suspend, true);
    assert.equal(cj!.metadata.annotations?.["dr-syncer.io/original-suspend"], "false");
    const ds = await read<
      KubeObject & { spec: { template: { spec: { nodeSelector: Record<string, string> } } } }
    >(
      c.dr,
      "apps/v1",
      "DaemonSet",
      ns.dest,
      "agent",
    );
    assert.deepEqual(ds!.spec.template.spec.nodeSelector, {
      role: "worker",
      "dr-syncer.io/disabled": "true",
    });
    const hpa = await read<Obj>(c.dr, "autoscaling/v2", "HorizontalPodAutoscaler", ns.dest, "api");
    assert.equal(hpa!.spec!.minReplicas, 2);
    assert.equal(hpa!.spec!.maxReplicas, 6);
  });
});

Deno.test("Services: ClusterIP reallocated, NodePort freed, LoadBalancer cleaned, headless kept, ExternalName as is", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "svc", async (ns) => {
    const svc = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns.source },
      spec,
    });
    await seed(c.source, [
      svc("plain", { selector: { app: "a" }, ports: [{ port: 80 }] }),
      svc("nodeport", { type: "NodePort", selector: { app: "a" }, ports: [{ port: 80 }] }),
      svc("pinned", { type: "NodePort", selector: { app: "a" }, ports: [{ port: 80, nodePort: 31234 }] }),
      svc("lb", {
        type: "LoadBalancer",
        selector: { app: "a" },
        ports: [{ port: 443 }],
        externalIPs: ["192.0.2.10"],
        externalTrafficPolicy: "Local",
      }),
      svc("headless", { clusterIP: "None", selector: { app: "a" }, ports: [{ port: 5432 }] }),
      svc("external", { type: "ExternalName", externalName: "db.example.com" }),
    ]);
    const srcPlain = await read<Obj>(c.source, "v1", "Service", ns.source, "plain");
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(
      report.status,
      "succeeded",
      JSON.stringify(report.objects.filter((o) => o.action === "failed")),
    );
    type Svc = KubeObject & {
      spec: {
        clusterIP?: string;
        type?: string;
        externalName?: string;
        externalIPs?: string[];
        ports: { nodePort?: number }[];
      };
    };
    const get = (n: string) => read<Svc>(c.dr, "v1", "Service", ns.dest, n);
    const plain = await get("plain");
    assert.ok(plain!.spec.clusterIP && plain!.spec.clusterIP !== "None");
    assert.equal(plain!.metadata.annotations?.["dr-syncer.io/source-uid"], srcPlain!.metadata.uid);
    const np = await get("nodeport");
    const srcNp = await read<Svc>(c.source, "v1", "Service", ns.source, "nodeport");
    assert.equal(np!.spec.type, "NodePort");
    assert.ok(np!.spec.ports[0]!.nodePort, "DR allocates its own node port");
    assert.ok(srcNp!.spec.ports[0]!.nodePort);
    const pinned = await get("pinned");
    assert.equal(pinned!.spec.ports[0]!.nodePort, 31234, "an explicitly set node port is kept");
    const lb = await get("lb");
    assert.equal(lb!.spec.type, "LoadBalancer");
    assert.equal(lb!.spec.externalIPs, undefined);
    assert.equal((await get("headless"))!.spec.clusterIP, "None");
    const ext = await get("external");
    assert.equal(ext!.spec.type, "ExternalName");
    assert.equal(ext!.spec.externalName, "db.example.com");
  });
});

Deno.test("Ingress hosts are rewritten by the host map", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "ing", async (ns) => {
    const ingress = sampleApp(ns.source).find((o) => o.kind === "Ingress")!;
    (ingress.spec as { tls?: unknown }).tls = [{ hosts: ["shop.example.com"], secretName: "tls" }];
    await seed(c.source, [ingress]);
    await stage(deps(c), {
      replication: ns.spec({ ingressHostMap: { "shop.example.com": "shop.dr.example.com" } }),
    });
    const copy = await read<KubeObject & { spec: { rules: { host: string }[]; tls: { hosts: string[] }[] } }>(
      c.dr,
      "networking.k8s.io/v1",
      "Ingress",
      ns.dest,
      "shop",
    );
    assert.equal(copy!.spec.rules[0]!.host, "shop.dr.example.com");
    assert.deepEqual(copy!.spec.tls[0]!.hosts, ["shop.dr.example.com"]);
  });
});

Deno.test("a namespace is mapped to another name with its labels kept", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "map", async (ns) => {
    assert.notEqual(ns.source, ns.dest);
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    await stage(deps(c), { replication: ns.spec() });
    const drNs = await read(c.dr, "v1", "Namespace", undefined, ns.dest);
    assert.equal(drNs!.metadata.labels?.team, "payments");
    assert.equal(drNs!.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "a"));
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.source), undefined);
  }, { destSuffix: "-dr", labels: { team: "payments" } });
});

Deno.test("RoleBinding subjects in the source namespace point at the DR namespace", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "rbac", async (ns) => {
    await seed(c.source, [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "app", namespace: ns.source } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "reader", namespace: ns.source },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "app-reader", namespace: ns.source },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
        subjects: [
          { kind: "ServiceAccount", name: "app", namespace: ns.source },
          { kind: "ServiceAccount", name: "monitor", namespace: "monitoring" },
        ],
      },
    ]);
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(report.status, "succeeded");
    const rb = await read<KubeObject & { subjects: { namespace: string }[] }>(
      c.dr,
      "rbac.authorization.k8s.io/v1",
      "RoleBinding",
      ns.dest,
      "app-reader",
    );
    assert.deepEqual(rb!.subjects.map((s) => s.namespace), [ns.dest, "monitoring"]);
    assert.ok(await read(c.dr, "v1", "ServiceAccount", ns.dest, "app"));
  }, { destSuffix: "-dr" });
});

Deno.test("PVC class and access modes are mapped, and the size only grows", async () => {
  await using c = await testClusters();
  const cls = `fast-${crypto.randomUUID().slice(0, 8)}`;
  const standard = `standard-${crypto.randomUUID().slice(0, 8)}`;
  await seed(c.dr, [{
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: standard },
    provisioner: "kubernetes.io/no-provisioner",
    allowVolumeExpansion: true,
  }]);
  type Pvc = KubeObject & {
    spec: { storageClassName: string; accessModes: string[]; resources: { requests: { storage: string } } };
    status?: { phase?: string };
  };
  await withNamespaces(c, "pvc", async (ns) => {
    const pvc = (name: string, size: string, extra: Record<string, string> = {}) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace: ns.source, labels: extra },
      spec: {
        storageClassName: cls,
        accessModes: ["ReadWriteMany"],
        resources: { requests: { storage: size } },
      },
    });
    await seed(c.source, [
      pvc("data", "2Gi"),
      pvc("missing-class", "1Gi", { "dr-syncer.io/storage-class": "nope" }),
    ]);
    const spec = ns.spec({
      storageClassMap: { [cls]: standard },
      accessModeMap: { ReadWriteMany: "ReadWriteOnce" },
    });
    const report = await stage(deps(c), { replication: spec });
    const copy = await read<Pvc>(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data");
    assert.equal(copy!.spec.storageClassName, standard);
    assert.deepEqual(copy!.spec.accessModes, ["ReadWriteOnce"]);
    assert.equal(actionOf(report, "PersistentVolumeClaim", "missing-class"), "failed");
    assert.match(reasonOf(report, "PersistentVolumeClaim", "missing-class"), /nope/);
    assert.equal(await read(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "missing-class"), undefined);

    // a volume for the DR claim, bound by the controller manager's binder (a size change needs a bound claim)
    const pv = `pv-${ns.dest}`.slice(0, 63);
    await seed(c.dr, [{
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pv },
      spec: {
        capacity: { storage: "2Gi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName: standard,
        hostPath: { path: "/tmp/dr-syncer-test" },
        claimRef: { namespace: ns.dest, name: "data" },
      },
    }]);
    try {
      for (let i = 0; i < 200; i++) {
        if (
          (await read<Pvc>(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data"))?.status?.phase === "Bound"
        ) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(
        (await read<Pvc>(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data"))?.status?.phase,
        "Bound",
      );
      const size = async () =>
        (await read<Pvc>(c.dr, "v1", "PersistentVolumeClaim", ns.dest, "data"))!.spec.resources.requests
          .storage;
      // an unbound claim cannot be resized: the source claim is recreated at each new size
      const replaceSource = async (size: string) => {
        await c.source.request({
          method: "DELETE",
          path: `/api/v1/namespaces/${ns.source}/persistentvolumeclaims/data`,
        });
        for (
          let i = 0;
          i < 100 && await read(c.source, "v1", "PersistentVolumeClaim", ns.source, "data");
          i++
        ) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await seed(c.source, [pvc("data", size)]);
      };
      await replaceSource("3Gi");
      const grown = await stage(deps(c), { replication: spec });
      assert.equal(
        actionOf(grown, "PersistentVolumeClaim", "data"),
        "updated",
        JSON.stringify(grown.objects),
      );
      assert.equal(await size(), "3Gi");

      await replaceSource("1Gi");
      const shrunk = await stage(deps(c), { replication: spec });
      assert.equal(await size(), "3Gi", "a smaller source never shrinks the DR claim");
      const entry = shrunk.objects.find((o) => o.kind === "PersistentVolumeClaim" && o.name === "data");
      assert.ok(entry?.warnings?.some((w) => /1Gi/.test(w) && /3Gi/.test(w)), JSON.stringify(entry));
    } finally {
      await c.dr.request({ method: "DELETE", path: `/api/v1/persistentvolumes/${pv}` }).catch(() => {});
    }
  });
  await c.dr.request({ method: "DELETE", path: `/apis/storage.k8s.io/v1/storageclasses/${standard}` });
});

Deno.test("never-copied objects stay out: owned objects, kube-root-ca.crt, the default ServiceAccount, token Secrets", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "never", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "owner")]);
    const owner = await read(c.source, "v1", "ConfigMap", ns.source, "owner");
    await seed(c.source, [
      {
        ...fixtures.configMap(ns.source, "owned"),
        metadata: {
          name: "owned",
          namespace: ns.source,
          ownerReferences: [{
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "owner",
            uid: owner!.metadata.uid!,
          }],
        },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "app-token",
          namespace: ns.source,
          annotations: { "kubernetes.io/service-account.name": "default" },
        },
        type: "kubernetes.io/service-account-token",
      },
    ]);
    // the controller manager creates kube-root-ca.crt and the default ServiceAccount in every namespace
    for (
      let i = 0;
      i < 100 && !(await read(c.source, "v1", "ConfigMap", ns.source, "kube-root-ca.crt"));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(
      report.status,
      "succeeded",
      JSON.stringify(report.objects.filter((o) => o.action === "failed")),
    );
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "owner"));
    assert.equal(await read(c.dr, "v1", "ConfigMap", ns.dest, "owned"), undefined);
    assert.equal(actionOf(report, "ConfigMap", "owned"), "skipped");
    assert.equal(actionOf(report, "ConfigMap", "kube-root-ca.crt"), "skipped");
    assert.equal(actionOf(report, "ServiceAccount", "default"), "skipped");
    assert.equal(await read(c.dr, "v1", "Secret", ns.dest, "app-token"), undefined);
    const drCa = await read(c.dr, "v1", "ConfigMap", ns.dest, "kube-root-ca.crt");
    if (drCa) assert.notEqual(drCa.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
  }, { destSuffix: "-dr" });
});

Deno.test("dry-run writes nothing and reports the plan", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "dry", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 2)]);
    const before = c.dr.stats.writes;
    const report = await stage(deps(c), { replication: ns.spec(), dryRun: true });
    assert.equal(c.dr.stats.writes, before, "no write request reached DR");
    assert.equal(report.dryRun, true);
    assert.equal(actionOf(report, "ConfigMap", "a"), "created");
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.dest), undefined);
  }, { destSuffix: "-dr" });
});

Deno.test("a second stage over an unchanged namespace writes no object", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "warm", async (ns) => {
    await seed(c.source, sampleApp(ns.source));
    const first = await stage(deps(c), { replication: ns.spec() });
    assert.equal(first.status, "succeeded");
    const before = { ...c.dr.stats.byMethod };
    const second = await stage(deps(c), { replication: ns.spec() });
    assert.equal(second.status, "succeeded");
    assert.equal(second.counts.created + second.counts.updated + second.counts.recreated, 0);
    assert.ok(second.counts.unchanged >= sampleApp(ns.source).length);
    const after = c.dr.stats.byMethod;
    assert.equal(after.PATCH - before.PATCH, 0, "no apply");
    assert.equal(after.DELETE - before.DELETE, 0, "no delete");
    // the only writes: taking the replication lock and releasing it with the recorded run
    assert.equal(after.PUT - before.PUT, 2);
    assert.equal(after.POST - before.POST, 0);
  });
});

Deno.test("a changed source object is updated on DR, the others stay unchanged", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "delta", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.configMap(ns.source, "b")]);
    await stage(deps(c), { replication: ns.spec() });
    await seed(c.source, [fixtures.configMap(ns.source, "b", { k: "changed" })]);
    const report = await stage(deps(c), { replication: ns.spec() });
    assert.equal(actionOf(report, "ConfigMap", "a"), "unchanged");
    assert.equal(actionOf(report, "ConfigMap", "b"), "updated");
    assert.equal((await read<Obj>(c.dr, "v1", "ConfigMap", ns.dest, "b"))!.data!.k, "changed");
  });
});

Deno.test("prune removes only what this replication copied and whose source is gone", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "prune", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "stays"), fixtures.configMap(ns.source, "goes")]);
    await stage(deps(c), { replication: ns.spec() });
    await seed(c.dr, [fixtures.configMap(ns.dest, "hand-made")]);
    await c.source.request({ method: "DELETE", path: `/api/v1/namespaces/${ns.source}/configmaps/goes` });

    const noPrune = await stage(deps(c), { replication: ns.spec() });
    assert.equal(noPrune.counts.pruned, 0);
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "goes"), "without prune nothing is deleted");

    const dry = await stage(deps(c), { replication: ns.spec(), prune: true, dryRun: true });
    assert.equal(actionOf(dry, "ConfigMap", "goes"), "pruned");
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "goes"), "a dry run shows the deletion first");

    const report = await stage(deps(c), { replication: ns.spec(), prune: true });
    assert.equal(actionOf(report, "ConfigMap", "goes"), "pruned");
    assert.equal(await read(c.dr, "v1", "ConfigMap", ns.dest, "goes"), undefined);
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "stays"));
    assert.ok(
      await read(c.dr, "v1", "ConfigMap", ns.dest, "hand-made"),
      "an object without provenance is never pruned",
    );
  }, { destSuffix: "-dr" });
});

Deno.test("an immutable change is reported by default and recreated on request", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "immut", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 1)]);
    await stage(deps(c), { replication: ns.spec() });
    // the source is recreated with another selector (immutable on DR's copy)
    await c.source.request({
      method: "DELETE",
      path: `/apis/apps/v1/namespaces/${ns.source}/deployments/web`,
    });
    const changed = fixtures.deployment(ns.source, "web", 1);
    changed.spec.selector.matchLabels = { app: "web2" };
    changed.spec.template.metadata.labels = { app: "web2" };
    for (let i = 0; i < 50; i++) {
      try {
        await seed(c.source, [changed]);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const reported = await stage(deps(c), { replication: ns.spec() });
    assert.equal(actionOf(reported, "Deployment", "web"), "failed");
    assert.match(reasonOf(reported, "Deployment", "web"), /immutable/i);
    assert.equal(reported.status, "failed");
    const kept = await read<KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      c.dr,
      "apps/v1",
      "Deployment",
      ns.dest,
      "web",
    );
    assert.deepEqual(kept!.spec.selector.matchLabels, { app: "web" });
    const again = await stage(deps(c), { replication: ns.spec() });
    assert.equal(
      actionOf(again, "Deployment", "web"),
      "failed",
      "it never loops: reported again, no write loop",
    );

    const recreated = await stage(deps(c), { replication: ns.spec({ immutable: "recreate" }) });
    assert.equal(actionOf(recreated, "Deployment", "web"), "recreated");
    const fresh = await read<KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      c.dr,
      "apps/v1",
      "Deployment",
      ns.dest,
      "web",
    );
    assert.deepEqual(fresh!.spec.selector.matchLabels, { app: "web2" });
    assert.notEqual(fresh!.metadata.uid, kept!.metadata.uid);
  });
});

Deno.test("custom resources are copied with their CRD on DR and reported without it", async () => {
  await using c = await testClusters();
  const group = `t${crypto.randomUUID().slice(0, 8)}.example.com`;
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      }],
    },
  };
  const waitServed = async (client: typeof c.source) => {
    for (let i = 0; i < 100; i++) {
      try {
        await client.request({ method: "GET", path: `/apis/${group}/v1/widgets` });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error("CRD never served");
  };
  await seed(c.source, [crd]);
  await waitServed(c.source);
  try {
    await withNamespaces(c, "crd", async (ns) => {
      await c.source.request({
        method: "POST",
        path: `/apis/${group}/v1/namespaces/${ns.source}/widgets`,
        body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } },
      });
      const without = await stage(deps(c), { replication: ns.spec({ includeCustomResources: true }) });
      assert.equal(actionOf(without, "Widget", "w1"), "failed");
      assert.match(reasonOf(without, "Widget", "w1"), /does not serve widgets/);

      const notIncluded = await stage(deps(c), { replication: ns.spec() });
      assert.equal(actionOf(notIncluded, "Widget", "w1"), undefined, "custom resources are opt-in");

      await seed(c.dr, [crd]);
      await waitServed(c.dr);
      const withCrd = await stage(deps(c), { replication: ns.spec({ includeCustomResources: true }) });
      assert.equal(actionOf(withCrd, "Widget", "w1"), "created");
      const copy = await c.dr.request<KubeObject & { spec: { size: number } }>({
        method: "GET",
        path: `/apis/${group}/v1/namespaces/${ns.dest}/widgets/w1`,
      });
      assert.equal(copy.spec.size, 3);
    });
  } finally {
    for (const client of [c.source, c.dr]) {
      await client.request({
        method: "DELETE",
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`,
      })
        .catch(() => {});
    }
  }
});

Deno.test("names of objects are listed in the order of the report", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "order", async (ns) => {
    await seed(c.source, sampleApp(ns.source));
    const report = await stage(deps(c), { replication: ns.spec() });
    const kinds = report.objects.map((o) => o.kind);
    assert.ok(kinds.indexOf("ConfigMap") < kinds.indexOf("Deployment"), "config before workloads");
    assert.ok(kinds.indexOf("Deployment") < kinds.indexOf("HorizontalPodAutoscaler"), "HPAs last");
    assert.deepEqual(await names(c.dr, "apps/v1", "Deployment", ns.dest), ["api", "web"]);
  });
});

Deno.test("with syncCRDs the CRD is copied first, its objects follow, and an owner's CRD on DR is left alone", async () => {
  await using c = await testClusters();
  const group = `s${crypto.randomUUID().slice(0, 8)}.example.com`;
  const crd = (labels: Record<string, string> = {}) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `gadgets.${group}`, labels },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      }],
    },
  });
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${group}`;
  await seed(c.source, [crd({ team: "platform" })]);
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await c.source.request({ method: "GET", path: `/apis/${group}/v1/gadgets` }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await withNamespaces(c, "synccrd", async (ns) => {
      await c.source.request({
        method: "POST",
        path: `/apis/${group}/v1/namespaces/${ns.source}/gadgets`,
        body: {
          apiVersion: `${group}/v1`,
          kind: "Gadget",
          metadata: { name: "g1" },
          spec: { color: "blue" },
        },
      });
      const spec = ns.spec({ includeCustomResources: true, syncCRDs: true });
      const dry = await stage(deps(c), { replication: spec, dryRun: true });
      assert.equal(actionOf(dry, "CustomResourceDefinition", `gadgets.${group}`), "created");
      assert.equal(actionOf(dry, "Gadget", "g1"), "created");
      assert.equal(
        await read(
          c.dr,
          "apiextensions.k8s.io/v1",
          "CustomResourceDefinition",
          undefined,
          `gadgets.${group}`,
        ),
        undefined,
      );

      const report = await stage(deps(c), { replication: spec });
      assert.equal(
        report.status,
        "succeeded",
        JSON.stringify(report.objects.filter((o) => o.action === "failed")),
      );
      assert.equal(actionOf(report, "CustomResourceDefinition", `gadgets.${group}`), "created");
      assert.equal(actionOf(report, "Gadget", "g1"), "created");
      const copied = await c.dr.request<KubeObject>({ method: "GET", path: crdPath });
      assert.equal(copied.metadata.labels?.team, "platform");
      assert.equal(copied.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
      const gadget = await c.dr.request<KubeObject & { spec: { color: string } }>({
        method: "GET",
        path: `/apis/${group}/v1/namespaces/${ns.dest}/gadgets/g1`,
      });
      assert.equal(gadget.spec.color, "blue");
      const again = await stage(deps(c), { replication: spec });
      assert.equal(actionOf(again, "Gadget", "g1"), "unchanged");

      // the CRD is now owned on DR by someone else (say, the operator's own chart): never touched
      await c.dr.request({ method: "DELETE", path: crdPath });
      for (
        let i = 0;
        i < 100 && await c.dr.request({ method: "GET", path: crdPath }).then(() => true, () => false);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await seed(c.dr, [crd({ owner: "operator-chart" })]);
      const owned = await stage(deps(c), { replication: spec });
      assert.equal(actionOf(owned, "CustomResourceDefinition", `gadgets.${group}`), undefined);
      const kept = await c.dr.request<KubeObject>({ method: "GET", path: crdPath });
      assert.equal(kept.metadata.labels?.owner, "operator-chart");
      assert.equal(kept.metadata.labels?.["app.kubernetes.io/managed-by"], undefined);
    });
  } finally {
    for (const client of [c.source, c.dr]) {
      await client.request({ method: "DELETE", path: crdPath }).catch(() => {});
    }
  }
});
