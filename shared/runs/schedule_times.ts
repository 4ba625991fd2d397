import { Cron } from "croner";

/** Where `now` falls in a 5-field cron schedule (UTC, as Deno.cron runs it). */
export interface ScheduleTimes {
  /** The latest scheduled time at or before `now` (a tick fired a little late still maps to it). */
  readonly previous: Date | undefined;
  readonly next: Date | undefined;
  /** The gap between the latest scheduled time and the one after it, in milliseconds. */
  readonly intervalMs: number | undefined;
}

/** Scheduled times around `now`; `toleranceMs` counts a tick that fired that much early as on time. */
export function scheduleTimes(schedule: string, now: Date, toleranceMs = 5_000): ScheduleTimes {
  const cron = new Cron(schedule, { paused: true, mode: "5-part", timezone: "UTC" });
  const previous = cron.previousRuns(1, new Date(now.getTime() + toleranceMs))[0] ?? undefined;
  const next = cron.nextRun(now) ?? undefined;
  const from = previous ?? next;
  const after = from ? cron.nextRun(from) : null;
  return { previous, next, intervalMs: from && after ? after.getTime() - from.getTime() : undefined };
}
