/**
 * The RBAC that `dr-syncer render` gives the runtime is enough for the PVC data paths, and it is what they run
 * under here: the rendered ServiceAccount, Roles and ClusterRoles are applied to both test clusters, and
 * stage, pvc-sync, cutover with its final data pass and failback with its reverse passes run with tokens of
 * that ServiceAccount only, directly and through the HTTP runtime (its run records and status included) (the agents come from the PVC harness, in the namespace the config names). What the
 * roles do not grant is refused (reading Secrets of another namespace, listing the agents' Secrets, reading
 * their host private key: pvc-sync pins the public key deploy publishes in a ConfigMap, as this test does).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { pvcSync } from "../../functions/pvc_sync.ts";
import { stage } from "../../functions/stage.ts";
import { agentPublicKeyConfigMap } from "../../infra/agent_public_key.ts";
import { HOST_KEY_PUBLIC, HOST_KEY_SECRET } from "../../shared/pvc/agent_names.ts";
import { renderCluster } from "../../infra/render.ts";
import { loadConfig, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import { connectCluster } from "../../shared/kube/mod.ts";
import { silentLogger } from "../../shared/log/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";
import {
  createNamespace,
  DR_KUBECONFIG,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
  withNamespaces,
} from "../_clusters.ts";
import { forbidden, installRuntimeRights, removeClusterRights, runtimeKubeconfig } from "./runtime_rights.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  runningPods,
  startPvcHarness,
  storageClasses,
} from "./pvc_harness.ts";

Deno.test("PVC data under the runtime's rendered RBAC: stage, pvc-sync, cutover and failback with its tokens only", async () => {
  await using clusters = await testClusters();
  await using harness = await startPvcHarness(clusters);
  await storageClasses([clusters.source, clusters.dr]);
  await withNamespaces(clusters, "pvcrbac", async (ns) => {
    harness.manage(ns.source, ns.dest);
    const runtimeNs = uniqueName("rt");
    const config = loadConfig(
      JSON.stringify({
        clusters: [
          { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
          { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
        ],
        replications: [{
          name: "shop",
          source: { cluster: "source", namespace: ns.source },
          destination: { cluster: "dr", namespace: ns.dest },
          resourceTypes: ["configmaps", "deployments", "persistentvolumeclaims"],
          pvc: { enabled: true, verify: "none" },
        }],
        agent: { namespace: harness.agentNamespace, mounterImage: "pause:test" },
        runtime: { cluster: "dr", namespace: runtimeNs },
      }),
      "rbac test config",
    );
    await createNamespace(clusters.dr, ns.dest);
    for (const [name, admin] of [["source", clusters.source], ["dr", clusters.dr]] as const) {
      // what deploy does beside the harness's host-key Secret: publish its public key for the runtime
      const hostKey = await admin.request<{ data: Record<string, string> }>({
        method: "GET",
        path: `/api/v1/namespaces/${harness.agentNamespace}/secrets/${HOST_KEY_SECRET}`,
      });
      const publicKey = Buffer.from(hostKey.data[HOST_KEY_PUBLIC]!, "base64").toString();
      await seed(admin, [agentPublicKeyConfigMap(config.agent, publicKey)]);
      await createNamespace(admin, runtimeNs);
      const objects = await installRuntimeRights(admin, renderCluster(config, name).objects);
      assert.ok(objects.some((o) => o.kind === "Role"), `${name}: the render has Roles`);
    }
    const dir = await Deno.makeTempDir({ prefix: "pvc-rbac-" });
    const files = { source: `${dir}/source.kubeconfig`, dr: `${dir}/dr.kubeconfig` };
    await Deno.writeTextFile(files.source, await runtimeKubeconfig(clusters.source, "source", runtimeNs), {
      mode: 0o600,
    });
    await Deno.writeTextFile(files.dr, await runtimeKubeconfig(clusters.dr, "dr", runtimeNs), {
      mode: 0o600,
    });
    const source = await connectCluster("source", { path: files.source });
    const dr = await connectCluster("dr", { path: files.dr });
    try {
      // the roles are narrow: other namespaces' Secrets, and the agents' Secrets beyond the named two, are refused
      await assert.rejects(
        source.request({ method: "GET", path: "/api/v1/namespaces/kube-system/secrets" }),
        forbidden,
      );
      await assert.rejects(
        dr.request({ method: "GET", path: `/api/v1/namespaces/${harness.agentNamespace}/secrets` }),
        forbidden,
      );
      for (const client of [source, dr]) {
        await assert.rejects(
          client.request({
            method: "GET",
            path: `/api/v1/namespaces/${harness.agentNamespace}/secrets/${HOST_KEY_SECRET}`,
          }),
          forbidden,
        );
      }
      await seed(clusters.source, appObjects(ns.source, "data", 1));
      const sourceData = await harness.source.claimStorage(ns.source, "data");
      await Deno.writeTextFile(`${sourceData}/orders.db`, "order 1\n");
      await eventually(
        "the source app running",
        async () =>
          (await runningPods(clusters.source, ns.source, "app-data")).length === 1 ? true : undefined,
      );
      const spec = replicationSpecFromConfig(config.replications[0]!, config.agent);
      const deps = { source, dr, logger: silentLogger, lock: { leaseSeconds: 15 } };
      const staged = await stage(deps, { replication: spec });
      assert.equal(
        staged.status,
        "succeeded",
        JSON.stringify(staged.objects.filter((o) => o.action === "failed")),
      );
      const drData = await harness.dr.claimStorage(ns.dest, "data");
      const synced = await pvcSync(deps, { replication: spec });
      assert.equal(synced.status, "succeeded", JSON.stringify(synced.objects));
      await assertSameTree(drData, sourceData);
      // the HTTP runtime over the same credentials: triggers, run records, status
      const runtimeConfig = testConfig([replication("shop", ns.source, ns.dest, {
        resourceTypes: ["configmaps", "deployments", "persistentvolumeclaims"],
        pvc: { enabled: true, verify: "sample" },
      })], {
        clusters: [{ name: "source", kubeconfig: { path: files.source } }, {
          name: "dr",
          kubeconfig: { path: files.dr },
        }],
        agent: { namespace: harness.agentNamespace, mounterImage: "pause:test" },
      });
      {
        await using rt = await testRuntime(runtimeConfig);
        for (const operation of ["stage", "pvc-sync"]) {
          const r = await json<RunReport>(
            rt.request(`/v1/replications/shop/${operation}`, { token: TOKENS.ops, body: { wait: 60 } }),
          );
          assert.equal(r.status, 200, `${operation}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.status, "succeeded", `${operation}: ${JSON.stringify(r.body)}`);
        }
        const status = await json<{ lastRuns: unknown[] }>(
          rt.request("/v1/replications/shop", { token: TOKENS.read }),
        );
        assert.equal(status.status, 200);
        assert.ok(status.body.lastRuns.length >= 2, "the run records were written and read back");
      }
      await Deno.writeTextFile(`${sourceData}/orders.db`, "order 1\norder 2\n");
      const cut = await cutover(deps, { replication: spec });
      assert.equal(cut.status, "succeeded", JSON.stringify(cut.steps));
      assert.equal(await Deno.readTextFile(`${drData}/orders.db`), "order 1\norder 2\n");
      await eventually(
        "the DR app running",
        async () => (await runningPods(clusters.dr, ns.dest, "app-data")).length === 1 ? true : undefined,
      );
      await Deno.writeTextFile(`${drData}/orders.db`, "order 1\norder 2\norder 3 (on DR)\n");
      const back = await failback(deps, { replication: spec, reverseMigratePvcData: true });
      assert.equal(back.status, "succeeded", JSON.stringify(back.steps));
      assert.equal(await Deno.readTextFile(`${sourceData}/orders.db`), "order 1\norder 2\norder 3 (on DR)\n");
    } finally {
      source.close();
      dr.close();
      await Deno.remove(dir, { recursive: true });
      for (const admin of [clusters.source, clusters.dr]) {
        await admin.request({ method: "DELETE", path: `/api/v1/namespaces/${runtimeNs}` }).catch(() => {});
        await removeClusterRights(admin, runtimeNs);
      }
    }
  });
});
