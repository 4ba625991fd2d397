/**
 * Unowned ReplicaSets and ReplicationControllers (not default types: a replication names them) stand
 * by on DR like Deployments, and cutover and failback scale them; the ReplicaSets a Deployment owns
 * are its own, on both sides.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import { type KubeClient, type KubeObject, listObjects } from "../../shared/kube/mod.ts";
import { deps, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { eventually } from "./pvc_harness.ts";

type Scaled = KubeObject & { spec: { replicas?: number } };

const PODS = { group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true };
const REPLICA_SETS = {
  group: "apps",
  version: "v1",
  resource: "replicasets",
  kind: "ReplicaSet",
  namespaced: true,
};
const RECORD = "dr-syncer.io/original-replicas";

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: "c", image: "legacy:1" }] },
});

/** An unowned ReplicaSet at 2 replicas whose DR copy stands by at 1 (scale-override), and an RC at 3. */
const legacy = (ns: string): KubeObject[] => [
  {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "legacy-rs", namespace: ns, labels: { "dr-syncer.io/scale-override": "1" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "legacy-rs" } },
      template: podTemplate("legacy-rs"),
    },
  },
  {
    apiVersion: "v1",
    kind: "ReplicationController",
    metadata: { name: "legacy-rc", namespace: ns },
    spec: { replicas: 3, selector: { app: "legacy-rc" }, template: podTemplate("legacy-rc") },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: ns },
    spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: podTemplate("web") },
  },
];

/** Replicas and record of the ReplicaSet and the RC in one namespace. */
async function held(client: KubeClient, ns: string) {
  const [rs, rc] = await Promise.all([
    read<Scaled>(client, "apps/v1", "ReplicaSet", ns, "legacy-rs"),
    read<Scaled>(client, "v1", "ReplicationController", ns, "legacy-rc"),
  ]);
  return {
    rs: rs?.spec.replicas,
    rsRecord: rs?.metadata.annotations?.[RECORD],
    rc: rc?.spec.replicas,
    rcRecord: rc?.metadata.annotations?.[RECORD],
  };
}

const podsOf = async (client: KubeClient, ns: string, app: string) =>
  (await listObjects(client, PODS, ns, { labelSelector: `app=${app}` })).length;

/** The Deployment's own ReplicaSets in `ns`. */
const ownedReplicaSets = async (client: KubeClient, ns: string) =>
  (await listObjects<Scaled>(client, REPLICA_SETS, ns)).filter((rs) =>
    (rs.metadata.ownerReferences ?? []).length > 0
  );

Deno.test("unowned ReplicaSets and ReplicationControllers stand by at zero on DR and move with cutover and failback", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "replicas", async (ns) => {
    const spec = () => ns.spec({ resourceTypes: ["deployments", "replicasets", "rc"] });
    await seed(c.source, legacy(ns.source));
    await eventually(
      "the Deployment's ReplicaSet",
      async () => (await ownedReplicaSets(c.source, ns.source))[0],
    );

    const staged = await stage(deps(c), { replication: spec() });
    assert.equal(staged.status, "succeeded", JSON.stringify(staged.objects));
    const owned = staged.objects.filter((o) => o.kind === "ReplicaSet" && o.name !== "legacy-rs");
    assert.ok(owned.length > 0 && owned.every((o) => o.action === "skipped"), JSON.stringify(owned));
    assert.deepEqual(
      await held(c.dr, ns.dest),
      { rs: 1, rsRecord: "2", rc: 0, rcRecord: "3" },
      "DR stands by: the ReplicaSet at its scale-override, the RC at zero, the counts recorded",
    );
    assert.deepEqual(await held(c.source, ns.source), {
      rs: 2,
      rsRecord: undefined,
      rc: 3,
      rcRecord: undefined,
    });

    const cut = await cutover(deps(c), { replication: spec() });
    assert.equal(cut.status, "succeeded", JSON.stringify(cut.steps));
    assert.deepEqual(await held(c.source, ns.source), { rs: 0, rsRecord: "2", rc: 0, rcRecord: "3" });
    assert.deepEqual((await held(c.dr, ns.dest)).rs, 2, "DR at the source's count");
    assert.deepEqual((await held(c.dr, ns.dest)).rc, 3, "DR at the source's count");
    const scaledKinds = cut.objects.filter((o) => o.action === "updated" && o.kind !== "Deployment")
      .map((o) => `${o.kind}/${o.name}`).sort();
    assert.deepEqual(
      [...new Set(scaledKinds)],
      ["ReplicaSet/legacy-rs", "ReplicationController/legacy-rc"],
      "a Deployment's ReplicaSets are left to it, on both sides",
    );
    await eventually(
      "3 RC pods on DR",
      async () => (await podsOf(c.dr, ns.dest, "legacy-rc")) === 3 || undefined,
    );

    const back = await failback(deps(c), { replication: spec() });
    assert.equal(back.status, "succeeded", JSON.stringify(back.steps));
    assert.equal(await podsOf(c.dr, ns.dest, "legacy-rc"), 0, "failback waited for the RC's DR pods");
    assert.deepEqual(await held(c.source, ns.source), {
      rs: 2,
      rsRecord: undefined,
      rc: 3,
      rcRecord: undefined,
    });
    assert.deepEqual(await held(c.dr, ns.dest), { rs: 1, rsRecord: "2", rc: 0, rcRecord: "3" });

    // a rollout leaves the old ReplicaSet at zero with the record the Deployment's controller copied
    // onto it during the cutover: it is the Deployment's, not a trace of a cutover
    await c.source.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.source}/deployments/web`,
      contentType: "application/merge-patch+json",
      body: { spec: { template: { metadata: { annotations: { "example.com/rollout": "2" } } } } },
    });
    await eventually("the old ReplicaSet at zero", async () => {
      const sets = await ownedReplicaSets(c.source, ns.source);
      return sets.length === 2 && sets.some((rs) => rs.spec.replicas === 0) || undefined;
    }, 60_000);
    const again = await stage(deps(c), { replication: spec() });
    assert.equal(again.status, "succeeded", JSON.stringify(again.steps ?? again.objects));
  });
});
