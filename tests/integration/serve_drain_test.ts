/**
 * The runtime's run control against the real clusters: schedule ticks shared by two replicas and
 * skipped (counted) while a run is in progress; a drain that stops a running stage through its
 * signal, with the lock released and the run recorded as failed.
 */
import assert from "node:assert/strict";
import type { KubeClient } from "../../shared/kube/mod.ts";
import { readReplicationState } from "../../shared/state/mod.ts";
import { LEASES } from "../../shared/kube/types.ts";
import { getObject } from "../../shared/kube/verbs.ts";
import type { KubeObject } from "../../shared/kube/types.ts";
import { runScheduledTick } from "../../functions/cron/run_scheduled_tick.ts";
import { scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import { operationNamed } from "../../functions/operations/mod.ts";
import { fixtures, names, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

/** The real client with every write held back `ms` (a slow API server), so a run lasts a while. */
function slowWrites(client: KubeClient, ms: number): KubeClient {
  return {
    ...client,
    name: client.name,
    server: client.server,
    contextNamespace: client.contextNamespace,
    stats: client.stats,
    async request(req) {
      if (req.method !== "GET") await new Promise((r) => setTimeout(r, ms));
      return await client.request(req);
    },
    stream: (req) => client.stream(req),
    close: () => client.close(),
  } satisfies KubeClient;
}

async function holder(dr: KubeClient, namespace: string): Promise<string | null | undefined> {
  const lease = await getObject<KubeObject & { spec?: { holderIdentity?: string | null } }>(
    dr,
    LEASES,
    namespace,
    "dr-syncer",
  );
  return lease?.spec?.holderIdentity;
}

Deno.test("serve: a tick is run once across two replicas, and skipped and counted while a run is in progress", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "servetick", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const config = testConfig([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "*/5 * * * *" }),
    ]);
    const [job] = scheduledJobs(config.replications);
    assert.deepEqual(job, {
      name: "stage-shop",
      schedule: "*/5 * * * *",
      replication: "shop",
      operation: "stage",
    });
    const gate = Promise.withResolvers<void>();
    await using a = await testRuntime(config, {
      operations: {
        stage: async (
          deps,
          spec,
          r,
        ) => (await gate.promise, await operationNamed("stage").run(deps, spec, r)),
      },
    });
    await using b = await testRuntime(config);
    const tick = new Date("2026-01-01T10:05:01Z");
    assert.equal(await runScheduledTick(a.runtime, job!, tick), "started");
    // the same tick on the other replica finds the run taken
    assert.equal(await runScheduledTick(b.runtime, job!, tick), "elsewhere");
    // the next tick comes while the first run is still in progress: skipped, not queued
    assert.equal(await runScheduledTick(a.runtime, job!, new Date("2026-01-01T10:10:01Z")), "overlap");
    gate.resolve();
    const [run] = a.runtime.runs.active;
    const { record } = await a.runtime.runs.start({
      replication: "shop",
      operation: "stage",
      trigger: "schedule",
      runId: run!.runId,
    }).then((started) => started.finished());
    assert.equal(record.status, "succeeded");
    assert.equal(record.trigger, "schedule");
    const metrics = await a.runtime.metrics.metrics();
    assert.match(metrics, /dr_syncer_schedule_ticks_total\{replication="shop",outcome="started"\} 1/);
    assert.match(metrics, /dr_syncer_schedule_ticks_total\{replication="shop",outcome="overlap"\} 1/);
    assert.match(await b.runtime.metrics.metrics(), /outcome="elsewhere"\} 1/);
    assert.deepEqual(await names(c.dr, "v1", "ConfigMap", ns.dest).then((n) => n.includes("a")), true);
  }, { destSuffix: "-dr" });
});

Deno.test("serve: a drain stops a running stage through its signal; the lock is released and the run recorded as failed", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "servedrain", async (ns) => {
    const count = 60;
    await Promise.all(
      Array.from(
        { length: 4 },
        (_, k) =>
          seed(
            c.source,
            Array.from({ length: count / 4 }, (_, i) => fixtures.configMap(ns.source, `cm-${k}-${i}`)),
          ),
      ),
    );
    const config = testConfig([replication("shop", ns.source, ns.dest)]);
    await using t = await testRuntime(config, {
      operations: {
        stage: (deps, spec, r) =>
          operationNamed("stage").run({ ...deps, dr: slowWrites(deps.dr, 150) }, spec, r),
      },
    });
    const started = await json(
      t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: { wait: 0 } }),
    );
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = String(started.body.runId);
    for (let i = 0; i < 200 && await holder(c.dr, ns.dest) !== runId; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(await holder(c.dr, ns.dest), runId, "the run holds the lock");
    await t.runtime.drain(0);

    assert.equal((await holder(c.dr, ns.dest)) ?? null, null, "the lock was released");
    const state = await readReplicationState(c.dr, ns.dest);
    assert.equal(state.lastRun?.runId, runId);
    assert.equal(state.lastRun?.status, "failed");
    const record = await t.runtime.runs.find(runId);
    assert.equal(record?.status, "failed");
    assert.match(record?.error?.message ?? "", /shut down during the run/);
    const copied = (await names(c.dr, "v1", "ConfigMap", ns.dest)).filter((n) => n.startsWith("cm-"));
    assert.ok(copied.length < count, `the stage stopped writing (${copied.length} of ${count} copied)`);
    const refused = await json(t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} }));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
  }, { destSuffix: "-dr" });
});
