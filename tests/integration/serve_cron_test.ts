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

Deno.test("run-job: one schedule job run once, as a CronJob runs it; its record kept; one run per slot", async () => {
  const { main } = await import("../../functions/cli/run_cli.ts");
  const { RunRecordStore } = await import("../../shared/runs/mod.ts");
  await using c = await testClusters();
  await withNamespaces(c, "runjob", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "from-job")]);
    const config = await writeConfig(testConfigInput([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "*/5 * * * *" }),
    ]));
    let out = "", err = "";
    const io = {
      stdout: (t: string) => out += t,
      stderr: (t: string) => err += t,
      env: (name: string) => name === "DR_SYNCER_SECRETS_KUBECONFIG" ? undefined : Deno.env.get(name),
      stderrIsTerminal: false,
    };
    assert.equal(await main(["run-job", "--config", config, "--job", "stage-shop"], io), 0, err);
    const result = JSON.parse(out.trim().split("\n").at(-1)!) as { runId: string; status: string };
    assert.equal(result.status, "succeeded");
    assert.ok((await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("from-job"));
    const records = await new RunRecordStore(c.dr).list(ns.dest, "shop");
    assert.deepEqual(records.map((r) => [r.runId, r.trigger, r.status]), [[
      result.runId,
      "schedule",
      "succeeded",
    ]]);
    // a second Job of the same slot finds the run taken and reports it: still one run
    out = "";
    assert.equal(await main(["run-job", "--config", config, "--job", "stage-shop"], io), 0, err);
    assert.equal((await new RunRecordStore(c.dr).list(ns.dest, "shop")).length, 1);
    assert.equal(await main(["run-job", "--config", config, "--job", "stage-nope"], io), 2);
    assert.match(err, /no job "stage-nope" \(jobs of this config: stage-shop\)/);
  }, { destSuffix: "-dr" });
});
