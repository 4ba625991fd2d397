/**
 * The schedules' one tick. A single `Deno.cron` job, `dr-syncer-tick`, every minute, registered at the
 * top level of the entry module (`registerScheduleTick`), so a host that collects cron registrations from
 * a module's top level sees it and the schedules can change while the process runs: each tick reads the
 * current configuration and decides which jobs are due (`runDueJobs`). A tick's run id is derived from the
 * job and its scheduled time, so one run per job and slot happens across replicas; a slot missed (the
 * process was busy or stopped) is caught up once, at the next tick.
 */
import { scheduleTimes } from "../../shared/runs/mod.ts";
import type { Runnable, Runtime } from "../runtime/mod.ts";
import { runScheduledTick, type TickOutcome } from "./run_scheduled_tick.ts";
import { type ScheduledJob, scheduledJobs } from "./scheduled_jobs.ts";

export const TICK_NAME = "dr-syncer-tick";
export const TICK_SCHEDULE = "* * * * *";

let registered = false;
let handler: ((at: Date) => Promise<unknown>) | undefined;

/**
 * Registers the tick with Deno.cron (once per process). Call it at the top level of an entry module; the
 * tick does nothing until a runtime's schedules start. With `stopOnSignals` (a `deno serve` module, which
 * has no shutdown of its own), SIGTERM and SIGINT unregister it: a registered cron job would keep the
 * process alive after the server stopped.
 */
export function registerScheduleTick(options: { readonly stopOnSignals?: boolean } = {}): void {
  if (registered) return;
  registered = true;
  const stop = new AbortController();
  Deno.cron(TICK_NAME, TICK_SCHEDULE, { signal: stop.signal }, async () => {
    await handler?.(new Date());
  });
  if (options.stopOnSignals) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, () => stop.abort());
  }
}

/** The slot of `job` a tick at `at` runs, after the previous tick at `last` (or none when nothing is due). */
export function dueSlot(job: ScheduledJob, at: Date, last: Date | undefined): Date | undefined {
  const previous = scheduleTimes(job.schedule, at).previous;
  if (previous === undefined) return undefined;
  // the first tick runs only what is due this minute; later ones catch up once on a missed slot
  if (last === undefined) return at.getTime() - previous.getTime() < 60_000 ? previous : undefined;
  return previous.getTime() > last.getTime() + 5_000 ? previous : undefined;
}

/** Sets what the tick runs (`undefined`: nothing); the runtime's schedules and the function modules set it. */
export function setScheduleHandler(next: ((at: Date) => Promise<unknown>) | undefined): void {
  handler = next;
}

/**
 * Runs every job of the current configuration (those `only` keeps) that is due at `at`; returns each
 * job's outcome.
 */
export async function runDueJobs(
  runtime: Pick<Runtime, "config" | "runs" | "metrics" | "logger" | "status" | "replication">,
  at: Date,
  last: Date | undefined,
  only: (job: ScheduledJob) => boolean = () => true,
): Promise<Map<string, TickOutcome>> {
  const outcomes = new Map<string, TickOutcome>();
  await Promise.all(
    scheduledJobs(runtime.config.replications).filter(only).map(async (job) => {
      const slot = dueSlot(job, at, last);
      if (slot !== undefined) outcomes.set(job.name, await runScheduledTick(runtime, job, slot));
    }),
  );
  return outcomes;
}

/** The schedules as a runnable of the runtime: the tick runs the due jobs while it is started. */
export function schedules(runtime: Runtime): Runnable {
  let last: Date | undefined;
  const tick = async (at: Date) => {
    const previous = last;
    last = at;
    await runDueJobs(runtime, at, previous);
  };
  return {
    name: "schedules",
    start() {
      setScheduleHandler(tick);
    },
    stop() {
      if (handler === tick) setScheduleHandler(undefined);
      return Promise.resolve();
    },
  };
}
