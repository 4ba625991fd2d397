/**
 * The Helm chart (`infra/chart/`) installed with the real Helm (v4) on the two test clusters:
 *
 * - the original DR-Syncer's install command, `helm install dr-syncer <chart> --namespace NS
 *   --create-namespace`, with the default values: the runtime alone in its cluster, with the CRDs of the
 *   original's API; uninstalled;
 * - a two-cluster config, one release per cluster (`cluster: source`, `cluster: dr`), then
 *   `dr-syncer deploy --keys-only` (`deployCredentials`): the agents' pods run on the KWOK nodes of both
 *   clusters and pvc-sync finds them (their pods, the published host key, the authorized-keys Secret) with
 *   the runtime's rights; the runtime's ServiceAccount (a token from a TokenRequest on DR, the kubeconfig
 *   `--keys-only` wrote for the source) runs stage, cutover and failback with the rights the chart installed,
 *   and is refused the agents' host private key and other Secrets;
 * - `helm upgrade` (a replication added, more replicas), `helm rollback` (back: the added rights gone, the
 *   namespace the upgrade created kept), `helm uninstall` (the chart's objects gone; the namespaces, the host
 *   keys and the credentials `--keys-only` made kept).
 *
 * Every name is unique to the test; the CRDs are cluster-wide and never deleted.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { stringify } from "yaml";
import { deployCredentials } from "../../functions/deploy.ts";
import { type ConfigInput, loadConfig, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import { connectCluster, isNotFound, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { silentLogger } from "../../shared/log/mod.ts";
import { agentHostKey, agentOnNode, authorizeTransferKey } from "../../shared/pvc/agents.ts";
import { AGENT_NAME, AUTHORIZED_KEYS_SECRET, HOST_KEY_SECRET } from "../../shared/pvc/agent_names.ts";
import { kubeconfigSecretName, RUNTIME_NAME, runtimeRbacName } from "../../infra/names.ts";
import { forbidden, removeClusterRights, runtimeKubeconfig, stageCutoverFailback } from "./runtime_rights.ts";
import { until } from "./until.ts";
import {
  deleteNamespace,
  DR_KUBECONFIG,
  fixtures,
  helm,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
} from "../_clusters.ts";

const CHART = new URL("../../infra/chart", import.meta.url).pathname;

async function get<T = KubeObject>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>({ method: "GET", path });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function values(dir: string, name: string, content: Record<string, unknown>): Promise<string> {
  const path = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(path, stringify(content));
  return path;
}

Deno.test("chart: the original DR-Syncer's install command installs the runtime alone with the CRDs; uninstalled", async () => {
  await using clusters = await testClusters();
  const ns = uniqueName("chartdef").slice(0, 40);
  try {
    const out = await helm(
      DR_KUBECONFIG,
      "install",
      "dr-syncer",
      CHART,
      "--namespace",
      ns,
      "--create-namespace",
    );
    assert.match(out, /STATUS: deployed/);
    for (const kind of ["remoteclusters", "clustermappings", "namespacemappings"]) {
      const crd = await get<{ status: { conditions: { type: string; status: string }[] } }>(
        clusters.dr,
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${kind}.dr-syncer.io`,
      );
      assert.ok(crd?.status.conditions.some((c) => c.type === "Established" && c.status === "True"), kind);
    }
    const deployment = await get<{ spec: { template: { spec: { serviceAccountName: string } } } }>(
      clusters.dr,
      `/apis/apps/v1/namespaces/${ns}/deployments/${RUNTIME_NAME}`,
    );
    assert.equal(deployment?.spec.template.spec.serviceAccountName, RUNTIME_NAME);
    const config = await get<{ data: Record<string, string> }>(
      clusters.dr,
      `/api/v1/namespaces/${ns}/configmaps/dr-syncer-config`,
    );
    const parsed = loadConfig(config!.data["config.yaml"]!, "config.yaml");
    assert.deepEqual(parsed.clusters.map((c) => c.kubeconfig), [{ inCluster: true }]);
    assert.equal(parsed.runtime.namespace, ns);
    assert.ok(await get(clusters.dr, `/apis/apps/v1/namespaces/${ns}/daemonsets/${AGENT_NAME}`));
    // the runtime reads the original API's objects in its namespace
    assert.ok(
      await get(
        clusters.dr,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${runtimeRbacName(ns)}`,
      ),
    );
    await helm(DR_KUBECONFIG, "uninstall", "dr-syncer", "--namespace", ns);
    assert.equal(
      await get(clusters.dr, `/apis/apps/v1/namespaces/${ns}/deployments/${RUNTIME_NAME}`),
      undefined,
    );
    assert.equal(
      await get(clusters.dr, `/apis/apps/v1/namespaces/${ns}/daemonsets/${AGENT_NAME}`),
      undefined,
    );
  } finally {
    await deleteNamespace(clusters.dr, ns);
  }
});

Deno.test("chart: installed in both clusters with --keys-only's credentials: pvc-sync finds the agents, the runtime's rights run stage, cutover and failback; upgrade, rollback, uninstall", async (t) => {
  await using clusters = await testClusters();
  const id = uniqueName("chart").slice(0, 28);
  const runtimeNs = `${id}-rt`, agentNs = `${id}-ag`, appNs = `${id}-app`, dataNs = `${id}-data`;
  const extraNs = `${id}-extra`;
  const port = 20000 + Math.floor(Math.random() * 10000);
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-chart-" });
  const input: ConfigInput = {
    clusters: [
      { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG, context: "source" } },
      { name: "dr", kubeconfig: { path: DR_KUBECONFIG, context: "dr" } },
    ],
    tokens: [{ name: "ops", value: { env: "CHART_TEST_TOKEN" }, operations: ["read", "stage"] }],
    replications: [
      {
        name: "app",
        source: { cluster: "source", namespace: appNs },
        destination: { cluster: "dr" },
        schedule: "*/5 * * * *",
      },
      {
        name: "data",
        source: { cluster: "source", namespace: dataNs },
        destination: { cluster: "dr" },
        pvc: {},
      },
    ],
    agent: { namespace: agentNs, port, healthPort: port + 1, image: "dr-syncer-agent:test" },
    runtime: { namespace: runtimeNs, image: "dr-syncer-runtime:test" },
  };
  const config = loadConfig(JSON.stringify(input), "test config");
  const kubeconfigOf = { source: SOURCE_KUBECONFIG, dr: DR_KUBECONFIG } as const;
  const clientOf = { source: clusters.source, dr: clusters.dr } as const;
  const install = async (cluster: "source" | "dr", command: "install" | "upgrade", content: ConfigInput) =>
    await helm(
      kubeconfigOf[cluster],
      command,
      "dr-syncer",
      CHART,
      "--namespace",
      runtimeNs,
      ...(command === "install" ? ["--create-namespace"] : []),
      "--values",
      await values(dir, `${cluster}-${command}`, { cluster, config: content }),
    );
  try {
    await t.step("helm install in each cluster, then dr-syncer deploy --keys-only", async () => {
      assert.match(await install("source", "install", input), /STATUS: deployed/);
      assert.match(await install("dr", "install", input), /STATUS: deployed/);
      const report = await deployCredentials(config, {
        clients: new Map<string, KubeClient>([["source", clusters.source], ["dr", clusters.dr]]),
        readEnv: (name) => name === "CHART_TEST_TOKEN" ? "token-from-env" : undefined,
        logger: silentLogger,
      });
      const made = report.objects.map((o) => `${o.cluster} ${o.kind} ${o.name} ${o.action}`).sort();
      assert.deepEqual(made, [
        `dr ConfigMap dr-syncer-agent-host-public-key created`,
        `dr Namespace ${agentNs} kept`,
        `dr Namespace ${runtimeNs} kept`,
        `dr Secret ${HOST_KEY_SECRET} created`,
        `dr Secret ${kubeconfigSecretName("source")} created`,
        `dr Secret dr-syncer-tokens created`,
        `source ConfigMap dr-syncer-agent-host-public-key created`,
        `source Namespace ${agentNs} kept`,
        `source Secret ${HOST_KEY_SECRET} created`,
      ]);
      // a second run changes nothing and keeps the keys
      const again = await deployCredentials(config, {
        clients: new Map<string, KubeClient>([["source", clusters.source], ["dr", clusters.dr]]),
        readEnv: (name) => name === "CHART_TEST_TOKEN" ? "token-from-env" : undefined,
      });
      assert.equal(again.counts.created + again.counts.configured, 0, JSON.stringify(again.objects));
    });

    await t.step(
      "the chart's agents run on both KWOK nodes of each cluster and pvc-sync finds them with the runtime's rights",
      async () => {
        for (const cluster of ["source", "dr"] as const) {
          const runtime = await connectCluster(cluster, {
            inline: await runtimeKubeconfig(clientOf[cluster], cluster, runtimeNs),
          });
          try {
            for (const node of ["kwok-node-0", "kwok-node-1"]) {
              const agent = await until(
                `${cluster}: the agent on ${node}`,
                () => agentOnNode(runtime, agentNs, node),
              );
              assert.deepEqual(agent, { host: "127.0.0.1", port });
            }
            const hostKey = await agentHostKey(runtime, agentNs);
            assert.match(hostKey, /^ssh-ed25519 AAAA\S+$/);
            await authorizeTransferKey(runtime, agentNs, "transfer-1", {
              name: "test",
              publicKey: hostKey,
              volume: { podUid: "u", volumeName: "v" },
              mode: "receiver",
              expiresAt: new Date(Date.now() + 3600_000),
            });
            await assert.rejects(
              runtime.request({
                method: "GET",
                path: `/api/v1/namespaces/${agentNs}/secrets/${HOST_KEY_SECRET}`,
              }),
              forbidden,
            );
          } finally {
            runtime.close();
          }
        }
        const keys = await get<{ data?: Record<string, string> }>(
          clusters.dr,
          `/api/v1/namespaces/${agentNs}/secrets/${AUTHORIZED_KEYS_SECRET}`,
        );
        assert.deepEqual(Object.keys(keys?.data ?? {}), ["transfer-1.json"]);
      },
    );

    await t.step(
      "the runtime's ServiceAccount runs stage, cutover and failback with the chart's rights",
      async () => {
        const secret = await get<{ data: Record<string, string> }>(
          clusters.dr,
          `/api/v1/namespaces/${runtimeNs}/secrets/${kubeconfigSecretName("source")}`,
        );
        const source = await connectCluster("source", {
          inline: Buffer.from(secret!.data.kubeconfig!, "base64").toString(),
        });
        const dr = await connectCluster("dr", {
          inline: await runtimeKubeconfig(clusters.dr, "dr", runtimeNs),
        });
        try {
          for (const client of [source, dr]) {
            await assert.rejects(client.request({ method: "GET", path: "/api/v1/secrets" }), forbidden);
            await assert.rejects(
              client.request({ method: "GET", path: `/api/v1/namespaces/${runtimeNs}/secrets` }),
              forbidden,
            );
          }
          await seed(clusters.source, [
            fixtures.configMap(appNs, "settings"),
            fixtures.deployment(appNs, "web", 2),
          ]);
          const spec = replicationSpecFromConfig(config.replications[0]!, config.agent);
          await stageCutoverFailback(source, dr, spec);
        } finally {
          source.close();
          dr.close();
        }
      },
    );

    const roleIn = (ns: string) =>
      get(
        clusters.dr,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${runtimeRbacName(runtimeNs)}`,
      );
    const replicas = async () =>
      (await get<{ spec: { replicas: number } }>(
        clusters.dr,
        `/apis/apps/v1/namespaces/${runtimeNs}/deployments/${RUNTIME_NAME}`,
      ))?.spec.replicas;

    await t.step(
      "helm upgrade: a replication added, more replicas; helm rollback: back, the new namespace kept",
      async () => {
        const upgraded: ConfigInput = {
          ...input,
          replications: [
            ...input.replications!,
            {
              name: "extra",
              source: { cluster: "source", namespace: extraNs },
              destination: { cluster: "dr" },
            },
          ],
          runtime: { ...input.runtime, replicas: 2 },
        };
        await install("source", "upgrade", upgraded);
        await install("dr", "upgrade", upgraded);
        assert.ok(await roleIn(extraNs), "the runtime's rights in the new DR namespace");
        assert.equal(await replicas(), 2);
        const config = await get<{ data: Record<string, string> }>(
          clusters.dr,
          `/api/v1/namespaces/${runtimeNs}/configmaps/dr-syncer-config`,
        );
        assert.deepEqual(
          loadConfig(config!.data["config.yaml"]!, "config.yaml").replications.map((r) => r.name),
          ["app", "data", "extra"],
        );
        await helm(DR_KUBECONFIG, "rollback", "dr-syncer", "1", "--namespace", runtimeNs);
        assert.equal(await roleIn(extraNs), undefined, "the rights the upgrade added are gone");
        assert.equal(await replicas(), 1);
        assert.ok(
          await get(clusters.dr, `/api/v1/namespaces/${extraNs}`),
          "a namespace is never deleted by Helm",
        );
        const history = JSON.parse(
          await helm(DR_KUBECONFIG, "history", "dr-syncer", "--namespace", runtimeNs, "-o", "json"),
        ) as { revision: number; status: string }[];
        assert.deepEqual(history.map((h) => [h.revision, h.status]), [
          [1, "superseded"],
          [2, "superseded"],
          [3, "deployed"],
        ]);
      },
    );

    await t.step(
      "helm uninstall: the chart's objects gone; namespaces, host keys and credentials kept",
      async () => {
        for (const cluster of ["source", "dr"] as const) {
          await helm(kubeconfigOf[cluster], "uninstall", "dr-syncer", "--namespace", runtimeNs);
          const client = clientOf[cluster];
          assert.equal(
            await get(client, `/apis/apps/v1/namespaces/${agentNs}/daemonsets/${AGENT_NAME}`),
            undefined,
          );
          assert.equal(
            await get(
              client,
              `/apis/rbac.authorization.k8s.io/v1/clusterroles/${runtimeRbacName(runtimeNs)}`,
            ),
            undefined,
          );
          assert.ok(await get(client, `/api/v1/namespaces/${agentNs}`), "the agents' namespace");
          assert.ok(await get(client, `/api/v1/namespaces/${appNs}`), "the replicated namespace");
          assert.ok(
            await get(client, `/api/v1/namespaces/${agentNs}/secrets/${HOST_KEY_SECRET}`),
            "the host key",
          );
        }
        assert.equal(
          await get(clusters.dr, `/apis/apps/v1/namespaces/${runtimeNs}/deployments/${RUNTIME_NAME}`),
          undefined,
        );
        assert.ok(
          await get(clusters.dr, `/api/v1/namespaces/${runtimeNs}/secrets/${kubeconfigSecretName("source")}`),
        );
      },
    );
  } finally {
    for (const cluster of ["source", "dr"] as const) {
      await helm(kubeconfigOf[cluster], "uninstall", "dr-syncer", "--namespace", runtimeNs).catch(() => {});
      for (const ns of [runtimeNs, agentNs, appNs, dataNs, extraNs]) {
        await deleteNamespace(clientOf[cluster], ns);
      }
      await removeClusterRights(clientOf[cluster], runtimeNs);
    }
    await Deno.remove(dir, { recursive: true });
  }
});
