/** Registers one Deno.cron per schedule job; aborting `signal` unregisters them all (drain). */
import type { Runtime } from "../serve/runtime.ts";
import { runScheduledTick } from "./run_scheduled_tick.ts";
import type { ScheduledJob } from "./scheduled_jobs.ts";

export function registerSchedules(
  runtime: Runtime,
  jobs: readonly ScheduledJob[],
  signal: AbortSignal,
): void {
  for (const job of jobs) {
    Deno.cron(job.name, job.schedule, { signal }, () => void runScheduledTick(runtime, job));
  }
}
