/**
 * PVC data under real crashes, with the simulated node parts of `pvc_harness.ts`:
 * - the sending node's agent is killed with SIGKILL in the middle of a transfer: the claim fails, and once
 *   the agent is back a re-run ends with the data equal, building on the part already moved (`--partial`);
 * - the SSH connection between the agents is cut (the receiving agent's ssh process killed) mid-transfer: the
 *   pass tries again by itself and ends with the data equal;
 * - the CLI running a cutover is killed with SIGKILL after its final data pass copied one claim while another
 *   claim waited for its lock: the re-run finishes the cutover and skips the claim already copied.
 */
import assert from "node:assert/strict";
import { pseudoRandomBytes } from "../support/agent/mod.ts";
import { runDeps } from "../../functions/operation_deps.ts";
import { pvcPass } from "../../functions/pvc_sync.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { LEASES, PERSISTENT_VOLUME_CLAIMS, PODS } from "../../shared/kube/types.ts";
import { createObject, deleteObject, getObject, listObjects } from "../../shared/kube/verbs.ts";
import { ANNOTATION_PVC_SYNC, claimLockName } from "../../shared/pvc/pvc_pass.ts";
import { stage } from "../../functions/stage.ts";
import {
  deps,
  DR_KUBECONFIG,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  pvcSpec,
  runningPods,
  startPvcHarness,
  storageClasses,
} from "./pvc_harness.ts";

const ENTRY = new URL("../../functions/cli/main.ts", import.meta.url).pathname;

Deno.test("the sending agent killed mid-transfer: the claim fails, and a re-run ends equal from the partial file", async () => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvckill", async (ns) => {
    harness.manage(ns.source, ns.dest);
    // 16 MiB/s: the 48 MiB file takes about 3 s, long enough to kill the agent in the middle
    const base = pvcSpec(ns.spec(), harness);
    const spec = { ...base, pvcData: { ...base.pvcData, bandwidthLimitKiB: 16 * 1024 } };
    await seed(clusters.source, appObjects(ns.source, "data", 1));
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    const size = 48 * 1024 * 1024;
    await Deno.writeFile(`${sourceData}/big.bin`, pseudoRandomBytes(size, 11));
    await Deno.writeTextFile(`${sourceData}/small.txt`, "small\n");
    const [pod] = await eventually("the source app running", async () => {
      const pods = await runningPods(clusters.source, ns.source, "app-data");
      return pods.length === 1 ? pods : undefined;
    });
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    const drData = await harness.dr.claimStorage(ns.dest, "data");
    const nodeName = (pod!.spec as { nodeName: string }).nodeName;
    const sender = harness.source.nodes.find((n) => n.name === nodeName)!;

    const run = runDeps(deps(clusters));
    const pass = (passId: string) => pvcPass(run, { spec, direction: "to-dr", passId });
    const first = pass("first");
    await sender.agent.waitForLog((e) => e.msg === "transfer started", 30_000);
    await new Promise((r) => setTimeout(r, 1200)); // a part of the file is over
    sender.agent.kill("SIGKILL");
    const failed = await first;
    assert.equal(failed.claims[0]?.status, "failed", JSON.stringify(failed.claims));
    assert.match(failed.claims[0]?.reason ?? "", /after \d+ tries/);
    const partial = await Deno.stat(`${drData}/big.bin`).then((s) => s.size, () => 0);
    assert.ok(partial > 0 && partial < size, `a partial file was kept (${partial} of ${size} bytes)`);

    await harness.restartAgent(harness.source, nodeName);
    const second = await pass("second");
    const claim = second.claims[0]!;
    assert.equal(claim.status, "copied", claim.reason);
    await assertSameTree(drData, sourceData);
    assert.ok(
      claim.transfer!.wireBytes < size - partial / 2,
      `the re-run built on the partial file: ${
        claim.transfer!.wireBytes
      } bytes over the wire, ${partial} were there`,
    );
  });
});

/** Kills the ssh processes that carry a pull to the agent on `port` (the receiving agent's transport). */
async function cutSshTo(port: number): Promise<number> {
  let killed = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const argv = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).then(
      (t) => t.split("\0"),
      (): string[] => [],
    );
    if (argv[0] !== "ssh" || !argv.includes("HostKeyAlias=dr-syncer-peer")) continue;
    if (argv[argv.indexOf("-p") + 1] !== String(port)) continue;
    try {
      Deno.kill(Number(entry.name), "SIGKILL");
      killed++;
    } catch {
      // gone already
    }
  }
  return killed;
}

Deno.test("the SSH connection between the agents cut mid-transfer: the pass tries again and ends equal", async () => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvccut", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const base = pvcSpec(ns.spec(), harness);
    const spec = { ...base, pvcData: { ...base.pvcData, bandwidthLimitKiB: 16 * 1024 } };
    await seed(clusters.source, appObjects(ns.source, "data", 1));
    const sourceData = await harness.source.claimStorage(ns.source, "data");
    await Deno.writeFile(`${sourceData}/big.bin`, pseudoRandomBytes(40 * 1024 * 1024, 5));
    const [pod] = await eventually("the source app running", async () => {
      const pods = await runningPods(clusters.source, ns.source, "app-data");
      return pods.length === 1 ? pods : undefined;
    });
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    const sender = harness.source.nodes.find((n) => n.name === (pod!.spec as { nodeName: string }).nodeName)!;
    const pass = pvcPass(runDeps(deps(clusters)), { spec, direction: "to-dr", passId: "cut" });
    await sender.agent.waitForLog((e) => e.msg === "transfer started", 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(await cutSshTo(sender.agent.port) > 0, "an ssh connection was cut");
    const result = await pass;
    const claim = result.claims[0]!;
    assert.equal(claim.status, "copied", claim.reason);
    assert.ok(claim.transfer!.attempts >= 2, `tried again (${claim.transfer!.attempts} tries)`);
    await assertSameTree(await harness.dr.claimStorage(ns.dest, "data"), sourceData);
  });
});

Deno.test("a cutover killed (SIGKILL) during its data pass: the re-run finishes and skips the claim already copied", async () => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvccrash", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const spec = pvcSpec(ns.spec(), harness);
    await seed(clusters.source, [...appObjects(ns.source, "a", 1), ...appObjects(ns.source, "b", 1)]);
    for (const claim of ["a", "b"]) {
      await Deno.writeTextFile(
        `${await harness.source.claimStorage(ns.source, claim)}/f`,
        `data of ${claim}\n`,
      );
    }
    assert.equal((await stage(deps(clusters), { replication: spec })).status, "succeeded");
    // another pass holds claim b: the cutover's pass copies a, then waits for b
    const now = new Date().toISOString().replace("Z", "000Z");
    await createObject(clusters.dr, LEASES, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: claimLockName("b"), namespace: ns.dest },
      spec: { holderIdentity: "another-pass", leaseDurationSeconds: 600, acquireTime: now, renewTime: now },
    });
    const args = (...extra: string[]) => [
      "run",
      "-A",
      ENTRY,
      "cutover",
      "--source-kubeconfig",
      SOURCE_KUBECONFIG,
      "--dest-kubeconfig",
      DR_KUBECONFIG,
      "--source-namespace",
      ns.source,
      "--dest-namespace",
      ns.dest,
      "--migrate-pvc-data",
      "--agent-namespace",
      harness.agentNamespace,
      "--mounter-image",
      "pause:test",
      "--lease-seconds",
      "10",
      "--output",
      "json",
      ...extra,
    ];
    const child = new Deno.Command(Deno.execPath(), { args: args(), stdout: "null", stderr: "piped" })
      .spawn();
    const stderr = new Response(child.stderr).text();
    let exited = false;
    child.status.then(() => exited = true);
    // a cutover on a busy machine (CI runs the soak beside this) can take more than a minute
    // to reach its data pass: wait longer, and say what the CLI printed if it ended first
    await eventually("claim a copied by the cutover's pass", async () => {
      if (exited) throw new Error("the cutover ended before claim a was copied");
      const claim = await getObject(clusters.dr, PERSISTENT_VOLUME_CLAIMS, ns.dest, "a");
      return claim?.metadata.annotations?.[ANNOTATION_PVC_SYNC] ? true : undefined;
    }, 240_000).catch(async (error) => {
      if (!exited) child.kill("SIGKILL");
      throw new Error(`${error.message}\ncutover's output:\n${await stderr}`);
    });
    child.kill("SIGKILL");
    assert.equal((await child.status).signal, "SIGKILL");
    await stderr;
    await deleteObject(clusters.dr, LEASES, ns.dest, claimLockName("b"));

    const out = await new Deno.Command(Deno.execPath(), {
      args: args("--wait-for-lock", "90"),
      stdout: "piped",
    })
      .output();
    const report = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      status: string;
      objects: { kind: string; name: string; action: string; reason?: string }[];
      steps: { step: string; status: string }[];
    };
    assert.equal(out.code, 0, JSON.stringify(report.steps));
    const claims = Object.fromEntries(
      report.objects.filter((o) => o.kind === "PersistentVolumeClaim").map((o) => [o.name, o]),
    );
    assert.equal(claims.a?.action, "skipped");
    assert.match(claims.a?.reason ?? "", /already copied by this pass/);
    assert.equal(claims.b?.action, "updated");
    for (const claim of ["a", "b"]) {
      assert.equal(
        await Deno.readTextFile(`${await harness.dr.claimStorage(ns.dest, claim)}/f`),
        `data of ${claim}\n`,
      );
    }
    const app = await read<KubeObject & { spec: { replicas: number } }>(
      clusters.dr,
      "apps/v1",
      "Deployment",
      ns.dest,
      "app-a",
    );
    assert.equal(app?.spec.replicas, 1, "DR is up");
    const mounters = await listObjects(clusters.dr, PODS, ns.dest, { labelSelector: "dr-syncer.io/mounter" });
    assert.deepEqual(mounters.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name), []);
  });
});
