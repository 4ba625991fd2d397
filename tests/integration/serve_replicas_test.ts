/**
 * Three `serve` processes share 20 scheduled replications through their Leases: every tick runs
 * each replication once across the replicas; one replica killed with SIGKILL mid-run leaves its
 * runs' locks behind, and the next tick takes those replications over once the locks expire.
 * Waits for two real ticks (up to about two and a half minutes).
 */
import assert from "node:assert/strict";
import { pooledMap } from "../../shared/async/pooled_map.ts";
import { createNamespace, deleteNamespace, fixtures, seed, testClusters, uniqueName } from "../_clusters.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { type RunRecordSummary, runRecordSummaryOf } from "../../shared/runs/mod.ts";
import { replication, testConfigInput } from "./http_harness.ts";
import { type ServeProcess, serveProcess, writeConfig } from "./serve_harness.ts";

const COUNT = 20;

Deno.test("serve replicas: 20 replications on three processes, one killed mid-run, each tick run once and the dead replica's work taken over", async () => {
  await using c = await testClusters();
  const base = uniqueName("replicas");
  const names = Array.from({ length: COUNT }, (_, i) => `${base}-${i}`.slice(0, 55));
  await pooledMap(names, 4, async (ns) => {
    await createNamespace(c.source, ns);
    await seed(
      c.source,
      Array.from({ length: 25 }, (_, k) => fixtures.configMap(ns, `cm-${k}`, { k: "v".repeat(200) })),
    );
  });
  const serves: ServeProcess[] = [];
  try {
    const config = await writeConfig(
      testConfigInput(
        names.map((ns, i) =>
          replication(`rep-${i}`, ns, `${ns}-dr`, { mode: "scheduled", schedule: "* * * * *" })
        ),
      ),
    );
    for (const k of [0, 1, 2]) {
      serves.push(
        await serveProcess(["--config", config], { HOSTNAME: `replica-${k}`, DR_SYNCER_LEASE_SECONDS: "6" }),
      );
    }
    // every run record of these replications, read from the DR cluster itself (no replica's cache)
    const drNamespaces = new Set(names.map((ns) => `${ns}-dr`));
    const records = async (): Promise<RunRecordSummary[]> => {
      const list = await c.dr.request<{ items: KubeObject[] }>({
        method: "GET",
        path: "/api/v1/configmaps",
        query: { labelSelector: "app.kubernetes.io/component=run-record" },
      });
      return list.items.filter((o) => drNamespaces.has(o.metadata.namespace ?? ""))
        .map(runRecordSummaryOf).filter((r): r is RunRecordSummary => r !== undefined);
    };
    const minute = (r: RunRecordSummary) => r.startedAt.slice(0, 16);

    // the first tick: kill the first replica seen with a run in progress
    let victim: RunRecordSummary | undefined;
    const deadline = Date.now() + 80_000;
    while (victim === undefined && Date.now() < deadline) {
      victim = (await records()).find((r) => r.status === "running");
    }
    assert.ok(victim?.replica, "a replica started runs at the first tick");
    const k = Number(victim.replica.slice("replica-".length));
    await serves[k]!.stop("SIGKILL");
    const killed = (await records()).filter((r) => r.replica === victim!.replica && r.status === "running");
    const firstTick = minute(victim);

    // the next tick runs every replication, the killed replica's too once their locks expire
    let all: RunRecordSummary[] = [];
    const end = Date.now() + 100_000;
    const ranLater = (name: string) =>
      all.some((r) => r.replication === name && r.status === "succeeded" && minute(r) > firstTick);
    const replications = names.map((_, i) => `rep-${i}`);
    while (Date.now() < end) {
      all = await records();
      if (replications.every(ranLater)) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    assert.deepEqual(
      replications.filter((name) => !ranLater(name)),
      [],
      "every replication ran at the next tick",
    );
    for (const name of replications) {
      const ticks = all.filter((r) => r.replication === name && r.trigger === "schedule").map(minute);
      assert.equal(new Set(ticks).size, ticks.length, `${name} ran once per tick: ${ticks}`);
    }
    assert.ok(killed.length > 0);
    for (const run of killed) {
      const next = all.find((r) => r.replication === run.replication && minute(r) > firstTick);
      assert.ok(
        next && next.replica !== victim.replica,
        `${run.replication} was taken over by a live replica`,
      );
    }
    const later = all.filter((r) => minute(r) > firstTick);
    assert.ok(later.every((r) => r.replica !== victim!.replica), "only live replicas ran after the kill");
  } finally {
    await Promise.all(serves.map((s) => s.stop("SIGTERM")));
    await pooledMap(names, 4, async (ns) => {
      await deleteNamespace(c.source, ns);
      await deleteNamespace(c.dr, `${ns}-dr`);
    });
  }
});
