import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import { buildDesiredState } from "../../shared/plan/build_desired_state.ts";
import { isCopyFrom, isOurCopy, provenanceMetadata, provenanceOf } from "../../shared/plan/provenance.ts";
import { transformObject } from "../../shared/plan/transform_object.ts";
import { configMap, namespace, transformContext, TYPES } from "./_fixtures.ts";
import { MAX_REPLICAS, parseReplicaCount, scaleOverride } from "../../shared/plan/replica_count.ts";

const source = { sourceCluster: "prod", sourceNamespace: "shop" };
const copy = (labels: Record<string, string>, annotations: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "c", labels, annotations },
});
const provenance = { "dr-syncer.io/source-cluster": "prod", "dr-syncer.io/source-namespace": "shop" };
const ours = { "app.kubernetes.io/managed-by": "dr-syncer" };

Deno.test("provenance: our copy carries the label and this replication's source", () => {
  assert.equal(isOurCopy(copy(ours, provenance), source), true);
  assert.equal(isOurCopy(copy({}, provenance), source), false, "no label: not ours");
  assert.equal(
    isOurCopy(copy(ours, { ...provenance, "dr-syncer.io/source-namespace": "other" }), source),
    false,
    "another replication's copy is not ours",
  );
});

Deno.test("provenance: isCopyFrom ignores a rewritten managed-by label", () => {
  assert.equal(isCopyFrom(copy({ "app.kubernetes.io/managed-by": "Helm" }, provenance), source), true);
  assert.equal(isCopyFrom(copy(ours, {}), source), false);
  assert.deepEqual(provenanceOf(copy({}, provenance)), source);
  assert.equal(provenanceOf(copy(ours, { "dr-syncer.io/source-cluster": "prod" })), undefined);
});

Deno.test("replica counts: one parser, decimal from 0 to 2^31-1", () => {
  assert.equal(parseReplicaCount("0"), 0);
  assert.equal(parseReplicaCount(String(MAX_REPLICAS)), MAX_REPLICAS);
  for (const bad of [String(MAX_REPLICAS + 1), "-1", "1.0", " 2", "0x10", "", undefined]) {
    assert.equal(parseReplicaCount(bad), undefined, String(bad));
  }
  assert.deepEqual(scaleOverride(copy({ "dr-syncer.io/scale-override": "3" }, {})), { count: 3 });
  assert.deepEqual(scaleOverride(copy({ "dr-syncer.io/scale-override": "x" }, {})), { invalid: "x" });
  assert.equal(scaleOverride(copy({}, {})), undefined);
});

Deno.test("provenance: every copy and the DR namespace carry provenanceMetadata, and are our copies", () => {
  const ctx = transformContext();
  const stamp = provenanceMetadata(ctx);
  const outcome = transformObject(configMap(), TYPES.configmaps, ctx);
  assert.equal(outcome.action, "copy");
  const { namespace: ns } = buildDesiredState({ namespace: namespace(), items: [] }, ctx);
  for (const obj of [outcome.action === "copy" ? outcome.object : undefined, ns]) {
    assert.ok(obj);
    assert.deepEqual(
      { ...obj.metadata.labels, ...stamp.labels },
      obj.metadata.labels,
      `${obj.kind} has the labels`,
    );
    assert.deepEqual(
      { ...obj.metadata.annotations, ...stamp.annotations },
      obj.metadata.annotations,
      `${obj.kind} has the annotations`,
    );
    assert.equal(isOurCopy(obj, ctx), true, obj.kind);
  }
});
