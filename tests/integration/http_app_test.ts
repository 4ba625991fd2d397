/** The HTTP app in-process (`app.request()`) over the runtime, against the two real clusters. */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { acquireReplicationLock } from "../../shared/state/mod.ts";
import { fixtures, names, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

type Workload = KubeObject & { spec: { replicas: number } };

Deno.test("http: stage, cutover and failback over the API move the workloads", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpflow", async (ns) => {
    await seed(c.source, [
      fixtures.configMap(ns.source, "settings"),
      fixtures.deployment(ns.source, "web", 3),
    ]);
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));

    const staged = await json<RunReport>(
      t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} }),
    );
    assert.equal(staged.status, 200, JSON.stringify(staged.body));
    assert.equal(staged.body.operation, "stage");
    assert.equal(staged.body.status, "succeeded");
    assert.equal(staged.body.counts.created, 2);
    assert.equal(staged.headers.get("location"), `/v1/runs/${staged.body.runId}`);
    assert.deepEqual(await names(c.dr, "v1", "ConfigMap", ns.dest).then((n) => n.includes("settings")), true);

    const cut = await json<RunReport>(
      t.request("/v1/replications/shop/cutover", { token: TOKENS.ops, body: {} }),
    );
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    assert.equal(cut.body.activeSide, "dr");
    assert.equal((await read<Workload>(c.dr, "apps/v1", "Deployment", ns.dest, "web"))?.spec.replicas, 3);
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web"))?.spec.replicas,
      0,
    );

    const status = await json(t.request("/v1/replications/shop", { token: TOKENS.read }));
    assert.equal(status.status, 200);
    assert.equal(status.body.activeSide, "dr");
    assert.equal((status.body.lastRuns as unknown[]).length, 2, "both runs are listed from their records");

    const back = await json<RunReport>(
      t.request("/v1/replications/shop/failback", { token: TOKENS.ops, method: "POST" }),
    );
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.activeSide, "source");
    assert.equal(
      (await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web"))?.spec.replicas,
      3,
    );

    // the record of each run is in the DR namespace: any replica answers for it
    const run = await json(t.request(`/v1/runs/${cut.body.runId}`, { token: TOKENS.read }));
    assert.equal(run.status, 200);
    assert.equal(run.body.status, "succeeded");
    assert.equal((run.body.report as RunReport).activeSide, "dr");
    await using other = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    const elsewhere = await json(other.request(`/v1/runs/${cut.body.runId}`, { token: TOKENS.read }));
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.body.operation, "cutover");
  }, { destSuffix: "-dr" });
});

Deno.test("http: no token 401, a token without the scope 403, the right one 200", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpauth", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    const none = await json(t.request("/v1/replications/shop/stage", { body: {} }));
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal(
      (await json(t.request("/v1/replications/shop/stage", { token: "nope", body: {} }))).status,
      401,
    );
    const wrong = await json(t.request("/v1/replications/shop/cutover", { token: TOKENS.stage, body: {} }));
    assert.equal(wrong.status, 403);
    assert.match(String(wrong.body.error), /may not run cutover/);
    assert.equal((await json(t.request("/v1/replications", { token: TOKENS.stage }))).status, 403);
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.dest), undefined, "nothing was written");
    const good = await json(
      t.request("/v1/replications/shop/stage", { token: TOKENS.stage, body: { dryRun: true } }),
    );
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.equal(good.body.dryRun, true);
    // the stage token may read the runs it can trigger
    assert.equal((await json(t.request(`/v1/runs/${good.body.runId}`, { token: TOKENS.stage }))).status, 200);
    // the page asks a browser for the token; Basic with the token as password is accepted
    const page = await t.request("/");
    assert.equal(page.status, 401);
    assert.match(page.headers.get("www-authenticate") ?? "", /^Basic/);
    const basic = await t.request("/", { headers: { authorization: `Basic ${btoa(`any:${TOKENS.read}`)}` } });
    assert.equal(basic.status, 200);
    assert.match(await basic.text(), /data-replication="shop"/);
  }, { destSuffix: "-dr" });
});

Deno.test("http: bad bodies 400 with the issues, unknown replication 404, large body 413", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpbad", async (ns) => {
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    const bad = await json(t.request("/v1/replications/shop/cutover", {
      token: TOKENS.ops,
      body: { dryRun: "yes", prune: true, wait: -1 },
    }));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, "invalid-input");
    const paths = (bad.body.issues as { path: string[] }[]).map((i) => i.path.join("."));
    assert.deepEqual(paths.sort(), ["body", "body.dryRun", "body.wait"].sort());
    const notJson = await json(
      t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: "{not json" }),
    );
    assert.equal(notJson.status, 400);
    const key = await json(t.request("/v1/replications/shop/stage", {
      token: TOKENS.ops,
      body: {},
      headers: { "idempotency-key": "has spaces" },
    }));
    assert.equal(key.status, 400);
    assert.deepEqual((key.body.issues as { path: string[] }[])[0]?.path, ["headers", "idempotency-key"]);
    const unknown = await json(t.request("/v1/replications/shpo/stage", { token: TOKENS.ops, body: {} }));
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.body.error), /Unknown replication "shpo" \(configured: "shop"\)/);
    const big = await json(t.request("/v1/replications/shop/stage", {
      token: TOKENS.ops,
      body: JSON.stringify({ dryRun: true, pad: "x".repeat(70_000) }),
    }));
    assert.equal(big.status, 413);
    assert.equal((await json(t.request("/v1/runs/not-a-uuid", { token: TOKENS.read }))).status, 400);
    assert.equal(
      (await json(t.request(`/v1/runs/${crypto.randomUUID()}`, { token: TOKENS.read }))).status,
      404,
    );
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.dest), undefined, "nothing was written");
  }, { destSuffix: "-dr" });
});

Deno.test("http: an Idempotency-Key repeat returns the same run, also from another replica", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpidem", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const config = testConfig([replication("shop", ns.source, ns.dest)]);
    await using a = await testRuntime(config);
    await using b = await testRuntime(config);
    const key = { "idempotency-key": `deploy-${crypto.randomUUID()}` };
    const first = await json<RunReport>(
      a.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {}, headers: key }),
    );
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.counts.created, 1);
    const writes = c.dr.stats.writes;
    const again = await json<RunReport>(
      a.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {}, headers: key }),
    );
    assert.equal(again.status, 200);
    assert.equal(again.body.runId, first.body.runId);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    const replica = await json<RunReport>(
      b.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {}, headers: key }),
    );
    assert.equal(replica.status, 200, JSON.stringify(replica.body));
    assert.equal(replica.body.runId, first.body.runId, "the other replica found the run by its key");
    assert.equal(replica.body.counts.created, 1, "the same report, not a second run");
    assert.equal(c.dr.stats.writes, writes);
    // the same key with another request is refused
    const other = await json(
      b.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: { prune: true }, headers: key }),
    );
    assert.equal(other.status, 409);
    assert.match(String(other.body.error), /different request/);
    // a new key is a new run
    const fresh = await json<RunReport>(b.request("/v1/replications/shop/stage", {
      token: TOKENS.ops,
      body: {},
      headers: { "idempotency-key": crypto.randomUUID() },
    }));
    assert.notEqual(fresh.body.runId, first.body.runId);
    assert.equal(fresh.body.counts.unchanged, 1);
  }, { destSuffix: "-dr" });
});

Deno.test("http: 409 while a run holds the replication's lock, unless the request waits for it", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httplock", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    assert.equal(
      (await t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} })).status,
      200,
    );
    // another replica's run holds the lock
    const lock = await acquireReplicationLock(c.dr, {
      namespace: ns.dest,
      replication: "shop",
      holder: "other-replica-run",
      leaseSeconds: 15,
    });
    const refused = await json(t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} }));
    assert.equal(refused.status, 409);
    assert.match(String(refused.body.error), /locked by run "other-replica-run"/);
    const waiting = t.request("/v1/replications/shop/stage", {
      token: TOKENS.ops,
      body: { waitForLock: 20 },
    });
    await new Promise((r) => setTimeout(r, 1_000));
    await lock.release(lock.state);
    const waited = await json<RunReport>(waiting);
    assert.equal(waited.status, 200, JSON.stringify(waited.body));
    assert.equal(waited.body.status, "succeeded");
  }, { destSuffix: "-dr" });
});

Deno.test("http: a second trigger while a run is in progress here answers 409; wait 0 answers 202 and the run is found", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpbusy", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    const [first, second] = await Promise.all([
      json(t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: { wait: 0 } })),
      json(t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} })),
    ]);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.match(String(second.body.error), /has a run in progress/);
    const runId = String(first.body.runId);
    let record: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      record = (await json(t.request(`/v1/runs/${runId}`, { token: TOKENS.read }))).body;
      if (record.status !== "running") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(record.status, "succeeded");
  }, { destSuffix: "-dr" });
});
