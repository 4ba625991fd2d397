import assert from "node:assert/strict";
import {
  cutoverAlreadyDone,
  cutoverTracesRefusal,
  failbackAlreadyDone,
  failbackRefusal,
  stageRefusal,
} from "../../shared/state/refusals.ts";
import { INITIAL_STATE, type ReplicationState } from "../../shared/state/replication_state.ts";

const cutOver: ReplicationState = { activeSide: "dr", lastSuccess: {} };
const halfCutOver: ReplicationState = {
  activeSide: "source",
  lastSuccess: {},
  progress: { operation: "cutover", steps: ["final-stage"] },
};

Deno.test("refusals: stage refuses while cut over or while a cutover is unfinished, unless forced", () => {
  assert.equal(stageRefusal("shop", INITIAL_STATE, false), undefined);
  assert.match(
    stageRefusal("shop", cutOver, false)!,
    /cut over to DR: staging would scale the live side to zero/,
  );
  assert.match(
    stageRefusal("shop", halfCutOver, false)!,
    /unfinished cutover \(done: final-stage\): run cutover again/,
  );
  assert.equal(stageRefusal("shop", cutOver, true), undefined);
});

Deno.test("refusals: stage refuses over source workloads a cutover left at zero, naming three", () => {
  assert.equal(cutoverTracesRefusal("shop", [], false), undefined);
  const message = cutoverTracesRefusal("shop", [
    "Deployment/a",
    "Deployment/b",
    "Deployment/c",
    "Deployment/d",
  ], false);
  assert.match(message!, /\(Deployment\/a, Deployment\/b, Deployment\/c, \.\.\.\)/);
  assert.equal(cutoverTracesRefusal("shop", ["Deployment/a"], true), undefined);
});

Deno.test("refusals: a finished cutover or failback repeats with nothing to do; an unfinished one goes on", () => {
  assert.match(cutoverAlreadyDone(cutOver)!, /already cut over: DR is the active side; nothing to do/);
  assert.equal(cutoverAlreadyDone({ ...cutOver, progress: { operation: "cutover", steps: [] } }), undefined);
  assert.equal(cutoverAlreadyDone(halfCutOver), undefined);
  assert.equal(cutoverAlreadyDone(INITIAL_STATE), undefined);
  const failedBack: ReplicationState = {
    activeSide: "source",
    lastSuccess: { failback: "2026-11-30T10:00:00Z" },
  };
  assert.match(failbackAlreadyDone(failedBack)!, /already failed back/);
  assert.equal(failbackAlreadyDone(INITIAL_STATE), undefined, "never cut over: not a repeat");
  assert.equal(failbackAlreadyDone(cutOver), undefined);
});

Deno.test("refusals: failback refuses when nothing was cut over", () => {
  assert.match(failbackRefusal("shop", INITIAL_STATE, false)!, /not cut over: the source is the active side/);
  assert.equal(failbackRefusal("shop", cutOver, false), undefined);
  assert.equal(
    failbackRefusal("shop", halfCutOver, false),
    undefined,
    "an unfinished cutover can be failed back",
  );
  assert.equal(failbackRefusal("shop", INITIAL_STATE, true), undefined);
});
