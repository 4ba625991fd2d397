import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import { buildDesiredState } from "../../shared/plan/build_desired_state.ts";
import { contentHash } from "../../shared/plan/content_hash.ts";
import type {
  DesiredState,
  PlanEntry,
  PlanSyncOptions,
  SyncPlan,
  TransformContext,
  TypedObjects,
} from "../../shared/plan/contracts.ts";
import { mergePlans, planSync, pruneLimitRefusal } from "../../shared/plan/plan_sync.ts";
import {
  at,
  configMap,
  cronJob,
  customResource,
  deployment,
  hpa,
  ingress,
  job,
  namespace,
  nodePortService,
  pvc,
  roleBinding,
  secret,
  serviceAccount,
  transformContext,
  TYPES,
} from "./_fixtures.ts";

const OPTIONS: PlanSyncOptions = { prune: true, sourceCluster: "prod", sourceNamespace: "shop" };

function desiredOf(items: readonly TypedObjects[], ctx: Partial<TransformContext> = {}): DesiredState {
  return buildDesiredState({ namespace: namespace(), items }, transformContext(ctx));
}

let drResourceVersion = 900;
/** What the DR API server returns after a server-side apply of `obj`: server fields and defaults added. */
function applied(obj: KubeObject): KubeObject {
  drResourceVersion += 1;
  return {
    ...structuredClone(obj),
    metadata: {
      ...structuredClone(obj.metadata),
      uid: `dr-${obj.metadata.name}`,
      resourceVersion: String(drResourceVersion),
      creationTimestamp: "2026-01-12T09:30:00Z",
      managedFields: [{
        manager: "dr-syncer",
        operation: "Apply",
        apiVersion: obj.apiVersion,
        fieldsType: "FieldsV1",
      }],
    },
    status: {},
  };
}

/** DR after applying every create and update of `plan` on top of `before`. */
function drAfter(plan: SyncPlan, before: readonly TypedObjects[] = []): TypedObjects[] {
  const byType = new Map(before.map((t) => [t.type, new Map(t.objects.map((o) => [o.metadata.name, o]))]));
  for (const entry of plan.entries) {
    const objects = byType.get(entry.type) ?? new Map<string, KubeObject>();
    byType.set(entry.type, objects);
    if (entry.desired && (entry.action === "create" || entry.action === "update")) {
      objects.set(entry.name, applied(entry.desired));
    }
    if (entry.action === "prune") objects.delete(entry.name);
  }
  return [...byType].map(([type, objects]) => ({ type, objects: [...objects.values()] }));
}

function actions(plan: SyncPlan): string[] {
  return plan.entries.map((e) => `${e.action} ${e.type.kind}/${e.name}`);
}

function entry(plan: SyncPlan, kind: string, name: string): PlanEntry {
  const found = plan.entries.find((e) => e.type.kind === kind && e.name === name);
  assert.ok(found, `no entry for ${kind}/${name}`);
  return found;
}

/** A DR object that dr-syncer copied from `cluster`/`namespace`. */
function copiedFrom(obj: KubeObject, cluster = "prod", ns = "shop"): KubeObject {
  return applied({
    ...obj,
    metadata: {
      name: obj.metadata.name,
      namespace: "shop-dr",
      labels: { "app.kubernetes.io/managed-by": "dr-syncer" },
      annotations: { "dr-syncer.io/source-cluster": cluster, "dr-syncer.io/source-namespace": ns },
    },
  });
}

Deno.test("creates what DR lacks, with the content hash of the desired object", () => {
  const desired = desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]);
  const plan = planSync(desired, [], OPTIONS);
  assert.deepEqual(actions(plan), ["create ConfigMap/web-config"]);
  const [created] = plan.entries;
  const outcome = desired.entries[0]?.outcome;
  assert.ok(outcome?.action === "copy");
  assert.equal(
    created?.desired?.metadata.annotations?.["dr-syncer.io/content-hash"],
    contentHash(outcome.object),
  );
  assert.equal(created?.namespace, "shop-dr");
  assert.equal(plan.namespace, desired.namespace);
});

Deno.test("a re-run over an unchanged namespace makes zero writes", () => {
  const source = (): TypedObjects[] => [
    { type: TYPES.configmaps, objects: [configMap()] },
    { type: TYPES.services, objects: [nodePortService()] },
    { type: TYPES.persistentvolumeclaims, objects: [pvc()] },
    { type: TYPES.deployments, objects: [deployment()] },
    { type: TYPES.cronjobs, objects: [cronJob()] },
  ];
  const first = planSync(desiredOf(source()), [], OPTIONS);
  assert.equal(first.entries.filter((e) => e.action === "create").length, 5);

  // The source moved on without changing content: new resourceVersions, new status.
  const later = source();
  for (const { objects } of later) {
    for (const obj of objects) {
      obj.metadata.resourceVersion = `${obj.metadata.resourceVersion}0`;
      obj.status = { observedGeneration: 4 };
    }
  }
  const second = planSync(desiredOf(later), drAfter(first), OPTIONS);
  assert.deepEqual(second.entries.map((e) => e.action), Array(5).fill("unchanged"));
  assert.ok(second.entries.every((e) => e.desired === undefined && e.current !== undefined));
});

Deno.test("an unchanged entry keeps only the identity of the DR object, not the listed object", () => {
  const first = planSync(desiredOf([{ type: TYPES.deployments, objects: [deployment()] }]), [], OPTIONS);
  const dr = drAfter(first);
  const listed = dr[0]?.objects[0];
  assert.ok(listed);
  const plan = planSync(desiredOf([{ type: TYPES.deployments, objects: [deployment()] }]), dr, OPTIONS);
  assert.deepEqual(actions(plan), ["unchanged Deployment/web"]);
  assert.deepEqual(plan.entries[0]?.current, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "shop-dr",
      uid: "dr-web",
      resourceVersion: listed.metadata.resourceVersion,
    },
  });
  assert.equal(plan.entries[0]?.desired, undefined);
});

Deno.test("updates an object whose source changed", () => {
  const first = planSync(desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]), [], OPTIONS);
  const changed = configMap();
  changed.data = { LOG_LEVEL: "debug" };
  const plan = planSync(desiredOf([{ type: TYPES.configmaps, objects: [changed] }]), drAfter(first), OPTIONS);
  assert.deepEqual(actions(plan), ["update ConfigMap/web-config"]);
  assert.equal(plan.entries[0]?.reason, "changed since the last sync");
  assert.deepEqual(plan.entries[0]?.desired?.data, { LOG_LEVEL: "debug" });
});

Deno.test("updates when the replication's options change the transformed object", () => {
  const items = [{ type: TYPES.deployments, objects: [deployment()] }];
  const first = planSync(desiredOf(items), [], OPTIONS);
  const plan = planSync(desiredOf(items, { scaleToZero: false }), drAfter(first), OPTIONS);
  assert.deepEqual(actions(plan), ["update Deployment/web"]);
  assert.equal(at(plan.entries[0]?.desired, "spec", "replicas"), 3);
});

Deno.test("leaves alone an object dr-syncer did not create, as an error naming the adopt option", () => {
  const existing = applied({ ...configMap(), metadata: { name: "web-config", namespace: "shop-dr" } });
  const plan = planSync(
    desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]),
    [{ type: TYPES.configmaps, objects: [existing] }],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), ["error ConfigMap/web-config"]);
  assert.equal(
    plan.entries[0]?.reason,
    "It exists on DR but dr-syncer did not create it: left alone; set adopt (--adopt) to take it over",
  );
  assert.equal(plan.entries[0]?.desired, undefined, "nothing to write");
});

Deno.test("adopts an object dr-syncer did not create when asked, as an update", () => {
  const existing = applied({ ...configMap(), metadata: { name: "web-config", namespace: "shop-dr" } });
  const plan = planSync(
    desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]),
    [{ type: TYPES.configmaps, objects: [existing] }],
    { ...OPTIONS, adopt: true },
  );
  assert.deepEqual(actions(plan), ["update ConfigMap/web-config"]);
  assert.equal(plan.entries[0]?.reason, "adopting it: it exists on DR but dr-syncer did not create it");
  assert.equal(plan.entries[0]?.current, existing);
});

Deno.test("leaves alone an object another replication copied, and takes it over only when asked", () => {
  const existing = copiedFrom(configMap(), "staging", "shop");
  const desired = desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]);
  const held = [{ type: TYPES.configmaps, objects: [existing] }];
  const refused = planSync(desired, held, OPTIONS);
  assert.equal(refused.entries[0]?.action, "error");
  assert.match(refused.entries[0]!.reason!, /copy from namespace "shop" of cluster "staging": left alone/);
  const plan = planSync(desired, held, { ...OPTIONS, adopt: true });
  assert.equal(plan.entries[0]?.action, "update");
  assert.equal(
    plan.entries[0]?.reason,
    'adopting it: it exists on DR as a copy from namespace "shop" of cluster "staging"',
  );
});

Deno.test("updates its own copy whose managed-by label was changed on DR (Helm after a cutover)", () => {
  const existing = copiedFrom(configMap());
  existing.metadata.labels = { "app.kubernetes.io/managed-by": "Helm" };
  const plan = planSync(
    desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]),
    [{ type: TYPES.configmaps, objects: [existing] }],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), ["update ConfigMap/web-config"]);
  assert.equal(plan.entries[0]?.reason, "its managed-by label was changed on DR");
});

Deno.test("reports skips and errors without writing, carrying reasons and errors", () => {
  const badOverride = deployment("api");
  badOverride.metadata.labels = { ...badOverride.metadata.labels, "dr-syncer.io/scale-override": "lots" };
  const plan = planSync(
    desiredOf([
      { type: TYPES.configmaps, objects: [configMap("kube-root-ca.crt")] },
      { type: TYPES.persistentvolumeclaims, objects: [pvc()] },
      { type: TYPES.deployments, objects: [badOverride] },
    ], { destStorageClasses: new Set(["standard"]) }),
    [],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), [
    "skip ConfigMap/kube-root-ca.crt",
    "error PersistentVolumeClaim/uploads",
    "create Deployment/api",
  ]);
  assert.equal(plan.entries[0]?.reason, "created by Kubernetes in every namespace");
  assert.match(plan.entries[1]?.reason ?? "", /^StorageClass "fast" does not exist on the DR cluster/);
  assert.equal(plan.entries[1]?.desired, undefined);
  assert.deepEqual(plan.entries[2]?.errors, [
    'Label dr-syncer.io/scale-override must be a non-negative integer, not "lots": DR gets 0 replicas',
  ]);
});

Deno.test("never shrinks a DR claim: keeps its size and warns", () => {
  const first = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "50Gi")] }]),
    [],
    OPTIONS,
  );
  const dr = drAfter(first);
  const plan = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "20Gi")] }]),
    dr,
    OPTIONS,
  );
  const claim = entry(plan, "PersistentVolumeClaim", "uploads");
  const warning =
    'The source claim requests "20Gi", less than the "50Gi" of the DR claim: keeping "50Gi" (a claim cannot shrink)';
  assert.equal(claim.action, "unchanged", "the claim as applied already has 50Gi");
  assert.deepEqual(claim.warnings, [warning]);

  const other = pvc("uploads", "20Gi");
  other.metadata.labels = { ...other.metadata.labels, tier: "gold" };
  const changed = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [other] }]),
    dr,
    OPTIONS,
  );
  const update = entry(changed, "PersistentVolumeClaim", "uploads");
  assert.equal(update.action, "update");
  assert.equal(at(update.desired, "spec", "resources", "requests", "storage"), "50Gi");
  assert.deepEqual(update.warnings, [warning]);
});

Deno.test("grows a DR claim when the source asks more", () => {
  const first = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "10Gi")] }]),
    [],
    OPTIONS,
  );
  const bound = drAfter(first).map(({ type, objects }) => ({
    type,
    objects: objects.map((o) => ({ ...o, status: { phase: "Bound" } })),
  }));
  const plan = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "20Gi")] }]),
    bound,
    OPTIONS,
  );
  const claim = entry(plan, "PersistentVolumeClaim", "uploads");
  assert.equal(claim.action, "update");
  assert.equal(at(claim.desired, "spec", "resources", "requests", "storage"), "20Gi");
  assert.deepEqual(claim.warnings, []);
});

Deno.test("waits to grow a DR claim until it is bound, and never writes its immutable fields", () => {
  const first = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "10Gi")] }]),
    [],
    OPTIONS,
  );
  const grown = pvc("uploads", "20Gi");
  (grown.spec as Record<string, unknown>).storageClassName = "standard";
  const plan = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [grown] }], { destStorageClasses: undefined }),
    drAfter(first),
    OPTIONS,
  );
  const claim = entry(plan, "PersistentVolumeClaim", "uploads");
  assert.equal(claim.action, "unchanged", "nothing a stage could write without failing");
  assert.equal(claim.warnings.length, 2);
  assert.match(
    claim.warnings[0]!,
    /storageClassName .*cannot change, so DR keeps its own; .*delete the DR claim by hand/,
  );
  assert.match(claim.warnings[1]!, /not bound yet, so it cannot grow to "20Gi": keeping "10Gi"/);
});

Deno.test("compares claim sizes as quantities, not as text", () => {
  const dr = copiedFrom(pvc("uploads", "20480Mi"));
  const plan = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "20Gi")] }]),
    [{ type: TYPES.persistentvolumeclaims, objects: [dr] }],
    OPTIONS,
  );
  assert.deepEqual(entry(plan, "PersistentVolumeClaim", "uploads").warnings, []);
  assert.equal(
    at(entry(plan, "PersistentVolumeClaim", "uploads").desired, "spec", "resources", "requests", "storage"),
    "20Gi",
  );
});

Deno.test("prunes DR objects of this replication whose source is gone", () => {
  const gone = copiedFrom(configMap("old-config"));
  const plan = planSync(
    desiredOf([{ type: TYPES.configmaps, objects: [configMap()] }]),
    [{ type: TYPES.configmaps, objects: [gone] }],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), ["prune ConfigMap/old-config", "create ConfigMap/web-config"]);
  const prune = entry(plan, "ConfigMap", "old-config");
  assert.equal(prune.reason, "the source object is gone");
  assert.equal(prune.current, gone);
  assert.equal(prune.desired, undefined);
});

Deno.test("never prunes an object without the provenance label, or another replication's objects", () => {
  const handMade = applied({
    ...configMap("hand-made"),
    metadata: { name: "hand-made", namespace: "shop-dr" },
  });
  const labelOnly = applied({
    ...configMap("label-only"),
    metadata: {
      name: "label-only",
      namespace: "shop-dr",
      labels: { "app.kubernetes.io/managed-by": "dr-syncer" },
    },
  });
  const otherCluster = copiedFrom(configMap("from-staging"), "staging");
  const otherNamespace = copiedFrom(configMap("from-shop2"), "prod", "shop2");
  const plan = planSync(
    desiredOf([]),
    [{ type: TYPES.configmaps, objects: [handMade, labelOnly, otherCluster, otherNamespace] }],
    OPTIONS,
  );
  assert.deepEqual(plan.entries, []);
});

Deno.test("prunes nothing without the prune option", () => {
  const plan = planSync(
    desiredOf([]),
    [{ type: TYPES.configmaps, objects: [copiedFrom(configMap("old"))] }],
    {
      ...OPTIONS,
      prune: false,
    },
  );
  assert.deepEqual(plan.entries, []);
});

const KEPT_COPY = "Kept its DR copy: dr-syncer does not delete a copy whose source still exists";

Deno.test("keeps the DR copy of a source object now labelled dr-syncer.io/ignore", () => {
  const ignored = configMap();
  ignored.metadata.labels = { "dr-syncer.io/ignore": "true" };
  const items = [{ type: TYPES.configmaps, objects: [ignored] }];
  const dr = [{ type: TYPES.configmaps, objects: [copiedFrom(configMap())] }];
  for (const prune of [true, false]) {
    const plan = planSync(desiredOf(items), dr, { ...OPTIONS, prune });
    assert.deepEqual(actions(plan), ["skip ConfigMap/web-config"], `prune: ${prune}`);
    assert.equal(plan.entries[0]?.reason, "labelled dr-syncer.io/ignore");
    assert.deepEqual(plan.entries[0]?.warnings, [KEPT_COPY]);
  }
});

Deno.test("keeps the DR claim of a source claim that gained an owner, and its replicated data", () => {
  // A StatefulSet with persistentVolumeClaimRetentionPolicy.whenDeleted: Delete owns its claims.
  const owned = pvc("data-db-0");
  owned.metadata.ownerReferences = [{
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    name: "db",
    uid: "3c2b1a09-8f7e-4d6c-b5a4-93827160f5e4",
    controller: true,
  }];
  const plan = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [owned] }]),
    [{ type: TYPES.persistentvolumeclaims, objects: [copiedFrom(pvc("data-db-0"))] }],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), ["skip PersistentVolumeClaim/data-db-0"]);
  assert.equal(plan.entries[0]?.reason, 'owned by StatefulSet "db"');
  assert.deepEqual(plan.entries[0]?.warnings, [KEPT_COPY]);
});

Deno.test("prunes only the DR copies whose source object is absent, keeping those of skipped sources", () => {
  const ignored = configMap("ignored");
  ignored.metadata.labels = { "dr-syncer.io/ignore": "true" };
  const dr = [{
    type: TYPES.configmaps,
    objects: [copiedFrom(configMap("ignored")), copiedFrom(configMap("gone")), copiedFrom(configMap())],
  }];
  const plan = planSync(
    desiredOf([{ type: TYPES.configmaps, objects: [ignored, configMap()] }]),
    dr,
    OPTIONS,
  );
  assert.deepEqual(actions(plan), [
    "prune ConfigMap/gone",
    "skip ConfigMap/ignored",
    "update ConfigMap/web-config",
  ]);
  assert.equal(entry(plan, "ConfigMap", "gone").reason, "the source object is gone");
});

Deno.test("warns of a kept DR copy only when the copy carries this replication's provenance", () => {
  const ignored = configMap();
  ignored.metadata.labels = { "dr-syncer.io/ignore": "true" };
  const handMade = applied({ ...configMap(), metadata: { name: "web-config", namespace: "shop-dr" } });
  const leaving = copiedFrom(configMap("leaving"));
  leaving.metadata.deletionTimestamp = "2026-01-12T10:00:00Z";
  const leavingSource = configMap("leaving");
  leavingSource.metadata.labels = { "dr-syncer.io/ignore": "true" };
  const plan = planSync(
    desiredOf([
      { type: TYPES.configmaps, objects: [ignored, leavingSource, configMap("kube-root-ca.crt")] },
    ]),
    [
      { type: TYPES.configmaps, objects: [handMade, leaving] },
      { type: TYPES.secrets, objects: [copiedFrom(secret("web-config", "Opaque"))] },
    ],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), [
    "skip ConfigMap/kube-root-ca.crt",
    "skip ConfigMap/leaving",
    "skip ConfigMap/web-config",
    "prune Secret/web-config",
  ]);
  assert.ok(plan.entries.every((e) => e.warnings.length === 0), JSON.stringify(plan.entries));
});

Deno.test("keeps the DR copy of an object whose transform failed", () => {
  const plan = planSync(
    desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc()] }], { destStorageClasses: new Set() }),
    [{ type: TYPES.persistentvolumeclaims, objects: [copiedFrom(pvc())] }],
    OPTIONS,
  );
  assert.deepEqual(actions(plan), ["error PersistentVolumeClaim/uploads"]);
});

Deno.test("does not prune an object already being deleted", () => {
  const leaving = copiedFrom(configMap("leaving"));
  leaving.metadata.deletionTimestamp = "2026-01-12T10:00:00Z";
  assert.deepEqual(
    planSync(desiredOf([]), [{ type: TYPES.configmaps, objects: [leaving] }], OPTIONS).entries,
    [],
  );
});

Deno.test("orders entries as sync-rules.md says, then by kind, then by name", () => {
  const items: TypedObjects[] = [
    { type: TYPES.horizontalpodautoscalers, objects: [hpa()] },
    { type: TYPES.ingresses, objects: [ingress()] },
    { type: TYPES.widgets, objects: [customResource("green"), customResource("blue")] },
    { type: TYPES.cronjobs, objects: [cronJob()] },
    { type: TYPES.deployments, objects: [deployment("web"), deployment("api")] },
    { type: TYPES.services, objects: [nodePortService()] },
    { type: TYPES.persistentvolumeclaims, objects: [pvc()] },
    { type: TYPES.secrets, objects: [secret("db-password", "Opaque")] },
    { type: TYPES.configmaps, objects: [configMap()] },
    { type: TYPES.rolebindings, objects: [roleBinding()] },
    { type: TYPES.serviceaccounts, objects: [serviceAccount()] },
  ];
  const plan = planSync(desiredOf(items), [], OPTIONS);
  assert.deepEqual(actions(plan), [
    "create ServiceAccount/web",
    "create RoleBinding/web-reader",
    "create ConfigMap/web-config",
    "create Secret/db-password",
    "create PersistentVolumeClaim/uploads",
    "create Service/shop-api",
    "create CronJob/nightly-report",
    "create Deployment/api",
    "create Deployment/web",
    "create Widget/blue",
    "create Widget/green",
    "create Ingress/storefront",
    "create HorizontalPodAutoscaler/web",
  ]);
  const orders = plan.entries.map((e) => e.order);
  assert.deepEqual(orders, [...orders].sort((a, b) => a - b));
});

Deno.test("does not change the desired state it plans from", () => {
  const desired = desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [pvc("uploads", "20Gi")] }]);
  const before = structuredClone(desired);
  planSync(
    desired,
    [{ type: TYPES.persistentvolumeclaims, objects: [copiedFrom(pvc("uploads", "50Gi"))] }],
    OPTIONS,
  );
  assert.deepEqual(desired, before);
});

Deno.test("prune keeps a DR claim whose source is gone unless claims may be pruned", () => {
  const dr = [{ type: TYPES.persistentvolumeclaims, objects: [copiedFrom(pvc("uploads"))] }];
  const kept = planSync(desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [] }]), dr, OPTIONS);
  assert.deepEqual(actions(kept), ["skip PersistentVolumeClaim/uploads"]);
  assert.match(entry(kept, "PersistentVolumeClaim", "uploads").warnings[0]!, /pruned only with pruneClaims/);
  const pruned = planSync(desiredOf([{ type: TYPES.persistentvolumeclaims, objects: [] }]), dr, {
    ...OPTIONS,
    pruneClaims: true,
  });
  assert.deepEqual(actions(pruned), ["prune PersistentVolumeClaim/uploads"]);
});

Deno.test("pruneLimitRefusal refuses a plan that prunes more than the limit, naming the override", () => {
  const gone = ["a", "b", "c"].map((n) => copiedFrom(configMap(n)));
  const plan = planSync(
    desiredOf([{ type: TYPES.configmaps, objects: [] }]),
    [{ type: TYPES.configmaps, objects: gone }],
    OPTIONS,
  );
  assert.equal(pruneLimitRefusal(plan, 3, "shop"), undefined);
  assert.match(
    pruneLimitRefusal(plan, 2, "shop")!,
    /would prune 3 objects whose source is gone, more than the limit of 2: .*--max-prune 3/,
  );
});

Deno.test("removes the DR copy of a Job that finished on the source, also without prune", () => {
  const done = job("migrate", { conditions: [{ type: "Complete", status: "True" }] });
  const plan = planSync(
    desiredOf([{ type: TYPES.jobs, objects: [done] }]),
    [{ type: TYPES.jobs, objects: [copiedFrom(job("migrate"))] }],
    { ...OPTIONS, prune: false },
  );
  assert.deepEqual(actions(plan), ["prune Job/migrate"]);
  assert.equal(
    entry(plan, "Job", "migrate").reason,
    "its source Job completed: the copy would run it again at cutover",
  );
  assert.equal(pruneLimitRefusal(plan, 0, "shop"), undefined, "not counted against the prune limit");
});

Deno.test("plans made type by type and merged equal the plan of the whole namespace", () => {
  const items: TypedObjects[] = [
    { type: TYPES.deployments, objects: [deployment()] },
    { type: TYPES.configmaps, objects: [configMap("b"), configMap("a")] },
    { type: TYPES.serviceaccounts, objects: [serviceAccount()] },
  ];
  const whole = planSync(desiredOf(items), [], OPTIONS);
  const merged = mergePlans(whole.namespace, items.map((i) => planSync(desiredOf([i]), [], OPTIONS)));
  assert.deepEqual(merged, whole);
});
