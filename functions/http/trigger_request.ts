/**
 * The trigger request of an operation, checked with zod at the HTTP boundary: the JSON body (the
 * operation's options as its descriptor declares them, plus the run's `wait` and `waitForLock`; an
 * empty body is `{}`) and the `Idempotency-Key` header. A bad one is an `InvalidRequestError` (400)
 * that carries the zod issues with their paths.
 */
import { z } from "zod";
import { InvalidInputError } from "../../shared/errors.ts";
import { type AnyOperation, bodySchema } from "../operations/mod.ts";

/** One problem of a request: where (`["body", "wait"]`, `["headers", "idempotency-key"]`) and what. */
export interface RequestIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/** The request is malformed (HTTP 400); `issues` says where. */
export class InvalidRequestError extends InvalidInputError {
  override readonly name = "InvalidRequestError";
  constructor(readonly issues: readonly RequestIssue[]) {
    super(`Invalid request: ${issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`);
  }
}

/** The longest `wait` and `waitForLock` accepted, in seconds. */
export const MAX_WAIT_SECONDS = 3600;
export const DEFAULT_WAIT_SECONDS = 60;

const seconds = z.number().min(0).max(MAX_WAIT_SECONDS);

/** The fields of every trigger's body that are the run's, not the operation's: how long to wait. */
export const RUN_FIELDS = {
  /** Answer with the report when the run ends within this many seconds, else 202 with the run id. */
  wait: {
    schema: seconds,
    help:
      `seconds to wait for the report before answering 202 with the run id (default ${DEFAULT_WAIT_SECONDS})`,
  },
  /** Wait for a lock held by another run (true: up to the longest wait) instead of answering 409. */
  waitForLock: {
    schema: z.union([z.boolean(), seconds]),
    help: "wait for a lock another run holds (seconds, or true for up to an hour) instead of answering 409",
  },
} as const;

const schemas = new WeakMap<AnyOperation, z.ZodObject>();

/** The JSON body an operation's trigger takes. */
export function triggerBodySchema(operation: AnyOperation): z.ZodObject {
  let schema = schemas.get(operation);
  if (!schema) {
    schema = bodySchema(operation).extend({
      wait: RUN_FIELDS.wait.schema.optional(),
      waitForLock: RUN_FIELDS.waitForLock.schema.optional(),
    });
    schemas.set(operation, schema);
  }
  return schema;
}

export interface TriggerRequest {
  /** The operation's options, by the descriptor's keys. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly waitSeconds: number;
  readonly waitForLockMs: number;
  readonly idempotencyKey?: string | undefined;
}

const IDEMPOTENCY_KEY = z.string().regex(/^[\x21-\x7e]{1,255}$/, {
  error: "Must be 1 to 255 visible ASCII characters",
});

function issuesOf(error: z.ZodError, prefix: string): RequestIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map((p) => typeof p === "symbol" ? String(p) : p)],
    message: issue.message,
    code: issue.code,
  }));
}

/** Parses and checks a trigger's body text and Idempotency-Key header. */
export function parseTriggerRequest(
  operation: AnyOperation,
  bodyText: string,
  idempotencyKey: string | undefined,
): TriggerRequest {
  const issues: RequestIssue[] = [];
  let json: unknown = {};
  if (bodyText.trim() !== "") {
    try {
      json = JSON.parse(bodyText);
    } catch (error) {
      issues.push({
        path: ["body"],
        message: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        code: "invalid_json",
      });
    }
  }
  const body = issues.length === 0 ? triggerBodySchema(operation).safeParse(json) : undefined;
  if (body && !body.success) issues.push(...issuesOf(body.error, "body"));
  const key = idempotencyKey === undefined ? undefined : IDEMPOTENCY_KEY.safeParse(idempotencyKey);
  if (key && !key.success) {
    issues.push(
      ...issuesOf(key.error, "headers").map((i) => ({ ...i, path: ["headers", "idempotency-key"] })),
    );
  }
  if (issues.length > 0 || !body?.success) throw new InvalidRequestError(issues);
  const { wait, waitForLock, ...options } = body.data as Record<string, unknown> & {
    wait?: number;
    waitForLock?: boolean | number;
  };
  const lockSeconds = waitForLock === true ? MAX_WAIT_SECONDS : waitForLock === false ? 0 : waitForLock ?? 0;
  return {
    options,
    waitSeconds: wait ?? DEFAULT_WAIT_SECONDS,
    waitForLockMs: Math.round(lockSeconds * 1000),
    idempotencyKey: key?.success ? key.data : undefined,
  };
}
