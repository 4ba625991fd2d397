import assert from "node:assert/strict";
import type { ResourceType } from "../../shared/kube/types.ts";
import { pairServedVersions, unservedReason } from "../../shared/plan/served_versions.ts";

const type = (group: string, resource: string, kind: string, versions: string[]): ResourceType => ({
  group,
  version: versions[0]!,
  versions,
  resource,
  kind,
  namespaced: true,
});

Deno.test("a type both clusters serve at their preferred version is left as it is", () => {
  const cm = type("", "configmaps", "ConfigMap", ["v1"]);
  const paired = pairServedVersions([cm], [cm], "dr");
  assert.deepEqual(paired.types, [cm]);
  assert.deepEqual(paired.drServed, [cm]);
  assert.equal(paired.mismatched.size, 0);
});

Deno.test("the source's most preferred version DR also serves is used on both sides", () => {
  const source = type("example.com", "widgets", "Widget", ["v1", "v1beta1"]);
  const dr = type("example.com", "widgets", "Widget", ["v1beta1"]);
  const paired = pairServedVersions([source], [dr], "dr");
  assert.equal(paired.types[0]!.version, "v1beta1", "the source is read at a version DR accepts");
  assert.equal(paired.drServed[0]!.version, "v1beta1");
  // DR newer than the source: DR's preferred version is not served by the source, an older one is
  const older = pairServedVersions([dr], [source], "dr");
  assert.equal(older.types[0]!.version, "v1beta1");
  assert.equal(older.drServed[0]!.version, "v1beta1", "DR written at the version the source is read at");
});

Deno.test("no version both serve: left out of DR's types, with a reason naming the type and the versions", () => {
  const source = type("example.com", "gadgets", "Gadget", ["v1"]);
  const dr = type("example.com", "gadgets", "Gadget", ["v1beta1"]);
  const paired = pairServedVersions([source], [dr], "dr");
  assert.deepEqual(paired.drServed, []);
  const reason = unservedReason(paired.types[0]!, "dr", paired.mismatched);
  assert.match(reason, /gadgets\.example\.com/);
  assert.match(reason, /only at example\.com\/v1beta1, the source at example\.com\/v1\b/);
  assert.match(reason, /CustomResourceDefinitions/);
});

Deno.test("a type DR lacks: a built-in API names its version and no CRD; a custom one says to install its CRD", () => {
  const workloads = type("scheduling.k8s.io", "workloads", "Workload", ["v1alpha2"]);
  const builtIn = unservedReason(workloads, "dr");
  assert.match(builtIn, /Cluster "dr" does not serve workloads\.scheduling\.k8s\.io/);
  assert.match(builtIn, /scheduling\.k8s\.io\/v1alpha2/);
  assert.doesNotMatch(builtIn, /CustomResourceDefinition/);
  const custom = unservedReason(type("example.com", "sprockets", "Sprocket", ["v1beta1"]), "dr");
  assert.match(custom, /install its CustomResourceDefinition there first, or set syncCRDs/);
});
