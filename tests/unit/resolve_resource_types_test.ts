import assert from "node:assert/strict";
import type { ResourceType } from "../../shared/kube/types.ts";
import {
  resolveResourceTypes,
  UnknownResourceTypeError,
  UnsupportedResourceTypeError,
} from "../../shared/plan/resolve_resource_types.ts";
import { SERVED, TYPES } from "./_fixtures.ts";

const keys = (types: readonly ResourceType[]) => types.map((t) => `${t.resource}.${t.group}`);

Deno.test("resolves the default types through discovery, at their preferred versions", () => {
  const types = resolveResourceTypes(SERVED);
  assert.deepEqual(keys(types), [
    "configmaps.",
    "secrets.",
    "serviceaccounts.",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "services.",
    "ingresses.networking.k8s.io",
    "networkpolicies.networking.k8s.io",
    "persistentvolumeclaims.",
    "deployments.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "cronjobs.batch",
    "jobs.batch",
    "horizontalpodautoscalers.autoscaling",
    "poddisruptionbudgets.policy",
  ]);
  assert.equal(types.find((t) => t.kind === "HorizontalPodAutoscaler")?.version, "v2");
});

Deno.test("leaves out a default type the cluster does not serve", () => {
  const types = resolveResourceTypes(SERVED.filter((t) => t.group !== "policy"));
  assert.equal(types.length, 15);
  assert.ok(!types.some((t) => t.kind === "PodDisruptionBudget"));
});

Deno.test("accepts plural, singular, kind, short names and resource.group forms", () => {
  const cases: [string, ResourceType][] = [
    ["configmaps", TYPES.configmaps],
    ["configmap", TYPES.configmaps],
    ["ConfigMap", TYPES.configmaps],
    ["cm", TYPES.configmaps],
    ["PVC", TYPES.persistentvolumeclaims],
    ["deploy", TYPES.deployments],
    ["deployments.apps", TYPES.deployments],
    ["Deployment.apps", TYPES.deployments],
    ["deployments.v1.apps", TYPES.deployments],
    ["svc", TYPES.services],
    ["sts", TYPES.statefulsets],
    ["ds", TYPES.daemonsets],
    ["hpa", TYPES.horizontalpodautoscalers],
    ["pdb", TYPES.poddisruptionbudgets],
    ["netpol", TYPES.networkpolicies],
    ["sa", TYPES.serviceaccounts],
    ["ing", TYPES.ingresses],
    ["cj", TYPES.cronjobs],
    ["rolebinding.rbac.authorization.k8s.io", TYPES.rolebindings],
    [" wg ", TYPES.widgets],
  ];
  for (const [name, expected] of cases) {
    assert.deepEqual(resolveResourceTypes(SERVED, { resourceTypes: [name] }), [expected], name);
  }
});

Deno.test("resourceTypes replaces the defaults, in the order given, without duplicates", () => {
  const types = resolveResourceTypes(SERVED, { resourceTypes: ["svc", "cm", "configmaps", "ConfigMap"] });
  assert.deepEqual(types, [TYPES.services, TYPES.configmaps]);
});

Deno.test("excludeResourceTypes removes from the defaults", () => {
  const types = resolveResourceTypes(SERVED, { excludeResourceTypes: ["jobs", "cj", "hpa"] });
  assert.equal(types.length, 13);
  assert.ok(!types.some((t) => ["Job", "CronJob", "HorizontalPodAutoscaler"].includes(t.kind)));
});

Deno.test("excludeResourceTypes wins over resourceTypes and includeCustomResources", () => {
  const types = resolveResourceTypes(SERVED, {
    resourceTypes: ["configmaps", "secrets"],
    excludeResourceTypes: ["secret", "widgets.example.com"],
    includeCustomResources: true,
  });
  assert.deepEqual(keys(types), [
    "configmaps.",
    "services.serving.knative.dev",
    "proxies.example.com",
    "httproutes.gateway.networking.k8s.io",
  ]);
});

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

Deno.test("an unknown name is an error that lists the namespaced types the cluster serves", () => {
  const error = thrownBy(() =>
    resolveResourceTypes(SERVED, { resourceTypes: ["configmaps", "deploymnets", "cm"] })
  );
  assert.ok(error instanceof UnknownResourceTypeError);
  assert.deepEqual(error.names, ["deploymnets"]);
  assert.ok(error.served.includes("deployments") && error.served.includes("widgets"));
  assert.ok(!error.served.includes("nodes"), "cluster-scoped types are not listed");
  assert.ok(!error.served.includes("pods/log"), "subresources are not listed");
  assert.equal(error.served.filter((n) => n === "services").length, 1, "names served by several groups once");
  assert.deepEqual(error.served, [...error.served].sort());
  assert.ok(!error.message.includes("\n"));
  assert.match(
    error.message,
    /^Unknown resource type "deploymnets": the cluster serves configmaps, cronjobs, /,
  );
});

Deno.test("an unknown name in excludeResourceTypes or includeCustomResources is an error too", () => {
  const error = thrownBy(() =>
    resolveResourceTypes(SERVED, { excludeResourceTypes: ["nope"], includeCustomResources: ["gadgets"] })
  );
  assert.ok(error instanceof UnknownResourceTypeError);
  assert.deepEqual(error.names.sort(), ["gadgets", "nope"]);
});

Deno.test("never builds a plural from a kind by adding s", () => {
  assert.deepEqual(resolveResourceTypes(SERVED, { resourceTypes: ["Proxy"] }), [TYPES.proxies]);
  assert.ok(
    thrownBy(() => resolveResourceTypes(SERVED, { resourceTypes: ["proxys"] })) instanceof
      UnknownResourceTypeError,
  );
});

Deno.test("a cluster-scoped or unlistable type named by the user is a clear error", () => {
  const error = thrownBy(() =>
    resolveResourceTypes(SERVED, { resourceTypes: ["nodes", "configmaps", "podmetrics"] })
  );
  assert.ok(error instanceof UnsupportedResourceTypeError);
  assert.deepEqual(error.problems.map((p) => p.name), ["nodes", "podmetrics"]);
  assert.equal(
    error.message,
    'Cannot copy resource types: "nodes" (nodes) is cluster-scoped, "podmetrics" (pods.metrics.k8s.io) cannot be listed and patched',
  );
});

Deno.test("includeCustomResources adds every namespaced type outside the built-in groups", () => {
  const types = resolveResourceTypes(SERVED, { resourceTypes: ["configmaps"], includeCustomResources: true });
  assert.deepEqual(keys(types), [
    "configmaps.",
    "services.serving.knative.dev",
    "widgets.example.com",
    "proxies.example.com",
    "httproutes.gateway.networking.k8s.io",
  ]);
});

Deno.test("includeCustomResources as a list adds only the types named", () => {
  const types = resolveResourceTypes(SERVED, { includeCustomResources: ["widgets.example.com"] });
  assert.equal(types.length, 17);
  assert.deepEqual(types.at(-1), TYPES.widgets);
});

Deno.test("prefers the core group when a name is served by several groups", () => {
  assert.deepEqual(resolveResourceTypes(SERVED, { resourceTypes: ["services"] }), [TYPES.services]);
  assert.deepEqual(resolveResourceTypes(SERVED, { resourceTypes: ["events"] }), [TYPES.events]);
  assert.deepEqual(resolveResourceTypes(SERVED, { resourceTypes: ["events.events.k8s.io"] }), [
    TYPES.eventsV1,
  ]);
  assert.deepEqual(resolveResourceTypes(SERVED, { resourceTypes: ["ksvc"] }), [TYPES.knativeServices]);
});

Deno.test("a full name wins over another type's short name", () => {
  const served = [...SERVED, {
    ...TYPES.widgets,
    resource: "gadgets",
    kind: "Gadget",
    shortNames: ["widgets"],
  }];
  assert.deepEqual(resolveResourceTypes(served, { resourceTypes: ["widgets"] }), [TYPES.widgets]);
});
