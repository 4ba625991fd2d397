import assert from "node:assert/strict";
import { addressKey, Admission, RefusalLog } from "../../agent/connection_limits.ts";
import type { Logger } from "../../shared/log/mod.ts";

const limits = { maxSessions: 2, maxUnauthenticated: 4, maxUnauthenticatedPerAddress: 2 };

Deno.test("Admission: a few places per address before login, sessions counted apart", () => {
  const admission = new Admission<string>(limits);
  assert.deepEqual(admission.admit("10.0.0.9", "flood-1"), { admitted: true });
  assert.deepEqual(admission.admit("10.0.0.9", "flood-2"), { admitted: true });
  assert.deepEqual(admission.admit("10.0.0.9", "flood-3"), {
    admitted: false,
    reason: "too many unauthenticated connections from this address",
  });
  // another address still gets in, logs in, and its session no longer holds a login place
  assert.deepEqual(admission.admit("10.0.0.1", "client"), { admitted: true });
  assert.equal(admission.authenticate("client"), true);
  assert.equal(admission.unauthenticated, 2);
  assert.equal(admission.sessions, 1);
  assert.deepEqual(admission.admit("10.0.0.1", "client-2"), { admitted: true });
  assert.equal(admission.authenticate("client-2"), true);
  // all sessions taken: a third key accepted does not become a session
  assert.deepEqual(admission.admit("10.0.0.2", "client-3"), { admitted: true });
  assert.equal(admission.authenticate("client-3"), false);
  assert.equal(admission.isSession("client-3"), false);
  admission.release("client");
  assert.equal(admission.authenticate("client-3"), true);
  admission.release("flood-1");
  assert.deepEqual(admission.admit("10.0.0.9", "flood-4"), { admitted: true });
});

Deno.test("Admission: when every login place is taken, the busiest address gives up its oldest", () => {
  const admission = new Admission<string>({ ...limits, maxUnauthenticated: 3 });
  admission.admit("a", "a1");
  admission.admit("a", "a2");
  admission.admit("b", "b1");
  assert.deepEqual(admission.admit("c", "c1"), { admitted: true, evicted: "a1" });
  // now a: 1, b: 1, c: 1: nobody holds more than a newcomer would
  assert.deepEqual(admission.admit("d", "d1"), {
    admitted: false,
    reason: "too many unauthenticated connections",
  });
  assert.equal(admission.unauthenticated, 3);
});

Deno.test("addressKey counts IPv4-mapped IPv6 addresses as IPv4", () => {
  assert.equal(addressKey("::ffff:10.1.2.3"), "10.1.2.3");
  assert.equal(addressKey("fd00::1"), "fd00::1");
  assert.equal(addressKey(undefined), "unknown");
});

Deno.test("RefusalLog: one line as it happens, then a summary per interval", () => {
  const lines: [string, Record<string, unknown>][] = [];
  const logger = {
    warn: (msg: string, fields: Record<string, unknown>) => lines.push([msg, fields]),
  } as unknown as Logger;
  const log = new RefusalLog(logger, 60_000);
  for (let i = 0; i < 1000; i++) log.refused(i % 10 === 0 ? "10.0.0.2" : "10.0.0.9", "session limit reached");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]![0], "connection refused");
  log.flush();
  assert.equal(lines.length, 2);
  assert.equal(lines[1]![0], "connections refused");
  assert.equal(lines[1]![1].count, 999);
  assert.deepEqual(lines[1]![1].addresses, { "10.0.0.9": 900, "10.0.0.2": 99 });
  log.flush(); // a quiet interval says nothing
  assert.equal(lines.length, 2);
  log.refused("10.0.0.3", "shutting down");
  assert.equal(lines.length, 3);
  log.close();
});
