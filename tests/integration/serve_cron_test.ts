/**
 * `serve` as a real process: one real Deno.cron tick of a `* * * * *` schedule stages the
 * replication (waits up to a minute), then SIGTERM drains and the process exits 0.
 */
import assert from "node:assert/strict";
import { fixtures, names, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { replication, testConfigInput, TOKENS } from "./http_harness.ts";
import { serveProcess, writeConfig } from "./serve_harness.ts";

interface Status {
  lastRuns: { trigger: string; status: string; runId: string }[];
  nextRun: string | null;
  rpo: { level: string };
}

Deno.test("serve process: a real Deno.cron tick stages the replication; SIGTERM drains and exits 0", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "servecron", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "from-cron")]);
    const config = await writeConfig(testConfigInput([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "* * * * *" }),
    ]));
    await using serve = await serveProcess(["--config", config, "--drain-seconds", "5"]);
    const statusUrl = `${serve.url}/v1/replications/shop`;
    const headers = { authorization: `Bearer ${TOKENS.read}` };
    let status: Status | undefined;
    const deadline = Date.now() + 75_000;
    while (Date.now() < deadline) {
      status = await (await fetch(statusUrl, { headers })).json() as Status;
      if (status.lastRuns.some((r) => r.trigger === "schedule" && r.status !== "running")) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const ticked = status?.lastRuns.find((r) => r.trigger === "schedule");
    assert.equal(ticked?.status, "succeeded", `${JSON.stringify(status)}\n${serve.stderr()}`);
    assert.ok(await names(c.dr, "v1", "ConfigMap", ns.dest).then((n) => n.includes("from-cron")));
    assert.equal(status?.rpo.level, "ok");
    assert.ok(Date.parse(status?.nextRun ?? "") > Date.now() - 1_000, "the next run is ahead");
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    assert.match(metrics, /dr_syncer_schedule_ticks_total\{replication="shop",outcome="started"\} 1/);
    assert.match(
      metrics,
      /dr_syncer_runs_total\{operation="stage",result="succeeded",trigger="schedule"\} 1/,
    );

    const exit = await serve.stop("SIGTERM");
    assert.equal(exit.code, 0, serve.stderr());
    const logs = serve.stderr().trim().split("\n").map((line) =>
      JSON.parse(line) as { msg: string; reason?: string }
    );
    assert.equal(logs.find((l) => l.msg === "draining")?.reason, "SIGTERM");
    assert.equal(logs.at(-1)?.msg, "stopped");
  }, { destSuffix: "-dr" });
});
