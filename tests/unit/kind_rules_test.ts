import assert from "node:assert/strict";
import {
  DEFAULT_RULE_ORDER,
  KIND_RULES,
  kindRuleFor,
  kindRuleOf,
  NAMESPACE_ORDER,
  SCALED_TYPES,
} from "../../shared/plan/kind_rules.ts";
import { workloadTypeKeys } from "../../shared/plan/replication_spec.ts";
import { resolveResourceTypes } from "../../shared/plan/resolve_resource_types.ts";
import { SERVED, TYPES } from "./_fixtures.ts";

Deno.test("lists each kind once", () => {
  const keys = KIND_RULES.map((r) => `${r.group}/${r.kind}`);
  assert.equal(new Set(keys).size, keys.length);
});

Deno.test("gives every default type its place in the sync order", () => {
  for (const type of resolveResourceTypes(SERVED)) {
    const { order } = kindRuleFor(type);
    assert.ok(order > NAMESPACE_ORDER && order !== DEFAULT_RULE_ORDER, type.kind);
  }
});

Deno.test("follows the order of sync-rules.md", () => {
  const order = (type: Parameters<typeof kindRuleFor>[0]) => kindRuleFor(type).order;
  const crd = { group: "apiextensions.k8s.io", kind: "CustomResourceDefinition" };
  const sequence = [
    order(crd),
    order(TYPES.serviceaccounts),
    order(TYPES.configmaps),
    order(TYPES.persistentvolumeclaims),
    order(TYPES.services),
    order(TYPES.deployments),
    order(TYPES.ingresses),
    order(TYPES.horizontalpodautoscalers),
  ];
  assert.ok(NAMESPACE_ORDER < sequence[0]!);
  assert.deepEqual(sequence, [...sequence].sort((a, b) => a - b));
  assert.equal(new Set(sequence).size, sequence.length);
  assert.equal(order(TYPES.roles), order(TYPES.serviceaccounts) + 1, "RBAC with ServiceAccounts");
  assert.equal(order(TYPES.secrets), order(TYPES.configmaps));
});

Deno.test("puts kinds it does not know, such as custom resources, after workloads and before Ingresses", () => {
  const rule = kindRuleFor(TYPES.widgets);
  assert.deepEqual(rule, { group: "example.com", kind: "Widget", order: DEFAULT_RULE_ORDER });
  assert.ok(
    kindRuleFor(TYPES.statefulsets).order < rule.order && rule.order < kindRuleFor(TYPES.ingresses).order,
  );
});

Deno.test("scales the workload kinds of the table, each the way it stands by", () => {
  assert.deepEqual(
    SCALED_TYPES.map(({ type, scale }) => `${type.resource}.${type.group} ${type.kind} ${scale.by}`),
    [
      "deployments.apps Deployment replicas",
      "statefulsets.apps StatefulSet replicas",
      "daemonsets.apps DaemonSet park",
      "replicasets.apps ReplicaSet replicas",
      "replicationcontrollers. ReplicationController replicas",
      "cronjobs.batch CronJob suspend",
      "jobs.batch Job suspend",
    ],
  );
  for (const { type } of SCALED_TYPES) {
    assert.equal(
      kindRuleFor(type).order,
      kindRuleFor(TYPES.deployments).order,
      `${type.kind} with workloads`,
    );
    assert.ok(kindRuleFor(type).transform, `${type.kind} is held on DR by its transform`);
  }
});

Deno.test("scales ReplicaSets and ReplicationControllers only when the replication names them", () => {
  assert.equal(workloadTypeKeys({}).has("replicasets.apps"), false, "not default types");
  assert.deepEqual(
    [...workloadTypeKeys({ resourceTypes: ["rs", "ReplicationController", "deploy"] })].sort(),
    [
      "deployments.apps",
      "replicasets.apps",
      "replicationcontrollers.",
    ],
  );
  assert.deepEqual(
    [...workloadTypeKeys({ resourceTypes: ["replicasets.apps", "rc"], excludeResourceTypes: ["rc"] })],
    ["replicasets.apps"],
  );
});

Deno.test("finds an object's rule from its apiVersion and kind", () => {
  assert.equal(kindRuleOf({ apiVersion: "v1", kind: "ConfigMap" }), kindRuleFor(TYPES.configmaps));
  assert.equal(kindRuleOf({ apiVersion: "apps/v1", kind: "Deployment" }), kindRuleFor(TYPES.deployments));
  assert.equal(kindRuleOf({ apiVersion: "example.com/v1", kind: "Deployment" }).scale, undefined);
});

Deno.test("keeps the planning and apply rules of claims in the claim's rule", () => {
  const claim = kindRuleFor(TYPES.persistentvolumeclaims);
  assert.ok(claim.holdExisting && claim.checksStorageClasses && claim.neverRecreate);
  assert.equal(claim.checkDrift, false);
  assert.equal(claim.pruneNeeds?.option, "pruneClaims");
  const kinds = (has: (r: (typeof KIND_RULES)[number]) => unknown) =>
    KIND_RULES.filter(has).map((r) => r.kind);
  assert.deepEqual(kinds((r) => r.holdExisting || r.neverRecreate || r.pruneNeeds), [
    "PersistentVolumeClaim",
  ]);
  assert.deepEqual(kinds((r) => r.observe), ["Service"]);
  assert.deepEqual(kinds((r) => r.filteredLast), ["Endpoints"]);
});
