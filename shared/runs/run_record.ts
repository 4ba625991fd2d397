/**
 * The record of one run as the runtime keeps it in the DR cluster: a ConfigMap per run in the
 * replication's DR namespace, named after the run id, so any replica can answer `GET /v1/runs/{id}`
 * and the functions stay stateless. A short summary sits in an annotation (listed with metadata
 * only); the report, trimmed to a bounded size, sits in the data. This file is pure: the record's
 * shape and its ConfigMap form.
 */
import type { KubeObject } from "../kube/types.ts";
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "../plan/names.ts";
import type { ObjectResult, RunReport } from "../run_report.ts";

export type RunOperation = RunReport["operation"];
export type RunTrigger = "http" | "schedule" | "watch";
export type RunRecordStatus = "running" | "succeeded" | "failed";

/** How a run that could not produce a report ended, as the edges answered it. */
export interface RunRecordError {
  readonly message: string;
  /** The stable code word of `errorOutcome` (`refused`, `cluster-error`...). */
  readonly code: string;
}

export interface RunRecord {
  readonly runId: string;
  readonly replication: string;
  readonly operation: RunOperation;
  readonly trigger: RunTrigger;
  /** The replica that runs it (its host name in a pod). */
  readonly replica?: string | undefined;
  readonly dryRun: boolean;
  readonly status: RunRecordStatus;
  readonly startedAt: string;
  readonly finishedAt?: string | undefined;
  /** A hash of the request that started it (an Idempotency-Key repeat must ask the same). */
  readonly requestHash?: string | undefined;
  /** The HTTP status the run was answered with once finished (a repeat gets the same). */
  readonly httpStatus?: number | undefined;
  readonly report?: RunReport | undefined;
  readonly error?: RunRecordError | undefined;
  /** Objects left out of the stored report to keep the record small (the counts stay whole). */
  readonly objectsOmitted?: number | undefined;
}

/** What listing the records returns: everything but the report. */
export type RunRecordSummary = Omit<RunRecord, "report">;

export const LABEL_RUN_OF = "dr-syncer.io/run-of";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const COMPONENT_RUN_RECORD = "run-record";
export const ANNOTATION_RUN_SUMMARY = "dr-syncer.io/run-summary";
const DATA_REPORT = "report.json";

/** Objects of a report kept in a record: the ones that are not `unchanged`, at most this many. */
export const MAX_STORED_OBJECTS = 300;

/** The ConfigMap name of a run's record. */
export function runRecordName(runId: string): string {
  return `dr-syncer-run-${runId}`;
}

/** Run ids the runtime makes: UUIDs (random, or derived from a key). */
export const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The report trimmed for storage: unchanged objects dropped, then at most `MAX_STORED_OBJECTS`. */
export function trimReport(report: RunReport): { report: RunReport; omitted: number } {
  const kept: ObjectResult[] = report.objects.filter((o) => o.action !== "unchanged");
  const stored = kept.slice(0, MAX_STORED_OBJECTS);
  return { report: { ...report, objects: stored }, omitted: report.objects.length - stored.length };
}

function summaryOf(record: RunRecord): RunRecordSummary {
  const { report: _report, ...summary } = record;
  return summary;
}

/** The ConfigMap that holds `record` in `namespace`. */
export function runRecordObject(namespace: string, record: RunRecord): KubeObject {
  const trimmed = record.report ? trimReport(record.report) : undefined;
  const stored: RunRecord = trimmed
    ? {
      ...record,
      report: trimmed.report,
      ...(trimmed.omitted > 0 ? { objectsOmitted: trimmed.omitted } : {}),
    }
    : record;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: runRecordName(record.runId),
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_COMPONENT]: COMPONENT_RUN_RECORD,
        [LABEL_RUN_OF]: record.replication,
      },
      annotations: { [ANNOTATION_RUN_SUMMARY]: JSON.stringify(summaryOf(stored)) },
    },
    data: stored.report ? { [DATA_REPORT]: JSON.stringify(stored.report) } : {},
  };
}

function isSummary(value: unknown): value is RunRecordSummary {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.runId === "string" && typeof v.replication === "string" &&
    typeof v.operation === "string" && typeof v.status === "string" && typeof v.startedAt === "string";
}

/** The summary an object's annotation holds, or `undefined` when it holds none (not a record). */
export function runRecordSummaryOf(object: KubeObject): RunRecordSummary | undefined {
  const raw = object.metadata.annotations?.[ANNOTATION_RUN_SUMMARY];
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isSummary(parsed) ? parsed : undefined;
  } catch {
    return undefined; // someone else's annotation of that name: not one of our records
  }
}

/** The record a ConfigMap holds, or `undefined` when it is not a run record. */
export function runRecordOf(object: KubeObject & { data?: Record<string, string> }): RunRecord | undefined {
  const summary = runRecordSummaryOf(object);
  if (!summary) return undefined;
  const raw = object.data?.[DATA_REPORT];
  if (raw === undefined) return summary;
  try {
    return { ...summary, report: JSON.parse(raw) as RunReport };
  } catch {
    return summary;
  }
}
