/**
 * `runtime.maxConcurrentRuns` against the real clusters: with one place, a second stage waits (queued,
 * counted by `dr_syncer_runs_queued`, its operation not called) while the first holds the place, a cutover of
 * another replication runs meanwhile without waiting, and the queued stage runs once the first ends; a drain
 * ends a queued run as failed without it ever starting. The stages are the real ones, held at their start by
 * a gate the test opens.
 */
import assert from "node:assert/strict";
import type { RunFunction } from "../../functions/operations/mod.ts";
import { operationNamed } from "../../functions/operations/mod.ts";
import {
  createNamespace,
  deleteNamespace,
  fixtures,
  read,
  seed,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import { replication, testConfig, testRuntime } from "./http_harness.ts";

/** The real stage, held at its start until `gate` resolves (or the run is stopped) for the replications named. */
function gatedStage(
  gate: Promise<void>,
  held: readonly string[],
  calls: string[],
  peak: { now: number; max: number },
) {
  const stage: RunFunction = async (deps, spec, options) => {
    calls.push(spec.name);
    peak.max = Math.max(peak.max, ++peak.now);
    try {
      if (held.includes(spec.name)) {
        await Promise.race([
          gate,
          new Promise((_, reject) =>
            deps.signal?.addEventListener("abort", () => reject(deps.signal!.reason))
          ),
        ]);
      }
      return await operationNamed("stage").run(deps, spec, options);
    } finally {
      peak.now--;
    }
  };
  return stage;
}

const queuedGauge = async (registry: { metrics(): Promise<string> }) =>
  Number((await registry.metrics()).match(/^dr_syncer_runs_queued (\d+)/m)?.[1]);

Deno.test("serve: with one place a second stage waits its turn, a cutover does not wait, and the stage runs after", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "places", async (ns) => {
    // c has a source of its own: its cutover must not touch what a and b copy
    const [destB, sourceC, destC] = [`${ns.dest}-b`, `${ns.source}-c`, `${ns.dest}-c`];
    try {
      await createNamespace(c.source, sourceC);
      await seed(c.source, [
        fixtures.configMap(ns.source, "app-config"),
        fixtures.deployment(sourceC, "web", 1),
      ]);
      const config = testConfig([
        replication("a", ns.source, ns.dest),
        replication("b", ns.source, destB),
        replication("c", sourceC, destC),
      ], { runtime: { maxConcurrentRuns: 1 } });
      const gate = Promise.withResolvers<void>();
      const calls: string[] = [];
      const peak = { now: 0, max: 0 };
      await using t = await testRuntime(config, {
        operations: { stage: gatedStage(gate.promise, ["a", "b"], calls, peak) },
      });
      const runs = t.runtime.runs;
      // c is staged first (its cutover needs a copy), with the place free
      const staged = await (await runs.start({ replication: "c", operation: "stage", trigger: "http" }))
        .finished();
      assert.equal(staged.record.status, "succeeded");

      const a = await runs.start({ replication: "a", operation: "stage", trigger: "http" });
      const b = await runs.start({ replication: "b", operation: "stage", trigger: "schedule" });
      await new Promise((resolve) => setTimeout(resolve, 300)); // a has reached its gate; b must not start
      assert.deepEqual(runs.places, { busy: 1, waiting: 1 });
      assert.deepEqual(calls, ["c", "a"], "b's stage has not been called");
      assert.equal(await queuedGauge(t.runtime.metrics.registry), 1);
      assert.deepEqual(
        runs.active.map((r) => r.replication).sort(),
        ["a", "b"],
        "a queued run is in progress",
      );

      // a switch does not wait behind the stages
      const cutover = await (await runs.start({ replication: "c", operation: "cutover", trigger: "http" }))
        .finished();
      assert.equal(cutover.record.status, "succeeded", JSON.stringify(cutover.record.error));
      assert.deepEqual(calls, ["c", "a"], "the cutover ran while a held the place, and b still waits");
      assert.deepEqual(runs.places, { busy: 1, waiting: 1 });

      gate.resolve();
      const [ra, rb] = await Promise.all([a.finished(), b.finished()]);
      assert.equal(ra.record.status, "succeeded", JSON.stringify(ra.record.error));
      assert.equal(rb.record.status, "succeeded");
      assert.equal(peak.max, 1, "one stage at a time");
      assert.deepEqual(calls, ["c", "a", "b"]);
      assert.ok(await read(c.dr, "v1", "ConfigMap", ns.dest, "app-config"));
      assert.ok(await read(c.dr, "v1", "ConfigMap", destB, "app-config"));
      assert.deepEqual(runs.places, { busy: 0, waiting: 0 });
      assert.equal(await queuedGauge(t.runtime.metrics.registry), 0);
    } finally {
      await deleteNamespace(c.dr, destB);
      await deleteNamespace(c.source, sourceC);
      await deleteNamespace(c.dr, destC);
    }
  });
});

Deno.test("serve: a drain ends a run that waits for a place as failed, without starting it", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "placesdrain", async (ns) => {
    const destB = `${ns.dest}-b`;
    try {
      await seed(c.source, [fixtures.configMap(ns.source, "app-config")]);
      const config = testConfig([
        replication("a", ns.source, ns.dest),
        replication("b", ns.source, destB),
      ], { runtime: { maxConcurrentRuns: 1 } });
      const gate = Promise.withResolvers<void>();
      const calls: string[] = [];
      await using t = await testRuntime(config, {
        operations: { stage: gatedStage(gate.promise, ["a"], calls, { now: 0, max: 0 }) },
      });
      const runs = t.runtime.runs;
      const a = await runs.start({ replication: "a", operation: "stage", trigger: "http" });
      const b = await runs.start({ replication: "b", operation: "stage", trigger: "http" });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(runs.places, { busy: 1, waiting: 1 });
      await t.runtime.drain(200);
      const [ra, rb] = await Promise.all([a.finished(), b.finished()]);
      assert.equal(ra.record.status, "failed");
      assert.equal(rb.record.status, "failed");
      assert.match(rb.record.error?.message ?? "", /shut down/);
      assert.deepEqual(calls, ["a"], "b's stage was never called");
      assert.deepEqual(runs.places, { busy: 0, waiting: 0 });
      assert.equal(await read(c.dr, "v1", "ConfigMap", destB, "app-config"), undefined, "b wrote nothing");
    } finally {
      await deleteNamespace(c.dr, destB);
    }
  });
});
