import assert from "node:assert/strict";
import type { SourceSnapshot } from "../../shared/plan/contracts.ts";
import { buildDesiredState } from "../../shared/plan/build_desired_state.ts";
import {
  configMap,
  deployment,
  endpoints,
  finishedJob,
  helmReleaseSecret,
  namespace,
  nodePortService,
  ownedPod,
  pvc,
  selectorlessService,
  transformContext,
  TYPES,
} from "./_fixtures.ts";

function snapshot(): SourceSnapshot {
  return {
    namespace: namespace(),
    items: [
      { type: TYPES.configmaps, objects: [configMap("kube-root-ca.crt"), configMap("web-config")] },
      { type: TYPES.secrets, objects: [helmReleaseSecret()] },
      { type: TYPES.services, objects: [nodePortService(), selectorlessService()] },
      { type: TYPES.endpoints, objects: [endpoints("shop-api"), endpoints("legacy-db")] },
      { type: TYPES.persistentvolumeclaims, objects: [pvc()] },
      { type: TYPES.deployments, objects: [deployment()] },
      { type: TYPES.jobs, objects: [finishedJob("Complete")] },
      { type: TYPES.pods, objects: [ownedPod()] },
    ],
  };
}

Deno.test("builds the DR namespace from the source namespace, minus its system labels and annotations", () => {
  const desired = buildDesiredState(snapshot(), transformContext());
  assert.deepEqual(desired.namespace, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: "shop-dr",
      labels: { team: "payments", "app.kubernetes.io/managed-by": "dr-syncer" },
      annotations: {
        owner: "payments@example.com",
        "dr-syncer.io/source-cluster": "prod",
        "dr-syncer.io/source-namespace": "shop",
      },
    },
  });
});

Deno.test("filters, then transforms, every object of the snapshot in order", () => {
  const desired = buildDesiredState(
    snapshot(),
    transformContext({ destStorageClasses: new Set(["standard"]) }),
  );
  const summary = desired.entries.map((e) => [
    e.type.kind,
    e.name,
    e.outcome.action,
    e.outcome.action === "copy" ? "" : e.outcome.reason,
  ]);
  assert.deepEqual(summary, [
    ["ConfigMap", "kube-root-ca.crt", "skip", "created by Kubernetes in every namespace"],
    ["ConfigMap", "web-config", "copy", ""],
    ["Secret", "sh.helm.release.v1.shop.v3", "copy", ""],
    ["Service", "shop-api", "copy", ""],
    ["Service", "legacy-db", "copy", ""],
    [
      "Endpoints",
      "shop-api",
      "skip",
      "Endpoints are maintained by Kubernetes unless their Service has no selector",
    ],
    ["Endpoints", "legacy-db", "copy", ""],
    [
      "PersistentVolumeClaim",
      "uploads",
      "error",
      'StorageClass "fast" does not exist on the DR cluster: map it with storageClassMap or the label dr-syncer.io/storage-class',
    ],
    ["Deployment", "web", "copy", ""],
    ["Job", "backfill-complete", "skip", "completed Job"],
    ["Pod", "web-5d9c7b8f4-x2x9z", "skip", 'owned by ReplicaSet "web-5d9c7b8f4"'],
  ]);
  const web = desired.entries.find((e) => e.name === "web")?.outcome;
  assert.equal(web?.action === "copy" && web.object.metadata.namespace, "shop-dr");
});

Deno.test("fails only the object whose transform throws", () => {
  const odd = configMap("odd");
  odd.data = { render: () => "not JSON" };
  const desired = buildDesiredState(
    { namespace: namespace(), items: [{ type: TYPES.configmaps, objects: [odd, configMap("fine")] }] },
    transformContext(),
  );
  assert.equal(desired.entries[0]?.outcome.action, "error");
  assert.match(
    desired.entries[0]?.outcome.action === "error" ? desired.entries[0].outcome.reason : "",
    /^Cannot transform ConfigMap "odd": /,
  );
  assert.equal(desired.entries[1]?.outcome.action, "copy");
});

Deno.test("a snapshot read page by page is filtered with what the whole namespace says", () => {
  const page = {
    namespace: namespace(),
    items: [{ type: TYPES.endpoints, objects: [endpoints("legacy-db")] }],
  };
  const alone = buildDesiredState(page, transformContext());
  assert.equal(alone.entries[0]?.outcome.action, "skip", "no Service of this page has no selector");
  const told = buildDesiredState(page, transformContext(), {
    servicesWithoutSelector: new Set(["legacy-db"]),
  });
  assert.equal(told.entries[0]?.outcome.action, "copy");
});
