import { ConfigError } from "../../shared/config/mod.ts";
import { errorMessage, errorOutcome } from "../../shared/errors.ts";
import { isUnreachable } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { connectConfiguredCluster } from "../../shared/credentials/mod.ts";
import { createTextLogger, type Logger } from "../../shared/log/logger.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { replicationRpo, RunRecordStore, scheduleTimes } from "../../shared/runs/mod.ts";
import { readReplicationState } from "../../shared/state/replication_lock.ts";
import type { OperationDeps } from "../operation_deps.ts";
import { findOperation } from "../operations/mod.ts";
import { type CliIo, progressPrinter } from "./cli_io.ts";
import { helpText } from "./help_text.ts";
import { type CliOptions, type Command, parseCliArgs, UsageError } from "./parse_cli_args.ts";
import { formatReport, formatState } from "./print_report.ts";
import { type ResolvedReplication, resolveReplication } from "./resolve_replication.ts";
import { validateConfigFile } from "./validate_config.ts";

export type { CliIo } from "./cli_io.ts";

export const VERSION = "0.1.0";

/** Whether the command line asks for JSON output (read from the raw words: parsing may have failed). */
function wantsJson(argv: readonly string[]): boolean {
  return argv.some((word, i) =>
    word === "--output=json" || word === "-ojson" ||
    ((word === "--output" || word === "-o") && argv[i + 1] === "json")
  );
}

/**
 * Reports an error that stopped a command: one line on stderr (a bad config: one line per problem),
 * and with --output json one JSON document on stdout, so every outcome is machine-readable.
 */
function reportError(io: CliIo, error: unknown, json: boolean, extra: Record<string, unknown> = {}): number {
  const outcome = errorOutcome(error);
  const issues = error instanceof ConfigError ? error.issues : undefined;
  const issueCount = error instanceof ConfigError ? error.issueCount : 0;
  if (issues && issueCount > 1) {
    io.stderr(`error: ${errorMessage(error).split(": ")[0]}: ${issueCount} problems\n`);
    for (const issue of issues) {
      io.stderr(
        `  - ${issue.path || "(file)"}: ${issue.message}${issue.line ? ` (line ${issue.line})` : ""}\n`,
      );
    }
    if (issueCount > issues.length) io.stderr(`  ... and ${issueCount - issues.length} more\n`);
  } else {
    io.stderr(`error: ${errorMessage(error)}\n`);
  }
  if (json) {
    const document = {
      status: outcome.code === "refused" ? "refused" : "error",
      error: {
        code: outcome.code,
        message: errorMessage(error),
        exitCode: outcome.exitCode,
        httpStatus: outcome.httpStatus,
        ...(issues ? { issues, issueCount } : {}),
      },
      ...extra,
    };
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
  }
  return outcome.exitCode;
}

async function connectBoth(
  r: ResolvedReplication,
  io: CliIo,
): Promise<{ source: KubeClient; dr: KubeClient }> {
  const source = await connectConfiguredCluster(r.spec.sourceCluster, r.source, { readEnv: io.env });
  try {
    const dr = await connectConfiguredCluster(r.spec.destCluster, r.dest, { readEnv: io.env });
    return { source, dr };
  } catch (error) {
    source.close();
    throw error;
  }
}

async function runCommand(command: Command, o: CliOptions, io: CliIo, logger: Logger): Promise<number> {
  if (command === "demo") {
    const { runDemo } = await import("./demo.ts");
    return await runDemo(io, logger);
  }
  if (command === "validate") {
    if (o.config === undefined) throw new UsageError("validate needs --config FILE");
    io.stdout(`${await validateConfigFile(o.config, o.output)}\n`);
    return 0;
  }
  if (command === "render" || command === "deploy") {
    const { runRender, runDeploy } = await import("./deploy_commands.ts");
    return command === "render" ? await runRender(o, io) : await runDeploy(o, io, logger);
  }
  const resolved = await resolveReplication(o);
  const { source, dr } = await connectBoth(resolved, io);
  try {
    if (command === "status") {
      const { spec, schedule } = resolved;
      const [state, runs] = await Promise.all([
        readReplicationState(dr, spec.destNamespace),
        new RunRecordStore(dr).list(spec.destNamespace, spec.name).catch(() => []),
      ]);
      const now = new Date();
      const times = schedule ? scheduleTimes(schedule, now) : undefined;
      const rpo = replicationRpo({
        lastGoodSync: state.lastSuccess.stage,
        intervalMs: times?.intervalMs,
        cutOver: state.activeSide === "dr",
      }, now);
      const status = {
        replication: spec.name,
        ...state,
        schedule,
        nextRun: times?.next?.toISOString(),
        rpo,
        runs,
      };
      io.stdout(
        o.output === "json" ? `${JSON.stringify(status, null, 2)}\n` : `${formatState(spec, status)}\n`,
      );
      return 0;
    }
    const operation = findOperation(command);
    if (!operation) throw new UsageError(`Unknown command "${command}"`);
    const progress = progressPrinter(io);
    const deps: OperationDeps = {
      source,
      dr,
      logger,
      onProgress: progress.update,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      lock: {
        ...(o.waitForLock !== undefined ? { waitMs: o.waitForLock * 1000 } : {}),
        ...(o.leaseSeconds !== undefined ? { leaseSeconds: o.leaseSeconds } : {}),
      },
    };
    let report: RunReport;
    try {
      const run = io.operations?.[operation.name] ?? ((d, s, r) => operation.run(d, s, r));
      report = await run(deps, resolved.spec, o.request);
    } catch (error) {
      progress.end();
      const writes = source.stats.writes + dr.stats.writes;
      const code = reportError(io, error, o.output === "json", { writeRequestsSent: writes });
      io.stderr(
        writes === 0
          ? "Nothing was written.\n"
          : `${writes} write request(s) were sent before this error; once its cause is fixed, running the same command again finishes the job.\n`,
      );
      return code;
    }
    progress.end();
    io.stdout(o.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.status === "succeeded" ? 0 : 1;
  } finally {
    source.close();
    dr.close();
  }
}

/** Runs the CLI; returns the exit code (0 success, 1 failure, 2 bad usage). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === "start") {
    const { runStart } = await import("./start.ts");
    const logger = createTextLogger({ write: (line) => io.stderr(`${line}\n`), level: "warn" });
    try {
      return await runStart(argv.slice(1), io, logger);
    } catch (error) {
      io.stderr(`error: ${errorMessage(error)}\n`);
      return errorOutcome(error).exitCode;
    }
  }
  if (argv[0] === "serve") {
    // the runtime has flags of its own (--host, --port...) and runs until it is asked to stop
    const { runServe } = await import("../serve/main.ts");
    return await runServe(argv.slice(1), {
      ...io,
      stopRequested: io.stopRequested?.() ?? new Promise<string>(() => {}),
    });
  }
  if (argv[0] === "run-job") {
    // the CronJob form of the runtime: one schedule job, once
    const { runJob } = await import("../serve/run_job.ts");
    return await runJob(argv.slice(1), io);
  }
  let parsed;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    reportError(io, error, wantsJson(argv));
    io.stderr(`Run "dr-syncer --help" for usage.\n`);
    return 2;
  }
  if (parsed.kind === "version") {
    io.stdout(`dr-syncer ${VERSION}\n`);
    return 0;
  }
  if (parsed.kind === "help") {
    io.stdout(`${helpText(parsed.command)}\n`);
    return 0;
  }
  const logger = createTextLogger({
    write: (line) => io.stderr(`${line}\n`),
    level: parsed.options.logLevel,
  });
  try {
    return await runCommand(parsed.command, parsed.options, io, logger);
  } catch (error) {
    const code = reportError(io, error, parsed.options.output === "json");
    if (isUnreachable(error)) {
      io.stderr("Check that the cluster is up and that the kubeconfig points at it.\n");
    }
    return code;
  }
}
