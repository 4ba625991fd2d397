/**
 * `dr-syncer render` and `dr-syncer deploy` against the two real test clusters: the rendered manifests pass
 * a server-side dry run, `--dry-run` writes nothing, a deploy installs the agents on both clusters (their
 * pods scheduled on the KWOK nodes and found the way pvc-sync finds them) and the runtime on DR, a second
 * deploy changes no object (same resourceVersions) and keeps the host keys and pvc-sync's authorized keys,
 * and the runtime's own credentials (the kubeconfig deploy wrote, its ServiceAccount on DR) are enough to run
 * stage, cutover and failback, and to watch the original DR-Syncer API's objects in its namespace (the CRDs
 * deploy installed and waited for), write their status and record Events, and nothing more of them. Every
 * name is unique to the test, so it runs beside the other tests (the CRDs are cluster-wide, the same for
 * every test, and never deleted).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { utils } from "ssh2";
import { type CliIo, main } from "../../functions/cli/run_cli.ts";
import { typeOfObject } from "../../functions/deploy.ts";
import { loadConfigFile, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import { connectCluster, isNotFound, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { resourcePath } from "../../shared/kube/types.ts";
import { agentHostKey, agentOnNode, authorizeTransferKey } from "../../shared/pvc/agents.ts";
import {
  AGENT_NAME,
  AUTHORIZED_KEYS_SECRET,
  HOST_KEY_PRIVATE,
  HOST_KEY_PUBLIC,
  HOST_KEY_SECRET,
} from "../../shared/pvc/agent_names.ts";
import { kubeconfigSecretName, RUNTIME_NAME } from "../../infra/names.ts";
import {
  NAMESPACE_MAPPING,
  OPERATOR_API_VERSION,
  OPERATOR_KINDS,
} from "../../shared/config/operator_names.ts";
import { HOST_PUBLIC_KEY_CONFIG_MAP } from "../../infra/agent_public_key.ts";
import { forbidden, runtimeKubeconfig, stageCutoverFailback } from "./runtime_rights.ts";
import { until } from "./until.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  fixtures,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
} from "../_clusters.ts";

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const io: CliIo = {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    env: (name) => name === "DEPLOY_TEST_TOKEN" ? "token-from-env" : Deno.env.get(name),
    stderrIsTerminal: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

async function get<T extends KubeObject = KubeObject>(
  client: KubeClient,
  o: KubeObject,
): Promise<T | undefined> {
  try {
    return await client.request<T>({
      method: "GET",
      path: resourcePath(typeOfObject(o), o.metadata.namespace, o.metadata.name),
    });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

interface Pod extends KubeObject {
  spec: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string };
}

Deno.test("deploy: render passes a server-side dry run, --dry-run writes nothing, deploy installs and is idempotent, the runtime's rights suffice", async (t) => {
  await using clusters = await testClusters();
  const id = uniqueName("dpl").slice(0, 30);
  const agentNs = `${id}-agents`, runtimeNs = `${id}-rt`, appNs = `${id}-app`, dataNs = `${id}-data`;
  const liveNs = `${id}-live`;
  const port = 20000 + Math.floor(Math.random() * 10000);
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-deploy-" });
  const file = `${dir}/dr-syncer.yaml`;
  await Deno.writeTextFile(
    file,
    `clusters:
  - name: source
    kubeconfig: { path: ${SOURCE_KUBECONFIG}, context: source }
  - name: dr
    kubeconfig: { path: ${DR_KUBECONFIG}, context: dr }
tokens:
  - name: ops
    value: { env: DEPLOY_TEST_TOKEN }
    operations: [read, stage]
replications:
  - name: app
    source: { cluster: source, namespace: ${appNs} }
    destination: { cluster: dr }
    schedule: "*/5 * * * *"
    pvc: { enabled: false }
  - name: data
    source: { cluster: source, namespace: ${dataNs} }
    destination: { cluster: dr }
    pvc: { enabled: true }
agent: { namespace: ${agentNs}, port: ${port}, image: dr-syncer-agent:test }
runtime: { namespace: ${runtimeNs}, image: dr-syncer-runtime:test }
`,
  );
  const clientOf = { source: clusters.source, dr: clusters.dr } as const;
  const rendered = async () => {
    const out = await cli("render", "--config", file, "--output", "json");
    assert.equal(out.code, 0, out.stderr);
    return (JSON.parse(out.stdout) as { clusters: { cluster: "source" | "dr"; objects: KubeObject[] }[] })
      .clusters;
  };
  /**
   * The CRDs are the same for every test and may exist already (never deleted): their resourceVersions,
   * which a dry run must leave as they are.
   */
  const crdVersions = async () => {
    const versions: Record<string, string | undefined> = {};
    for (const r of await rendered()) {
      for (const o of r.objects.filter((o) => o.kind === "CustomResourceDefinition")) {
        versions[o.metadata.name] = (await get(clientOf[r.cluster], o))?.metadata.resourceVersion;
      }
    }
    return versions;
  };
  try {
    await t.step("deploy --dry-run writes nothing", async () => {
      const crdsBefore = await crdVersions();
      const out = await cli("deploy", "--config", file, "--dry-run", "--output", "json");
      assert.equal(out.code, 0, out.stderr);
      const report = JSON.parse(out.stdout);
      assert.equal(report.dryRun, true);
      assert.ok(report.counts.created > 0);
      for (const r of await rendered()) {
        for (const o of r.objects) {
          if (o.kind === "CustomResourceDefinition") continue;
          assert.equal(
            await get(clientOf[r.cluster], o),
            undefined,
            `${r.cluster} ${o.kind} ${o.metadata.name}`,
          );
        }
        assert.equal(clientOf[r.cluster].stats.writes, 0);
      }
      assert.deepEqual(await crdVersions(), crdsBefore);
    });

    await t.step("the rendered manifests pass the API servers' server-side dry run", async () => {
      const crdsBefore = await crdVersions();
      for (const r of await rendered()) {
        const client = clientOf[r.cluster];
        // a dry run cannot look into a namespace that does not exist: create them for real
        for (const o of r.objects.filter((o) => o.kind === "Namespace")) {
          await createNamespace(client, o.metadata.name);
        }
        for (const o of r.objects.filter((o) => o.kind !== "Namespace")) {
          await client.request({
            method: "PATCH",
            path: resourcePath(typeOfObject(o), o.metadata.namespace, o.metadata.name),
            query: { fieldManager: "dr-syncer-deploy", force: true, dryRun: "All" },
            contentType: "application/apply-patch+yaml",
            body: o,
          });
          if (o.kind === "CustomResourceDefinition") continue;
          assert.equal(await get(client, o), undefined, `${o.kind} ${o.metadata.name} was not stored`);
        }
      }
      assert.deepEqual(await crdVersions(), crdsBefore, "the CRDs as they were");
    });

    const hostKeys: Record<string, string> = {};
    await t.step("deploy installs the agents on both clusters and the runtime on DR", async () => {
      const out = await cli("deploy", "--config", file, "--output", "json");
      assert.equal(out.code, 0, out.stderr);
      const report = JSON.parse(out.stdout);
      assert.equal(report.runtimeCluster, "dr");
      assert.equal(report.counts.skipped, 0);
      for (const cluster of ["source", "dr"] as const) {
        const client = clientOf[cluster];
        const secret = await get<Secret>(client, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: HOST_KEY_SECRET, namespace: agentNs },
        });
        const privateKey = Buffer.from(secret!.data![HOST_KEY_PRIVATE]!, "base64").toString();
        const parsed = utils.parseKey(privateKey);
        assert.ok(
          !(parsed instanceof Error) && parsed.type === "ssh-ed25519",
          "an ed25519 OpenSSH private key",
        );
        const publicLine = await agentHostKey(client, agentNs);
        assert.match(publicLine, /^ssh-ed25519 AAAA\S+$/);
        hostKeys[cluster] = publicLine;
        // the public half published apart, for the runtime (which may not read the Secret)
        const published = await get<KubeObject & { data?: Record<string, string> }>(client, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: HOST_PUBLIC_KEY_CONFIG_MAP, namespace: agentNs },
        });
        assert.equal(
          published?.data?.[HOST_KEY_PUBLIC],
          Buffer.from(secret!.data![HOST_KEY_PUBLIC]!, "base64").toString(),
        );
        assert.ok(published!.data![HOST_KEY_PUBLIC]!.startsWith(`${publicLine} `));
      }
      assert.notEqual(hostKeys.source, hostKeys.dr, "each cluster has its own host key");
      const dr = (await rendered()).find((r) => r.cluster === "dr")!;
      assert.ok(dr.objects.some((o) => o.kind === "Deployment" && o.metadata.name === RUNTIME_NAME));
      const kubeconfig = await get<Secret>(clusters.dr, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: kubeconfigSecretName("source"), namespace: runtimeNs },
      });
      assert.ok(kubeconfig?.data?.kubeconfig, "the runtime's kubeconfig of the source cluster");
      // the original DR-Syncer API's CRDs, served in the runtime's cluster before its Deployment was applied
      const crds = report.objects.filter((o: { kind: string }) => o.kind === "CustomResourceDefinition");
      assert.deepEqual(crds.map((o: { cluster: string }) => o.cluster), ["dr", "dr", "dr"]);
      const deployed = report.objects.map((o: { kind: string; name: string }) => `${o.kind}/${o.name}`);
      assert.ok(
        deployed.indexOf(`Deployment/${RUNTIME_NAME}`) >
          deployed.indexOf("CustomResourceDefinition/remoteclusters.dr-syncer.io"),
      );
      for (const kind of OPERATOR_KINDS) {
        const crd = await get<KubeObject & { status: { conditions: { type: string; status: string }[] } }>(
          clusters.dr,
          {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name: `${kind.plural}.dr-syncer.io` },
          },
        );
        assert.ok(
          crd?.status.conditions.some((c) => c.type === "Established" && c.status === "True"),
          kind.kind,
        );
      }
      assert.ok(
        !(await rendered()).find((r) => r.cluster === "source")!.objects.some((o) =>
          o.kind === "CustomResourceDefinition"
        ),
        "only where the runtime runs",
      );
    });

    await t.step("the agent DaemonSet's pods run on the KWOK nodes and pvc-sync finds them", async () => {
      for (const cluster of ["source", "dr"] as const) {
        const client = clientOf[cluster];
        const pods = await until(`${cluster}: agent pods on both nodes`, async () => {
          const list = await client.request<{ items: Pod[] }>({
            method: "GET",
            path: `/api/v1/namespaces/${agentNs}/pods`,
            query: { labelSelector: `app.kubernetes.io/name=${AGENT_NAME}` },
          });
          const running = list.items.filter((p) => p.status?.phase === "Running");
          return running.length === 2 ? running : undefined;
        });
        assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ["kwok-node-0", "kwok-node-1"]);
        assert.ok(pods.every((p) => p.spec.hostNetwork && p.status?.podIP === "127.0.0.1"));
        for (const node of ["kwok-node-0", "kwok-node-1"]) {
          const agent = await until(
            `${cluster}: agent ready on ${node}`,
            () => agentOnNode(client, agentNs, node).catch(() => undefined),
          );
          assert.deepEqual(agent, { host: "127.0.0.1", port });
        }
      }
    });

    await t.step("a second deploy changes nothing and keeps the host keys and pvc-sync's keys", async () => {
      await authorizeTransferKey(clusters.dr, agentNs, "transfer-1", {
        name: "test",
        publicKey: hostKeys.dr!,
        volume: { podUid: "u", volumeName: "v" },
        mode: "receiver",
        expiresAt: new Date(Date.now() + 3600_000),
      });
      const snapshot = async () => {
        const versions: Record<string, string> = {};
        const generations: Record<string, number | undefined> = {};
        for (const r of await rendered()) {
          const objects = [
            ...r.objects,
            { apiVersion: "v1", kind: "Secret", metadata: { name: HOST_KEY_SECRET, namespace: agentNs } },
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: HOST_PUBLIC_KEY_CONFIG_MAP, namespace: agentNs },
            },
          ];
          for (const o of objects) {
            const live = await get(clientOf[r.cluster], o);
            versions[`${r.cluster}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`] = live!
              .metadata.resourceVersion!;
          }
        }
        return { versions, generations };
      };
      // the DaemonSet's and Deployment's status settle first (the controllers write them)
      await new Promise((r) => setTimeout(r, 2000));
      const before = await snapshot();
      const out = await cli("deploy", "--config", file, "--output", "json");
      assert.equal(out.code, 0, out.stderr);
      const report = JSON.parse(out.stdout);
      assert.equal(report.counts.created + report.counts.configured + report.counts.skipped, 0, out.stdout);
      const after = await snapshot();
      const workloads = (k: string) => /\/(DaemonSet|Deployment)\//.test(k);
      for (const [k, v] of Object.entries(before.versions)) {
        // a workload's version also moves with its status, which its controller writes: its spec did not
        if (workloads(k)) assert.equal(after.generations[k], before.generations[k], `${k} spec unchanged`);
        else assert.equal(after.versions[k], v, `${k} unchanged`);
      }
      // the deploy's report: every object's version the same right before and after its apply
      for (const o of report.objects) {
        assert.ok(o.action === "unchanged" || o.action === "kept", JSON.stringify(o));
      }
      assert.equal(await agentHostKey(clusters.dr, agentNs), hostKeys.dr);
      assert.equal(await agentHostKey(clusters.source, agentNs), hostKeys.source);
      const keys = await get<Secret>(clusters.dr, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: AUTHORIZED_KEYS_SECRET, namespace: agentNs },
      });
      assert.deepEqual(Object.keys(keys?.data ?? {}), ["transfer-1.json"]);
    });

    await t.step("the runtime's credentials are enough for stage, cutover and failback", async () => {
      // the source through the kubeconfig deploy wrote; DR through the runtime's ServiceAccount
      const secret = await get<Secret>(clusters.dr, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: kubeconfigSecretName("source"), namespace: runtimeNs },
      });
      const sourceText = Buffer.from(secret!.data!.kubeconfig!, "base64").toString();
      const drText = await runtimeKubeconfig(clusters.dr, "dr", runtimeNs);
      const source = await connectCluster("source", { inline: sourceText });
      const dr = await connectCluster("dr", { inline: drText });
      try {
        // what the runtime may not do: read Secrets outside its namespaces, or the agents' host private key;
        // it reads the published public key
        for (const client of [source, dr]) {
          await assert.rejects(
            client.request({ method: "GET", path: "/api/v1/namespaces/kube-system/secrets" }),
            forbidden,
          );
          await assert.rejects(client.request({ method: "GET", path: "/api/v1/secrets" }), forbidden);
          await assert.rejects(
            client.request({
              method: "GET",
              path: `/api/v1/namespaces/${agentNs}/secrets/${HOST_KEY_SECRET}`,
            }),
            forbidden,
          );
          const published = await client.request<{ data: Record<string, string> }>({
            method: "GET",
            path: `/api/v1/namespaces/${agentNs}/configmaps/${HOST_PUBLIC_KEY_CONFIG_MAP}`,
          });
          assert.ok(published.data[HOST_KEY_PUBLIC]!.startsWith("ssh-ed25519 "));
        }
        // the original API's objects: in its namespace, listed, status written, trigger annotation removed,
        // Events recorded; not created, deleted, nor read in another namespace or across the cluster
        const api = `/apis/${OPERATOR_API_VERSION}`;
        const mappings = `${api}/namespaces/${runtimeNs}/${NAMESPACE_MAPPING.plural}`;
        await clusters.dr.request({
          method: "POST",
          path: mappings,
          body: {
            apiVersion: OPERATOR_API_VERSION,
            kind: NAMESPACE_MAPPING.kind,
            metadata: { name: "app", annotations: { "dr-syncer.io/sync-now": "1" } },
            spec: { sourceCluster: "source", destinationCluster: "dr", sourceNamespace: appNs },
          },
        });
        for (const kind of OPERATOR_KINDS) {
          await dr.request({ method: "GET", path: `${api}/namespaces/${runtimeNs}/${kind.plural}` });
          await assert.rejects(dr.request({ method: "GET", path: `${api}/${kind.plural}` }), forbidden);
          await assert.rejects(
            dr.request({ method: "GET", path: `${api}/namespaces/${appNs}/${kind.plural}` }),
            forbidden,
          );
        }
        await dr.request({
          method: "PATCH",
          path: `${mappings}/app/status`,
          query: { fieldValidation: "Strict" },
          contentType: "application/merge-patch+json",
          body: { status: { phase: "Synced", source: `source/${appNs}` } },
        });
        await dr.request({
          method: "PATCH",
          path: `${mappings}/app`,
          contentType: "application/json-patch+json",
          body: [{ op: "remove", path: "/metadata/annotations/dr-syncer.io~1sync-now" }],
        });
        await dr.request({
          method: "POST",
          path: `/api/v1/namespaces/${runtimeNs}/events`,
          body: {
            apiVersion: "v1",
            kind: "Event",
            metadata: { name: "app.test", namespace: runtimeNs },
            involvedObject: {
              apiVersion: OPERATOR_API_VERSION,
              kind: NAMESPACE_MAPPING.kind,
              name: "app",
              namespace: runtimeNs,
            },
            type: "Normal",
            reason: "Synced",
            message: "test",
            source: { component: "dr-syncer" },
          },
        });
        await assert.rejects(
          dr.request({ method: "POST", path: `/api/v1/namespaces/${appNs}/events`, body: {} }),
          forbidden,
        );
        await assert.rejects(dr.request({ method: "DELETE", path: `${mappings}/app` }), forbidden);
        await assert.rejects(
          dr.request({
            method: "POST",
            path: mappings,
            body: {
              apiVersion: OPERATOR_API_VERSION,
              kind: NAMESPACE_MAPPING.kind,
              metadata: { name: "x" },
              spec: {},
            },
          }),
          forbidden,
        );
        const mapping = await clusters.dr.request<KubeObject & { status: { phase: string } }>({
          method: "GET",
          path: `${mappings}/app`,
        });
        assert.equal(mapping.status.phase, "Synced");
        assert.equal(mapping.metadata.annotations?.["dr-syncer.io/sync-now"], undefined);

        await seed(clusters.source, [
          fixtures.configMap(appNs, "settings"),
          fixtures.deployment(appNs, "web", 2),
        ]);
        const config = await loadConfigFile(file);
        const spec = replicationSpecFromConfig(config.replications[0]!, config.agent);
        await stageCutoverFailback(source, dr, spec);
      } finally {
        source.close();
        dr.close();
      }
    });

    await t.step(
      "a NamespaceMapping no replication covers is refused until deploy reads it and grants its rights",
      async () => {
        await createNamespace(clusters.source, liveNs);
        await seed(clusters.source, [
          fixtures.configMap(liveNs, "settings"),
          fixtures.deployment(liveNs, "web", 1),
        ]);
        await clusters.dr.request({
          method: "POST",
          path: `/apis/${OPERATOR_API_VERSION}/namespaces/${runtimeNs}/${NAMESPACE_MAPPING.plural}`,
          body: {
            apiVersion: OPERATOR_API_VERSION,
            kind: NAMESPACE_MAPPING.kind,
            metadata: { name: "live" },
            spec: { sourceCluster: "source", destinationCluster: "dr", sourceNamespace: liveNs },
          },
        });
        const secret = await get<Secret>(clusters.dr, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: kubeconfigSecretName("source"), namespace: runtimeNs },
        });
        const source = await connectCluster("source", {
          inline: Buffer.from(secret!.data!.kubeconfig!, "base64").toString(),
        });
        const dr = await connectCluster("dr", {
          inline: await runtimeKubeconfig(clusters.dr, "dr", runtimeNs),
        });
        try {
          const config = await loadConfigFile(file);
          // the mapping's replication as the runtime converts it: the config's first one's options there
          const liveSpec = {
            ...replicationSpecFromConfig(config.replications[0]!, config.agent),
            name: "live",
            sourceNamespace: liveNs,
            destNamespace: liveNs,
          };
          // before: the deployed rights name only the config's namespaces
          await assert.rejects(
            source.request({ method: "GET", path: `/api/v1/namespaces/${liveNs}/configmaps` }),
            forbidden,
          );
          const out = await cli("deploy", "--config", file, "--output", "json");
          assert.equal(out.code, 0, out.stderr);
          const report = JSON.parse(out.stdout) as {
            live: { kind: string; name: string; replication?: string; problem?: string }[];
          };
          const live = (name: string) =>
            report.live.find((o) => o.kind === NAMESPACE_MAPPING.kind && o.name === name);
          assert.equal(live("live")?.replication, "live", JSON.stringify(report.live));
          assert.equal(live("live")?.problem, undefined);
          // the mapping named like a replication of the config file is left out: the file's wins
          assert.match(live("app")?.problem ?? "", /app/, JSON.stringify(report.live));
          const text = await cli("deploy", "--config", file, "--dry-run");
          assert.match(
            text.stdout,
            new RegExp(`dr: NamespaceMapping ${runtimeNs}/live read: replication "live" granted rights`),
          );
          // after: the runtime's credentials run the mapping's stage, cutover and failback; other namespaces
          // stay closed
          await stageCutoverFailback(source, dr, liveSpec);
          await assert.rejects(
            source.request({ method: "GET", path: "/api/v1/namespaces/default/configmaps" }),
            forbidden,
          );
        } finally {
          source.close();
          dr.close();
        }
      },
    );
  } finally {
    for (const client of [clusters.source, clusters.dr]) {
      for (const ns of [agentNs, runtimeNs, appNs, dataNs, liveNs]) await deleteNamespace(client, ns);
      for (const kind of ["clusterrolebindings", "clusterroles"]) {
        await client.request({
          method: "DELETE",
          path: `/apis/rbac.authorization.k8s.io/v1/${kind}/${RUNTIME_NAME}-${runtimeNs}`,
        }).catch(() => {});
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});
