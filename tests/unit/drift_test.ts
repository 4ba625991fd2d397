import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import { driftOf, foreignWriters } from "../../shared/plan/drift.ts";

const configMap = (
  data: Record<string, string>,
  managers: { manager: string; subresource?: string }[] = [],
) =>
  ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "settings",
      labels: { "app.kubernetes.io/managed-by": "dr-syncer" },
      annotations: { "dr-syncer.io/content-hash": "abc" },
      managedFields: managers.map((m) => ({ operation: "Update", ...m })),
    },
    data,
  }) as KubeObject;

Deno.test("drift: foreign writers leave out dr-syncer, Kubernetes' controllers and status writers", () => {
  const live = configMap({}, [
    { manager: "dr-syncer" },
    { manager: "kube-controller-manager" },
    { manager: "kubectl-edit" },
    { manager: "some-operator", subresource: "status" },
    { manager: "kubectl", subresource: "scale" },
    { manager: "kubectl-edit" },
  ]);
  assert.deepEqual(foreignWriters(live), ["kubectl", "kubectl-edit"]);
});

Deno.test("drift: a key added or a value changed by someone else is drift, with a cleanup for added keys", () => {
  const desired = configMap({ mode: "source" });
  assert.equal(driftOf(desired, configMap({ mode: "source" }), ["kubectl-edit"]), undefined, "same content");
  assert.deepEqual(driftOf(desired, configMap({ mode: "source", extra: "1" }), ["kubectl-edit"]), {
    writers: ["kubectl-edit"],
    cleanup: { data: { extra: null } },
  });
  assert.deepEqual(driftOf(desired, configMap({ mode: "edited" }), ["kubectl-edit"]), {
    writers: ["kubectl-edit"],
  });
  assert.equal(
    driftOf(desired, configMap({ mode: "edited" }), []),
    undefined,
    "no foreign writer: not drift",
  );
});

Deno.test("drift: fields the server adds (defaults) are not drift; a changed replica count is", () => {
  const desired: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" } },
    spec: { replicas: 0, template: { spec: { containers: [{ name: "c", image: "nginx" }] } } },
  };
  const live = (replicas: number): KubeObject => ({
    ...desired,
    metadata: { ...desired.metadata, labels: { app: "web", extra: "x" }, uid: "1", generation: 3 },
    spec: {
      replicas,
      progressDeadlineSeconds: 600,
      template: { spec: { containers: [{ name: "c", image: "nginx", imagePullPolicy: "IfNotPresent" }] } },
    },
    status: { replicas },
  });
  assert.equal(driftOf(desired, live(0), ["kubectl"]), undefined);
  assert.deepEqual(driftOf(desired, live(3), ["kubectl"]), { writers: ["kubectl"] });
});

Deno.test("drift: a newer source resourceVersion alone is not drift", () => {
  const desired = configMap({ mode: "source" });
  desired.metadata.annotations = {
    ...desired.metadata.annotations,
    "dr-syncer.io/source-resource-version": "42",
  };
  const live = configMap({ mode: "source" });
  live.metadata.annotations = { ...live.metadata.annotations, "dr-syncer.io/source-resource-version": "41" };
  assert.equal(driftOf(desired, live, ["kubectl"]), undefined);
});
