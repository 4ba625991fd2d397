import assert from "node:assert/strict";
import {
  DEFAULT_RULE_ORDER,
  KIND_RULES,
  kindRuleFor,
  NAMESPACE_ORDER,
} from "../../shared/plan/kind_rules.ts";
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
