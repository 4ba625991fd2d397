/**
 * The HTTP API against a hostile caller, on the real clusters and a real HTTP server: scopes for
 * the options that lift a safety refusal, tokens limited to replications, requests a browser can
 * be made to send cross-site, the page's markup, what the unauthenticated routes give away, and
 * Idempotency-Keys bound to the token with one poller per followed run. Each refusal beside the
 * allowed case.
 */
import assert from "node:assert/strict";
import { operationNamed } from "../../functions/operations/mod.ts";
import { createApp } from "../../functions/http/create_app.ts";
import { acquireReplicationLock } from "../../shared/state/mod.ts";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import { fixtures, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKEN_ENV, TOKENS } from "./http_harness.ts";

type Workload = KubeObject & { spec: { replicas?: number } };
const replicas = async (client: KubeClient, ns: string, name: string) =>
  (await read<Workload>(client, "apps/v1", "Deployment", ns, name))?.spec.replicas;

const LIMITED = {
  stageOnly: `stage-only-${crypto.randomUUID()}`,
  stageForce: `stage-force-${crypto.randomUUID()}`,
  cutoverOnly: `cutover-only-${crypto.randomUUID()}`,
  cutoverDisaster: `cutover-disaster-${crypto.randomUUID()}`,
  shopsOnly: `shops-only-${crypto.randomUUID()}`,
};

const LIMITED_TOKENS = [
  { name: "stage-only", value: { env: "T_STAGE_ONLY" }, operations: ["read", "stage"] },
  { name: "stage-force", value: { env: "T_STAGE_FORCE" }, operations: ["read", "stage", "force"] },
  { name: "cutover-only", value: { env: "T_CUTOVER_ONLY" }, operations: ["cutover"] },
  {
    name: "cutover-disaster",
    value: { env: "T_CUTOVER_DISASTER" },
    operations: ["cutover", "allow-source-unavailable"],
  },
  { name: "shops", value: { env: "T_SHOPS" }, operations: ["read", "stage"], replications: ["shop-*"] },
];
const LIMITED_ENV: Record<string, string> = {
  ...TOKEN_ENV,
  T_STAGE_ONLY: LIMITED.stageOnly,
  T_STAGE_FORCE: LIMITED.stageForce,
  T_CUTOVER_ONLY: LIMITED.cutoverOnly,
  T_CUTOVER_DISASTER: LIMITED.cutoverDisaster,
  T_SHOPS: LIMITED.shopsOnly,
};

function configWith(replications: Parameters<typeof testConfig>[0], extra = {}) {
  const base = testConfig(replications);
  return testConfig(replications, {
    tokens: [
      ...base.tokens.map((t) => ({ name: t.name, value: t.value, operations: [...t.operations] })),
      ...LIMITED_TOKENS,
    ],
    ...extra,
  });
}

Deno.test("http security: an option that lifts a safety refusal needs its own scope; the 403 names it", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpscope", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await using t = await testRuntime(configWith([replication("shop", ns.source, ns.dest)]), {
      readEnv: (name) => LIMITED_ENV[name],
    });
    for (const operation of ["stage", "cutover"]) {
      const r = await json(t.request(`/v1/replications/shop/${operation}`, { token: TOKENS.ops, body: {} }));
      assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
    }
    assert.equal(await replicas(c.dr, ns.dest, "web"), 2, "DR serves");

    // a stage-only token forcing a stage after the cutover would scale the live DR side to zero
    const forced = await json(t.request("/v1/replications/shop/stage", {
      token: LIMITED.stageOnly,
      body: { force: true },
    }));
    assert.equal(forced.status, 403, JSON.stringify(forced.body));
    assert.match(String(forced.body.error), /needs the scope "force"/);
    assert.equal(await replicas(c.dr, ns.dest, "web"), 2, "the live DR Deployment is untouched");
    // the same token without force: refused by the state (409), not by its scopes
    const plain = await json(
      t.request("/v1/replications/shop/stage", { token: LIMITED.stageOnly, body: {} }),
    );
    assert.equal(plain.status, 409, JSON.stringify(plain.body));

    // a cutover-only token may not claim the source is gone; one with that scope may
    const disaster = await json(t.request("/v1/replications/shop/cutover", {
      token: LIMITED.cutoverOnly,
      body: { allowSourceUnavailable: true, dryRun: true },
    }));
    assert.equal(disaster.status, 403);
    assert.match(String(disaster.body.error), /needs the scope "allow-source-unavailable"/);
    const allowed = await json(t.request("/v1/replications/shop/cutover", {
      token: LIMITED.cutoverDisaster,
      body: { allowSourceUnavailable: true, dryRun: true },
    }));
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));

    // with the force scope the refusal is lifted (the allowed case): the stage runs
    const lifted = await json(t.request("/v1/replications/shop/stage", {
      token: LIMITED.stageForce,
      body: { force: true },
    }));
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.status, "succeeded", JSON.stringify(lifted.body));
  }, { destSuffix: "-dr" });
});

Deno.test("http security: a token limited to replications acts on and sees only those", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpcover", async (a) => {
    await withNamespaces(c, "httpcover2", async (b) => {
      await seed(c.source, [fixtures.configMap(a.source, "x"), fixtures.configMap(b.source, "y")]);
      await using t = await testRuntime(
        configWith([replication("shop-eu", a.source, a.dest), replication("blog", b.source, b.dest)]),
        { readEnv: (name) => LIMITED_ENV[name] },
      );
      const blogRun = await json(t.request("/v1/replications/blog/stage", { token: TOKENS.ops, body: {} }));
      assert.equal(blogRun.status, 200);
      const refused = await json(
        t.request("/v1/replications/blog/stage", { token: LIMITED.shopsOnly, body: {} }),
      );
      assert.equal(refused.status, 403);
      assert.match(String(refused.body.error), /does not cover replication "blog"/);
      const unknown = await json(
        t.request("/v1/replications/nope/stage", { token: LIMITED.shopsOnly, body: {} }),
      );
      assert.equal(unknown.status, 403, "an uncovered name is refused whether it exists or not");
      const ok = await json(
        t.request("/v1/replications/shop-eu/stage", { token: LIMITED.shopsOnly, body: {} }),
      );
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const list = await json<{ replications: { name: string }[] }>(
        t.request("/v1/replications", { token: LIMITED.shopsOnly }),
      );
      assert.deepEqual(list.body.replications.map((r) => r.name), ["shop-eu"]);
      assert.equal((await t.request("/v1/replications/blog", { token: LIMITED.shopsOnly })).status, 403);
      const run = await t.request(`/v1/runs/${blogRun.body.runId}`, { token: LIMITED.shopsOnly });
      assert.equal(run.status, 404, "another replication's run is not found");
      assert.equal((await t.request(`/v1/runs/${blogRun.body.runId}`, { token: TOKENS.read })).status, 200);
      const page = await (await t.request("/", { token: LIMITED.shopsOnly })).text();
      assert.match(page, /data-replication="shop-eu"/);
      assert.doesNotMatch(page, /data-replication="blog"/);
    }, { destSuffix: "-dr" });
  }, { destSuffix: "-dr" });
});

Deno.test("http security: what a browser can be made to send cross-site runs nothing; the page is locked down and escaped", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpcsrf", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await using t = await testRuntime(configWith([replication("shop", ns.source, ns.dest)]));
    await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, t.app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    const stage = (headers: Record<string, string>, body = '{"dryRun":false}') =>
      fetch(`${base}/v1/replications/shop/stage`, { method: "POST", headers, body });
    const basic = `Basic ${btoa(`x:${TOKENS.ops}`)}`;
    // a form or text/plain POST from evil.example with the browser's cached Basic credentials
    const csrf = await stage({
      authorization: basic,
      "content-type": "text/plain",
      origin: "https://evil.example",
    });
    assert.equal(csrf.status, 401, "Basic credentials do not trigger anything");
    await csrf.body?.cancel();
    const text = await stage({ authorization: `Bearer ${TOKENS.ops}`, "content-type": "text/plain" });
    assert.equal(text.status, 415, "a body that is not JSON is refused");
    await text.body?.cancel();
    const foreign = await stage({
      authorization: `Bearer ${TOKENS.ops}`,
      "content-type": "application/json",
      origin: "https://evil.example",
    });
    assert.equal(foreign.status, 403, "a foreign Origin is refused");
    await foreign.body?.cancel();
    const crossSite = await stage({
      authorization: `Bearer ${TOKENS.ops}`,
      "content-type": "application/json",
      "sec-fetch-site": "cross-site",
    });
    assert.equal(crossSite.status, 403);
    await crossSite.body?.cancel();
    const dr = await t.runtime.clusters.get("dr");
    assert.equal(dr.stats.writes, 0, "nothing was written");
    const good = await stage({
      authorization: `Bearer ${TOKENS.ops}`,
      "content-type": "application/json; charset=utf-8",
      origin: base,
    });
    assert.equal(good.status, 200, "a same-origin JSON request with a Bearer token runs");
    await good.body?.cancel();

    // markup in a Lease annotation (a DR tenant can write it) reaches the page in an error message
    await c.dr.request({
      method: "PATCH",
      path: `/apis/coordination.k8s.io/v1/namespaces/${ns.dest}/leases/dr-syncer`,
      contentType: "application/merge-patch+json",
      body: {
        metadata: {
          annotations: {
            "dr-syncer.io/state": '{"activeSide":"<img src=x onerror=alert(1)><script>x()</script>"}',
          },
        },
      },
    });
    t.runtime.status.invalidate();
    const page = await fetch(`${base}/`, { headers: { authorization: basic } });
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /script-src/, "no script may run on the page");
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    const html = await page.text();
    assert.match(html, /unreadable/, "the error is on the page");
    assert.doesNotMatch(html, /<img src=x|<script>x\(\)/, "its markup is not");
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  }, { destSuffix: "-dr" });
});

Deno.test("http security: readyz names no address or error and probes at most every few seconds; metrics can require a token", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpready", async (ns) => {
    const config = configWith([replication("shop", ns.source, ns.dest)], {
      runtime: { protectMetrics: true },
    });
    await using t = await testRuntime(config, { readyCacheMs: 2_000 });
    const dr = await t.runtime.clusters.get("dr");
    const before = dr.stats.total;
    const answers = await Promise.all(Array.from({ length: 50 }, () => json(t.request("/readyz"))));
    for (const r of answers) {
      assert.deepEqual(r.body, { ready: true, clusters: { source: "reachable", dr: "reachable" } });
    }
    assert.ok(dr.stats.total - before <= 1, `${dr.stats.total - before} probes of DR for 50 requests`);

    const metrics = await t.request("/metrics");
    assert.equal(metrics.status, 401, "protectMetrics: the replications' names need a token");
    await metrics.body?.cancel();
    const allowed = await t.request("/metrics", { token: TOKENS.read });
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /dr_syncer_runs_total/);
  }, { destSuffix: "-dr" });

  // an unreachable cluster: a status word only
  const offline = testConfig([replication("x", "a", "b")], {
    clusters: [
      {
        name: "source",
        kubeconfig: { path: `${Deno.makeTempDirSync()}/none.kubeconfig` },
      },
      { name: "dr", kubeconfig: { path: `${Deno.makeTempDirSync()}/none.kubeconfig` } },
    ],
  });
  await using o = await testRuntime(offline);
  const ready = await json(o.request("/readyz"));
  assert.equal(ready.status, 503);
  assert.doesNotMatch(JSON.stringify(ready.body), /kubeconfig|\/tmp|Cannot/, JSON.stringify(ready.body));
});

Deno.test("http security: an Idempotency-Key is bound to its token; one poller follows another replica's run, and stops with its last waiter", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpidem", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const config = configWith([replication("shop", ns.source, ns.dest)]);
    // runs 1 and 3 on replica a wait at a gate before they take the lock; run 2 runs at once
    const gate = Promise.withResolvers<void>(), laterGate = Promise.withResolvers<void>();
    const gateOf = [gate.promise, undefined, laterGate.promise];
    let calls = 0;
    const stage = operationNamed("stage");
    await using a = await testRuntime(config, {
      readEnv: (name) => LIMITED_ENV[name],
      operations: {
        stage: async (deps, spec, o) => (await gateOf[calls++], await stage.run(deps, spec, o)),
      },
    });
    await using b = await testRuntime(config, { readEnv: (name) => LIMITED_ENV[name] });
    const headers = { "idempotency-key": "deploy-42" };
    const first = await json(a.request("/v1/replications/shop/stage", {
      token: TOKENS.ops,
      body: { wait: 0 },
      headers,
    }));
    assert.equal(first.status, 202);
    // the same key from another token is another run, not a replay of the first
    const other = await json(a.request("/v1/replications/shop/stage", {
      token: LIMITED.stageOnly,
      body: { wait: 30, waitForLock: 60 },
      headers,
    }));
    assert.equal(other.status, 200, "the other token's run ran (and ended) on its own");
    assert.notEqual(other.body.runId, first.body.runId);
    assert.equal(other.headers.get("idempotent-replayed"), null);

    // on replica b, repeats of the first request follow a's run through its record
    const appB = createApp(b.runtime);
    const repeat = (wait: number) =>
      appB.request("/v1/replications/shop/stage", {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${TOKENS.ops}`, "content-type": "application/json" },
        body: JSON.stringify({ wait }),
      });
    const quick = await Promise.all([repeat(0), repeat(0), repeat(0)]);
    for (const r of quick) {
      assert.equal(r.status, 202);
      assert.equal(r.headers.get("idempotent-replayed"), "true");
      await r.body?.cancel();
    }
    assert.equal(b.runtime.runs.followed, 0, "no poller outlives the requests that waited for it");
    const waiting = [repeat(30), repeat(30), repeat(30)];
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.runtime.runs.followed, 1, "one poller for three waiting requests");
    gate.resolve();
    for (const r of await Promise.all(waiting)) {
      assert.equal(r.status, 200);
      assert.equal((await r.json()).runId, first.body.runId);
    }
    assert.equal(b.runtime.runs.followed, 0);

    // a followed run refused for a held lock deletes its record: the repeat says so and stops
    // (it polled "running" forever before)
    const key = { "idempotency-key": "deploy-43" };
    const third = await json(
      a.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: { wait: 0 }, headers: key }),
    );
    assert.equal(third.status, 202);
    const follower = appB.request("/v1/replications/shop/stage", {
      method: "POST",
      headers: { ...key, authorization: `Bearer ${TOKENS.ops}`, "content-type": "application/json" },
      body: JSON.stringify({ wait: 30 }),
    });
    const holder = await acquireReplicationLock(c.dr, {
      namespace: ns.dest,
      replication: "shop",
      holder: "another-run",
    });
    try {
      laterGate.resolve();
      const t0 = performance.now();
      const refused = await follower;
      const body = await refused.json();
      assert.equal(refused.status, 409, JSON.stringify(body));
      assert.equal(body.runId, third.body.runId);
      assert.match(
        body.error,
        /did not run: .*another run held the replication's lock.*send the request again/,
      );
      assert.ok(performance.now() - t0 < 10_000, "answered once the record was gone, not at the wait's end");
    } finally {
      await holder.release(holder.state);
    }
    assert.equal(b.runtime.runs.followed, 0);
  }, { destSuffix: "-dr" });
});
