/** The schedules: which jobs a config has, one job's tick, and the one Deno.cron tick that runs the due jobs. */
export * from "./scheduled_jobs.ts";
export * from "./run_scheduled_tick.ts";
export * from "./schedule_tick.ts";
