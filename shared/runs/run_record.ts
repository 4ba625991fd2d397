/**
 * The record of one run as the runtime keeps it in the DR cluster: a ConfigMap per run in the
 * replication's DR namespace, named after the run id, so any replica can answer `GET /v1/runs/{id}`
 * and the functions stay stateless. A short summary sits in an annotation (listed with metadata
 * only); the report, trimmed to a bounded size, sits in the data. This file is pure: the record's
 * shape, its ConfigMap form, and whether a ConfigMap found under a record's name is one the runtime
 * wrote (`runRecordDistrust`).
 */
import type { KubeObject } from "../kube/types.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  ANNOTATION_SOURCE_RESOURCE_VERSION,
  ANNOTATION_SOURCE_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "../plan/names.ts";
import type { ObjectResult, RunReport } from "../run_report.ts";

export type RunOperation = RunReport["operation"];
export type RunTrigger = "http" | "schedule" | "watch" | "resource";
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
/** The field manager of every write of a record (stage writes with `dr-syncer`, and never this). */
export const RUN_RECORD_FIELD_MANAGER = "dr-syncer-run-records";

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

/** The marks every copy stage writes carries (its provenance); a record never carries one. */
const COPY_MARKS = [
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  ANNOTATION_SOURCE_UID,
  ANNOTATION_SOURCE_RESOURCE_VERSION,
  ANNOTATION_CONTENT_HASH,
];

/** The field managers that own `path` (e.g. `["f:metadata", "f:annotations", "f:x"]`) in `object`. */
function ownersOf(object: KubeObject, path: readonly string[]): string[] {
  const entries = object.metadata.managedFields;
  if (!Array.isArray(entries)) return [];
  const owners: string[] = [];
  for (const entry of entries) {
    const e = entry as { manager?: unknown; fieldsV1?: unknown } | null;
    let node: unknown = e?.fieldsV1;
    for (const step of path) {
      node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[step] : undefined;
    }
    if (node !== undefined) owners.push(typeof e?.manager === "string" ? e.manager : "");
  }
  return owners;
}

/**
 * Why a ConfigMap found under a record's name is not trusted as a run record, or `undefined` when
 * it is one the runtime wrote. A record the runtime trusts:
 * - is named after its run id (a UUID) and labelled for its replication, as `runRecordObject` makes it;
 * - carries none of the provenance every copy stage writes carries (`dr-syncer.io/source-*`, the
 *   content hash): a copy of a source object can never be taken for a record (stage also refuses to
 *   copy a source object with a record's marks, see `shared/plan/kind_rules.ts`);
 * - had its summary (and its report) written by the records' own field manager, and by no other
 *   (the API server keeps who wrote each field; stage writes as `dr-syncer`): an edit of a record by
 *   someone else makes it untrusted.
 * Residual risk: field manager names are chosen by the client, so someone who may write ConfigMaps
 * in the DR namespace can still make an object that passes (as they can edit the Lease that holds
 * the lock and the state): the DR namespace must be written by the runtime alone.
 */
export function runRecordDistrust(
  object: KubeObject & { data?: Record<string, string> },
): string | undefined {
  const summary = runRecordSummaryOf(object);
  if (!summary) return "no readable run summary";
  if (!RUN_ID.test(summary.runId) || object.metadata.name !== runRecordName(summary.runId)) {
    return "its name and run id do not match";
  }
  const labels = object.metadata.labels ?? {};
  if (
    labels[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE || labels[LABEL_COMPONENT] !== COMPONENT_RUN_RECORD ||
    labels[LABEL_RUN_OF] !== summary.replication
  ) {
    return "not labelled as a record of its replication";
  }
  const annotations = object.metadata.annotations ?? {};
  const mark = COPY_MARKS.find((key) => Object.hasOwn(annotations, key));
  if (mark !== undefined) return `it carries ${mark}: a copy made by stage, not a record`;
  const fields: string[][] = [["f:metadata", "f:annotations", `f:${ANNOTATION_RUN_SUMMARY}`]];
  if (object.data?.[DATA_REPORT] !== undefined) fields.push(["f:data", `f:${DATA_REPORT}`]);
  for (const path of fields) {
    const owners = ownersOf(object, path);
    if (!owners.includes(RUN_RECORD_FIELD_MANAGER)) {
      return `its ${path.at(-1)!.slice(2)} was not written by ${RUN_RECORD_FIELD_MANAGER}`;
    }
    const others = owners.filter((o) => o !== RUN_RECORD_FIELD_MANAGER);
    if (others.length > 0) return `its ${path.at(-1)!.slice(2)} was also written by ${others.join(", ")}`;
  }
  return undefined;
}
