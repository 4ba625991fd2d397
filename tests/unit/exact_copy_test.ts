/**
 * The exact comparison of a copy with what its receiving side holds (`differences`), the whole object
 * written over it (`replacementOf`), who owns what (`field_owners.ts`), and the planner's use of them
 * (a removal found by the field nobody owns any more, an update written over the full object, Helm's
 * release records recognised without their provenance).
 */
import assert from "node:assert/strict";
import type { KubeObject, ResourceType } from "../../shared/kube/types.ts";
import { contentHash } from "../../shared/plan/content_hash.ts";
import { describeDifferences, differences, driftOf, replacementOf } from "../../shared/plan/drift.ts";
import {
  entriesWithWriters,
  FieldOwners,
  handedOverEntries,
  hasOtherApplier,
  isCovered,
  type ManagedFieldsEntry,
  managedFieldsValue,
  ownsEveryField,
  takenBackEntries,
} from "../../shared/plan/field_owners.ts";
import { isHelmRecord, isHelmRecordOf } from "../../shared/plan/helm_records.ts";
import { planSync } from "../../shared/plan/plan_sync.ts";
import type { PlanSyncOptions } from "../../shared/plan/contracts.ts";
import { setReplicas, withOwnership, type Workload } from "../../shared/plan/scale_decisions.ts";
import { handOverNote } from "../../shared/sync/scale_workloads.ts";

/** Fixtures edited freely. */
// deno-lint-ignore no-explicit-any
type Loose = any;

const DEPLOYMENTS: ResourceType = {
  group: "apps",
  version: "v1",
  resource: "deployments",
  kind: "Deployment",
  namespaced: true,
};
const SECRETS: ResourceType = {
  group: "",
  version: "v1",
  resource: "secrets",
  kind: "Secret",
  namespaced: true,
};

const entry = (manager: string, fieldsV1: unknown, operation = "Update", time = "2026-01-01T00:00:00Z") =>
  ({
    manager,
    operation,
    apiVersion: "apps/v1",
    time,
    fieldsType: "FieldsV1",
    fieldsV1,
  }) as ManagedFieldsEntry;

/** What dr-syncer's apply of the web Deployment below owns. */
const DR_SYNCER_FIELDS = {
  "f:metadata": {
    "f:labels": { "f:app": {}, "f:app.kubernetes.io/managed-by": {} },
    "f:annotations": { "f:dr-syncer.io/source-cluster": {}, "f:dr-syncer.io/content-hash": {} },
  },
  "f:spec": {
    "f:replicas": {},
    "f:selector": {},
    "f:template": {
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": {
        "f:containers": {
          'k:{"name":"c"}': {
            ".": {},
            "f:name": {},
            "f:image": {},
            "f:env": { 'k:{"name":"A"}': { ".": {}, "f:name": {}, "f:value": {} } },
          },
        },
      },
    },
  },
};

/** The copy dr-syncer writes. */
function desired(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "shop-dr",
      labels: { app: "web", "app.kubernetes.io/managed-by": "dr-syncer" },
      annotations: { "dr-syncer.io/source-cluster": "prod", "dr-syncer.io/content-hash": "h" },
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

/** DR's object: the copy with the server's defaults and allocations, owned by `entries`. */
function live(entries: ManagedFieldsEntry[], edit: (o: KubeObject & { spec: Loose }) => void = () => {}) {
  const o = structuredClone(desired()) as KubeObject & { spec: Loose };
  o.metadata = {
    ...o.metadata,
    uid: "dr-uid",
    resourceVersion: "42",
    annotations: { ...o.metadata.annotations, "deployment.kubernetes.io/revision": "1" },
    finalizers: ["example.com/keep"],
    managedFields: entries,
  };
  o.spec.progressDeadlineSeconds = 600;
  o.spec.template.spec.containers[0].imagePullPolicy = "IfNotPresent";
  o.status = { replicas: 0 };
  edit(o);
  return o;
}

const KCM = entry("kube-controller-manager", {
  "f:metadata": { "f:annotations": { "f:deployment.kubernetes.io/revision": {} } },
});

Deno.test("differences: defaults, allocations and Kubernetes' own fields are not differences", () => {
  assert.deepEqual(differences(desired(), live([entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"), KCM])), []);
});

Deno.test("differences: fields another manager added are, whatever their shape; so are changed and removed ones", () => {
  const edited = live([
    entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"),
    KCM,
    entry("node-fetch", {
      "f:metadata": { "f:labels": { "f:extra": {} }, "f:annotations": { "f:example.com/note": {} } },
      "f:spec": {
        "f:template": {
          "f:spec": {
            "f:containers": {
              'k:{"name":"c"}': {
                "f:image": {},
                "f:ports": {
                  'k:{"containerPort":8080,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                },
                "f:env": { 'k:{"name":"B"}': { ".": {}, "f:name": {}, "f:value": {} } },
              },
            },
          },
        },
      },
    }),
  ], (o) => {
    o.metadata.labels!.extra = "x";
    o.metadata.annotations!["example.com/note"] = "hand";
    delete o.metadata.labels!.app;
    const c = o.spec.template.spec.containers[0];
    c.image = "nginx:1.28";
    c.ports = [{ containerPort: 8080, protocol: "TCP" }];
    c.env.push({ name: "B", value: "dr-only" });
  });
  const found = differences(desired(), edited);
  assert.deepEqual(found.map((d) => `${d.change} ${d.path}`).sort(), [
    'added metadata.annotations["example.com/note"]',
    "added metadata.labels.extra",
    "added spec.template.spec.containers[c].env[B]",
    "added spec.template.spec.containers[c].ports",
    "changed spec.template.spec.containers[c].image",
    "removed metadata.labels.app",
  ]);
  assert.equal(
    describeDifferences(found, 3),
    'added metadata.labels.extra, metadata.annotations["example.com/note"]; removed metadata.labels.app and 3 more',
  );
  assert.deepEqual(driftOf(desired(), edited, ["node-fetch"]), { writers: ["node-fetch"] });
});

Deno.test("replacementOf: the copy exactly, with what the receiving cluster owns kept and the other writers' entries dropped", () => {
  const node = entry("node-fetch", { "f:metadata": { "f:labels": { "f:extra": {} } } });
  const edited = live([entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"), KCM, node], (o) => {
    o.metadata.labels!.extra = "x";
    o.spec.clusterAllocated = "keep-me"; // nobody owns it: the cluster's own
  });
  const put = replacementOf(desired(), edited) as KubeObject & { spec: Loose };
  assert.equal(put.metadata.resourceVersion, "42", "an update at the live version");
  assert.equal(put.metadata.uid, "dr-uid");
  assert.deepEqual(put.metadata.finalizers, ["example.com/keep"]);
  assert.deepEqual(put.metadata.labels, desired().metadata.labels, "the added label is gone");
  assert.equal(
    put.metadata.annotations!["deployment.kubernetes.io/revision"],
    "1",
    "Kubernetes' annotation kept",
  );
  assert.equal(put.spec.progressDeadlineSeconds, 600, "a default nobody owns is kept");
  assert.equal(put.spec.clusterAllocated, "keep-me");
  assert.deepEqual(
    put.spec.template.spec.containers,
    desired().spec && (desired().spec as Loose).template.spec.containers,
  );
  assert.deepEqual(put.status, { replicas: 0 });
  assert.deepEqual(
    (put.metadata.managedFields as ManagedFieldsEntry[]).map((e) => e.manager),
    ["dr-syncer", "kube-controller-manager"],
  );
  assert.deepEqual(
    managedFieldsValue([]),
    [{}],
    "no entry at all is said with the empty entry that resets them",
  );
});

Deno.test("field owners: list items by key, set and index; a field nobody owns any more is a removal", () => {
  const owners = FieldOwners.of([entry("a", DR_SYNCER_FIELDS)]);
  const containers = owners.field("spec").field("template").field("spec").field("containers");
  assert.ok(containers.item({ name: "c", image: "x" }, 0).field("image").owned);
  assert.ok(!containers.item({ name: "d" }, 0).owned);
  assert.ok(FieldOwners.of([entry("a", { "f:s": { 'v:"x"': {} } })]).field("s").item("x", 3).owned);
  assert.ok(FieldOwners.of([entry("a", { "f:s": { "i:1": {} } })]).field("s").item("y", 1).owned);
  assert.ok(
    isCovered({ matchLabels: { app: "web" } }, owners.field("spec").field("selector")),
    "atomic: whole",
  );
  const copy = live([entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"), KCM]);
  assert.equal(ownsEveryField(desired(), copy), true);
  const removed = structuredClone(DR_SYNCER_FIELDS) as Loose;
  delete removed["f:metadata"]["f:labels"]["f:app"];
  assert.equal(ownsEveryField(desired(), live([entry("dr-syncer", removed, "Apply")])), false);
  assert.equal(
    ownsEveryField(desired(), { ...desired(), metadata: { name: "web" } }),
    undefined,
    "listed without",
  );
});

Deno.test("field owners: a cutover hands over the source's writers, a failback takes back only those", () => {
  const helm = entry("helm", { "f:data": { "f:a": {} } }, "Apply", "2026-01-01T10:00:00Z");
  const source: KubeObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "s", managedFields: [helm, entry("dr-syncer", { "f:spec": {} })] },
  };
  const copy: KubeObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "s", managedFields: [entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"), KCM] },
  };
  assert.ok(hasOtherApplier(source));
  const handed = handedOverEntries(copy, source)!;
  assert.deepEqual(handed.map((e) => e.manager), ["kube-controller-manager", "helm"]);
  assert.deepEqual(
    handedOverEntries(copy, undefined)!.map((e) => e.manager),
    ["kube-controller-manager"],
    "without the source, dr-syncer's ownership is given up",
  );
  const live = { ...copy, metadata: { ...copy.metadata, managedFields: handed } };
  assert.equal(handedOverEntries(live, source), undefined, "done once");
  const edited = [...handed, entry("kubectl-edit", { "f:data": { "f:b": {} } })];
  const back = takenBackEntries({ ...copy, metadata: { ...copy.metadata, managedFields: edited } }, source)!;
  assert.deepEqual(
    back.map((e) => e.manager),
    ["kube-controller-manager", "kubectl-edit"],
    "DR's own writer stays",
  );
  assert.deepEqual(entriesWithWriters(copy, [helm])!.map((e) => e.manager), [
    "kube-controller-manager",
    "helm",
  ]);
});

Deno.test("helm records: recognised by type, or listed by name and labels; Helm's rewrite of a record is its copy", () => {
  const record = (name: string, labels: Record<string, string>, type?: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, labels },
    ...(type ? { type } : {}),
  });
  const labels = { owner: "helm", name: "pi", version: "1", status: "deployed" };
  const wanted = record("sh.helm.release.v1.pi.v1", labels, "helm.sh/release.v1");
  assert.ok(isHelmRecord(wanted));
  assert.ok(isHelmRecord(record("sh.helm.release.v1.pi.v1", labels)), "a metadata listing has no type");
  assert.ok(
    !isHelmRecord(record("sh.helm.release.v1.pi.v1", { owner: "someone", name: "pi", version: "1" })),
  );
  const rewritten = record("sh.helm.release.v1.pi.v1", { ...labels, status: "superseded" });
  assert.ok(isHelmRecordOf(wanted, rewritten));
  assert.ok(!isHelmRecordOf(wanted, record("sh.helm.release.v1.pi.v1", { ...labels, version: "2" })));
  assert.ok(!isHelmRecordOf(record("x", labels, "Opaque"), rewritten));
});

const OPTIONS: PlanSyncOptions = { prune: false, sourceCluster: "prod", sourceNamespace: "shop" };

function withHash(o: KubeObject): KubeObject {
  return {
    ...o,
    metadata: {
      ...o.metadata,
      annotations: { ...o.metadata.annotations, "dr-syncer.io/content-hash": contentHash(o) },
    },
  };
}

Deno.test("plan: a copy that lost a field nobody wrote again asks for DR's full object, then is put back", () => {
  const want = desired();
  delete want.metadata.annotations!["dr-syncer.io/content-hash"];
  want.metadata.annotations!["dr-syncer.io/source-namespace"] = "shop";
  const fields = structuredClone(DR_SYNCER_FIELDS) as Loose;
  fields["f:metadata"]["f:annotations"]["f:dr-syncer.io/source-namespace"] = {};
  const copy = withHash(want);
  const listed = (owned: unknown): KubeObject => ({
    ...copy,
    metadata: { ...copy.metadata, managedFields: [entry("dr-syncer", owned, "Apply")] },
  });
  const desiredState = {
    namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop-dr" } },
    entries: [{
      type: DEPLOYMENTS,
      name: "web",
      outcome: { action: "copy" as const, object: want, warnings: [], errors: [] },
    }],
  };
  const plan = (current: KubeObject, live?: KubeObject) =>
    planSync(desiredState, [{ type: DEPLOYMENTS, objects: [current] }], {
      ...OPTIONS,
      writers: new Map(),
      live: new Map(live ? [["deployments.apps/web", live]] : []),
    }).entries[0]!;
  assert.equal(plan(listed(fields)).action, "unchanged", "every field owned: nothing read, nothing written");
  assert.equal(plan(listed(fields)).readFull, undefined);
  const lost = structuredClone(fields);
  delete lost["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']["f:env"];
  const unverified = plan(listed(lost));
  assert.equal(unverified.action, "unchanged");
  assert.equal(unverified.readFull, true);
  const full = structuredClone(listed(lost)) as KubeObject & { spec: Loose };
  full.spec.template.spec.containers[0].env = [];
  full.metadata.resourceVersion = "7";
  const repaired = plan(listed(lost), full);
  assert.equal(repaired.action, "update");
  assert.equal(
    repaired.reason,
    "drift: changed on DR; put back (removed spec.template.spec.containers[c].env[A])",
  );
  assert.equal(repaired.replace?.metadata.resourceVersion, "7", "written over DR's object");
});

Deno.test("plan: a Helm record Helm rewrote on DR (no provenance) is updated, not refused", () => {
  const record: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "sh.helm.release.v1.pi.v1",
      labels: { owner: "helm", name: "pi", version: "1", status: "deployed" },
    },
    type: "helm.sh/release.v1",
    data: { release: "eA==" },
  };
  const rewritten: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "sh.helm.release.v1.pi.v1",
      labels: { owner: "helm", name: "pi", version: "1", status: "superseded" },
    },
  };
  const state = {
    namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop-dr" } },
    entries: [{
      type: SECRETS,
      name: record.metadata.name,
      outcome: { action: "copy" as const, object: record, warnings: [], errors: [] },
    }],
  };
  const planned = planSync(state, [{ type: SECRETS, objects: [rewritten] }], OPTIONS).entries[0]!;
  assert.equal(planned.action, "update");
  assert.match(planned.reason ?? "", /^Helm rewrote this release record on DR/);
  const other = { ...rewritten, metadata: { ...rewritten.metadata, name: "not-helm", labels: {} } };
  const refused = planSync(
    {
      ...state,
      entries: [{
        ...state.entries[0]!,
        name: "not-helm",
        outcome: {
          ...state.entries[0]!.outcome,
          object: { ...record, metadata: { ...record.metadata, name: "not-helm" } },
        },
      }],
    },
    [{ type: SECRETS, objects: [other] }],
    OPTIONS,
  ).entries[0]!;
  assert.equal(refused.action, "error", "any other object without provenance is still left alone");
});

Deno.test("scaling with ownership: the hand-over rides on the scale write; alone only when the owners differ", () => {
  const helm = entry("helm", { "f:spec": { "f:template": {} } }, "Apply");
  const scaled = entry("dr-syncer", { "f:spec": { "f:replicas": {} } });
  const workload = (replicas: number, managedFields: ManagedFieldsEntry[]): Workload => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", managedFields },
    spec: { replicas },
  });
  const up = withOwnership(setReplicas(() => 3), () => [KCM, helm], handOverNote);
  const change = up(workload(0, [entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"), KCM]))!;
  assert.deepEqual(change.patch, { spec: { replicas: 3 }, metadata: { managedFields: [KCM, helm] } });
  assert.equal(change.reason, "replicas 0 -> 3; field owners handed over (helm)");
  assert.equal(
    up(workload(3, [KCM, helm, scaled])),
    undefined,
    "dr-syncer's own scale entry is no difference",
  );
  const alone = up(workload(3, [entry("dr-syncer", DR_SYNCER_FIELDS, "Apply"), KCM]))!;
  assert.deepEqual(alone.patch, { metadata: { managedFields: [KCM, helm] } });
});
