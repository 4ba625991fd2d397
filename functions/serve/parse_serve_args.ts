import { parseArgs } from "node:util";
import { InvalidInputError } from "../../shared/errors.ts";
import { isLogLevel, type LogLevel } from "../../shared/log/mod.ts";
import { OPERATION_NAMES } from "../operations/mod.ts";

export interface ServeOptions {
  /** `undefined`: read `DR_SYNCER_CONFIG`. */
  readonly config?: string | undefined;
  readonly host: string;
  /** 0: any free port (the address is printed). */
  readonly port: number;
  /** How long running runs may go on after SIGTERM before they are stopped. */
  readonly drainSeconds: number;
  readonly logLevel: LogLevel;
  readonly help: boolean;
}

export const SERVE_HELP = `dr-syncer serve: the function runtime (HTTP + schedules)

Usage: dr-syncer serve [--config FILE] [--host 127.0.0.1] [--port 8080] [--drain-seconds 20] [--log-level info]

  --config FILE        the config file (default: the file named by DR_SYNCER_CONFIG)
  --host HOST          the address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)
  --port PORT          the port (default 8080; 0 picks a free one)
  --drain-seconds N    after SIGTERM, how long running runs may finish before they are stopped (default 20)
  --log-level LEVEL    debug, info, warn or error (default info); logs are JSON lines on stderr

Routes: POST /v1/replications/{name}/{${OPERATION_NAMES.join("|")}}, GET /v1/runs/{id},
GET /v1/replications[/{name}], GET /healthz, /readyz, /metrics, and the status page at /.`;

function integer(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > max) {
    throw new InvalidInputError(`--${flag}: "${raw}" is not a whole number from 0 to ${max}`);
  }
  return value;
}

/** Parses the flags of `serve` (bad ones: `InvalidInputError`, exit code 2). */
export function parseServeArgs(argv: readonly string[]): ServeOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "drain-seconds": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    throw new InvalidInputError(
      error instanceof Error ? error.message.replace(/\. To specify.*$/s, "") : String(error),
    );
  }
  const v = parsed.values;
  const logLevel = v["log-level"] ?? "info";
  if (!isLogLevel(logLevel)) {
    throw new InvalidInputError(`--log-level: "${logLevel}" is not debug, info, warn or error`);
  }
  return {
    config: v.config,
    host: v.host ?? "127.0.0.1",
    port: integer("port", v.port, 8080, 65535),
    drainSeconds: integer("drain-seconds", v["drain-seconds"], 20, 3600),
    logLevel,
    help: v.help ?? false,
  };
}
