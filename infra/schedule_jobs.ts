/**
 * The schedule jobs of a config as the CronJob form runs them (pure): one CronJob per job, each running
 * `dr-syncer run-job --job <name>`. The list and the names are those of `functions/cron/scheduled_jobs.ts`
 * (`scheduledJobs`), which `run-job` looks the name up in; infra sits below the edges and cannot import it,
 * so `tests/unit/render_cronjobs_test.ts` checks that the two give the same jobs.
 */
import type { Replication } from "../shared/config/config_schema.ts";
import { derivedRunId } from "../shared/runs/derived_run_id.ts";

export interface ScheduleJob {
  /** The job's name: `stage-<replication>` or `pvc-sync-<replication>` (a hash shortens one over 64 characters). */
  readonly name: string;
  readonly schedule: string;
  readonly replication: string;
  readonly operation: "stage" | "pvc-sync";
}

/** When a continuous replication without a schedule is staged in full (its safety net). */
export const SAFETY_NET_SCHEDULE = "*/10 * * * *";

function jobName(operation: string, replication: string): string {
  const name = `${operation}-${replication}`;
  return name.length <= 64 ? name : `${name.slice(0, 55)}-${derivedRunId(name).slice(0, 8)}`;
}

/**
 * A stage per scheduled replication (its schedule) and per continuous one (its schedule, else every 10
 * minutes: the CronJob form has no watcher, so this stage is all it gets), a pvc-sync per `pvc.schedule`.
 */
export function scheduleJobs(replications: readonly Replication[]): ScheduleJob[] {
  return replications.flatMap((r) => {
    const stage = r.mode === "scheduled"
      ? r.schedule
      : r.mode === "continuous"
      ? r.schedule ?? SAFETY_NET_SCHEDULE
      : undefined;
    const pvc = r.pvc.enabled ? r.pvc.schedule : undefined;
    return [
      ...(stage === undefined ? [] : [{
        name: jobName("stage", r.name),
        schedule: stage,
        replication: r.name,
        operation: "stage" as const,
      }]),
      ...(pvc === undefined ? [] : [{
        name: jobName("pvc-sync", r.name),
        schedule: pvc,
        replication: r.name,
        operation: "pvc-sync" as const,
      }]),
    ];
  });
}
