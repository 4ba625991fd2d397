/**
 * Continuous mode against the real clusters: a create, an update and a delete carried across by
 * the watcher; one replica owns the watch and hands it over when it stops; a cutover pauses the
 * watcher, and nothing is written to DR while it is the live side.
 */
import assert from "node:assert/strict";
import { connectCluster, type KubeObject } from "../../shared/kube/mod.ts";
import {
  DR_KUBECONFIG,
  extraCluster,
  fixtures,
  read,
  seed,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import { runScheduledTick } from "../../functions/cron/run_scheduled_tick.ts";
import { acquireReplicationLock } from "../../shared/state/replication_lock.ts";
import { operationNamed, type RunFunction } from "../../functions/operations/mod.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

type ConfigMap = KubeObject & { data?: Record<string, string> };

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function remove(client: { request(r: object): Promise<unknown> }, ns: string, name: string) {
  await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}/configmaps/${name}` });
}

Deno.test("continuous: a create, an update and a delete reach DR; the watch is owned by one replica and handed over", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "watchcrud", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "first")]);
    const config = testConfig([replication("live", ns.source, ns.dest, { mode: "continuous", prune: true })]);
    const options = { watchDebounceMs: 50, watchLeaseSeconds: 4 };
    await using a = await testRuntime(config, options);
    await using b = await testRuntime(config, options);
    a.watches.start();
    await until("the first stage", () => read(c.dr, "v1", "ConfigMap", ns.dest, "first"));
    await until("replica a to watch", () => Promise.resolve(a.watches.states.live === "watching"));
    b.watches.start();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(b.watches.states.live, "standby", "one replica owns the watch");

    let t0 = performance.now();
    await seed(c.source, [fixtures.configMap(ns.source, "created", { k: "1" })]);
    await until("the create", () => read(c.dr, "v1", "ConfigMap", ns.dest, "created"));
    const createMs = performance.now() - t0;
    t0 = performance.now();
    await seed(c.source, [fixtures.configMap(ns.source, "created", { k: "2" })]);
    await until(
      "the update",
      async () => (await read<ConfigMap>(c.dr, "v1", "ConfigMap", ns.dest, "created"))?.data?.k === "2",
    );
    const updateMs = performance.now() - t0;
    t0 = performance.now();
    await remove(c.source, ns.source, "created");
    await until(
      "the delete",
      async () => (await read(c.dr, "v1", "ConfigMap", ns.dest, "created")) === undefined,
    );
    const deleteMs = performance.now() - t0;
    assert.ok(Math.max(createMs, updateMs, deleteMs) < 5_000, `${createMs} ${updateMs} ${deleteMs}`);
    const metrics = await a.runtime.metrics.metrics();
    assert.match(metrics, /dr_syncer_runs_total\{operation="stage",result="succeeded",trigger="watch"\} \d+/);
    assert.match(metrics, /dr_syncer_watch_lag_seconds_count\{replication="live"\} [1-9]/);

    // replica a stops: b takes the watch over and carries the next change
    await a.runtime.drain(5_000);
    await until("replica b to watch", () => Promise.resolve(b.watches.states.live === "watching"));
    await seed(c.source, [fixtures.configMap(ns.source, "after-handover")]);
    await until(
      "a change after the handover",
      () => read(c.dr, "v1", "ConfigMap", ns.dest, "after-handover"),
    );
  }, { destSuffix: "-dr" });
});

Deno.test("continuous: a cutover pauses the watcher; while DR is live nothing is copied; failback resumes it", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "watchcut", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 2)]);
    const config = testConfig([replication("live", ns.source, ns.dest, { mode: "continuous" })]);
    await using t = await testRuntime(config, { watchDebounceMs: 50, watchLeaseSeconds: 4 });
    t.watches.start();
    await until("the first stage", () => read(c.dr, "v1", "ConfigMap", ns.dest, "a"));
    await until("the watch", () => Promise.resolve(t.watches.states.live === "watching"));

    const cut = await json(t.request("/v1/replications/live/cutover", { token: TOKENS.ops, body: {} }));
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    assert.equal(cut.body.activeSide, "dr");
    await until("the watcher to resume", () => Promise.resolve(t.watches.states.live === "watching"));
    await seed(c.source, [fixtures.configMap(ns.source, "while-cut-over")]);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(
      await read(c.dr, "v1", "ConfigMap", ns.dest, "while-cut-over"),
      undefined,
      "DR is live: not written",
    );

    const back = await json(t.request("/v1/replications/live/failback", { token: TOKENS.ops, body: {} }));
    assert.equal(back.status, 200, JSON.stringify(back.body));
    await seed(c.source, [fixtures.configMap(ns.source, "after-failback")]);
    await until(
      "a change after failback",
      () => read(c.dr, "v1", "ConfigMap", ns.dest, "after-failback"),
      30_000,
    );
  }, { destSuffix: "-dr" });
});

Deno.test("continuous: the watch survives a restart of the source API server and carries the next change", async () => {
  await using c = await testClusters();
  await using restarted = await extraCluster("restarted");
  const source = await connectCluster("source", { path: restarted.kubeconfig });
  try {
    await withNamespaces({ source, dr: c.dr }, "watchrestart", async (ns) => {
      await seed(source, [fixtures.configMap(ns.source, "first")]);
      const config = testConfig([replication("live", ns.source, ns.dest, { mode: "continuous" })], {
        clusters: [
          { name: "source", kubeconfig: { path: restarted.kubeconfig } },
          { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
        ],
      });
      await using a = await testRuntime(config, { watchDebounceMs: 50, watchLeaseSeconds: 4 });
      a.watches.start();
      await until("the first stage", () => read(c.dr, "v1", "ConfigMap", ns.dest, "first"));
      await until("the watch", () => Promise.resolve(a.watches.states.live === "watching"));
      await restarted.restartApiServer();
      await seed(source, [fixtures.configMap(ns.source, "after-restart", { k: "1" })]);
      await until(
        "the change after the restart",
        () => read(c.dr, "v1", "ConfigMap", ns.dest, "after-restart"),
        30_000,
      );
    });
  } finally {
    source.close();
  }
});

Deno.test("continuous: a lone change waits the debounce; changes seen during a long staging wait only half of it after", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "watchdebounce", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "first")]);
    const config = testConfig([replication("live", ns.source, ns.dest, { mode: "continuous" })]);
    const debounceMs = 3_000, holdMs = 4_000;
    // the real stage, timed; the run named by `slow` is held for `holdMs` before it stages
    const runs: { start: number; end?: number }[] = [];
    let slow = -1;
    const stage: RunFunction = async (deps, spec, options) => {
      const run = { start: performance.now() } as { start: number; end?: number };
      const index = runs.push(run) - 1;
      try {
        if (index === slow) await new Promise((r) => setTimeout(r, holdMs));
        return await operationNamed("stage").run(deps, spec, options);
      } finally {
        run.end = performance.now();
      }
    };
    await using a = await testRuntime(config, { watchDebounceMs: debounceMs, operations: { stage } });
    a.watches.start();
    await until("the first stage", () => read(c.dr, "v1", "ConfigMap", ns.dest, "first"), 30_000);
    await until("the watch", () => Promise.resolve(a.watches.states.live === "watching"));
    await until("the first stage to end", () => Promise.resolve(runs.every((r) => r.end !== undefined)));

    // a lone change: staged once the debounce has passed since it was seen, not before
    const lone = runs.length;
    slow = lone; // that staging is slow: the next change arrives while it runs
    const changedAt = performance.now();
    await seed(c.source, [fixtures.configMap(ns.source, "lone", { k: "1" })]);
    await until("the lone change's staging", () => Promise.resolve(runs.length > lone));
    assert.ok(
      runs[lone]!.start - changedAt >= debounceMs - 100,
      `staged ${
        Math.round(runs[lone]!.start - changedAt)
      } ms after the change, before the ${debounceMs} ms debounce`,
    );
    await seed(c.source, [fixtures.configMap(ns.source, "during", { k: "2" })]);
    // the slow staging may copy it too (it lists after its hold); its own staging comes next all the same
    await until(
      "the staging after the slow one",
      () => Promise.resolve(runs[lone + 1]?.end !== undefined),
      30_000,
    );
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "lone"), "the lone change was copied");
    assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "during"), "the change made during it was copied");
    // the second change had waited longer than the debounce when the slow staging ended: only the half
    // of it that follows every staging passes
    const next = runs[lone + 1]!;
    const gap = next.start - runs[lone]!.end!;
    assert.ok(
      gap >= debounceMs / 2 - 100 && gap < debounceMs - 500,
      `the next staging started ${Math.round(gap)} ms after the slow one ended (half the debounce: ${
        debounceMs / 2
      } ms; a whole one: ${debounceMs} ms)`,
    );
    assert.equal(runs.length, lone + 2, "one staging for each change");
  });
});

Deno.test("continuous: a stage, a schedule tick and a cutover asked while the watcher stages wait for that staging instead of being refused", async (t) => {
  await using c = await testClusters();
  await withNamespaces(c, "watchyield", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 2)]);
    const config = testConfig([replication("live", ns.source, ns.dest, { mode: "continuous" })]);
    // the real stage; the call after `hold` is set first holds the replication's lock for 1.5 s, as a
    // watch run in flight does
    let hold: PromiseWithResolvers<void> | undefined;
    let heldUntil = 0;
    const stage: RunFunction = async (deps, spec, options) => {
      const held = hold;
      hold = undefined;
      if (held) {
        const lock = await acquireReplicationLock(deps.dr, {
          namespace: spec.destNamespace,
          replication: spec.name,
          holder: deps.runId ?? "held-watch-run",
        });
        held.resolve();
        await new Promise((r) => setTimeout(r, 1_500));
        heldUntil = performance.now();
        await lock.release(lock.state);
      }
      return await operationNamed("stage").run(deps, spec, options);
    };
    await using rt = await testRuntime(config, { watchDebounceMs: 50, operations: { stage } });
    rt.watches.start();
    await until("the first stage", () => read(c.dr, "v1", "ConfigMap", ns.dest, "a"));
    await until("the watch", () => Promise.resolve(rt.watches.states.live === "watching"));
    /** Makes a change and returns once the watcher's staging of it has started (and is held). */
    let n = 0;
    const watchRunInFlight = async () => {
      hold = Promise.withResolvers<void>();
      const started = hold.promise;
      await seed(c.source, [fixtures.configMap(ns.source, "a", { n: String(++n) })]);
      await started;
      assert.equal(rt.runtime.runs.activeFor("live")[0]?.trigger, "watch");
    };

    await t.step("a stage asked over HTTP; a second one meanwhile is refused as before", async () => {
      await watchRunInFlight();
      heldUntil = 0;
      const first = json(rt.request("/v1/replications/live/stage", { token: TOKENS.ops, body: {} }));
      await until(
        "the stage to be admitted",
        () => Promise.resolve(rt.runtime.runs.activeFor("live").some((r) => r.trigger === "http")),
      );
      const second = await json(rt.request("/v1/replications/live/stage", { token: TOKENS.ops, body: {} }));
      assert.equal(second.status, 409, JSON.stringify(second.body));
      assert.match(String(second.body.error), /has a run in progress/);
      const staged = await first;
      assert.equal(staged.status, 200, JSON.stringify(staged.body));
      assert.equal(staged.body.status, "succeeded");
      assert.ok(heldUntil > 0, "answered only after the watch run let the lock go");
    });

    await t.step("the schedule's tick (the safety net)", async () => {
      await watchRunInFlight();
      const job = {
        name: "stage-live",
        schedule: "*/10 * * * *",
        replication: "live",
        operation: "stage",
      } as const;
      assert.equal(await runScheduledTick(rt.runtime, job), "started");
      assert.ok(
        rt.runtime.runs.activeFor("live").some((r) => r.trigger === "schedule"),
        "the tick's run is in progress",
      );
      await until(
        "the tick's run to end",
        () => Promise.resolve(rt.runtime.runs.activeFor("live").every((r) => r.trigger !== "schedule")),
      );
      assert.match(
        await rt.runtime.metrics.metrics(),
        /dr_syncer_runs_total\{operation="stage",result="succeeded",trigger="schedule"\} 1/,
      );
    });

    await t.step("a cutover", async () => {
      await watchRunInFlight();
      const cut = await json(rt.request("/v1/replications/live/cutover", { token: TOKENS.ops, body: {} }));
      assert.equal(cut.status, 200, JSON.stringify(cut.body));
      assert.equal(cut.body.activeSide, "dr");
      const web = await read<KubeObject & { spec: { replicas: number } }>(
        c.dr,
        "apps/v1",
        "Deployment",
        ns.dest,
        "web",
      );
      assert.equal(web?.spec.replicas, 2);
    });
  }, { destSuffix: "-dr" });
});
