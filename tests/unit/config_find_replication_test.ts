import assert from "node:assert/strict";
import { findReplication, loadConfig, ReplicationNotFoundError } from "../../shared/config/mod.ts";

const CONFIG = loadConfig(
  `clusters:
  - { name: prod, kubeconfig: { path: /etc/prod.kubeconfig } }
  - { name: dr, kubeconfig: { env: DR_KUBECONFIG } }
replications:
  - { name: shop, source: { cluster: prod, namespace: shop }, destination: { cluster: dr } }
  - { name: blog, source: { cluster: prod, namespace: blog }, destination: { cluster: dr } }
`,
  "dr-syncer.yaml",
);

Deno.test("findReplication returns the replication of that name", () => {
  const replication = findReplication(CONFIG, "blog");
  assert.equal(replication.name, "blog");
  assert.deepEqual(replication.destination, { cluster: "dr", namespace: "blog" });
});

Deno.test("findReplication of an unknown name lists the configured names and suggests a close one", () => {
  assert.throws(() => findReplication(CONFIG, "shp"), (error: unknown) => {
    assert.ok(error instanceof ReplicationNotFoundError);
    assert.equal(
      error.message,
      'Unknown replication "shp", did you mean "shop"? (configured: "shop", "blog")',
    );
    assert.equal(error.replication, "shp");
    assert.deepEqual(error.configured, ["shop", "blog"]);
    return true;
  });
  assert.throws(() => findReplication(CONFIG, "wiki"), {
    name: "ReplicationNotFoundError",
    message: 'Unknown replication "wiki" (configured: "shop", "blog")',
  });
});

Deno.test("findReplication says so when no replication is configured", () => {
  assert.throws(() => findReplication({ replications: [] }, "shop"), {
    message: 'Unknown replication "shop": no replications are configured',
  });
});
