import assert from "node:assert/strict";
import {
  derivedRunId,
  MAX_STORED_OBJECTS,
  RUN_ID,
  type RunRecord,
  runRecordObject,
  runRecordOf,
  runRecordSummaryOf,
} from "../../shared/runs/mod.ts";
import { buildRunReport, type ObjectResult } from "../../shared/run_report.ts";

const object = (i: number, action: ObjectResult["action"]): ObjectResult => ({
  kind: "ConfigMap",
  group: "",
  name: `cm-${i}`,
  namespace: "dr",
  action,
});

Deno.test("run records: a derived run id is stable, distinct per input and shaped as a UUID", () => {
  const a = derivedRunId("idempotency-key", "shop", "stage", "k1");
  assert.equal(a, derivedRunId("idempotency-key", "shop", "stage", "k1"));
  assert.notEqual(a, derivedRunId("idempotency-key", "shop", "cutover", "k1"));
  assert.notEqual(derivedRunId("ab", "c"), derivedRunId("a", "bc"), "parts are delimited");
  assert.match(a, RUN_ID);
  assert.match(crypto.randomUUID(), RUN_ID);
});

Deno.test("run records: a ConfigMap per run, labelled, with the summary apart and the report trimmed", () => {
  const objects = [
    ...Array.from({ length: 500 }, (_, i) => object(i, "unchanged")),
    ...Array.from({ length: MAX_STORED_OBJECTS + 5 }, (_, i) => object(i, "created")),
  ];
  const report = buildRunReport({
    runId: derivedRunId("x"),
    operation: "stage",
    replication: "shop",
    dryRun: false,
    startedAt: new Date("2026-01-01T00:00:00Z"),
    finishedAt: new Date("2026-01-01T00:00:02Z"),
    objects,
    steps: [],
  });
  const record: RunRecord = {
    runId: report.runId,
    replication: "shop",
    operation: "stage",
    trigger: "http",
    dryRun: false,
    status: "succeeded",
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    httpStatus: 200,
    report,
  };
  const cm = runRecordObject("shop-dr", record);
  assert.equal(cm.metadata.name, `dr-syncer-run-${report.runId}`);
  assert.deepEqual(cm.metadata.labels, {
    "app.kubernetes.io/managed-by": "dr-syncer",
    "app.kubernetes.io/component": "run-record",
    "dr-syncer.io/run-of": "shop",
  });
  const back = runRecordOf(cm as typeof cm & { data: Record<string, string> })!;
  assert.equal(back.report?.objects.length, MAX_STORED_OBJECTS);
  assert.equal(back.objectsOmitted, 505);
  assert.equal(back.report?.counts.unchanged, 500, "the counts stay whole");
  const summary = runRecordSummaryOf(cm)!;
  assert.equal("report" in summary, false);
  assert.equal(summary.status, "succeeded");
  assert.equal(
    runRecordSummaryOf({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x", annotations: { "dr-syncer.io/run-summary": "{" } },
    }),
    undefined,
  );
});
