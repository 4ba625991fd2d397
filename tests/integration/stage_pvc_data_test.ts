/**
 * `stage --migrate-pvc-data` (the original DR-Syncer's Stage flag) on the test clusters, with the simulated
 * node parts and real agents of `pvc_harness.ts`: the stage writes the claim's copy on DR, then a real data
 * pass (rsync between the two nodes' agents) fills it, in the same run and report (step `pvc-sync-to-dr`,
 * the pass recorded on the DR claim under the stage's run id); a later run moves what changed; a stage that
 * does not succeed skips the pass, and the data written since stays on the source only.
 *
 * The stage runs through the operation registry (`stageOperation.run`), as the CLI, HTTP and the schedules
 * run it; the replication does not enable PVC data (`pvcDataSync` false): the option alone asks for the pass.
 */
import assert from "node:assert/strict";
import { stageOperation } from "../../functions/operations/stage_operation.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import { ANNOTATION_PVC_SYNC } from "../../shared/pvc/pvc_pass.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { deps, fixtures, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { sampleTree } from "../support/agent/mod.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  type PvcHarness,
  runningPods,
  startPvcHarness,
  storageClasses,
} from "./pvc_harness.ts";

/** The replication's agents are the harness's; PVC data is not enabled on it. */
function withAgents(spec: ReplicationSpec, harness: PvcHarness): ReplicationSpec {
  return {
    ...spec,
    pvcData: { ...spec.pvcData, agentNamespace: harness.agentNamespace, mounterImage: "pause:test" },
  };
}

const stepOf = (report: RunReport, step: string) => report.steps.find((s) => s.step === step);
const describe = (report: RunReport) =>
  JSON.stringify(
    {
      status: report.status,
      steps: report.steps,
      failed: report.objects.filter((o) => o.action === "failed"),
    },
    null,
    1,
  );

Deno.test("stage --migrate-pvc-data: the stage, then a real data pass to DR in the same run and report; skipped when the stage fails", async (t) => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "stagepvc", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = withAgents(ns.spec(), harness);
    assert.equal(spec.pvcDataSync, false);
    await seed(clusters.source, [
      fixtures.configMap(ns.source, "settings"),
      ...appObjects(ns.source, "data", 1),
    ]);
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    await eventually(
      "the source app running",
      async () => (await runningPods(clusters.source, ns.source, "app-data")).length === 1 ? true : undefined,
    );
    await sampleTree(sourceData, { bigFileBytes: 1024 * 1024 });
    await Deno.writeTextFile(`${sourceData}/written-by-the-app.txt`, "before the stage\n");
    const claimRecord = async () => {
      const claim = await read(clusters.dr, "v1", "PersistentVolumeClaim", ns.dest, "data");
      const text = claim?.metadata.annotations?.[ANNOTATION_PVC_SYNC];
      return text === undefined ? undefined : JSON.parse(text) as { pass: string; files: number };
    };
    let firstRunId = "";

    await t.step(
      "one run: the stage creates the claim's copy, the pass fills it (step pvc-sync-to-dr done)",
      async () => {
        const report = await stageOperation.run(deps(clusters), spec, { migratePvcData: true });
        assert.equal(report.status, "succeeded", describe(report));
        assert.equal(report.operation, "stage");
        assert.deepEqual(report.steps.map((s) => s.step), ["namespace", "pvc-sync-to-dr"]);
        assert.equal(stepOf(report, "pvc-sync-to-dr")?.status, "done");
        assert.ok((stepOf(report, "pvc-sync-to-dr")?.durationMs ?? -1) >= 0, "the data step's time is said");
        assert.match(stepOf(report, "pvc-sync-to-dr")?.detail ?? "", /^1 claim\(s\) copied \(\d+ file\(s\)/);
        const claimActions = report.objects.filter((o) => o.kind === "PersistentVolumeClaim").map((o) =>
          o.action
        );
        assert.deepEqual(claimActions, ["created", "updated"], "the stage's copy, then the pass's data");
        assert.equal(report.pvcData?.claims, 1);
        assert.ok((report.pvcData?.bytes ?? 0) >= 1024 * 1024, `${report.pvcData?.bytes} bytes`);
        const drData = await harness.dr.claimStorage(ns.dest, "data");
        await assertSameTree(drData, sourceData);
        assert.equal(await Deno.readTextFile(`${drData}/written-by-the-app.txt`), "before the stage\n");
        assert.equal((await claimRecord())?.pass, `pvc-sync:${report.runId}`, "the pass of this run");
        const app = await read<KubeObject & { spec: { replicas: number } }>(
          clusters.dr,
          "apps/v1",
          "Deployment",
          ns.dest,
          "app-data",
        );
        assert.equal(app?.spec.replicas, 0, "the copy stands by");
        firstRunId = report.runId;
      },
    );

    await t.step("the next run stages nothing new and its pass moves only what changed", async () => {
      await Deno.writeTextFile(`${sourceData}/written-by-the-app.txt`, "after the first stage\n");
      const report = await stageOperation.run(deps(clusters), spec, { migratePvcData: true });
      assert.equal(report.status, "succeeded", describe(report));
      assert.equal(report.counts.created, 0);
      assert.match(stepOf(report, "pvc-sync-to-dr")?.detail ?? "", /^1 claim\(s\) copied \(1 file\(s\)/);
      const drData = await harness.dr.claimStorage(ns.dest, "data");
      assert.equal(await Deno.readTextFile(`${drData}/written-by-the-app.txt`), "after the first stage\n");
      await assertSameTree(drData, sourceData);
      const record = await claimRecord();
      assert.equal(record?.pass, `pvc-sync:${report.runId}`);
      assert.notEqual(report.runId, firstRunId);
    });

    await t.step(
      "a stage that fails skips the pass: step pvc-sync-to-dr skipped, DR keeps the last data",
      async () => {
        const before = await claimRecord();
        // a Deployment whose scale override is no number: its copy fails, so the stage fails
        await seed(clusters.source, [
          fixtures.deployment(ns.source, "broken", 1, { "dr-syncer.io/scale-override": "many" }),
        ]);
        await Deno.writeTextFile(`${sourceData}/written-by-the-app.txt`, "after the failed stage\n");
        await Deno.writeTextFile(`${sourceData}/new-file.txt`, "not copied\n");
        const report = await stageOperation.run(deps(clusters), spec, { migratePvcData: true });
        assert.equal(report.status, "failed", describe(report));
        assert.equal(
          report.objects.find((o) => o.kind === "Deployment" && o.name === "broken")?.action,
          "failed",
        );
        assert.deepEqual(stepOf(report, "pvc-sync-to-dr"), {
          step: "pvc-sync-to-dr",
          status: "skipped",
          detail: "the stage did not succeed",
        });
        assert.equal(report.pvcData, undefined);
        assert.deepEqual(
          report.objects.filter((o) => o.kind === "PersistentVolumeClaim").map((o) => o.action),
          ["unchanged"],
          "only the stage's look at the claim",
        );
        const drData = await harness.dr.claimStorage(ns.dest, "data");
        assert.equal(await Deno.readTextFile(`${drData}/written-by-the-app.txt`), "after the first stage\n");
        await assert.rejects(Deno.stat(`${drData}/new-file.txt`), Deno.errors.NotFound);
        assert.deepEqual(await claimRecord(), before, "no pass recorded on the claim");
      },
    );
  });
});
