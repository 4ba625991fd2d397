/**
 * The status a NamespaceMapping (or a RemoteCluster, a ClusterMapping) shows: what the runtime knows of
 * its replication (state, last run, next run, RPO) in the fields of the CRDs' status, with the standard
 * conditions Ready, Synced and CutOver. A condition keeps its `lastTransitionTime` while its status
 * stays the same. Pure.
 */
import type { Replication } from "../../shared/config/mod.ts";
import type { OperatorObject } from "../../shared/config/mod.ts";
import type { PvcDataTotals, RunReport } from "../../shared/run_report.ts";
import type { RunRecordSummary } from "../../shared/runs/mod.ts";
import type { ReplicationStatus } from "../runtime/mod.ts";

export interface Condition {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

/** The last run as the status shows it. */
export interface LastRun {
  readonly id: string;
  readonly operation: string;
  readonly result: "succeeded" | "failed";
  readonly trigger: string;
  readonly startedAt: string;
  readonly finishedAt?: string | undefined;
  readonly counts?: Readonly<Record<string, number>> | undefined;
  readonly pvcData?: PvcDataTotals | undefined;
  readonly error?: string | undefined;
  readonly durationMs?: number | undefined;
}

/** A run's record or report as the last run of the status. */
export function lastRunOf(
  record: RunRecordSummary & { report?: RunReport | undefined },
): LastRun | undefined {
  if (record.status === "running") return undefined;
  return {
    id: record.runId,
    operation: record.operation,
    result: record.status,
    trigger: record.trigger,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    ...(record.report ? { counts: record.report.counts, durationMs: record.report.durationMs } : {}),
    ...(record.report?.pvcData ? { pvcData: record.report.pvcData } : {}),
    ...(record.error ? { error: record.error.message } : {}),
  };
}

/** `3m12s`, `2h5m`, `45s`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ""}`;
  return `${Math.floor(h / 24)}d${h % 24 ? `${h % 24}h` : ""}`;
}

function condition(
  previous: readonly Condition[],
  now: string,
  generation: number | undefined,
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
): Condition {
  const before = previous.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message: message.slice(0, 1000),
    lastTransitionTime: before?.status === status ? before.lastTransitionTime : now,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

export interface MappingStatusInput {
  readonly object: OperatorObject & { readonly status?: { readonly conditions?: readonly Condition[] } };
  /** Why the object is not used (invalid), or `undefined`. */
  readonly problem?: string | undefined;
  readonly replication?: Replication | undefined;
  readonly status?: ReplicationStatus | undefined;
  readonly lastRun?: LastRun | undefined;
  /** Whether a run of it is in progress. */
  readonly running?: boolean;
  readonly now: Date;
}

/** The status fields a NamespaceMapping may show; one a status leaves out is cleared (`null` in a merge patch). */
const MAPPING_FIELDS = [
  "observedGeneration",
  "phase",
  "message",
  "conditions",
  "source",
  "destination",
  "mode",
  "activeSide",
  "lastSyncTime",
  "nextSyncTime",
  "rpo",
  "lastRun",
  "pvcData",
  "syncStats",
  "lastError",
] as const;

/** `status` with every field it leaves out set to `null`, so that a merge patch clears it. */
function clearing(status: Record<string, unknown>): Record<string, unknown> {
  return { ...Object.fromEntries(MAPPING_FIELDS.map((f) => [f, null])), ...status };
}

/** A NamespaceMapping's status, as a merge patch of the whole status (fields it does not set are cleared). */
export function mappingStatus(input: MappingStatusInput): Record<string, unknown> {
  return clearing(mappingStatusFields(input));
}

function mappingStatusFields(input: MappingStatusInput): Record<string, unknown> {
  const { object, replication, status, lastRun } = input;
  const now = input.now.toISOString();
  const generation = object.metadata.generation;
  const previous = object.status?.conditions ?? [];
  const cond = (type: string, s: Condition["status"], reason: string, message: string) =>
    condition(previous, now, generation, type, s, reason, message);
  const common = { ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  if (input.problem !== undefined || replication === undefined) {
    const message = input.problem ?? "Not in use";
    return {
      ...common,
      phase: "Invalid",
      message,
      conditions: [
        cond("Ready", "False", "Invalid", message),
        cond("Synced", "Unknown", "Invalid", "The mapping is not in use"),
      ],
    };
  }
  const paused = (object.spec as { paused?: boolean } | undefined)?.paused === true;
  const cutOver = status?.activeSide === "dr";
  const failed = lastRun?.result === "failed";
  const lastSync = status?.lastSuccess.stage;
  const phase = paused
    ? "Paused"
    : input.running
    ? "Syncing"
    : cutOver
    ? "CutOver"
    : failed
    ? "Failed"
    : lastSync !== undefined
    ? "Synced"
    : "Pending";
  const rpo = status?.rpo;
  const message = status?.error ??
    status?.paused ??
    (failed ? `Last ${lastRun.operation} failed${lastRun.error ? `: ${lastRun.error}` : ""}` : undefined) ??
    (paused ? "Paused: no scheduled or continuous runs (spec.paused)" : undefined);
  return {
    ...common,
    phase,
    source: `${replication.source.cluster}/${replication.source.namespace}`,
    destination: `${replication.destination.cluster}/${replication.destination.namespace}`,
    mode: paused ? "Paused" : replication.mode.charAt(0).toUpperCase() + replication.mode.slice(1),
    ...(status?.activeSide ? { activeSide: status.activeSide } : {}),
    ...(lastSync ? { lastSyncTime: lastSync } : {}),
    ...(status?.nextRun ? { nextSyncTime: status.nextRun } : {}),
    ...(rpo
      ? {
        rpo: {
          ...(rpo.ageSeconds !== null ? { age: formatAge(rpo.ageSeconds), seconds: rpo.ageSeconds } : {}),
          ...(rpo.ratio !== null ? { ratio: Math.round(rpo.ratio * 100) / 100 } : {}),
          level: rpo.level,
        },
      }
      : {}),
    ...(lastRun
      ? {
        lastRun: {
          id: lastRun.id,
          operation: lastRun.operation,
          result: lastRun.result,
          trigger: lastRun.trigger,
          startedAt: lastRun.startedAt,
          ...(lastRun.finishedAt ? { finishedAt: lastRun.finishedAt } : {}),
          ...(lastRun.counts ? { counts: lastRun.counts } : {}),
        },
        ...(lastRun.pvcData ? { pvcData: lastRun.pvcData } : {}),
        ...(lastRun.counts
          ? {
            syncStats: {
              totalResources: Object.values(lastRun.counts).reduce((a, b) => a + b, 0),
              successfulSyncs: (lastRun.counts.created ?? 0) + (lastRun.counts.updated ?? 0) +
                (lastRun.counts.recreated ?? 0) + (lastRun.counts.unchanged ?? 0),
              failedSyncs: lastRun.counts.failed ?? 0,
              ...(lastRun.durationMs !== undefined
                ? { lastSyncDuration: `${(lastRun.durationMs / 1000).toFixed(1)}s` }
                : {}),
            },
          }
          : {}),
        ...(failed
          ? { lastError: { message: lastRun.error ?? "the run failed", time: lastRun.finishedAt ?? now } }
          : {}),
      }
      : {}),
    ...(message ? { message } : {}),
    conditions: [
      cond(
        "Ready",
        status?.error ? "False" : "True",
        status?.error ? "Unreachable" : "Configured",
        status?.error ?? "The mapping is in use",
      ),
      lastSync === undefined && !failed
        ? cond("Synced", "Unknown", "NeverSynced", "No stage has succeeded yet")
        : failed
        ? cond("Synced", "False", "LastRunFailed", message ?? "The last run failed")
        : cond("Synced", "True", "LastRunSucceeded", `Last successful stage at ${lastSync}`),
      cutOver
        ? cond("CutOver", "True", "DrServes", "Cut over: DR serves; failback returns to the source")
        : cond("CutOver", "False", "SourceServes", "The source serves"),
    ],
  };
}

/** A RemoteCluster's or ClusterMapping's status: in use or why not. */
export function objectStatus(
  object: OperatorObject & { readonly status?: { readonly conditions?: readonly Condition[] } },
  problem: string | undefined,
  now: Date,
): Record<string, unknown> {
  const generation = object.metadata.generation;
  const previous = object.status?.conditions ?? [];
  const at = now.toISOString();
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    phase: problem === undefined ? "Ready" : "Invalid",
    message: problem ?? "In use",
    lastChecked: at,
    conditions: [
      condition(
        previous,
        at,
        generation,
        "Ready",
        problem === undefined ? "True" : "False",
        problem === undefined ? "Valid" : "Invalid",
        problem ?? "In use",
      ),
    ],
  };
}
