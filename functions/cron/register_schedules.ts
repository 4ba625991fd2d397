/**
 * The schedules as a runnable of the runtime: one Deno.cron per schedule job when the runtime
 * starts; a drain unregisters them all before the runs drain.
 */
import type { Runnable, Runtime } from "../runtime/mod.ts";
import { runScheduledTick } from "./run_scheduled_tick.ts";
import type { ScheduledJob } from "./scheduled_jobs.ts";

export function schedules(runtime: Runtime, jobs: readonly ScheduledJob[]): Runnable {
  const stop = new AbortController();
  return {
    name: "schedules",
    start() {
      for (const job of jobs) {
        Deno.cron(job.name, job.schedule, { signal: stop.signal }, () => void runScheduledTick(runtime, job));
      }
    },
    stop() {
      stop.abort();
      return Promise.resolve();
    },
  };
}
