/**
 * The standby equals the source, exactly: hand edits on DR of every shape (an added env var, an added
 * container port, an added label and annotation, a removed key, a changed image, an added data key)
 * are reported as drift, saying what changed, and put back, whoever owns the fields; the DR objects
 * then equal their sources, field for field; and a stage over the undrifted namespace writes nothing.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { stage } from "../../functions/stage.ts";
import { deps, fixtures, read, seed, syncedView, testClusters, withNamespaces } from "../_clusters.ts";

const reason = (report: RunReport, kind: string, name: string) =>
  report.objects.find((o) => o.kind === kind && o.name === name)?.reason ?? "";

/** The copied objects of the test, as `[apiVersion, kind, name]`. */
const COPIED = [
  ["v1", "ConfigMap", "settings"],
  ["v1", "ConfigMap", "pure"],
  ["v1", "Secret", "creds"],
  ["v1", "Service", "web"],
  ["apps/v1", "Deployment", "web"],
  ["apps/v1", "Deployment", "api"],
] as const;

Deno.test("hand edits on DR of every shape are drift, reported with what changed and put back exactly; then nothing is written", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "exact", async (ns) => {
    const web = fixtures.deployment(ns.source, "web", 2);
    web.spec.template.spec.containers[0] = {
      name: "c",
      image: "nginx:1.27",
      env: [{ name: "A", value: "source" }],
      ports: [{ containerPort: 80 }],
    } as (typeof web.spec.template.spec.containers)[0];
    await seed(c.source, [
      fixtures.configMap(ns.source, "settings", { a: "1", b: "2" }, { tier: "web" }),
      fixtures.configMap(ns.source, "pure", { a: "1", b: "2" }),
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "creds", namespace: ns.source },
        data: { k: "dg==" },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: ns.source },
        spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 80 }] },
      },
      web,
      fixtures.deployment(ns.source, "api", 1),
    ]);
    const first = await stage(deps(c), { replication: ns.spec() });
    assert.equal(
      first.status,
      "succeeded",
      JSON.stringify(first.objects.filter((o) => o.action === "failed")),
    );
    const allocated = await read<KubeObject & { spec: Record<string, unknown> }>(
      c.dr,
      "v1",
      "Service",
      ns.dest,
      "web",
    );

    const patch = (path: string, manager: string, contentType: string, body: unknown) =>
      c.dr.request({ method: "PATCH", path, query: { fieldManager: manager }, contentType, body });
    const deployments = `/apis/apps/v1/namespaces/${ns.dest}/deployments`;
    // the edit: an env var and a label added by a strategic-merge patch
    await patch(`${deployments}/web`, "node-fetch", "application/strategic-merge-patch+json", {
      metadata: { labels: { extra: "x" } },
      spec: { template: { spec: { containers: [{ name: "c", env: [{ name: "B", value: "dr-only" }] }] } } },
    });
    // a container port added
    await patch(`${deployments}/web`, "kubectl-edit", "application/strategic-merge-patch+json", {
      spec: { template: { spec: { containers: [{ name: "c", ports: [{ containerPort: 8080 }] }] } } },
    });
    // an image changed
    await patch(`${deployments}/api`, "kubectl-set", "application/strategic-merge-patch+json", {
      spec: { template: { spec: { containers: [{ name: "c", image: "nginx:1.28" }] } } },
    });
    // a label and an annotation added, then a data key removed
    await patch(
      `/api/v1/namespaces/${ns.dest}/configmaps/settings`,
      "kubectl-label",
      "application/merge-patch+json",
      {
        metadata: { labels: { added: "on-dr" }, annotations: { "example.com/note": "hand" } },
      },
    );
    await patch(
      `/api/v1/namespaces/${ns.dest}/configmaps/settings`,
      "kubectl-patch",
      "application/json-patch+json",
      [{ op: "remove", path: "/data/b" }],
    );
    // a key removed, and nothing else
    await patch(
      `/api/v1/namespaces/${ns.dest}/configmaps/pure`,
      "kubectl-patch",
      "application/json-patch+json",
      [{ op: "remove", path: "/data/b" }],
    );
    // a key added to a Secret, an annotation added to a Service (whose allocations DR keeps)
    await patch(
      `/api/v1/namespaces/${ns.dest}/secrets/creds`,
      "kubectl-edit",
      "application/merge-patch+json",
      {
        data: { extra: "eA==" },
      },
    );
    await patch(
      `/api/v1/namespaces/${ns.dest}/services/web`,
      "kubectl-annotate",
      "application/merge-patch+json",
      {
        metadata: { annotations: { "example.com/owner": "dr-team" } },
      },
    );

    const repaired = await stage(deps(c), { replication: ns.spec() });
    assert.equal(repaired.status, "succeeded", JSON.stringify(repaired.objects));
    const webReason = reason(repaired, "Deployment", "web");
    assert.match(webReason, /^drift: changed on DR by kubectl-edit, node-fetch; put back \(/);
    assert.match(webReason, /added .*metadata\.labels\.extra/);
    assert.match(webReason, /spec\.template\.spec\.containers\[c\]\.env\[B\]/);
    assert.match(webReason, /spec\.template\.spec\.containers\[c\]\.ports/);
    assert.match(
      reason(repaired, "Deployment", "api"),
      /^drift: changed on DR by kubectl-set; put back \(changed spec\.template\.spec\.containers\[c\]\.image\)$/,
    );
    const settingsReason = reason(repaired, "ConfigMap", "settings");
    // (a removal leaves no field manager of its own behind: kubectl-patch is not named)
    assert.match(settingsReason, /^drift: changed on DR by kubectl-label; put back/);
    assert.match(
      settingsReason,
      /added metadata\.labels\.added, metadata\.annotations\["example\.com\/note"\]/,
    );
    assert.match(settingsReason, /removed data\.b/);
    assert.match(reason(repaired, "Secret", "creds"), /added data\.extra/);
    assert.match(reason(repaired, "Service", "web"), /added metadata\.annotations\["example\.com\/owner"\]/);
    assert.equal(
      reason(repaired, "ConfigMap", "pure"),
      "drift: changed on DR; put back (removed data.b)",
      "a removal alone is found by the field nobody owns any more",
    );
    assert.equal(repaired.counts.updated, 6);

    // every copy equals its source, field for field, under the documented transforms
    for (const [apiVersion, kind, name] of COPIED) {
      const source = await read(c.source, apiVersion, kind, ns.source, name);
      const copy = await read(c.dr, apiVersion, kind, ns.dest, name);
      assert.deepEqual(syncedView(copy!), syncedView(source!), `${kind} ${name} equals its source`);
      const writers = (copy!.metadata.managedFields as { manager: string }[]).map((e) => e.manager);
      assert.deepEqual(
        writers.filter((m) => m !== "dr-syncer" && m !== "kube-controller-manager"),
        [],
        `${kind} ${name}: no other writer left`,
      );
    }
    const service = await read<KubeObject & { spec: Record<string, unknown> }>(
      c.dr,
      "v1",
      "Service",
      ns.dest,
      "web",
    );
    assert.equal(service!.spec.clusterIP, allocated!.spec.clusterIP, "DR keeps its allocated address");
    assert.deepEqual(service!.spec.ports, allocated!.spec.ports, "and its node port");
    const webCopy = await read<KubeObject & { spec: { replicas: number } }>(
      c.dr,
      "apps/v1",
      "Deployment",
      ns.dest,
      "web",
    );
    assert.equal(webCopy!.spec.replicas, 0);
    assert.equal(webCopy!.metadata.annotations?.["dr-syncer.io/original-replicas"], "2");

    // undrifted: nothing is written but the lock, and no copy is read one by one
    const before = { ...c.dr.stats.byMethod }, writes = c.dr.stats.writes;
    const quiet = await stage(deps(c), { replication: ns.spec() });
    assert.equal(quiet.status, "succeeded");
    assert.equal(quiet.counts.updated + quiet.counts.created, 0);
    assert.equal(c.dr.stats.writes - writes, 2, "only the lock's two writes");
    assert.equal(c.dr.stats.byMethod.PUT - before.PUT, 2, "no object is written over");
  });
});
