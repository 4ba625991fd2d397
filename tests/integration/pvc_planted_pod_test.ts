/**
 * A tenant of the DR namespace plants pods where pvc-sync looks for its own, with the simulated node parts of
 * `pvc_harness.ts` (one real agent per fake node):
 *
 * - a busybox pod named like pvc-sync's mounter pod, labelled as one, with an emptyDir named after the DR
 *   claim's PersistentVolume (the kubelet's emptyDir folder made on its node): it is refused by name, nothing
 *   is written into its folder, the claim is reported failed, not copied;
 * - a pod labelled `dr-syncer.io/mounter` (another name) that mounts the DR claim: it counts as a user of the
 *   claim, which is then refused;
 * - the allowed cases: a mounter pod a stopped run left behind (exactly pvc-sync's shape) is replaced by this
 *   run's own, and once the planted pods are gone the claim is copied.
 */
import assert from "node:assert/strict";
import { pvcSync } from "../../functions/pvc_sync.ts";
import { stage } from "../../functions/stage.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { PERSISTENT_VOLUME_CLAIMS, PODS } from "../../shared/kube/types.ts";
import { deleteObject, getObject } from "../../shared/kube/verbs.ts";
import { MOUNTER_LABEL } from "../../shared/pvc/agent_names.ts";
import { type Claim, mounterName, type Pod } from "../../shared/pvc/claim_mounts.ts";
import { ANNOTATION_PVC_SYNC } from "../../shared/pvc/pvc_pass.ts";
import { deps, seed, testClusters, withNamespaces } from "../_clusters.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  pvcSpec,
  runningPods,
  startPvcHarness,
  storageClasses,
} from "./pvc_harness.ts";

const MOUNTER = { "app.kubernetes.io/managed-by": "dr-syncer", [MOUNTER_LABEL]: "true" };

function pod(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<KubeObject["metadata"]> = {},
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: MOUNTER, ...extra },
    spec: { nodeName: "kwok-node-0", ...spec },
  } as KubeObject;
}

async function waitGone(client: Parameters<typeof getObject>[0], namespace: string, name: string) {
  await deleteObject(client, PODS, namespace, name);
  await eventually(
    `pod ${name} gone`,
    async () => await getObject(client, PODS, namespace, name) === undefined ? true : undefined,
  );
}

Deno.test("pvc-sync never uses a pod it did not create as its mounter, nor ignores a user by its label", async (t) => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvcplant", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = pvcSpec(ns.spec(), harness);
    await seed(clusters.source, appObjects(ns.source, "data", 1));
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    await eventually(
      "the source app running",
      async () => (await runningPods(clusters.source, ns.source, "app-data")).length === 1 ? true : undefined,
    );
    await Deno.writeTextFile(`${sourceData}/payload.txt`, "the source's data\n");
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    const drData = await harness.dr.claimStorage(ns.dest, "data");
    const pv = (await getObject<Claim>(clusters.dr, PERSISTENT_VOLUME_CLAIMS, ns.dest, "data"))!.spec!
      .volumeName!;
    const name = mounterName("data");

    const assertNotCopied = async (result: Awaited<ReturnType<typeof pvcSync>>, reason: RegExp) => {
      assert.equal(result.status, "failed");
      const data = result.objects.find((o) => o.name === "data")!;
      assert.equal(data.action, "failed");
      assert.match(data.reason ?? "", reason);
      assert.deepEqual([...Deno.readDirSync(drData)], [], "nothing in the DR volume");
      const claim = await getObject<Claim>(clusters.dr, PERSISTENT_VOLUME_CLAIMS, ns.dest, "data");
      assert.equal(claim?.metadata.annotations?.[ANNOTATION_PVC_SYNC], undefined, "not recorded as copied");
    };

    await t.step(
      "a pod planted under the mounter's name, with an emptyDir named after the PV, is refused",
      async () => {
        await seed(clusters.dr, [pod(ns.dest, name, {
          containers: [{
            name: "c",
            image: "busybox",
            command: ["sleep", "3600"],
            volumeMounts: [{ name: pv, mountPath: "/x" }],
          }],
          volumes: [{ name: pv, emptyDir: {} }],
        })]);
        const planted = await eventually("the planted pod running", async () => {
          const found = await getObject<Pod>(clusters.dr, PODS, ns.dest, name);
          return found?.status?.phase === "Running" ? found : undefined;
        });
        // the kubelet's emptyDir folder of the planted pod, on its node
        const emptyDir = `${
          harness.dr.nodes[0]!.root
        }/pods/${planted.metadata.uid}/volumes/kubernetes.io~empty-dir/${pv}`;
        await Deno.mkdir(emptyDir, { recursive: true });
        const result = await pvcSync(deps(clusters), { replication: spec });
        await assertNotCopied(result, new RegExp(`Pod "${ns.dest}/${name}" .*was not made by pvc-sync`));
        assert.deepEqual(
          [...Deno.readDirSync(emptyDir)],
          [],
          "nothing written into the planted pod's emptyDir",
        );
        const still = await getObject<Pod>(clusters.dr, PODS, ns.dest, name);
        assert.equal(still?.metadata.uid, planted.metadata.uid, "the foreign pod is not deleted");
        await waitGone(clusters.dr, ns.dest, name);
      },
    );

    await t.step(
      "a pod labelled as a mounter that mounts the DR claim is a user of it: refused",
      async () => {
        await seed(clusters.dr, [pod(ns.dest, "helper", {
          containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }],
          volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
        })]);
        const result = await pvcSync(deps(clusters), { replication: spec });
        await assertNotCopied(result, /mounted by pod\(s\) helper/);
        await waitGone(clusters.dr, ns.dest, "helper");
      },
    );

    await t.step(
      "a stopped run's mounter pod is replaced by this run's own, and the claim is copied",
      async () => {
        await seed(clusters.dr, [pod(ns.dest, name, {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          containers: [{
            name: "mount",
            image: "pause:test",
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          }],
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
        }, {
          annotations: { "dr-syncer.io/claim": "data", "dr-syncer.io/mounter-run": "pvc-stopped-run" },
        })]);
        const leftover = await getObject<Pod>(clusters.dr, PODS, ns.dest, name);
        const result = await pvcSync(deps(clusters), { replication: spec });
        assert.equal(result.status, "succeeded", JSON.stringify(result.objects));
        assert.equal(result.objects.find((o) => o.name === "data")?.action, "updated");
        await assertSameTree(drData, sourceData);
        const after = await getObject<Pod>(clusters.dr, PODS, ns.dest, name);
        assert.ok(
          after === undefined || after.metadata.uid !== leftover?.metadata.uid,
          "the leftover is gone",
        );
      },
    );
  });
});
