/**
 * One tick of a schedule job. The tick's run id is derived from the job and its scheduled time,
 * so when several `serve` replicas fire the same tick the first to create the run's record runs
 * it and the others find it taken. A tick that finds a run of the replication in progress here is
 * skipped and counted: ticks never queue up (the continuous watcher's small runs excepted: the tick's
 * run waits for the one in flight). A lock held elsewhere is waited for one lease
 * duration (plus a margin): a live holder renews it and the tick gives up (counted as overlap by
 * the run's refusal), a replica that died mid-run leaves it unrenewed and the tick takes it over.
 * A replication that is cut over (or whose cutover or failback is unfinished) has nothing to stage:
 * its ticks are skipped as `paused`, recorded as no run. The tick returns once the run has started;
 * the run goes on in the background.
 */
import { errorMessage, errorOutcome } from "../../shared/errors.ts";
import { derivedRunId, scheduleTimes } from "../../shared/runs/mod.ts";
import { LockHeldError } from "../../shared/state/mod.ts";
import { RunInProgressError, type Runtime } from "../runtime/mod.ts";
import type { ScheduledJob } from "./scheduled_jobs.ts";

/** What became of a tick. */
export type TickOutcome = "started" | "overlap" | "elsewhere" | "draining" | "paused" | "failed";

export async function runScheduledTick(
  runtime: Pick<Runtime, "runs" | "metrics" | "logger" | "status" | "replication">,
  job: ScheduledJob,
  now: Date = new Date(),
): Promise<TickOutcome> {
  const log = runtime.logger.child({ job: job.name, replication: job.replication });
  const outcome = await (async (): Promise<TickOutcome> => {
    if (runtime.runs.draining) return "draining";
    // the watcher's small runs do not count: the tick's run waits for the one in flight
    if (runtime.runs.activeFor(job.replication).some((r) => r.trigger !== "watch")) return "overlap";
    const paused = await pauseOf(runtime, job);
    if (paused !== undefined) {
      log.info("schedule tick paused", { reason: paused });
      return "paused";
    }
    const slot = scheduleTimes(job.schedule, now).previous ?? now;
    try {
      const started = await runtime.runs.start({
        replication: job.replication,
        operation: job.operation,
        trigger: "schedule",
        runId: derivedRunId("tick", job.replication, job.operation, slot.toISOString()),
        waitForLockMs: (runtime.runs.leaseSeconds + 5) * 1000,
      });
      if (started.repeated) return "elsewhere";
      void started.finished().then(({ record }) => {
        if (record.status === "failed") {
          log.warn("scheduled run failed", { runId: record.runId, error: record.error?.message });
        }
      });
      return "started";
    } catch (error) {
      if (error instanceof RunInProgressError) return "overlap";
      if (error instanceof LockHeldError) return "overlap"; // a run holds the lock, here or elsewhere
      log.error("scheduled run could not start", {
        code: errorOutcome(error).code,
        error: errorMessage(error),
      });
      return "failed";
    }
  })();
  runtime.metrics.tick(job.replication, outcome);
  if (outcome !== "started" && outcome !== "paused") log.info("schedule tick skipped", { outcome });
  return outcome;
}

/** Why the job's replication pauses its schedule now (from its state, as the status reads it). */
async function pauseOf(
  runtime: Pick<Runtime, "status" | "replication">,
  job: ScheduledJob,
): Promise<string | undefined> {
  const status = await runtime.status.of(runtime.replication(job.replication));
  if (status.activeSide === null) return undefined; // unreadable: the run decides, and says why
  return status.paused;
}
