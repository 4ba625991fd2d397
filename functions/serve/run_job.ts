/**
 * `dr-syncer run-job --config FILE --job NAME`: one schedule job run once, as the CronJob form of the
 * runtime runs it (a Kubernetes CronJob per schedule job: `stage-<replication>`, `pvc-sync-<replication>`).
 * The runtime is built from the config and the environment as `serve` builds it (in a pod its
 * ServiceAccount reads the kubeconfig and token Secrets), the job's current slot is run through the same
 * runs as a `serve` tick (its run record kept in the DR namespace, one run per slot however many Jobs a
 * CronJob starts), and the command waits for the run and exits 0 when it succeeded, 1 when it failed or
 * was refused, 2 for bad usage or config. A slot another Job already runs is followed to its end.
 */
import { parseArgs } from "node:util";
import { errorMessage, errorOutcome } from "../../shared/errors.ts";
import { createJsonLogger, isLogLevel } from "../../shared/log/mod.ts";
import { derivedRunId, scheduleTimes } from "../../shared/runs/mod.ts";
import { scheduledJobs } from "../cron/scheduled_jobs.ts";
import { runtimeFromEnv } from "../runtime/mod.ts";
import type { ServeIo } from "./main.ts";

export const RUN_JOB_HELP = `dr-syncer run-job: run one schedule job once (the runtime's CronJob form)

Usage: dr-syncer run-job [--config FILE] --job NAME [--log-level info]

  --config FILE        the config file (default: the file named by DR_SYNCER_CONFIG)
  --job NAME           the job: stage-<replication> or pvc-sync-<replication> ("dr-syncer render" names them)
  --log-level LEVEL    debug, info (default), warn or error; logs are JSON lines on stderr

Runs the job's latest scheduled slot (one run per slot, whichever Job starts first) with its run record kept
in the DR namespace, waits for it, and exits 0 when it succeeded, 1 when it failed or was refused.`;

export async function runJob(
  argv: readonly string[],
  io: Pick<ServeIo, "stdout" | "stderr" | "env">,
): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string" },
        job: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.stderr(`error: ${errorMessage(error)}\n${RUN_JOB_HELP}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(`${RUN_JOB_HELP}\n`);
    return 0;
  }
  const level = values["log-level"] ?? "info";
  if (!isLogLevel(level) || values.job === undefined) {
    io.stderr(
      `error: ${
        values.job === undefined
          ? "--job NAME is required"
          : `--log-level: "${level}" is not one of debug, info, warn, error`
      }\n`,
    );
    return 2;
  }
  const logger = createJsonLogger({ write: (line) => io.stderr(`${line}\n`), level });
  let built;
  try {
    built = await runtimeFromEnv({ configPath: values.config, readEnv: io.env, logger });
  } catch (error) {
    io.stderr(`error: ${errorMessage(error)}\n`);
    return errorOutcome(error).exitCode;
  }
  const { runtime, config } = built;
  try {
    const jobs = scheduledJobs(config.replications);
    const job = jobs.find((j) => j.name === values.job);
    if (job === undefined) {
      io.stderr(
        `error: no job "${values.job}" (jobs of this config: ${
          jobs.map((j) => j.name).join(", ") || "none"
        })\n`,
      );
      return 2;
    }
    const now = new Date();
    const slot = scheduleTimes(job.schedule, now).previous ?? now;
    const started = await runtime.runs.start({
      replication: job.replication,
      operation: job.operation,
      trigger: "schedule",
      runId: derivedRunId("tick", job.replication, job.operation, slot.toISOString()),
      waitForLockMs: (runtime.runs.leaseSeconds + 5) * 1000,
    });
    const { record } = await started.finished();
    io.stdout(
      `${
        JSON.stringify({
          runId: record.runId,
          job: job.name,
          status: record.status,
          ...(record.error ? { error: record.error } : {}),
        })
      }\n`,
    );
    return record.status === "succeeded" ? 0 : 1;
  } catch (error) {
    io.stderr(`error: ${errorMessage(error)}\n`);
    return errorOutcome(error).exitCode;
  } finally {
    await runtime.drain(0);
    await runtime.close();
  }
}
