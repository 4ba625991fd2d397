import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import { filterObject, hasNoSelector, isOwned } from "../../shared/plan/filter_object.ts";
import {
  kindRuleFor,
  OWN_OBJECT_ANNOTATIONS,
  OWN_OBJECT_LABELS,
  RUN_RECORD_NAME_PREFIX,
} from "../../shared/plan/kind_rules.ts";
import { runRecordObject } from "../../shared/runs/run_record.ts";
import { ANNOTATION_STATE } from "../../shared/state/replication_state.ts";
import {
  configMap,
  customResource,
  deployment,
  endpoints,
  externalNameService,
  finishedJob,
  headlessService,
  helmReleaseSecret,
  job,
  nodePortService,
  ownedPod,
  secret,
  selectorlessService,
  serviceAccount,
  TYPES,
} from "./_fixtures.ts";

function labelled(obj: KubeObject, labels: Record<string, string>): KubeObject {
  obj.metadata.labels = { ...obj.metadata.labels, ...labels };
  return obj;
}

Deno.test("copies an ordinary object", () => {
  assert.equal(filterObject(deployment(), TYPES.deployments), undefined);
  assert.equal(filterObject(configMap(), TYPES.configmaps), undefined);
  assert.equal(filterObject(customResource(), TYPES.widgets), undefined);
});

Deno.test("skips an object with ownerReferences, naming its controller", () => {
  assert.equal(filterObject(ownedPod(), TYPES.pods), 'owned by ReplicaSet "web-5d9c7b8f4"');
  const cm = configMap("web-cache");
  cm.metadata.ownerReferences = [{ apiVersion: "example.com/v1", kind: "Widget", name: "blue", uid: "u-1" }];
  assert.equal(filterObject(cm, TYPES.configmaps), 'owned by Widget "blue"');
});

Deno.test("skips a Job created by a CronJob", () => {
  const owned = job("nightly-report-29461320");
  owned.metadata.ownerReferences = [{
    apiVersion: "batch/v1",
    kind: "CronJob",
    name: "nightly-report",
    uid: "c0ffee00-0000-4000-8000-000000000001",
    controller: true,
  }];
  assert.equal(filterObject(owned, TYPES.jobs), 'owned by CronJob "nightly-report"');
});

Deno.test("never copies Pods, Events, EndpointSlices, Leases or PersistentVolumes, even unowned", () => {
  const bare = (apiVersion: string, kind: string): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name: "x" },
  });
  assert.equal(filterObject(bare("v1", "Pod"), TYPES.pods), "Pods are never copied (their owners are)");
  assert.equal(filterObject(bare("v1", "Event"), TYPES.events), "Events are never copied");
  assert.equal(filterObject(bare("events.k8s.io/v1", "Event"), TYPES.eventsV1), "Events are never copied");
  assert.equal(
    filterObject(bare("discovery.k8s.io/v1", "EndpointSlice"), TYPES.endpointslices),
    "EndpointSlices are maintained by Kubernetes",
  );
  assert.equal(
    filterObject(bare("coordination.k8s.io/v1", "Lease"), TYPES.leases),
    "Leases are never copied",
  );
  assert.equal(
    filterObject(bare("v1", "PersistentVolume"), TYPES.persistentvolumes),
    "PersistentVolumes are never copied",
  );
});

Deno.test("skips the Endpoints Kubernetes maintains for a Service with a selector", () => {
  const context = { servicesWithoutSelector: new Set(["legacy-db"]) };
  assert.equal(
    filterObject(endpoints("shop-api"), TYPES.endpoints, context),
    "Endpoints are maintained by Kubernetes unless their Service has no selector",
  );
});

Deno.test("copies the manual Endpoints of a Service without selector", () => {
  const context = { servicesWithoutSelector: new Set(["legacy-db"]) };
  assert.equal(filterObject(endpoints("legacy-db"), TYPES.endpoints, context), undefined);
  assert.notEqual(
    filterObject(endpoints("legacy-db"), TYPES.endpoints),
    undefined,
    "unknown Service: skipped",
  );
});

Deno.test("tells Services without selector apart", () => {
  assert.equal(hasNoSelector(selectorlessService()), true);
  assert.equal(hasNoSelector(nodePortService()), false);
  assert.equal(hasNoSelector(headlessService()), false);
  assert.equal(hasNoSelector(externalNameService()), false, "an ExternalName Service has no Endpoints");
});

Deno.test("skips the kube-root-ca.crt ConfigMap and the default ServiceAccount", () => {
  const reason = "created by Kubernetes in every namespace";
  assert.equal(filterObject(configMap("kube-root-ca.crt"), TYPES.configmaps), reason);
  assert.equal(filterObject(serviceAccount("default"), TYPES.serviceaccounts), reason);
  assert.equal(filterObject(serviceAccount("web"), TYPES.serviceaccounts), undefined);
});

Deno.test("skips service account token Secrets", () => {
  const token = secret("web-token", "kubernetes.io/service-account-token", {
    annotations: { "kubernetes.io/service-account.name": "web" },
  });
  assert.equal(filterObject(token, TYPES.secrets), "service account token Secrets are created by Kubernetes");
  assert.equal(filterObject(secret("db-password", "Opaque"), TYPES.secrets), undefined);
});

Deno.test("copies Helm release Secrets", () => {
  assert.equal(filterObject(helmReleaseSecret(), TYPES.secrets), undefined);
});

Deno.test("skips an object being deleted", () => {
  const cm = configMap();
  cm.metadata.deletionTimestamp = "2026-01-12T10:00:00Z";
  cm.metadata.finalizers = ["example.com/cleanup"];
  assert.equal(filterObject(cm, TYPES.configmaps), "being deleted");
});

Deno.test("skips an object labelled dr-syncer.io/ignore", () => {
  assert.equal(
    filterObject(labelled(deployment(), { "dr-syncer.io/ignore": "true" }), TYPES.deployments),
    "labelled dr-syncer.io/ignore",
  );
  assert.equal(
    filterObject(labelled(deployment(), { "dr-syncer.io/ignore": "false" }), TYPES.deployments),
    undefined,
  );
});

Deno.test("skips finished Jobs and copies a running Job without owner", () => {
  assert.equal(filterObject(finishedJob("Complete"), TYPES.jobs), "completed Job");
  assert.equal(filterObject(finishedJob("Failed"), TYPES.jobs), "failed Job");
  const older = finishedJob("Complete");
  older.status = { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] };
  assert.equal(filterObject(older, TYPES.jobs), "completed Job");
  assert.equal(filterObject(job(), TYPES.jobs), undefined);
});

Deno.test("skips a Deployment's ReplicaSet but copies an unowned one", () => {
  const rs = deployment("legacy");
  rs.kind = "ReplicaSet";
  assert.equal(filterObject(rs, TYPES.replicasets), undefined);
  assert.equal(isOwned(rs), false);
  rs.metadata.ownerReferences = [{
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "web",
    uid: "u-2",
    controller: true,
  }];
  assert.equal(filterObject(rs, TYPES.replicasets), 'owned by Deployment "web"');
  assert.equal(isOwned(rs), true);
});

Deno.test("never copies an object with dr-syncer's own record or lock marks, whatever its kind or name", () => {
  const recordLabels = {
    "app.kubernetes.io/managed-by": "dr-syncer",
    "app.kubernetes.io/component": "run-record",
    "dr-syncer.io/run-of": "shop",
  };
  assert.match(
    filterObject(labelled(configMap("innocent"), recordLabels), TYPES.configmaps) ?? "",
    /^carries dr-syncer's own label dr-syncer\.io\/run-of: .*never copied/,
  );
  assert.match(
    filterObject(
      labelled(secret("s", "Opaque"), { "app.kubernetes.io/component": "run-record" }),
      TYPES.secrets,
    ) ?? "",
    /own label app\.kubernetes\.io\/component=run-record/,
  );
  for (const annotation of ["dr-syncer.io/run-summary", "dr-syncer.io/state"]) {
    const cm = configMap("x");
    cm.metadata.annotations = { [annotation]: "{}" };
    assert.match(filterObject(cm, TYPES.configmaps) ?? "", new RegExp(`own annotation ${annotation}`));
  }
  assert.match(
    filterObject(configMap(`dr-syncer-run-${crypto.randomUUID()}`), TYPES.configmaps) ?? "",
    /^named like a dr-syncer run record \(dr-syncer-run-\.\.\.\)/,
  );
  // the allowed cases: other components, a copy's managed-by label, an ordinary name
  assert.equal(
    filterObject(labelled(configMap(), { "app.kubernetes.io/component": "frontend" }), TYPES.configmaps),
    undefined,
  );
  assert.equal(
    filterObject(labelled(deployment(), { "app.kubernetes.io/managed-by": "dr-syncer" }), TYPES.deployments),
    undefined,
    "a copy of a copy (a chained replication) is still copied",
  );
  assert.equal(filterObject(configMap("dr-syncer-runbook"), TYPES.configmaps), undefined);
});

Deno.test("the earlier DR copy of an object with dr-syncer's own marks is deleted by stage", () => {
  const rule = kindRuleFor(TYPES.configmaps);
  const marked = labelled(configMap("innocent"), { "dr-syncer.io/run-of": "shop" });
  assert.match(rule.removeCopy?.(marked) ?? "", /could pass for a run record/);
  assert.match(rule.removeCopy?.(configMap(`dr-syncer-run-${crypto.randomUUID()}`)) ?? "", /run record/);
  assert.equal(rule.removeCopy?.(configMap()), undefined);
});

Deno.test("the marks stage refuses are those the run records and the lock's Lease carry", () => {
  const record = runRecordObject("dr", {
    runId: crypto.randomUUID(),
    replication: "shop",
    operation: "stage",
    trigger: "http",
    dryRun: false,
    status: "running",
    startedAt: new Date().toISOString(),
  });
  assert.ok(record.metadata.name.startsWith(RUN_RECORD_NAME_PREFIX));
  for (const [key, value] of Object.entries(record.metadata.labels ?? {})) {
    if (key === "app.kubernetes.io/managed-by") continue; // every copy carries it too
    assert.ok(key in OWN_OBJECT_LABELS, key);
    assert.ok([undefined, value].includes(OWN_OBJECT_LABELS[key]), key);
  }
  for (const key of Object.keys(record.metadata.annotations ?? {})) {
    assert.ok(OWN_OBJECT_ANNOTATIONS.includes(key));
  }
  assert.ok(OWN_OBJECT_ANNOTATIONS.includes(ANNOTATION_STATE));
  assert.equal(filterObject(record, TYPES.configmaps) !== undefined, true);
});
