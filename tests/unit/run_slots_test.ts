import assert from "node:assert/strict";
import { RunSlots } from "../../functions/runtime/run_slots.ts";

const never = new AbortController().signal;

Deno.test("RunSlots: places up to the limit, then first come first served; a raised limit admits the waiting", async () => {
  let limit = 2;
  const slots = new RunSlots(() => limit);
  const first = await slots.take(never);
  await slots.take(never);
  const order: string[] = [];
  const waits: number[] = [];
  const third = slots.take(never, (ahead) => waits.push(ahead)).then((give) => (order.push("third"), give));
  const fourth = slots.take(never, (ahead) => waits.push(ahead)).then((give) => (order.push("fourth"), give));
  await Promise.resolve();
  assert.deepEqual({ busy: slots.busy, waiting: slots.waiting }, { busy: 2, waiting: 2 });
  assert.deepEqual(waits, [0, 1], "each was told how many wait ahead of it");
  first();
  first(); // giving back twice frees one place only
  await third;
  assert.deepEqual(order, ["third"]);
  assert.deepEqual({ busy: slots.busy, waiting: slots.waiting }, { busy: 2, waiting: 1 });
  limit = 3; // a reloaded config: read when a place is given back or taken
  (await third)();
  await fourth;
  assert.deepEqual(order, ["third", "fourth"]);
  assert.deepEqual({ busy: slots.busy, waiting: slots.waiting }, { busy: 2, waiting: 0 });
});

Deno.test("RunSlots: an abort takes a waiting run out of the line with the signal's reason", async () => {
  const slots = new RunSlots(() => 1);
  const held = await slots.take(never);
  const stop = new AbortController();
  const waiting = slots.take(stop.signal);
  stop.abort(new Error("draining"));
  await assert.rejects(waiting, /draining/);
  assert.equal(slots.waiting, 0);
  held();
  assert.equal(slots.busy, 0);
  await assert.rejects(slots.take(stop.signal), /draining/, "an aborted signal gets no place");
});
