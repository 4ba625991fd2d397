/**
 * The schedule jobs of a config: a stage per scheduled replication, the safety-net stage of a
 * continuous one (its schedule, else every 10 minutes), and a pvc-sync per PVC schedule. Pure.
 */
import type { Replication } from "../../shared/config/mod.ts";
import { derivedRunId } from "../../shared/runs/mod.ts";

export interface ScheduledJob {
  /** The Deno.cron name: unique, at most 64 letters, digits, "-" and "_". */
  readonly name: string;
  readonly schedule: string;
  readonly replication: string;
  readonly operation: "stage" | "pvc-sync";
}

export const CONTINUOUS_SAFETY_NET_SCHEDULE = "*/10 * * * *";

function cronName(operation: string, replication: string): string {
  const name = `${operation}-${replication}`;
  if (name.length <= 64) return name;
  return `${name.slice(0, 55)}-${derivedRunId(name).slice(0, 8)}`;
}

export function scheduledJobs(replications: readonly Replication[]): ScheduledJob[] {
  const jobs: ScheduledJob[] = [];
  for (const r of replications) {
    const stageSchedule = r.mode === "scheduled"
      ? r.schedule
      : r.mode === "continuous"
      ? r.schedule ?? CONTINUOUS_SAFETY_NET_SCHEDULE
      : undefined;
    if (stageSchedule !== undefined) {
      jobs.push({
        name: cronName("stage", r.name),
        schedule: stageSchedule,
        replication: r.name,
        operation: "stage",
      });
    }
    if (r.pvc.enabled && r.pvc.schedule !== undefined) {
      jobs.push({
        name: cronName("pvc-sync", r.name),
        schedule: r.pvc.schedule,
        replication: r.name,
        operation: "pvc-sync",
      });
    }
  }
  return jobs;
}
