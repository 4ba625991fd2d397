import assert from "node:assert/strict";
import { replicationRpo, scheduleTimes } from "../../shared/runs/mod.ts";

const now = new Date("2026-03-01T12:07:30Z");
const minutes = (n: number) => new Date(now.getTime() - n * 60_000).toISOString();
const every5 = 5 * 60_000;

Deno.test("rpo: the age of the last good sync over the interval; warning from 2, critical from 3", () => {
  assert.deepEqual(replicationRpo({ lastGoodSync: minutes(5), intervalMs: every5 }, now), {
    ageSeconds: 300,
    intervalSeconds: 300,
    ratio: 1,
    level: "ok",
  });
  assert.equal(replicationRpo({ lastGoodSync: minutes(10), intervalMs: every5 }, now).level, "warning");
  assert.equal(replicationRpo({ lastGoodSync: minutes(14.9), intervalMs: every5 }, now).level, "warning");
  assert.equal(replicationRpo({ lastGoodSync: minutes(15), intervalMs: every5 }, now).level, "critical");
  assert.equal(replicationRpo({ intervalMs: every5 }, now).level, "critical", "never synced");
  assert.equal(replicationRpo({ lastGoodSync: minutes(1) }, now).level, "none", "manual");
  assert.equal(
    replicationRpo({ lastGoodSync: minutes(60), intervalMs: every5, cutOver: true }, now).ratio,
    null,
  );
});

Deno.test("schedule times: the slot of a tick, the next run and the interval (UTC)", () => {
  const t = scheduleTimes("*/5 * * * *", now);
  assert.equal(t.previous?.toISOString(), "2026-03-01T12:05:00.000Z");
  assert.equal(t.next?.toISOString(), "2026-03-01T12:10:00.000Z");
  assert.equal(t.intervalMs, every5);
  // a tick that fires a little early still maps to its own slot
  assert.equal(
    scheduleTimes("*/5 * * * *", new Date("2026-03-01T12:09:58Z")).previous?.toISOString(),
    "2026-03-01T12:10:00.000Z",
  );
  assert.equal(
    scheduleTimes("0 9 * * 1-5", new Date("2026-03-06T10:00:00Z")).intervalMs,
    3 * 24 * 3600_000,
    "Friday to Monday",
  );
});
