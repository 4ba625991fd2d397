import assert from "node:assert/strict";
import {
  guardedPatch,
  isCutoverRecord,
  isLiveOnDr,
  keepingClaims,
  recordAndScaleToZero,
  recordAndSuspend,
  restoreReplicas,
  restoreSuspend,
  restoringClaims,
  setParked,
  setReplicas,
  setSuspend,
  sourceSuspend,
  standbyReplicas,
  type Workload,
  writesRecord,
} from "../../shared/plan/scale_decisions.ts";

function workload(
  spec: NonNullable<Workload["spec"]>,
  annotations: Record<string, string> = {},
  labels: Record<string, string> = {},
): Workload {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", annotations, labels }, spec };
}

Deno.test("scale decisions: recordAndScaleToZero records the live count in the same patch", () => {
  const change = recordAndScaleToZero(workload({ replicas: 3 }));
  assert.deepEqual(change?.patch, {
    metadata: { annotations: { "dr-syncer.io/original-replicas": "3" } },
    spec: { replicas: 0 },
  });
  assert.ok(writesRecord(change!));
  assert.equal(recordAndScaleToZero(workload({}))?.reason, "replicas 1 -> 0 (1 recorded)", "absent = 1");
});

Deno.test("scale decisions: recordAndScaleToZero trusts a record only while the object stands at zero", () => {
  assert.equal(
    recordAndScaleToZero(workload({ replicas: 0 }, { "dr-syncer.io/original-replicas": "4" })),
    undefined,
  );
  const stale = recordAndScaleToZero(workload({ replicas: 2 }, { "dr-syncer.io/original-replicas": "4" }));
  assert.equal(
    (stale?.patch.metadata as { annotations: Record<string, string> })
      .annotations["dr-syncer.io/original-replicas"],
    "2",
    "a record beside a live count is replaced by the live count",
  );
});

Deno.test("scale decisions: recordAndSuspend records suspend and is done once suspended with a record", () => {
  assert.deepEqual(recordAndSuspend(workload({ suspend: false }))?.patch, {
    metadata: { annotations: { "dr-syncer.io/original-suspend": "false" } },
    spec: { suspend: true },
  });
  assert.equal(
    recordAndSuspend(workload({ suspend: true }, { "dr-syncer.io/original-suspend": "false" })),
    undefined,
  );
});

Deno.test("scale decisions: restoreReplicas restores the recorded count and clears the record", () => {
  const change = restoreReplicas(workload({ replicas: 0 }, { "dr-syncer.io/original-replicas": "5" }));
  assert.deepEqual(change?.patch, {
    metadata: { annotations: { "dr-syncer.io/original-replicas": null } },
    spec: { replicas: 5 },
  });
  assert.equal(restoreReplicas(workload({ replicas: 0 })), undefined, "no record, nothing to restore");
  assert.equal(
    restoreReplicas(workload({ replicas: 0 }, { "dr-syncer.io/original-replicas": "2147483648" })),
    undefined,
    "a record above 2^31-1 is not a count",
  );
});

Deno.test("scale decisions: restoreSuspend and sourceSuspend read the recorded suspend", () => {
  const w = workload({ suspend: true }, { "dr-syncer.io/original-suspend": "false" });
  assert.deepEqual(restoreSuspend(w)?.patch.spec, { suspend: false });
  assert.equal(sourceSuspend(w), false);
  assert.equal(sourceSuspend(workload({}, { "dr-syncer.io/original-suspend": "true" })), true);
});

Deno.test("scale decisions: setReplicas and setSuspend send nothing when already there", () => {
  assert.equal(setReplicas(() => 3)(workload({ replicas: 3 })), undefined);
  assert.equal(setReplicas(() => undefined)(workload({ replicas: 3 })), undefined);
  assert.deepEqual(setReplicas(() => 0)(workload({ replicas: 3 }))?.patch, { spec: { replicas: 0 } });
  assert.equal(setSuspend(() => true)(workload({ suspend: true })), undefined);
  assert.equal(setSuspend(() => false)(workload({})), undefined, "absent suspend is false");
});

Deno.test("scale decisions: setParked adds and removes the parking nodeSelector", () => {
  const park = setParked(true)(workload({}));
  assert.deepEqual(park?.patch, {
    spec: { template: { spec: { nodeSelector: { "dr-syncer.io/disabled": "true" } } } },
  });
  const parked = workload({ template: { spec: { nodeSelector: { "dr-syncer.io/disabled": "true" } } } });
  assert.equal(setParked(true)(parked), undefined);
  assert.deepEqual(setParked(false)(parked)?.patch, {
    spec: { template: { spec: { nodeSelector: { "dr-syncer.io/disabled": null } } } },
  });
});

Deno.test("scale decisions: standbyReplicas takes a valid scale-override, else 0, else the recorded count", () => {
  const recorded = { "dr-syncer.io/original-replicas": "4" };
  assert.equal(standbyReplicas(true)(workload({}, recorded)), 0);
  assert.equal(standbyReplicas(false)(workload({}, recorded)), 4);
  assert.equal(standbyReplicas(true)(workload({}, recorded, { "dr-syncer.io/scale-override": "2" })), 2);
  assert.equal(standbyReplicas(true)(workload({}, recorded, { "dr-syncer.io/scale-override": "two" })), 0);
});

Deno.test("scale decisions: isCutoverRecord is a workload at zero with a recorded count", () => {
  assert.equal(isCutoverRecord(workload({ replicas: 0 }, { "dr-syncer.io/original-replicas": "3" })), true);
  assert.equal(isCutoverRecord(workload({ replicas: 3 }, { "dr-syncer.io/original-replicas": "3" })), false);
  assert.equal(isCutoverRecord(workload({ replicas: 0 })), false);
});

Deno.test("scale decisions: keepingClaims holds a StatefulSet's claims (whenScaled Delete -> Retain) as it goes down", () => {
  const sts: Workload = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", annotations: {} },
    spec: {
      replicas: 2,
      persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Retain" },
    },
  };
  const change = keepingClaims(recordAndScaleToZero)(sts);
  assert.deepEqual(change?.patch, {
    metadata: {
      annotations: {
        "dr-syncer.io/original-replicas": "2",
        "dr-syncer.io/original-pvc-retention-when-scaled": "Delete",
      },
    },
    spec: { replicas: 0, persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain" } },
  });
  const retained = {
    ...sts,
    spec: { ...sts.spec, persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain" } },
  };
  const retainedSpec = keepingClaims(recordAndScaleToZero)(retained)?.patch.spec as Record<string, unknown>;
  assert.equal(retainedSpec.persistentVolumeClaimRetentionPolicy, undefined, "Retain needs nothing");
  assert.equal(
    keepingClaims(setReplicas(() => 5))(sts)?.patch.metadata,
    undefined,
    "scaling up keeps the policy",
  );
});

Deno.test("scale decisions: restoringClaims puts the recorded policy back as the StatefulSet comes back", () => {
  const held: Workload = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: "db",
      annotations: {
        "dr-syncer.io/original-replicas": "2",
        "dr-syncer.io/original-pvc-retention-when-scaled": "Delete",
      },
    },
    spec: { replicas: 0, persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain" } },
  };
  assert.deepEqual(restoringClaims(restoreReplicas)(held)?.patch, {
    metadata: {
      annotations: {
        "dr-syncer.io/original-replicas": null,
        "dr-syncer.io/original-pvc-retention-when-scaled": null,
      },
    },
    spec: { replicas: 2, persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete" } },
  });
  const up = { ...held, spec: { ...held.spec, replicas: 2 } };
  assert.deepEqual(restoringClaims(setReplicas(() => 2))(up)?.patch.spec, {
    persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete" },
  }, "already at its count: only the policy comes back");
});

Deno.test("scale decisions: guardedPatch tests what the record depends on, so a status write is no conflict", () => {
  const live = workload({ replicas: 3 }, { "example.com/a": "b" });
  const ops = guardedPatch(recordAndScaleToZero(live)!, live);
  assert.deepEqual(ops, [
    { op: "test", path: "/spec/replicas", value: 3 },
    { op: "add", path: "/metadata/annotations/dr-syncer.io~1original-replicas", value: "3" },
    { op: "add", path: "/spec/replicas", value: 0 },
  ]);
  const held = workload({ replicas: 0 }, { "dr-syncer.io/original-replicas": "3" });
  assert.deepEqual(guardedPatch(restoreReplicas(held)!, held), [
    { op: "test", path: "/spec/replicas", value: 0 },
    { op: "test", path: "/metadata/annotations/dr-syncer.io~1original-replicas", value: "3" },
    { op: "remove", path: "/metadata/annotations/dr-syncer.io~1original-replicas" },
    { op: "add", path: "/spec/replicas", value: 3 },
  ]);
  const bare: Workload = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: { replicas: 2 },
  };
  assert.deepEqual(guardedPatch(recordAndScaleToZero(bare)!, bare)?.[1], {
    op: "add",
    path: "/metadata/annotations",
    value: { "dr-syncer.io/original-replicas": "2" },
  });
  const cron: Workload = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: {} };
  assert.equal(
    guardedPatch(recordAndSuspend(cron)!, cron),
    undefined,
    "other kinds keep the resourceVersion",
  );
});

Deno.test("scale decisions: a ReplicaSet or ReplicationController is scaled and guarded like a Deployment", () => {
  for (const [apiVersion, kind] of [["apps/v1", "ReplicaSet"], ["v1", "ReplicationController"]] as const) {
    const live: Workload = { apiVersion, kind, metadata: { name: "legacy" }, spec: { replicas: 2 } };
    const change = keepingClaims(recordAndScaleToZero)(live);
    assert.deepEqual(change?.patch, {
      metadata: { annotations: { "dr-syncer.io/original-replicas": "2" } },
      spec: { replicas: 0 },
    }, `${kind}: no claim retention to hold`);
    assert.deepEqual(
      guardedPatch(change!, live)?.[0],
      { op: "test", path: "/spec/replicas", value: 2 },
      kind,
    );
    const held: Workload = {
      ...live,
      metadata: { name: "legacy", annotations: { "dr-syncer.io/original-replicas": "2" } },
      spec: { replicas: 0 },
    };
    assert.deepEqual(restoringClaims(restoreReplicas)(held)?.patch.spec, { replicas: 2 }, kind);
  }
});

Deno.test("scale decisions: isLiveOnDr reads the way the kind stands by", () => {
  const recorded = { "dr-syncer.io/original-replicas": "3" };
  assert.equal(isLiveOnDr(workload({ replicas: 0 }, recorded), "replicas", true), false);
  assert.equal(isLiveOnDr(workload({ replicas: 3 }, recorded), "replicas", true), true);
  assert.equal(isLiveOnDr(workload({ replicas: 3 }, recorded), "replicas", false), false, "a warm standby");
  assert.equal(isLiveOnDr(workload({ suspend: true }), "suspend", true), false);
  assert.equal(isLiveOnDr(workload({}), "suspend", true), true);
  const parked = workload({ template: { spec: { nodeSelector: { "dr-syncer.io/disabled": "true" } } } });
  assert.equal(isLiveOnDr(parked, "park", true), false);
  assert.equal(isLiveOnDr(workload({}), "park", true), true);
});
