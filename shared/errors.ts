/**
 * The error families every edge maps the same way. Domain errors extend one of three bases, and
 * `errorOutcome` is the one table from an error to a CLI exit code and an HTTP status: the CLI,
 * the HTTP app and the schedules read it instead of listing error classes by name.
 *
 * - `InvalidInputError`: the request cannot be right as given (flags, config, kubeconfig, an unknown
 *   resource type, a name): fix the input; retrying the same request cannot help.
 * - `RefusedError`: the request is well-formed but would be unsafe or impossible in the current
 *   state (the replication is cut over, its lock is held, nothing was staged): the message says
 *   why and what to do.
 * - `ClusterError`: a cluster failed or could not be reached; the same request may succeed later.
 */
import { redactSecrets } from "./log/redact_secrets.ts";

/** Bad input: exit code 2, HTTP 400. */
export class InvalidInputError extends Error {
  override readonly name: string = "InvalidInputError";
}

/** Something asked for by name does not exist (a replication, a run): exit code 2, HTTP 404. */
export class NotFoundError extends InvalidInputError {
  override readonly name: string = "NotFoundError";
}

/** Refused in the current state: exit code 1, HTTP 409. */
export class RefusedError extends Error {
  override readonly name: string = "RefusedError";
}

/** A cluster answered with an error or failed: exit code 1, HTTP 502. */
export class ClusterError extends Error {
  override readonly name: string = "ClusterError";
}

/** A cluster could not be reached at all: exit code 1, HTTP 503. */
export class ClusterUnavailableError extends ClusterError {
  override readonly name: string = "ClusterUnavailableError";
}

/** How an edge reports an error. */
export interface ErrorOutcome {
  /** CLI exit code: 2 bad usage, 1 failure. */
  readonly exitCode: 1 | 2;
  readonly httpStatus: number;
  /** A stable word for machine-readable output (`invalid-input`, `refused`...). */
  readonly code: string;
}

/** Most specific first: the first class the error is an instance of decides. */
const TABLE: readonly (readonly [abstract new (...args: never[]) => Error, ErrorOutcome])[] = [
  [NotFoundError, { exitCode: 2, httpStatus: 404, code: "not-found" }],
  [InvalidInputError, { exitCode: 2, httpStatus: 400, code: "invalid-input" }],
  [RefusedError, { exitCode: 1, httpStatus: 409, code: "refused" }],
  [ClusterUnavailableError, { exitCode: 1, httpStatus: 503, code: "cluster-unavailable" }],
  [ClusterError, { exitCode: 1, httpStatus: 502, code: "cluster-error" }],
];

const INTERNAL: ErrorOutcome = { exitCode: 1, httpStatus: 500, code: "internal" };

/** The exit code, HTTP status and code word for anything thrown. */
export function errorOutcome(error: unknown): ErrorOutcome {
  for (const [type, outcome] of TABLE) {
    if (error instanceof type) return outcome;
  }
  return INTERNAL;
}

/** The longest message `errorMessage` returns, in characters. */
export const MAX_ERROR_MESSAGE_CHARS = 2000;

/**
 * The first line of an error's message, for one-line output: credentials redacted (see
 * `redactSecrets`), at most `MAX_ERROR_MESSAGE_CHARS` characters.
 */
export function errorMessage(error: unknown): string {
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  const end = message.indexOf("\n");
  const line = end < 0 ? message : message.slice(0, end);
  return line.length > MAX_ERROR_MESSAGE_CHARS
    ? `${line.slice(0, MAX_ERROR_MESSAGE_CHARS)}... (${
      line.length - MAX_ERROR_MESSAGE_CHARS
    } more characters)`
    : line;
}
