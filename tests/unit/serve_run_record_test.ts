import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import {
  derivedRunId,
  MAX_STORED_OBJECTS,
  RUN_ID,
  RUN_RECORD_FIELD_MANAGER,
  type RunRecord,
  runRecordDistrust,
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

Deno.test("run records: only a ConfigMap the runtime wrote is trusted as a record; a copy or another writer's is not", () => {
  const record: RunRecord = {
    runId: crypto.randomUUID(),
    replication: "shop",
    operation: "stage",
    trigger: "schedule",
    dryRun: false,
    status: "succeeded",
    startedAt: "2026-01-01T00:00:00.000Z",
  };
  const owned = (manager: string, fields: Record<string, unknown>) => ({
    manager,
    operation: "Apply",
    time: "2026-01-01T00:00:01Z",
    fieldsType: "FieldsV1",
    fieldsV1: fields,
  });
  const summaryField = { "f:metadata": { "f:annotations": { "f:dr-syncer.io/run-summary": {} } } };
  const written = (managers: string[], extra: Record<string, string> = {}) => {
    const cm = runRecordObject("shop-dr", record);
    cm.metadata.annotations = { ...cm.metadata.annotations, ...extra };
    cm.metadata.managedFields = managers.map((m) => owned(m, summaryField));
    return cm;
  };
  assert.equal(runRecordDistrust(written([RUN_RECORD_FIELD_MANAGER])), undefined, "the runtime's own");
  const annotated = written([RUN_RECORD_FIELD_MANAGER]);
  annotated.metadata.managedFields = [
    ...(annotated.metadata.managedFields as unknown[]),
    owned("kubectl-annotate", { "f:metadata": { "f:annotations": { "f:note": {} } } }),
  ];
  assert.equal(
    runRecordDistrust(annotated),
    undefined,
    "another writer's annotation beside it changes nothing",
  );
  assert.match(runRecordDistrust(written([])) ?? "", /not written by dr-syncer-run-records/);
  assert.match(runRecordDistrust(written(["dr-syncer"])) ?? "", /not written by dr-syncer-run-records/);
  assert.match(
    runRecordDistrust(written([RUN_RECORD_FIELD_MANAGER, "someone"])) ?? "",
    /also written by someone/,
    "an edit by another writer",
  );
  assert.match(
    runRecordDistrust(written([RUN_RECORD_FIELD_MANAGER], { "dr-syncer.io/source-namespace": "shop" })) ?? "",
    /a copy made by stage/,
  );
  const renamed = written([RUN_RECORD_FIELD_MANAGER]);
  renamed.metadata.name = "dr-syncer-run-other";
  assert.match(runRecordDistrust(renamed) ?? "", /name and run id do not match/);
  const relabelled = written([RUN_RECORD_FIELD_MANAGER]);
  relabelled.metadata.labels = { ...relabelled.metadata.labels, "dr-syncer.io/run-of": "billing" };
  assert.match(runRecordDistrust(relabelled) ?? "", /not labelled as a record of its replication/);
  // a report written by another field manager than the summary's
  const withReport = runRecordObject("shop-dr", { ...record, report: undefined }) as KubeObject & {
    data: Record<string, string>;
  };
  withReport.data = { "report.json": "{}" };
  withReport.metadata.managedFields = [
    owned(RUN_RECORD_FIELD_MANAGER, summaryField),
    owned("forger", { "f:data": { "f:report.json": {} } }),
  ];
  assert.match(runRecordDistrust(withReport) ?? "", /its report\.json was not written by/);
});
