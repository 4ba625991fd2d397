/**
 * Failback's copy-back, the pure part: the source form of a DR object (what DR changed, with the
 * source's own values wherever the forward transform changes or drops them), and the plan per type.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/types.ts";
import { type CopyBackContext, planCopyBack, sourceFormOf } from "../../shared/plan/copy_back.ts";
import { transformObject } from "../../shared/plan/transform_object.ts";
import { transformContext, TYPES } from "./_fixtures.ts";

/** Fixtures edited freely. */
// deno-lint-ignore no-explicit-any
type Loose = any;

const FORWARD = transformContext({ ingressHostMap: { "shop.example.com": "shop-dr.example.com" } });
const CTX: CopyBackContext = {
  forward: FORWARD,
  newSince: "2026-02-01T10:00:00Z",
  prune: false,
  pruneClaims: false,
};

/** A source Deployment as a cutover leaves it: at zero, its count recorded, Helm's. */
function sourceWeb(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "shop",
      uid: "src-web",
      resourceVersion: "100",
      labels: { app: "web", "app.kubernetes.io/managed-by": "Helm" },
      annotations: {
        "dr-syncer.io/original-replicas": "3",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "deployment.kubernetes.io/revision": "4",
      },
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "nginx:1.27", env: [{ name: "A", value: "1" }] }] },
      },
    },
  };
}

/** Its DR copy as it runs on DR after a cutover, `edit`ed there. */
function drWeb(edit: (o: KubeObject & { spec: Loose }) => void = () => {}): KubeObject {
  const copy = transformObject(
    { ...sourceWeb(), spec: { ...(sourceWeb().spec as object), replicas: 3 } },
    TYPES.deployments,
    FORWARD,
  );
  assert.equal(copy.action, "copy");
  const o = structuredClone((copy as { object: KubeObject }).object) as KubeObject & { spec: Loose };
  o.metadata = {
    ...o.metadata,
    uid: "dr-web",
    resourceVersion: "7",
    creationTimestamp: "2026-01-01T00:00:00Z",
    annotations: { ...o.metadata.annotations, "deployment.kubernetes.io/revision": "2" },
  };
  o.spec.replicas = 3; // scaled up by the cutover
  o.spec.progressDeadlineSeconds = 600;
  edit(o);
  return o;
}

Deno.test("copy-back: the source form keeps the source's counts, records, label and annotations; DR's changes come back", () => {
  const form = sourceFormOf(
    drWeb((o) => {
      o.metadata.labels!.extra = "x";
      o.spec.template.spec.containers[0].image = "nginx:1.28";
    }),
    TYPES.deployments,
    FORWARD,
    sourceWeb(),
  ) as KubeObject & { spec: Loose };
  assert.equal(form.metadata.namespace, "shop");
  assert.deepEqual(form.metadata.labels, { app: "web", "app.kubernetes.io/managed-by": "Helm", extra: "x" });
  assert.deepEqual(form.metadata.annotations, {
    "dr-syncer.io/original-replicas": "3",
    "kubectl.kubernetes.io/last-applied-configuration": "{}",
    "deployment.kubernetes.io/revision": "4",
  });
  assert.equal(form.spec.replicas, 0, "the failback restores the count");
  assert.equal(form.spec.template.spec.containers[0].image, "nginx:1.28");
  assert.equal(form.spec.progressDeadlineSeconds, undefined, "a default only DR's cluster set is no change");
});

Deno.test("copy-back: a Service keeps the source's addresses, node ports and external IPs", () => {
  const source: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "shop", uid: "src-svc" },
    spec: {
      type: "NodePort",
      clusterIP: "10.0.0.5",
      clusterIPs: ["10.0.0.5"],
      externalIPs: ["192.0.2.1"],
      ipFamilies: ["IPv4"],
      ports: [{ name: "http", port: 80, nodePort: 30080 }],
      selector: { app: "web" },
    },
  };
  const sent = transformObject(source, TYPES.services, FORWARD) as { object: KubeObject };
  const dr = structuredClone(sent.object) as KubeObject & { spec: Loose };
  Object.assign(dr.spec, { clusterIP: "10.9.9.9", clusterIPs: ["10.9.9.9"], ipFamilies: ["IPv4"] });
  dr.spec.ports = [{ name: "http", port: 80, nodePort: 31999 }, { name: "admin", port: 81, nodePort: 31998 }];
  const form = sourceFormOf(dr, TYPES.services, FORWARD, source) as KubeObject & { spec: Loose };
  assert.equal(form.spec.clusterIP, "10.0.0.5");
  assert.deepEqual(form.spec.externalIPs, ["192.0.2.1"]);
  assert.deepEqual(form.spec.ports, [{ name: "http", port: 80, nodePort: 30080 }, {
    name: "admin",
    port: 81,
  }]);
});

Deno.test("copy-back: a new workload arrives standing by, DR's count recorded for the failback to restore", () => {
  const made = drWeb((o) => {
    delete o.metadata.annotations!["dr-syncer.io/source-cluster"];
    o.metadata.labels!["dr-syncer.io/scale-override"] = "2";
  });
  const form = sourceFormOf(made, TYPES.deployments, FORWARD, undefined) as KubeObject & { spec: Loose };
  assert.equal(form.spec.replicas, 0);
  assert.equal(form.metadata.annotations!["dr-syncer.io/original-replicas"], "3");
  assert.equal(form.metadata.labels!["app.kubernetes.io/managed-by"], "Helm", "its original manager back");
});

Deno.test("copy-back plan: changed copies updated, equal ones unchanged, new ones created and marked; older strangers left", () => {
  const changed = drWeb((o) => o.spec.template.spec.containers[0].image = "nginx:1.28");
  const same = { ...drWeb(), metadata: { ...drWeb().metadata, name: "same" } };
  const sourceSame = { ...sourceWeb(), metadata: { ...sourceWeb().metadata, name: "same" } };
  const fresh: KubeObject = {
    ...drWeb(),
    metadata: {
      name: "hotfix",
      namespace: "shop-dr",
      creationTimestamp: "2026-02-01T11:00:00Z",
      labels: { app: "x" },
    },
  };
  const stranger: KubeObject = {
    ...drWeb(),
    metadata: { name: "old", namespace: "shop-dr", creationTimestamp: "2025-01-01T00:00:00Z" },
  };
  const gone = { ...drWeb(), metadata: { ...drWeb().metadata, name: "gone" } };
  const sourceOld = { ...sourceWeb(), metadata: { ...sourceWeb().metadata, name: "old" } };
  const entries = planCopyBack(
    TYPES.deployments,
    [changed, same, fresh, stranger, gone],
    [sourceWeb(), sourceSame, sourceOld],
    CTX,
  );
  const by = (name: string) => entries.find((e) => e.name === name)!;
  assert.equal(by("web").action, "update");
  assert.equal(
    by("web").reason,
    "copied back from DR: changed on DR while it served (changed spec.template.spec.containers[c].image)",
  );
  assert.equal(by("web").replace?.metadata.resourceVersion, "100", "written over the source object");
  assert.equal(by("web").markOnDr, undefined, "a copy already");
  assert.equal(by("same").action, "unchanged");
  assert.equal(by("hotfix").action, "create");
  assert.equal(by("hotfix").reason, "copied back from DR: new on DR since the cutover");
  assert.equal(by("hotfix").markOnDr?.metadata.name, "hotfix", "marked as the copy once written");
  assert.equal(by("old").action, "skip");
  assert.ok(by("old").warnings.length > 0);
  assert.equal(by("gone").action, "skip", "a copy whose source was deleted is not resurrected");
});

Deno.test("copy-back plan: what DR deleted is deleted on the source only with prune (claims with pruneClaims)", () => {
  const claim: KubeObject = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "shop" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
  const kept = planCopyBack(TYPES.deployments, [], [sourceWeb()], CTX);
  assert.deepEqual(kept.map((e) => [e.action, e.warnings[0]]), [[
    "skip",
    "Kept on the source: the copy-back deletes only with prune (--prune)",
  ]]);
  const pruned = planCopyBack(TYPES.deployments, [], [sourceWeb()], { ...CTX, prune: true });
  assert.deepEqual(pruned.map((e) => [e.action, e.reason]), [["prune", "deleted on DR while it served"]]);
  const claims = planCopyBack(TYPES.persistentvolumeclaims, [], [claim], { ...CTX, prune: true });
  assert.equal(claims[0]!.action, "skip", "claims only with pruneClaims");
});

Deno.test("copy-back plan: a Helm record Helm rewrote on DR comes back, and is marked as the copy", () => {
  const record = (status: string, extra: Record<string, string> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "sh.helm.release.v1.pi.v1",
      namespace: "shop",
      uid: "src-rec",
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: { owner: "helm", name: "pi", version: "1", status },
      annotations: extra,
    },
    type: "helm.sh/release.v1",
    data: { release: status === "deployed" ? "YQ==" : "Yg==" },
  });
  const entries = planCopyBack(TYPES.secrets, [record("superseded")], [record("deployed")], CTX);
  assert.equal(entries[0]!.action, "update");
  assert.match(
    entries[0]!.reason ?? "",
    /^copied back from DR: a Helm release record written on DR; changed/,
  );
  assert.ok(entries[0]!.markOnDr);
});
