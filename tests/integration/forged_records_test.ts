/**
 * The objects the tool writes are its own: ConfigMaps shaped as run records, planted in the source
 * namespace (for stage to copy) and straight in the DR namespace, under the run ids the next
 * schedule ticks derive (predictable), dated in the future. Stage never copies them (each reported
 * as skipped with why, an older copy deleted), the ticks run, `GET /v1/runs/<forged id>` is 404, the
 * status lists only real runs, and pruning keeps the real records.
 */
import assert from "node:assert/strict";
import { runScheduledTick } from "../../functions/cron/run_scheduled_tick.ts";
import { scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import {
  derivedRunId,
  RUN_RECORD_FIELD_MANAGER,
  RunRecordStore,
  scheduleTimes,
} from "../../shared/runs/mod.ts";
import { read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

const FUTURE = "2099-01-01T00:00:00.000Z";

/** A ConfigMap shaped as the record of a succeeded stage of `replication`, dated in the future. */
function forgedRecord(namespace: string, name: string, runId: string, extra: Record<string, string> = {}) {
  const summary = {
    runId,
    replication: "shop",
    operation: "stage",
    trigger: "schedule",
    dryRun: false,
    status: "succeeded",
    startedAt: FUTURE,
    finishedAt: FUTURE,
    httpStatus: 200,
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace,
      labels: {
        "app.kubernetes.io/managed-by": "dr-syncer",
        "app.kubernetes.io/component": "run-record",
        "dr-syncer.io/run-of": "shop",
      },
      annotations: { "dr-syncer.io/run-summary": JSON.stringify(summary), ...extra },
    },
    data: { "report.json": JSON.stringify({ runId, status: "succeeded", objects: [], steps: [] }) },
  };
}

/** Writes `object` with server-side apply as field manager `manager` (a forger may pick any). */
async function plant(client: KubeClient, object: KubeObject, manager: string): Promise<void> {
  await client.request({
    method: "PATCH",
    path: `/api/v1/namespaces/${object.metadata.namespace}/configmaps/${object.metadata.name}`,
    query: { fieldManager: manager, force: true },
    contentType: "application/apply-patch+yaml",
    body: object,
  });
}

Deno.test("forged run records: stage never copies them, ticks still run, GET of a forged id is 404, prune keeps the real records", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "forged", async (ns) => {
    const config = testConfig([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "* * * * *" }),
    ]);
    const [job] = scheduledJobs(config.replications);
    // the next two ticks' run ids, as anyone can derive them
    const ticks = [2, 3].map((m) => new Date(Date.now() + m * 60_000));
    const tickIds = ticks.map((t) =>
      derivedRunId("tick", "shop", "stage", scheduleTimes(job!.schedule, t).previous!.toISOString())
    );
    const [unclaimedId, markedId, namedId, staleCopyId, futureId] = [0, 1, 2, 3, 4].map(() =>
      crypto.randomUUID()
    );
    const kubeSystem = await c.source.request<KubeObject>({
      method: "GET",
      path: "/api/v1/namespaces/kube-system",
    });
    const copyMarks = {
      "dr-syncer.io/source-cluster": kubeSystem.metadata.uid!,
      "dr-syncer.io/source-namespace": ns.source,
    };

    // in the source: records under the first tick's id, under another name with a record's marks,
    // and one named as a record without any mark
    await seed(c.source, [
      forgedRecord(ns.source, `dr-syncer-run-${tickIds[0]}`, tickIds[0]!),
      forgedRecord(ns.source, "innocent-looking", markedId!),
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `dr-syncer-run-${namedId}`, namespace: ns.source },
        data: { k: "v" },
      },
      forgedRecord(ns.source, `dr-syncer-run-${staleCopyId}`, staleCopyId!),
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "app-config", namespace: ns.source },
        data: {},
      },
    ]);
    await using t = await testRuntime(config, { runsKept: 2, statusTtlMs: 0 });
    const first = await json<RunReport>(
      t.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} }),
    );
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const firstRunId = first.body.runId;
    const outcome = (name: string) =>
      first.body.objects.find((o) => o.kind === "ConfigMap" && o.name === name);
    for (const name of [`dr-syncer-run-${tickIds[0]}`, "innocent-looking", `dr-syncer-run-${namedId}`]) {
      assert.equal(outcome(name)?.action, "skipped", `${name}: ${JSON.stringify(outcome(name))}`);
    }
    assert.match(outcome("innocent-looking")!.reason!, /dr-syncer's own label .*never copied/);
    assert.match(outcome(`dr-syncer-run-${namedId}`)!.reason!, /named like a dr-syncer run record/);
    assert.equal(outcome("app-config")?.action, "created", "an ordinary ConfigMap is copied");
    assert.equal(await read(c.dr, "v1", "ConfigMap", ns.dest, "innocent-looking"), undefined);

    // straight in DR: a copy an older version made (provenance, stage's field manager) under the
    // first tick's id, a record written by someone else under the second tick's id and under an id
    // no run takes, and the copy of a record-shaped source object that stage must delete
    await plant(
      c.dr,
      forgedRecord(ns.dest, `dr-syncer-run-${tickIds[0]}`, tickIds[0]!, copyMarks),
      "dr-syncer",
    );
    await plant(c.dr, forgedRecord(ns.dest, `dr-syncer-run-${tickIds[1]}`, tickIds[1]!), "forger");
    await plant(c.dr, forgedRecord(ns.dest, `dr-syncer-run-${unclaimedId}`, unclaimedId!), "forger");
    await plant(
      c.dr,
      forgedRecord(ns.dest, `dr-syncer-run-${staleCopyId}`, staleCopyId!, copyMarks),
      "dr-syncer",
    );
    // even one written under the records' own field manager (the residual risk: a DR-namespace writer
    // may pick it), dated in the future, does not count as the newest run when pruning
    await plant(
      c.dr,
      forgedRecord(ns.dest, `dr-syncer-run-${futureId}`, futureId!),
      RUN_RECORD_FIELD_MANAGER,
    );
    for (const id of [unclaimedId, markedId, tickIds[0], tickIds[1]]) {
      assert.equal(
        (await t.request(`/v1/runs/${id}`, { token: TOKENS.read })).status,
        404,
        `a forged record is no run (${id})`,
      );
    }

    // the ticks whose ids were taken run all the same
    for (const [i, tick] of ticks.entries()) {
      assert.equal(await runScheduledTick(t.runtime, job!, tick), "started", `tick ${i + 1} runs`);
      for (let k = 0; k < 400 && t.runtime.runs.active.length > 0; k++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const run = await json(t.request(`/v1/runs/${tickIds[i]}`, { token: TOKENS.read }));
      assert.equal(run.status, 200, JSON.stringify(run.body));
      assert.equal(run.body.status, "succeeded", JSON.stringify(run.body));
      assert.notEqual(run.body.startedAt, FUTURE, "the runtime's own record");
    }
    const firstTick = await json<{ report: RunReport }>(
      t.request(`/v1/runs/${tickIds[0]}`, { token: TOKENS.read }),
    );
    const pruned = firstTick.body.report.objects
      .find((o) => o.name === `dr-syncer-run-${staleCopyId}`);
    assert.equal(
      pruned?.action,
      "pruned",
      `an older copy of a record-shaped object is deleted: ${JSON.stringify(pruned)}`,
    );
    assert.equal(await read(c.dr, "v1", "ConfigMap", ns.dest, `dr-syncer-run-${staleCopyId}`), undefined);

    // the status lists the real runs only; pruning (2 kept) kept the newest real records and
    // deleted neither the forged future ones' victims nor anything it does not own
    const status = await json(t.request("/v1/replications/shop", { token: TOKENS.read }));
    const listed = (status.body.lastRuns as { runId: string }[]).map((r) => r.runId);
    assert.deepEqual(listed, [tickIds[1], tickIds[0]], JSON.stringify(status.body.lastRuns));
    const kept = (await new RunRecordStore(c.dr).list(ns.dest, "shop")).map((r) => r.runId);
    assert.deepEqual(kept, [tickIds[1], tickIds[0]], "the two newest real records are kept");
    assert.ok(!kept.includes(firstRunId), "the oldest real record was pruned, as 2 are kept");
    assert.ok(
      await read(c.dr, "v1", "ConfigMap", ns.dest, `dr-syncer-run-${unclaimedId}`),
      "a ConfigMap that is not a record is never pruned",
    );
    assert.ok(
      await read(c.dr, "v1", "ConfigMap", ns.dest, `dr-syncer-run-${futureId}`),
      "a record dated in the future is neither counted nor pruned",
    );
  }, { destSuffix: "-dr" });
});
