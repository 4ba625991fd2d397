/**
 * The logger the engine is handed. Two implementations: JSON lines (the runtime) and readable text
 * (the CLI). Both drop fields whose names say they hold secrets and redact credentials in the rest
 * (`redactSecrets`).
 */
import { redactSecrets } from "./redact_secrets.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every entry. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Receives one finished line, without the newline. */
  readonly write: (line: string) => void;
  readonly level?: LogLevel;
  readonly now?: () => Date;
}

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|password|secret|kubeconfig|authorization|private_?key|credential/i;

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

function redact(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = SECRET_FIELD.test(key)
      ? "[redacted]"
      : value instanceof Error
      ? redactSecrets(value.message)
      : typeof value === "string"
      ? redactSecrets(value)
      : value;
  }
  return out;
}

function makeLogger(
  options: LoggerOptions,
  base: LogFields,
  format: (level: LogLevel, time: Date, message: string, fields: Record<string, unknown>) => string,
): Logger {
  const min = RANK[options.level ?? "info"];
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (RANK[level] < min) return;
    options.write(format(level, now(), redactSecrets(message), redact({ ...base, ...fields })));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => makeLogger(options, { ...base, ...fields }, format),
  };
}

/** One JSON object per line: `{"time":…,"level":…,"msg":…,…fields}`. */
export function createJsonLogger(options: LoggerOptions): Logger {
  return makeLogger(
    options,
    {},
    (level, time, msg, fields) => JSON.stringify({ time: time.toISOString(), level, msg, ...fields }),
  );
}

function textValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** Readable lines: `12:00:01 WARN  message key=value …`. */
export function createTextLogger(options: LoggerOptions): Logger {
  return makeLogger(options, {}, (level, time, msg, fields) => {
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${textValue(v)}`).join(" ");
    const clock = time.toISOString().slice(11, 19);
    return `${clock} ${level.toUpperCase().padEnd(5)} ${msg}${pairs ? ` ${pairs}` : ""}`;
  });
}

/** Drops everything (tests and library callers that want silence). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
