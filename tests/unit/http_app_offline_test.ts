/** The app over a runtime whose clusters cannot be reached: health, readiness, status, page, metrics. */
import assert from "node:assert/strict";
import { createApp } from "../../functions/http/create_app.ts";
import { createRuntime } from "../../functions/runtime/mod.ts";
import { loadConfig } from "../../shared/config/mod.ts";
import { silentLogger } from "../../shared/log/mod.ts";

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;

async function offlineApp() {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/k`, KUBECONFIG);
  const config = loadConfig(
    JSON.stringify({
      clusters: [{ name: "prod", kubeconfig: { path: `${dir}/k` } }, {
        name: "dr",
        kubeconfig: { path: `${dir}/k` },
      }],
      tokens: [{ name: "ops", value: { env: "T" }, operations: ["read", "stage"] }],
      replications: [{
        name: "shop",
        source: { cluster: "prod", namespace: "shop" },
        destination: { cluster: "dr" },
        schedule: "*/5 * * * *",
      }],
    }),
    "test",
  );
  const runtime = await createRuntime({
    config,
    logger: silentLogger,
    readEnv: (n) => n === "T" ? "tok" : undefined,
  });
  return { runtime, app: createApp(runtime), [Symbol.asyncDispose]: () => runtime.close() };
}

const auth = { authorization: "Bearer tok" };

Deno.test("http offline: healthz answers, readyz says which cluster is unreachable", async () => {
  await using t = await offlineApp();
  assert.equal((await t.app.request("/healthz")).status, 200);
  const ready = await t.app.request("/readyz");
  assert.equal(ready.status, 503);
  const body = await ready.json();
  assert.equal(body.ready, false);
  // the answer goes to anyone who asks: a status word per cluster, never its address or the raw error
  assert.equal(body.clusters.prod, "unreachable");
  assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1|https:|kubeconfig|Cannot reach/);
});

Deno.test("http offline: the status says why it is partial; the page and the metrics still answer", async () => {
  await using t = await offlineApp();
  const status = await (await t.app.request("/v1/replications/shop", { headers: auth })).json();
  assert.equal(status.activeSide, null);
  assert.match(status.error, /Cannot reach cluster "dr"/);
  assert.equal(status.rpo.level, "critical", "never synced, as far as can be told");
  assert.match(status.nextRun, /^\d{4}-\d\d-\d\dT/);
  const page = await t.app.request("/", { headers: auth });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<tr data-replication="shop">/);
  assert.match(html, /class="rpo rpo-critical"/);
  assert.match(html, /Cannot reach cluster &quot;dr&quot;/, "text is escaped");
  const metrics = await t.app.request("/metrics");
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
  assert.match(await metrics.text(), /# TYPE dr_syncer_runs_total counter/);
});

Deno.test("http offline: a trigger whose cluster is unreachable answers 503 from the error table", async () => {
  await using t = await offlineApp();
  const r = await t.app.request("/v1/replications/shop/stage", {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(r.status, 503);
  const body = await r.json();
  assert.equal(body.code, "cluster-unavailable");
  assert.equal(body.runId, undefined, "no run started");
});
