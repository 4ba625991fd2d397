/**
 * `serve` in-process on a real port (Deno.serve on 127.0.0.1): stage, cutover and failback over
 * HTTP, the metrics accepted by `promtool check metrics`, and the status page in headless
 * Chromium (a screenshot is kept in tests/integration/http_artifacts/, which git ignores).
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { fixtures, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { replication, testConfigInput, TOKENS } from "./http_harness.ts";
import { serveInProcess, writeConfig } from "./serve_harness.ts";

type Workload = KubeObject & { spec: { replicas: number } };

const ARTIFACTS = new URL("./http_artifacts/", import.meta.url).pathname;

async function post(
  url: string,
  token: string,
  body: unknown = {},
): Promise<{ status: number; body: RunReport }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function run(
  command: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  if (stdin !== undefined) await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return { code: output.code, out: decoder.decode(output.stdout), err: decoder.decode(output.stderr) };
}

Deno.test("serve: stage, cutover and failback over HTTP; promtool accepts /metrics; Chromium shows the page", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "serveflow", async (ns) => {
    await seed(c.source, [
      fixtures.configMap(ns.source, "settings"),
      fixtures.deployment(ns.source, "web", 2),
    ]);
    const config = await writeConfig(testConfigInput([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "*/5 * * * *" }),
    ]));
    await using serve = await serveInProcess(["--config", config]);
    const base = `${serve.url}/v1/replications/shop`;

    const staged = await post(`${base}/stage`, TOKENS.ops);
    assert.equal(staged.status, 200, JSON.stringify(staged.body));
    assert.equal(staged.body.counts.created, 2);
    const cut = await post(`${base}/cutover`, TOKENS.ops);
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "web"))?.spec.replicas, 2);
    const refused = await post(`${base}/stage`, TOKENS.ops);
    assert.equal(
      refused.status,
      409,
      "staging a cut-over replication is refused, through the one error table",
    );
    const again = await post(`${base}/cutover`, TOKENS.ops);
    assert.equal(again.status, 200, "a repeated cutover succeeds with nothing to do");
    const back = await post(`${base}/failback`, TOKENS.ops);
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web"))?.spec.replicas,
      2,
    );
    assert.equal((await post(`${base}/stage`, TOKENS.ops, { dryRun: true })).status, 200);

    assert.deepEqual(await (await fetch(`${serve.url}/healthz`)).json(), { status: "ok" });
    const ready = await fetch(`${serve.url}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.deepEqual((await ready.json()).clusters, { source: "reachable", dr: "reachable" });

    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    assert.match(metrics, /dr_syncer_runs_total\{operation="stage",result="succeeded",trigger="http"\} 2/);
    assert.match(metrics, /dr_syncer_runs_total\{operation="stage",result="refused",trigger="http"\} 1/);
    assert.match(metrics, /dr_syncer_objects_total\{operation="stage",action="created"\} 2/);
    assert.match(metrics, /dr_syncer_run_duration_seconds_bucket\{le="\+Inf",operation="failback"\} 1/);
    assert.match(
      metrics,
      /dr_syncer_last_success_timestamp_seconds\{replication="shop",operation="stage"\} \d+/,
    );
    assert.match(metrics, /dr_syncer_rpo_ratio\{replication="shop"\} 0\.\d+/);
    const promtool = await run("promtool", ["check", "metrics"], metrics);
    assert.equal(promtool.code, 0, `promtool check metrics: ${promtool.out}${promtool.err}`);

    // the page, in a real browser: the token as the Basic password, as a person would type it
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const page = serve.url.replace("http://", `http://viewer:${TOKENS.read}@`) + "/";
    const chromium = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,600"];
    const dom = await run("chromium", [...chromium, "--dump-dom", page]);
    assert.match(dom.out, /<tr data-replication="shop">/, dom.out.slice(0, 2000));
    assert.match(dom.out, /class="rpo rpo-ok" data-rpo="ok"/);
    assert.match(dom.out, /<meta http-equiv="refresh" content="10">/);
    assert.match(dom.out, new RegExp(`href="/runs/[0-9a-f-]{36}"`));
    const screenshot = `${ARTIFACTS}status_page.png`;
    await run("chromium", [...chromium, `--screenshot=${screenshot}`, page]);
    assert.ok((await Deno.stat(screenshot)).size > 5_000, "the screenshot was taken");
    // a run's report on click
    const runId = /href="\/runs\/([0-9a-f-]{36})"/.exec(dom.out)![1]!;
    const report = await run("chromium", [
      ...chromium,
      "--dump-dom",
      page.replace(/\/$/, `/runs/${runId}`),
    ]);
    assert.match(report.out, /<h1>failback of shop <span class="status status-succeeded">succeeded/);
    assert.match(report.out, /restore-source/);

    assert.equal(await serve.stop(), 0);
    assert.match(serve.stderr(), /"msg":"stopped"/);
  }, { destSuffix: "-dr" });
});
