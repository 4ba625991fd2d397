import type { ObjectAction, ObjectResult, RunReport, StepResult } from "./contracts.ts";

export interface RunReportInit {
  readonly operation: RunReport["operation"];
  readonly replication: string;
  readonly dryRun: boolean;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly objects: readonly ObjectResult[];
  readonly steps: readonly StepResult[];
  readonly error?: string | undefined;
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
  };
}
