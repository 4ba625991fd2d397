/**
 * `dr-syncer serve`: the function runtime in one process. Builds the runtime and adds its edges to
 * it (the HTTP app with Deno.serve, the schedules on the one Deno.cron tick, the watchers of the continuous
 * replications), and on SIGTERM (or SIGINT) drains: the schedules and watchers stop, no new run
 * starts, running ones get `--drain-seconds` to finish and are then stopped through their signal
 * (their locks released), and the server closes.
 *
 *   deno run -A functions/serve/main.ts [--config FILE] [--host H] [--port P]
 */
import { errorMessage, errorOutcome } from "../../shared/errors.ts";
import { createJsonLogger } from "../../shared/log/mod.ts";
import { registerScheduleTick, schedules } from "../cron/schedule_tick.ts";
import { scheduledJobs } from "../cron/scheduled_jobs.ts";
import { httpServer } from "../http/http_server.ts";
import { LOCAL_CLUSTER, runtimeFromEnv } from "../runtime/mod.ts";
import { configFileSource } from "../sources/config_file.ts";
import { operatorResources } from "../sources/operator_resources.ts";
import { watchers } from "../watch/watch_manager.ts";
import { parseServeArgs, SERVE_HELP } from "./parse_serve_args.ts";

export interface ServeIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: (name: string) => string | undefined;
  /** Settles when the process is asked to stop (the entry point listens for SIGTERM and SIGINT). */
  readonly stopRequested: Promise<string>;
  /**
   * Run the schedules on the Deno.cron tick (default true; in-process tests turn it off). The tick itself
   * is registered at the top level of the entry module (`registerScheduleTick`).
   */
  readonly schedules?: boolean;
  readonly onListen?: (address: { hostname: string; port: number }) => void;
}

/** Runs the runtime until it is asked to stop; returns the exit code (0, or 2 for bad flags or config). */
export async function runServe(argv: readonly string[], io: ServeIo): Promise<number> {
  let options;
  try {
    options = parseServeArgs(argv);
  } catch (error) {
    io.stderr(`error: ${errorMessage(error)}\n${SERVE_HELP}\n`);
    return 2;
  }
  if (options.help) {
    io.stdout(`${SERVE_HELP}\n`);
    return 0;
  }
  const logger = createJsonLogger({ write: (line) => io.stderr(`${line}\n`), level: options.logLevel });
  let built;
  try {
    built = await runtimeFromEnv({ configPath: options.config, readEnv: io.env, logger });
  } catch (error) {
    io.stderr(`error: ${errorMessage(error)}\n`);
    return errorOutcome(error).exitCode;
  }
  const { config, runtime, configPath } = built;
  if (config.tokens.length === 0) {
    logger.warn("no API tokens are configured: every route but /healthz, /readyz and /metrics answers 401");
  }
  const jobs = scheduledJobs(config.replications);
  const server = httpServer(runtime, {
    hostname: options.host,
    port: options.port,
    onListen: (address) => {
      io.stdout(
        `dr-syncer serving on http://${address.hostname}:${address.port} (${config.replications.length} replication(s), ${jobs.length} schedule(s))\n`,
      );
      io.onListen?.(address);
    },
  });
  runtime.add(server);
  if (io.schedules ?? true) runtime.add(schedules(runtime));
  watchers(runtime);
  if (configPath !== undefined) runtime.add(configFileSource(runtime, { path: configPath }));
  if (runtime.home && io.env("DR_SYNCER_RESOURCES") !== "off") {
    // the original operator's objects, in the runtime's namespace of the cluster it runs in
    const runtimeNamespace = io.env("DR_SYNCER_NAMESPACE") ?? config.runtime.namespace;
    runtime.add(operatorResources(runtime, {
      client: runtime.home,
      localCluster: LOCAL_CLUSTER,
      runtimeNamespace,
      namespace: io.env("DR_SYNCER_RESOURCES_NAMESPACE") ?? runtimeNamespace,
    }));
  }
  await runtime.start();

  const reason = await Promise.race([io.stopRequested, server.finished.then(() => "server closed")]);
  logger.info("draining", { reason, drainSeconds: options.drainSeconds, runs: runtime.runs.active.length });
  await runtime.drain(options.drainSeconds * 1000);
  await runtime.close();
  logger.info("stopped");
  return 0;
}

// at the module's top level, before any await: a host that reads cron registrations from the entry
// module sees the tick; it runs the schedules of the runtime started below
if (import.meta.main) registerScheduleTick();

if (import.meta.main) {
  const encoder = new TextEncoder();
  const writer = (stream: { writeSync(p: Uint8Array): number }) => (text: string) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  };
  const stopRequested = new Promise<string>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
  const code = await runServe(Deno.args, {
    stdout: writer(Deno.stdout),
    stderr: writer(Deno.stderr),
    env: (name) => Deno.env.get(name),
    stopRequested,
  });
  Deno.exit(code);
}
