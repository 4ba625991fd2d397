/**
 * PVC data in cutover and failback, on the test clusters with the simulated node parts (`pvc_harness.ts`):
 * cutover's final pass runs once the source's pods are gone, so everything the application wrote until it
 * stopped is on DR before DR starts; failback copies DR's data back (a pass while DR runs, a final pass
 * after its pods are gone); a failed pass undoes the cutover, after which the next one copies again;
 * storage class and access mode mapping hold for the claims the data goes into.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { PODS } from "../../shared/kube/types.ts";
import { deleteObject, listObjects } from "../../shared/kube/verbs.ts";
import { deps, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  pvcSpec,
  runningPods,
  startPvcHarness,
  STORAGE_CLASS,
  storageClasses,
} from "./pvc_harness.ts";

type Workload = KubeObject & { spec: { replicas?: number } };

Deno.test("cutover copies the data the application wrote until it stopped; failback brings DR's data back", async (t) => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvccut", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = pvcSpec(ns.spec(), harness);
    await seed(clusters.source, appObjects(ns.source, "db", 1));
    const sourceData = await harness.source.claimStorage(ns.source, "db");
    await eventually(
      "the source app running",
      async () => (await runningPods(clusters.source, ns.source, "app-db")).length === 1 ? true : undefined,
    );
    await Deno.writeTextFile(`${sourceData}/base.bin`, "x".repeat(1024 * 1024));
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    const drData = await harness.dr.claimStorage(ns.dest, "db");

    await t.step(
      "the final pass sees a quiet source: every line the application wrote is on DR",
      async () => {
        // the "application": appends a line every 20 ms while its pod exists, and stops when the pod is going
        let lines = 0;
        let writing = true;
        const app = (async () => {
          while (writing) {
            const pods = await listObjects(clusters.source, PODS, ns.source, { labelSelector: "app=app-db" });
            if (pods.length === 0 || pods.every((p) => p.metadata.deletionTimestamp)) break;
            await Deno.writeTextFile(`${sourceData}/log.txt`, `line ${++lines}\n`, { append: true });
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        await new Promise((r) => setTimeout(r, 300));
        const report = await cutover(deps(clusters), { replication: spec });
        writing = false;
        await app;
        assert.equal(report.status, "succeeded", JSON.stringify(report.steps, null, 1));
        const pass = report.steps.find((s) => s.step === "pvc-final-sync");
        assert.equal(pass?.status, "done");
        assert.match(pass?.detail ?? "", /1 claim\(s\) copied/);
        assert.ok(lines > 5, `the application wrote ${lines} lines`);
        assert.equal(
          await Deno.readTextFile(`${drData}/log.txt`),
          await Deno.readTextFile(`${sourceData}/log.txt`),
        );
        await assertSameTree(drData, sourceData);
        assert.equal(
          (await read<Workload>(clusters.dr, "apps/v1", "Deployment", ns.dest, "app-db"))?.spec.replicas,
          1,
        );
      },
    );

    await t.step("failback copies DR's data back before the source starts", async () => {
      await eventually(
        "the DR app running",
        async () => (await runningPods(clusters.dr, ns.dest, "app-db")).length === 1 ? true : undefined,
      );
      await Deno.writeTextFile(`${drData}/written-on-dr.txt`, "while cut over\n");
      await Deno.remove(`${drData}/base.bin`);
      const report = await failback(deps(clusters), { replication: spec, reverseMigratePvcData: true });
      assert.equal(report.status, "succeeded", JSON.stringify(report.steps, null, 1));
      const steps = Object.fromEntries(report.steps.map((s) => [s.step, s.status]));
      assert.equal(steps["pvc-reverse-sync"], "done");
      assert.equal(steps["pvc-final-reverse-sync"], "done");
      await assertSameTree(sourceData, drData);
      assert.equal(await Deno.readTextFile(`${sourceData}/written-on-dr.txt`), "while cut over\n");
      assert.equal(
        (await read<Workload>(clusters.source, "apps/v1", "Deployment", ns.source, "app-db"))?.spec.replicas,
        1,
      );
    });
  });
});

Deno.test("a failed data pass undoes the cutover, and the next cutover copies every claim again (the source ran in between)", async () => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvcresume", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = pvcSpec(ns.spec(), harness);
    await seed(clusters.source, [...appObjects(ns.source, "a", 1), ...appObjects(ns.source, "b", 1)]);
    for (const claim of ["a", "b"]) {
      await Deno.writeTextFile(`${await harness.source.claimStorage(ns.source, claim)}/f`, claim);
    }
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    await harness.dr.claimStorage(ns.dest, "b");
    // an application on DR mounts claim "b": its copy is refused, the cutover fails and is undone
    const intruder: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "intruder", namespace: ns.dest },
      spec: {
        containers: [{ name: "c", image: "x" }],
        volumes: [{ name: "d", persistentVolumeClaim: { claimName: "b" } }],
      },
    };
    await seed(clusters.dr, [intruder]);
    const first = await cutover(deps(clusters), { replication: spec });
    assert.equal(first.status, "failed");
    const claims = (report: typeof first) =>
      Object.fromEntries(
        report.objects.filter((o) => o.kind === "PersistentVolumeClaim").map((o) => [o.name, o.action]),
      );
    assert.deepEqual(claims(first), { a: "updated", b: "failed" });
    assert.equal(first.steps.find((s) => s.step === "undo-scale-source-down")?.status, "done");

    await deleteObject(clusters.dr, PODS, ns.dest, "intruder");
    await eventually(
      "the intruder gone",
      async () =>
        (await listObjects(clusters.dr, PODS, ns.dest)).some((p) => p.metadata.name === "intruder")
          ? undefined
          : true,
    );
    // the source ran again after the undo: this is a new cutover, whose pass copies both claims
    const second = await cutover(deps(clusters), { replication: spec });
    assert.equal(second.status, "succeeded", JSON.stringify(second.steps, null, 1));
    assert.deepEqual(claims(second), { a: "unchanged", b: "updated" });
  });
});

Deno.test("claims copied with a mapped storage class and access mode receive the data", async () => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await seed(clusters.dr, [{
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: `${STORAGE_CLASS}-dr` },
    provisioner: "sim.csi.dr-syncer.io",
    volumeBindingMode: "WaitForFirstConsumer",
  }]);
  await withNamespaces(clusters, "pvcmap", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = pvcSpec(
      ns.spec({
        storageClassMap: { [STORAGE_CLASS]: `${STORAGE_CLASS}-dr` },
        accessModeMap: { ReadWriteOnce: "ReadWriteOncePod" },
      }),
      harness,
    );
    await seed(clusters.source, appObjects(ns.source, "data", 0)); // no pod: a mounter reads it
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    await Deno.writeTextFile(`${sourceData}/hello`, "mapped\n");
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    const { pvcSync } = await import("../../functions/pvc_sync.ts");
    const report = await pvcSync(deps(clusters), { replication: spec });
    assert.equal(report.status, "succeeded", JSON.stringify(report.objects, null, 1));
    const claim = await read<KubeObject & { spec: { storageClassName?: string; accessModes?: string[] } }>(
      clusters.dr,
      "v1",
      "PersistentVolumeClaim",
      ns.dest,
      "data",
    );
    assert.equal(claim?.spec.storageClassName, `${STORAGE_CLASS}-dr`);
    assert.deepEqual(claim?.spec.accessModes, ["ReadWriteOncePod"]);
    assert.equal(
      await Deno.readTextFile(`${await harness.dr.claimStorage(ns.dest, "data")}/hello`),
      "mapped\n",
    );
  });
});
