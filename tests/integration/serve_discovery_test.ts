/**
 * The runtime keeps each cluster's discovery for a while across runs (two requests and the largest
 * answers of a small run). A type installed since, on either side, is still found at once: a run that
 * names a type its kept discovery lacks reads discovery again.
 */
import assert from "node:assert/strict";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { fixtures, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

function crdOf(group: string) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `gizmos.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "gizmos", singular: "gizmo", kind: "Gizmo" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      }],
    },
  };
}

async function waitServed(client: KubeClient, group: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const served = await client.request({ method: "GET", path: `/apis/${group}/v1/gizmos` })
      .then(() => true, () => false);
    if (served) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${group} never served`);
}

Deno.test("serve: a custom type installed on both sides after discovery was kept is copied by the next run", async () => {
  await using c = await testClusters();
  const group = `d${crypto.randomUUID().slice(0, 8)}.example.com`;
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${group}`;
  let plainDest = "";
  try {
    await withNamespaces(c, "discokept", async (ns) => {
      await seed(c.source, [fixtures.configMap(ns.source, "settings")]);
      plainDest = `${ns.dest}-plain`;
      const config = testConfig([
        replication("plain", ns.source, plainDest),
        replication("gizmos", ns.source, ns.dest, { resourceTypes: [`gizmos.${group}`] }),
      ]);
      await using t = await testRuntime(config);
      const stage = async (name: string) =>
        await json<RunReport>(t.request(`/v1/replications/${name}/stage`, { token: TOKENS.ops, body: {} }));

      // the first run reads (and keeps) both clusters' discovery: the custom type exists on neither
      const first = await stage("plain");
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const unknown = await stage("gizmos");
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      assert.match(JSON.stringify(unknown.body), new RegExp(`gizmos\\.${group.replaceAll(".", "\\.")}`));

      // the type is installed on both sides and an object created, well inside the kept discovery's age
      await seed(c.source, [crdOf(group)]);
      await seed(c.dr, [crdOf(group)]);
      await waitServed(c.source, group);
      await waitServed(c.dr, group);
      await c.source.request({
        method: "POST",
        path: `/apis/${group}/v1/namespaces/${ns.source}/gizmos`,
        body: { apiVersion: `${group}/v1`, kind: "Gizmo", metadata: { name: "g1" }, spec: { size: 7 } },
      });
      const found = await stage("gizmos");
      assert.equal(found.status, 200, JSON.stringify(found.body));
      const gizmo = found.body.objects.find((o) => o.kind === "Gizmo" && o.name === "g1");
      assert.equal(gizmo?.action, "created", JSON.stringify(found.body.objects));
      const copy = await c.dr.request<KubeObject & { spec: { size: number } }>({
        method: "GET",
        path: `/apis/${group}/v1/namespaces/${ns.dest}/gizmos/g1`,
      });
      assert.equal(copy.spec.size, 7);
    });
  } finally {
    for (const client of [c.source, c.dr]) {
      await client.request({ method: "DELETE", path: crdPath }).catch(() => {});
    }
    if (plainDest) {
      await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${plainDest}` }).catch(() => {});
    }
  }
});
