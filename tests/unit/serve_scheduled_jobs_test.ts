import assert from "node:assert/strict";
import { loadConfig } from "../../shared/config/mod.ts";
import { CONTINUOUS_SAFETY_NET_SCHEDULE, scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import { dueSlot } from "../../functions/cron/schedule_tick.ts";

Deno.test("scheduled jobs: a stage per scheduled or continuous replication, a pvc-sync per PVC schedule", () => {
  const long = "a".repeat(63);
  const config = loadConfig(
    JSON.stringify({
      clusters: [{ name: "p", kubeconfig: { path: "p" } }, { name: "d", kubeconfig: { path: "d" } }],
      replications: [
        {
          name: "shop",
          source: { cluster: "p", namespace: "shop" },
          destination: { cluster: "d" },
          schedule: "*/5 * * * *",
          pvc: { schedule: "0 * * * *" },
        },
        { name: "manual", source: { cluster: "p", namespace: "m" }, destination: { cluster: "d" } },
        {
          name: "live",
          source: { cluster: "p", namespace: "l" },
          destination: { cluster: "d" },
          mode: "continuous",
        },
        {
          name: long,
          source: { cluster: "p", namespace: "x" },
          destination: { cluster: "d" },
          schedule: "0 0 * * *",
        },
      ],
    }),
    "test",
  );
  const jobs = scheduledJobs(config.replications);
  assert.deepEqual(jobs.slice(0, 3), [
    { name: "stage-shop", schedule: "*/5 * * * *", replication: "shop", operation: "stage" },
    { name: "pvc-sync-shop", schedule: "0 * * * *", replication: "shop", operation: "pvc-sync" },
    { name: "stage-live", schedule: CONTINUOUS_SAFETY_NET_SCHEDULE, replication: "live", operation: "stage" },
  ]);
  assert.equal(jobs[3]!.replication, long);
  assert.ok(jobs[3]!.name.length <= 64 && /^[\w-]+$/.test(jobs[3]!.name), jobs[3]!.name);
  assert.equal(new Set(jobs.map((j) => j.name)).size, jobs.length);
});

Deno.test("schedule tick: a job is due in its minute, a missed slot is caught up once, never twice", () => {
  const every5 = {
    name: "stage-shop",
    schedule: "*/5 * * * *",
    replication: "shop",
    operation: "stage",
  } as const;
  const at = (t: string) => new Date(`2026-12-07T${t}Z`);
  // the first tick after start runs only what is due this minute
  assert.equal(dueSlot(every5, at("10:05:00.300"), undefined)?.toISOString(), at("10:05:00").toISOString());
  assert.equal(dueSlot(every5, at("10:07:00.300"), undefined), undefined);
  // ticks every minute: due at 10:10, not at 10:11
  assert.equal(
    dueSlot(every5, at("10:10:00.200"), at("10:09:00.100"))?.toISOString(),
    "2026-12-07T10:10:00.000Z",
  );
  assert.equal(dueSlot(every5, at("10:11:00.200"), at("10:10:00.200")), undefined);
  // the ticks of 10:15 and 10:16 were missed (a busy or stopped process): 10:17 catches up the 10:15 slot once
  assert.equal(
    dueSlot(every5, at("10:17:00.100"), at("10:14:00.100"))?.toISOString(),
    "2026-12-07T10:15:00.000Z",
  );
  assert.equal(dueSlot(every5, at("10:18:00.100"), at("10:17:00.100")), undefined, "not twice");
  // a tick that fires a moment early still maps to its slot
  assert.equal(
    dueSlot(every5, at("10:19:59.000"), at("10:19:00.000"))?.toISOString(),
    "2026-12-07T10:20:00.000Z",
  );
});
