import assert from "node:assert/strict";
import {
  DEFAULT_WAIT_SECONDS,
  InvalidRequestError,
  MAX_WAIT_SECONDS,
  parseTriggerRequest as parseWith,
} from "../../functions/http/trigger_request.ts";
import { operationNamed } from "../../functions/operations/mod.ts";
import { errorOutcome } from "../../shared/errors.ts";

/** The request of the operation named `operation`. */
function parseTriggerRequest(operation: string, body: string, key: string | undefined) {
  const request = parseWith(operationNamed(operation), body, key);
  return { ...request, ...request.options } as typeof request & Record<string, unknown>;
}

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(errorOutcome(error).httpStatus, 400);
    return error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  }
  assert.fail("expected an InvalidRequestError");
}

Deno.test("trigger request: an empty body is {} with the default wait", () => {
  const r = parseTriggerRequest("stage", "", undefined);
  assert.deepEqual(r, {
    options: {},
    waitSeconds: DEFAULT_WAIT_SECONDS,
    waitForLockMs: 0,
    idempotencyKey: undefined,
  });
  assert.equal(parseTriggerRequest("failback", "  \n", undefined).waitSeconds, 60);
});

Deno.test("trigger request: the fields of each operation, waitForLock as seconds or true", () => {
  const r = parseTriggerRequest("stage", '{"dryRun":true,"prune":false,"wait":0,"waitForLock":2.5}', "key-1");
  assert.equal(r.dryRun, true);
  assert.equal(r.prune, false);
  assert.equal(r.waitSeconds, 0);
  assert.equal(r.waitForLockMs, 2500);
  assert.equal(r.idempotencyKey, "key-1");
  assert.equal(
    parseTriggerRequest("cutover", '{"waitForLock":true}', undefined).waitForLockMs,
    MAX_WAIT_SECONDS * 1000,
  );
  assert.equal(
    parseTriggerRequest("cutover", '{"allowSourceUnavailable":true}', undefined).allowSourceUnavailable,
    true,
  );
});

Deno.test("trigger request: cutover and failback take their own options, and only theirs", () => {
  assert.equal(parseTriggerRequest("cutover", '{"acceptStale":true}', undefined).acceptStale, true);
  const back = parseTriggerRequest("failback", '{"useDrCounts":true,"allowDrUnavailable":true}', undefined);
  assert.equal(back.useDrCounts, true);
  assert.equal(back.allowDrUnavailable, true);
  assert.throws(() => parseTriggerRequest("stage", '{"acceptStale":true}', undefined), InvalidRequestError);
  assert.throws(() => parseTriggerRequest("cutover", '{"useDrCounts":true}', undefined), InvalidRequestError);
});

Deno.test("trigger request: every problem is named with its path", () => {
  assert.deepEqual(
    issues(() => parseTriggerRequest("cutover", '{"prune":true,"wait":4000,"dryRun":1}', undefined)).sort(),
    [
      "body.dryRun: Invalid input: expected boolean, received number",
      "body.wait: Too big: expected number to be <=3600",
      'body: Unrecognized key: "prune"',
    ],
  );
  assert.match(issues(() => parseTriggerRequest("stage", "{nope", undefined))[0]!, /^body: Not valid JSON/);
  assert.match(
    issues(() => parseTriggerRequest("stage", "[]", undefined))[0]!,
    /^body: Invalid input: expected object/,
  );
  assert.deepEqual(issues(() => parseTriggerRequest("failback", '{"allowSourceUnavailable":true}', "a b")), [
    'body: Unrecognized key: "allowSourceUnavailable"',
    "headers.idempotency-key: Must be 1 to 255 visible ASCII characters",
  ]);
  assert.equal(issues(() => parseTriggerRequest("stage", "{}", "x".repeat(256))).length, 1);
});
