import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import { contentHash } from "../../shared/plan/content_hash.ts";

function cm(
  annotations: Record<string, string>,
  data: Record<string, string> = { a: "1", b: "2" },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "web-config", namespace: "shop-dr", annotations },
    data,
  };
}

Deno.test("is a hex SHA-256", () => {
  assert.match(contentHash(cm({})), /^[0-9a-f]{64}$/);
});

Deno.test("does not depend on key order", () => {
  const a = cm({ x: "1", y: "2" }, { a: "1", b: "2" });
  const b: KubeObject = {
    data: { b: "2", a: "1" },
    metadata: { annotations: { y: "2", x: "1" }, namespace: "shop-dr", name: "web-config" },
    kind: "ConfigMap",
    apiVersion: "v1",
  };
  assert.equal(contentHash(a), contentHash(b));
});

Deno.test("ignores the source resource version and the content hash itself", () => {
  const base = contentHash(cm({ "dr-syncer.io/source-uid": "u-1" }));
  const withVolatile = cm({
    "dr-syncer.io/source-uid": "u-1",
    "dr-syncer.io/source-resource-version": "48213",
    "dr-syncer.io/content-hash": "0000",
  });
  assert.equal(contentHash(withVolatile), base);
});

Deno.test("changes when the content changes", () => {
  assert.notEqual(contentHash(cm({}, { a: "1" })), contentHash(cm({}, { a: "2" })));
  assert.notEqual(contentHash(cm({})), contentHash(cm({ "dr-syncer.io/source-uid": "u-2" })));
  assert.notEqual(contentHash(cm({}, { list: "x" })), contentHash({ ...cm({}), data: { list: ["x"] } }));
});

Deno.test("treats array order as content", () => {
  const ports = (order: number[]): KubeObject => ({
    ...cm({}),
    spec: { ports: order.map((port) => ({ port })) },
  });
  assert.notEqual(contentHash(ports([80, 443])), contentHash(ports([443, 80])));
});

Deno.test("does not change its input", () => {
  const obj = cm({ "dr-syncer.io/source-resource-version": "7" });
  const before = structuredClone(obj);
  contentHash(obj);
  assert.deepEqual(obj, before);
});

Deno.test("is the same hash as every earlier version (a changed hash would rewrite every copy once)", () => {
  const obj = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "shop-dr",
      labels: { "10": "a", "2": "b", app: "web" },
      annotations: { "dr-syncer.io/source-resource-version": "9", 'odd"key\\': "line\nbreak é \u2028" },
    },
    spec: {
      replicas: 0,
      template: {
        spec: { containers: [{ name: "app", image: "nginx", args: ["a", null, 1.5, true], env: [] }] },
      },
      paused: false,
      skip: undefined,
    },
  } as unknown as KubeObject;
  assert.equal(contentHash(obj), "67fe9705c48219d88d20370490644a943e1f11eb6e8fec38c78a01d31e46b507");
});
