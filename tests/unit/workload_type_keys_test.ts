import assert from "node:assert/strict";
import { workloadTypeKeys } from "../../shared/plan/replication_spec.ts";

Deno.test("workloadTypeKeys: the workload types a replication copies, from its names alone", () => {
  const all = ["cronjobs.batch", "daemonsets.apps", "deployments.apps", "jobs.batch", "statefulsets.apps"];
  assert.deepEqual([...workloadTypeKeys({})].sort(), all, "the defaults copy every workload type");
  assert.deepEqual([...workloadTypeKeys({ resourceTypes: ["configmaps", "Deploy", "sts", "pvc"] })].sort(), [
    "deployments.apps",
    "statefulsets.apps",
  ]);
  assert.deepEqual([...workloadTypeKeys({ resourceTypes: ["deployments.apps", "cronjob.batch"] })].sort(), [
    "cronjobs.batch",
    "deployments.apps",
  ]);
  assert.deepEqual(
    [...workloadTypeKeys({ excludeResourceTypes: ["jobs", "ds"] })].sort(),
    ["cronjobs.batch", "deployments.apps", "statefulsets.apps"],
  );
  assert.deepEqual([...workloadTypeKeys({ resourceTypes: ["configmaps"] })], []);
});
