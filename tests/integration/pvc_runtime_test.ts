/**
 * pvc-sync through the runtime: the HTTP route with an operation-scoped token, the report with the data
 * totals, the PVC metrics, and the replication's own PVC schedule running pvc-sync.
 */
import assert from "node:assert/strict";
import { runScheduledTick } from "../../functions/cron/run_scheduled_tick.ts";
import { scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import { stage } from "../../functions/stage.ts";
import { replicationSpecFromConfig } from "../../shared/config/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { deps, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";
import { appObjects, assertSameTree, eventually, startPvcHarness, storageClasses } from "./pvc_harness.ts";

Deno.test("pvc-sync over HTTP and on its own schedule", async (t) => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvchttp", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const config = testConfig([
      replication("shop", ns.source, ns.dest, {
        pvc: { enabled: true, schedule: "0 * * * *", verify: "sample", bandwidthLimit: "100M" },
      }),
    ], { agent: { namespace: harness.agentNamespace, mounterImage: "pause:test" } });
    await seed(clusters.source, appObjects(ns.source, "data", 1));
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    for (let i = 0; i < 20; i++) await Deno.writeTextFile(`${sourceData}/file-${i}.txt`, `content ${i}\n`);
    const spec = replicationSpecFromConfig(config.replications[0]!, config.agent);
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    const drData = await harness.dr.claimStorage(ns.dest, "data");
    await using rt = await testRuntime(config);

    await t.step("a stage-only token cannot trigger pvc-sync", async () => {
      const r = await rt.request("/v1/replications/shop/pvc-sync", { token: TOKENS.stage, body: {} });
      assert.equal(r.status, 403);
      await r.body?.cancel();
    });

    await t.step("the ops token runs it and gets the report with the data totals", async () => {
      const { status, body } = await json<RunReport>(
        rt.request("/v1/replications/shop/pvc-sync", { token: TOKENS.ops, body: { wait: 60 } }),
      );
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.operation, "pvc-sync");
      assert.equal(body.status, "succeeded", JSON.stringify(body.objects));
      assert.equal(body.pvcData?.claims, 1);
      assert.equal(body.pvcData?.files, 20);
      assert.match(body.objects[0]?.reason ?? "", /verified \(sample, 20 files\)/);
      await assertSameTree(drData, sourceData);
      const metrics = await (await rt.request("/metrics")).text();
      assert.match(metrics, /dr_syncer_pvc_files_total\{replication="shop",operation="pvc-sync"\} 20/);
      assert.match(metrics, /dr_syncer_pvc_bytes_total\{replication="shop",operation="pvc-sync"\} \d+/);
    });

    await t.step("the PVC schedule runs pvc-sync", async () => {
      await Deno.writeTextFile(`${sourceData}/from-schedule.txt`, "tick\n");
      const job = scheduledJobs(config.replications).find((j) => j.operation === "pvc-sync");
      assert.ok(job, "a pvc-sync job for the PVC schedule");
      assert.equal(job.schedule, "0 * * * *");
      assert.equal(await runScheduledTick(rt.runtime, job), "started");
      await eventually("the scheduled pvc-sync to finish", async () => {
        const { body } = await json<{ lastRuns: { trigger: string; operation: string; status: string }[] }>(
          rt.request("/v1/replications/shop", { token: TOKENS.read }),
        );
        const run = body.lastRuns.find((r) => r.trigger === "schedule" && r.operation === "pvc-sync");
        return run && run.status !== "running" ? run : undefined;
      }).then((run) => assert.equal(run.status, "succeeded", JSON.stringify(run)));
      assert.equal(await Deno.readTextFile(`${drData}/from-schedule.txt`), "tick\n");
    });
  });
});
