/**
 * pvc-sync on the test clusters, with the simulated node parts of `pvc_harness.ts` (a provisioner, the
 * kubelet's volume mounts and Secret volumes, one real agent process per fake node): the data of a claim
 * mounted by a running application on the source arrives equal on DR, deltas only move the changes,
 * deletes propagate, mounter pods and keys are cleaned up, and a DR claim an application uses is refused.
 */
import assert from "node:assert/strict";
import { pvcSync } from "../../functions/pvc_sync.ts";
import { stage } from "../../functions/stage.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { PODS, SECRETS } from "../../shared/kube/types.ts";
import { getObject, listObjects } from "../../shared/kube/verbs.ts";
import { AUTHORIZED_KEYS_SECRET, MOUNTER_LABEL } from "../../shared/pvc/agent_names.ts";
import { deps, seed, testClusters, withNamespaces } from "../_clusters.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  pvcSpec,
  runningPods,
  startPvcHarness,
  storageClasses,
} from "./pvc_harness.ts";

Deno.test("pvc-sync copies claim data from the source's running pod to DR", async (t) => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvcsync", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = pvcSpec(ns.spec(), harness);
    await seed(clusters.source, [...appObjects(ns.source, "data", 1), ...appObjects(ns.source, "empty", 0)]);
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    await harness.source.claimStorage(ns.source, "empty");
    await eventually(
      "the source app running",
      async () => (await runningPods(clusters.source, ns.source, "app-data")).length === 1 ? true : undefined,
    );
    // data as the application wrote it: modes, links, odd names, a larger file
    const { sampleTree } = await import("../support/agent/mod.ts");
    await sampleTree(sourceData, { bigFileBytes: 2 * 1024 * 1024 });
    const report = await stage(deps(clusters), { replication: spec });
    assert.equal(
      report.status,
      "succeeded",
      JSON.stringify(report.objects.filter((o) => o.action === "failed")),
    );
    const drData = await harness.dr.claimStorage(ns.dest, "data");

    await t.step("a first pass copies everything", async () => {
      const result = await pvcSync(deps(clusters), { replication: spec });
      assert.equal(result.status, "succeeded", JSON.stringify(result, null, 1));
      await assertSameTree(drData, sourceData);
      const data = result.objects.find((o) => o.name === "data")!;
      assert.equal(data.action, "updated");
      assert.match(data.reason ?? "", /file\(s\)/);
      const empty = result.objects.find((o) => o.name === "empty")!;
      assert.notEqual(empty.action, "failed", empty.reason);
      assert.equal(
        (await Array.fromAsync(Deno.readDir(await harness.dr.claimStorage(ns.dest, "empty")))).length,
        0,
      );
    });

    await t.step("mounter pods and transfer keys are gone afterwards", async () => {
      for (const [client, namespace] of [[clusters.source, ns.source], [clusters.dr, ns.dest]] as const) {
        await eventually(`no mounter pod in ${client.name}`, async () => {
          const pods = await listObjects(client, PODS, namespace, { labelSelector: MOUNTER_LABEL });
          return pods.length === 0 ? true : undefined;
        });
        const secret = await getObject<KubeObject & { data?: Record<string, string> }>(
          client,
          SECRETS,
          harness.agentNamespace,
          AUTHORIZED_KEYS_SECRET,
        );
        assert.deepEqual(Object.keys(secret?.data ?? {}), [], `no transfer key left in ${client.name}`);
      }
    });

    await t.step("a second pass moves only the changes, deletes propagate", async () => {
      await Deno.writeTextFile(`${sourceData}/a.txt`, "changed\n");
      await Deno.remove(`${sourceData}/exec.sh`);
      await Deno.writeTextFile(`${sourceData}/new.txt`, "new\n");
      const result = await pvcSync(deps(clusters), { replication: spec });
      assert.equal(result.status, "succeeded", JSON.stringify(result, null, 1));
      await assertSameTree(drData, sourceData);
      assert.match(result.objects.find((o) => o.name === "data")!.reason ?? "", /^data: 2 file\(s\)/);
    });

    await t.step("a DR claim an application mounts is refused, fast, and nothing is written", async () => {
      await seed(clusters.dr, [{
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "intruder", namespace: ns.dest },
        spec: {
          containers: [{ name: "c", image: "x" }],
          volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
        },
      }]);
      await Deno.writeTextFile(`${sourceData}/after.txt`, "not copied\n");
      const started = performance.now();
      const result = await pvcSync(deps(clusters), { replication: spec });
      assert.equal(result.status, "failed");
      const data = result.objects.find((o) => o.name === "data")!;
      assert.equal(data.action, "failed");
      assert.match(data.reason ?? "", /mounted by pod\(s\) intruder/);
      assert.ok(performance.now() - started < 30_000);
      await assert.rejects(Deno.stat(`${drData}/after.txt`));
    });
  });
});
