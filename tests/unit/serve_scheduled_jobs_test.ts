import assert from "node:assert/strict";
import { loadConfig } from "../../shared/config/mod.ts";
import { CONTINUOUS_SAFETY_NET_SCHEDULE, scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";

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
