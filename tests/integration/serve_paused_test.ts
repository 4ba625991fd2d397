/**
 * A scheduled replication left cut over: its ticks are paused (no run, no record, counted as
 * `paused`), the status and the page say so instead of a failed stage and a next run, and the
 * records of the cutover and the failback are never pushed out of the kept runs.
 */
import assert from "node:assert/strict";
import { runScheduledTick } from "../../functions/cron/run_scheduled_tick.ts";
import { scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import { RunRecordStore } from "../../shared/runs/mod.ts";
import { fixtures, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

Deno.test("serve: a cut-over replication's schedule pauses; failback resumes it; the cutover's record is kept", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "servepause", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 2)]);
    const config = testConfig([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "* * * * *" }),
    ]);
    const [job] = scheduledJobs(config.replications);
    await using t = await testRuntime(config, { runsKept: 2, statusTtlMs: 0 });
    for (const operation of ["stage", "cutover"]) {
      const r = await json(t.request(`/v1/replications/shop/${operation}`, { token: TOKENS.ops, body: {} }));
      assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
    }
    const store = new RunRecordStore(c.dr);
    const before = await store.list(ns.dest, "shop");

    for (let minute = 1; minute <= 3; minute++) {
      const tick = new Date(Date.now() + minute * 60_000);
      assert.equal(await runScheduledTick(t.runtime, job!, tick), "paused");
    }
    assert.deepEqual(
      (await store.list(ns.dest, "shop")).map((r) => r.runId),
      before.map((r) => r.runId),
      "no run and no record while cut over",
    );
    assert.match(
      await t.runtime.metrics.metrics(),
      /dr_syncer_schedule_ticks_total\{replication="shop",outcome="paused"\} 3/,
    );
    const status = await json(t.request("/v1/replications/shop", { token: TOKENS.read }));
    assert.equal(status.body.nextRun, null);
    assert.match(String(status.body.paused), /cut over/);
    assert.equal((status.body.lastRuns as { operation: string }[])[0]?.operation, "cutover");
    const page = await (await t.request("/", { token: TOKENS.read })).text();
    assert.match(page, /paused/);
    assert.doesNotMatch(
      page,
      /class="status status-failed"/,
      "no failed run on the page after a good cutover",
    );

    const back = await json(t.request("/v1/replications/shop/failback", { token: TOKENS.ops, body: {} }));
    assert.equal(back.body.status, "succeeded", JSON.stringify(back.body));
    const resumed = await runScheduledTick(t.runtime, job!, new Date(Date.now() + 10 * 60_000));
    assert.equal(resumed, "started", "failback resumes the schedule");
    for (let i = 0; i < 200 && t.runtime.runs.active.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // four runs and runsKept is 2: the newest of each operation stays, the older stage goes
    const kept = (await store.list(ns.dest, "shop")).map((r) => r.operation);
    assert.ok(kept.includes("cutover"), `the cutover's record is kept: ${kept.join(", ")}`);
    assert.ok(kept.includes("failback"), `the failback's record is kept: ${kept.join(", ")}`);
    assert.ok(kept.includes("stage"));
  }, { destSuffix: "-dr" });
});
