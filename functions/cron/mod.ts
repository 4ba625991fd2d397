/** The schedules: which jobs a config has, one tick of a job, and their registration with Deno.cron. */
export * from "./scheduled_jobs.ts";
export * from "./run_scheduled_tick.ts";
export * from "./register_schedules.ts";
