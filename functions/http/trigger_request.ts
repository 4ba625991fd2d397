/**
 * The trigger request of an operation, checked with zod at the HTTP boundary: the JSON body
 * (`{dryRun?, force?, wait?, waitForLock?}`, plus `prune` for stage, `allowSourceUnavailable` and
 * `acceptStale` for cutover, `useDrCounts` and `allowDrUnavailable` for failback; an empty body is
 * `{}`) and the `Idempotency-Key` header. A bad one is an
 * `InvalidRequestError` (400) that carries the zod issues with their paths.
 */
import { z } from "zod";
import { InvalidInputError } from "../../shared/errors.ts";
import type { OperationName } from "../serve/run_operation_request.ts";

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
const common = {
  dryRun: z.boolean().optional(),
  force: z.boolean().optional(),
  /** Answer with the report when the run ends within this many seconds, else 202 with the run id. */
  wait: seconds.optional(),
  /** Wait for a lock held by another run (true: up to the longest wait) instead of answering 409. */
  waitForLock: z.union([z.boolean(), seconds]).optional(),
};

const SCHEMAS = {
  stage: z.strictObject({ ...common, prune: z.boolean().optional() }),
  cutover: z.strictObject({
    ...common,
    allowSourceUnavailable: z.boolean().optional(),
    acceptStale: z.boolean().optional(),
  }),
  failback: z.strictObject({
    ...common,
    useDrCounts: z.boolean().optional(),
    allowDrUnavailable: z.boolean().optional(),
  }),
  "pvc-sync": z.strictObject(common),
} as const satisfies Record<OperationName, z.ZodType>;

export interface TriggerRequest {
  readonly dryRun?: boolean | undefined;
  readonly force?: boolean | undefined;
  readonly prune?: boolean | undefined;
  readonly allowSourceUnavailable?: boolean | undefined;
  readonly acceptStale?: boolean | undefined;
  readonly useDrCounts?: boolean | undefined;
  readonly allowDrUnavailable?: boolean | undefined;
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
  operation: OperationName,
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
  const body = issues.length === 0 ? SCHEMAS[operation].safeParse(json) : undefined;
  if (body && !body.success) issues.push(...issuesOf(body.error, "body"));
  const key = idempotencyKey === undefined ? undefined : IDEMPOTENCY_KEY.safeParse(idempotencyKey);
  if (key && !key.success) {
    issues.push(
      ...issuesOf(key.error, "headers").map((i) => ({ ...i, path: ["headers", "idempotency-key"] })),
    );
  }
  if (issues.length > 0 || !body?.success) throw new InvalidRequestError(issues);
  const data: z.output<typeof SCHEMAS["stage"]> & {
    allowSourceUnavailable?: boolean;
    acceptStale?: boolean;
    useDrCounts?: boolean;
    allowDrUnavailable?: boolean;
  } = body.data;
  const waitForLock = data.waitForLock === true
    ? MAX_WAIT_SECONDS
    : data.waitForLock === false
    ? 0
    : data.waitForLock ?? 0;
  return {
    dryRun: data.dryRun,
    force: data.force,
    prune: data.prune,
    allowSourceUnavailable: data.allowSourceUnavailable,
    acceptStale: data.acceptStale,
    useDrCounts: data.useDrCounts,
    allowDrUnavailable: data.allowDrUnavailable,
    waitSeconds: data.wait ?? DEFAULT_WAIT_SECONDS,
    waitForLockMs: Math.round(waitForLock * 1000),
    idempotencyKey: key?.success ? key.data : undefined,
  };
}
