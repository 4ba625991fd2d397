/**
 * The CronJob form's jobs (`infra/schedule_jobs.ts`) are the schedule's (`functions/cron/scheduled_jobs.ts`,
 * which `dr-syncer run-job --job NAME` looks the name up in; infra cannot import the edges), and their
 * CronJobs are named within Kubernetes' limits.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../shared/config/mod.ts";
import { scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import { scheduleJobs } from "../../infra/schedule_jobs.ts";
import { cronJobName } from "../../infra/names.ts";
import { renderCluster, renderNotes } from "../../infra/render.ts";
import type { KubeObject } from "../../shared/kube/types.ts";

const repl = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  source: { cluster: "p", namespace: name.slice(0, 63) },
  destination: { cluster: "d" },
  ...extra,
});

const CONFIG = loadConfig(
  JSON.stringify({
    clusters: [{ name: "p", kubeconfig: { path: "p" } }, { name: "d", kubeconfig: { path: "d" } }],
    runtime: { cronJobs: true },
    replications: [
      repl("shop", { schedule: "*/5 * * * *", pvc: { schedule: "0 * * * *" } }),
      repl("manual", { pvc: { schedule: "0 * * * *" } }),
      repl("live", { mode: "continuous" }),
      repl("live-timed", {
        mode: "continuous",
        schedule: "*/2 * * * *",
        pvc: { enabled: false, schedule: "0 * * * *" },
      }),
      repl("a".repeat(54), { schedule: "0 0 * * *", pvc: { schedule: "0 1 * * *" } }),
      repl("b".repeat(63), { schedule: "0 0 * * *", pvc: { schedule: "0 1 * * *" } }),
    ],
  }),
  "test",
);

Deno.test("the CronJob form's jobs are the schedule's: names, schedules, operations", () => {
  assert.deepEqual(scheduleJobs(CONFIG.replications), scheduledJobs(CONFIG.replications));
  assert.deepEqual(scheduleJobs(CONFIG.replications).map((j) => j.name).slice(0, 5), [
    "stage-shop",
    "pvc-sync-shop",
    "pvc-sync-manual",
    "stage-live",
    "stage-live-timed",
  ]);
});

Deno.test("render: a CronJob per job, named within 52 characters, the job in an annotation, run-job its command", () => {
  const cronJobs = renderCluster(CONFIG, "d").objects.filter((o) => o.kind === "CronJob") as (KubeObject & {
    spec: {
      schedule: string;
      jobTemplate: {
        spec: { backoffLimit: number; template: { spec: { containers: { args: string[] }[] } } };
      };
    };
  })[];
  const jobs = scheduleJobs(CONFIG.replications);
  assert.equal(cronJobs.length, jobs.length);
  for (const job of jobs) {
    const cronJob = cronJobs.find((c) => c.metadata.annotations?.["dr-syncer.io/job"] === job.name)!;
    assert.equal(cronJob.metadata.name, cronJobName(job.name));
    assert.ok(cronJob.metadata.name.length <= 52, cronJob.metadata.name);
    assert.match(cronJob.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(cronJob.spec.schedule, job.schedule);
    assert.equal(cronJob.metadata.labels?.["dr-syncer.io/operation"], job.operation);
    assert.equal(cronJob.spec.jobTemplate.spec.backoffLimit, 0, "a retry would only find the slot's record");
    assert.deepEqual(cronJob.spec.jobTemplate.spec.template.spec.containers[0]!.args.slice(-2), [
      "--job",
      job.name,
    ]);
  }
  assert.equal(new Set(cronJobs.map((c) => c.metadata.name)).size, cronJobs.length, "distinct names");
  assert.equal(cronJobName("stage-shop"), "dr-syncer-stage-shop");
});

Deno.test("render: the CronJob form says what it does not do (no watcher; no schedule, no rights)", () => {
  const notes = renderNotes(CONFIG);
  assert.ok(
    notes.some((n) =>
      /replication "live" is continuous, but the CronJob form .* has no watcher.*"\*\/10 \* \* \* \*"/.test(n)
    ),
  );
  assert.ok(notes.some((n) => /replication "live-timed" is continuous.*"\*\/2 \* \* \* \*"/.test(n)));
  assert.ok(!notes.some((n) => n.includes('"manual"')), "manual has a pvc-sync job");
  assert.deepEqual(renderNotes({ ...CONFIG, runtime: { ...CONFIG.runtime, cronJobs: false } }), []);
});
