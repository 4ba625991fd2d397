/** The report every operation returns (and the CLI, the HTTP app and the state record show). */

/** What happened to one object in a run. */
export type ObjectAction =
  | "created"
  | "updated"
  | "unchanged"
  | "skipped"
  | "failed"
  | "pruned"
  | "recreated";

export interface ObjectResult {
  readonly kind: string;
  readonly group: string;
  readonly name: string;
  readonly namespace: string;
  readonly action: ObjectAction;
  readonly reason?: string;
  readonly warnings?: readonly string[];
}

export interface StepResult {
  readonly step: string;
  readonly status: "done" | "skipped" | "failed";
  readonly detail?: string;
  /** How long the step took (not set for a step skipped without running). */
  readonly durationMs?: number;
}

/** The report every operation returns (and the CLI and HTTP print). */
export interface RunReport {
  /** Identifies the run (in the lock, the state's last runs and the stored reports). */
  readonly runId: string;
  /** The operation's name (the registry of operations, `functions/operations/`, lists them). */
  readonly operation: string;
  readonly replication: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** `succeeded` only when every object and step succeeded. */
  readonly status: "succeeded" | "failed";
  readonly counts: Readonly<Record<ObjectAction, number>>;
  readonly objects: readonly ObjectResult[];
  readonly steps: readonly StepResult[];
  /** Top-level error (e.g. the lock is held), when the run could not proceed. */
  readonly error?: string;
  /** The side that serves after this run, when the run knows it (not in a dry run). */
  readonly activeSide?: "source" | "dr";
  /** PVC data moved by the run's data passes (pvc-sync, cutover's final pass, failback's reverse passes). */
  readonly pvcData?: PvcDataTotals;
}

export interface PvcDataTotals {
  /** Claims copied (new or changed data, or found equal). */
  readonly claims: number;
  /** Files transferred, and their size. */
  readonly files: number;
  readonly bytes: number;
  /** Bytes that crossed the network (rsync's deltas). */
  readonly wireBytes: number;
}

/** The sum of two passes' totals. */
export function addPvcData(
  a: PvcDataTotals | undefined,
  b: PvcDataTotals | undefined,
): PvcDataTotals | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return {
    claims: a.claims + b.claims,
    files: a.files + b.files,
    bytes: a.bytes + b.bytes,
    wireBytes: a.wireBytes + b.wireBytes,
  };
}

export interface RunReportInit {
  readonly runId: string;
  readonly operation: RunReport["operation"];
  readonly replication: string;
  readonly dryRun: boolean;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly objects: readonly ObjectResult[];
  readonly steps: readonly StepResult[];
  readonly error?: string | undefined;
  readonly activeSide?: "source" | "dr" | undefined;
  readonly pvcData?: PvcDataTotals | undefined;
}

const ACTIONS: readonly ObjectAction[] = [
  "created",
  "updated",
  "recreated",
  "unchanged",
  "pruned",
  "skipped",
  "failed",
];

/** Counts the objects and decides the status: a run succeeds only when nothing in it failed. */
export function buildRunReport(init: RunReportInit): RunReport {
  const counts = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<ObjectAction, number>;
  for (const o of init.objects) counts[o.action]++;
  const failed = init.error !== undefined || counts.failed > 0 ||
    init.steps.some((s) => s.status === "failed");
  return {
    runId: init.runId,
    operation: init.operation,
    replication: init.replication,
    dryRun: init.dryRun,
    startedAt: init.startedAt.toISOString(),
    finishedAt: init.finishedAt.toISOString(),
    durationMs: init.finishedAt.getTime() - init.startedAt.getTime(),
    status: failed ? "failed" : "succeeded",
    counts,
    objects: init.objects,
    steps: init.steps,
    ...(init.error !== undefined ? { error: init.error } : {}),
    ...(init.activeSide !== undefined ? { activeSide: init.activeSide } : {}),
    ...(init.pvcData !== undefined ? { pvcData: init.pvcData } : {}),
  };
}

/** The result of one object of `type`. */
export function objectResult(
  type: { readonly kind: string; readonly group: string },
  namespace: string,
  name: string,
  action: ObjectAction,
  reason?: string,
): ObjectResult {
  return { kind: type.kind, group: type.group, name, namespace, action, ...(reason ? { reason } : {}) };
}
