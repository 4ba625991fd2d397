/**
 * `dr-syncer deploy` (its `--keys-only` part, `deployCredentials`) against the real clusters when a host-key
 * Secret is there already but its key cannot serve: one that an earlier deploy made with ssh2's generator
 * (about one in 256 unreadable) or whose `.pub` is another key's is replaced with a working key; one made by
 * hand is left as it is and deploy stops, saying why and what to do. A working key is kept.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { utils } from "ssh2";
import { deployCredentials, type DeployReport, generateHostKey } from "../../functions/deploy.ts";
import { loadConfig } from "../../shared/config/mod.ts";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import { silentLogger } from "../../shared/log/mod.ts";
import { HOST_PUBLIC_KEY_CONFIG_MAP } from "../../infra/agent_public_key.ts";
import { RUNTIME_TOKEN_SECRET } from "../../infra/names.ts";
import { agentHostKey } from "../../shared/pvc/agents.ts";
import { HOST_KEY_PRIVATE, HOST_KEY_PUBLIC, HOST_KEY_SECRET } from "../../shared/pvc/agent_names.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
} from "../_clusters.ts";

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** A key as ssh2's generator made them before: one whose public key lost its leading zero byte. */
function legacyUnreadableKey(): { privateKey: string; publicKey: string } {
  for (let i = 0; i < 100_000; i++) {
    const pair = utils.generateKeyPairSync("ed25519");
    if (utils.parseKey(pair.private) instanceof Error) {
      return { privateKey: pair.private, publicKey: pair.public };
    }
  }
  throw new Error("ssh2 made no unreadable key in 100,000");
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const secretPath = (ns: string) => `/api/v1/namespaces/${ns}/secrets/${HOST_KEY_SECRET}`;

/** Creates the host-key Secret as `manager` would have. */
async function putHostKey(
  client: KubeClient,
  ns: string,
  manager: string,
  key: { privateKey: string; publicKey: string },
): Promise<Secret> {
  await client.request({ method: "DELETE", path: secretPath(ns) }).catch(() => {});
  return await client.request<Secret>({
    method: "POST",
    path: `/api/v1/namespaces/${ns}/secrets`,
    query: { fieldManager: manager },
    body: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: HOST_KEY_SECRET, namespace: ns },
      data: { [HOST_KEY_PRIVATE]: b64(key.privateKey), [HOST_KEY_PUBLIC]: b64(key.publicKey) },
    },
  });
}

/** The public key line OpenSSH's ssh-keygen derives from the Secret's private key. */
async function sshKeygenPublic(secret: Secret): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-hostkey-" });
  try {
    const file = `${dir}/key`;
    await Deno.writeFile(file, Buffer.from(secret.data![HOST_KEY_PRIVATE]!, "base64"), { mode: 0o600 });
    const out = await new Deno.Command("ssh-keygen", { args: ["-y", "-f", file], stderr: "piped" }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim().split(" ").slice(0, 2).join(" ");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deploy: a host key that cannot serve is replaced when deploy made it, refused when made by hand; a working one is kept", async (t) => {
  await using clusters = await testClusters();
  const id = uniqueName("hk").slice(0, 30);
  const agentNs = `${id}-agents`, runtimeNs = `${id}-rt`;
  const config = loadConfig(
    `clusters:
  - name: source
    kubeconfig: { path: ${SOURCE_KUBECONFIG}, context: source }
  - name: dr
    kubeconfig: { path: ${DR_KUBECONFIG}, context: dr }
replications:
  - name: app
    source: { cluster: source, namespace: ${id}-app }
    destination: { cluster: dr }
agent: { namespace: ${agentNs} }
runtime: { namespace: ${runtimeNs} }
`,
    "host key test config",
  );
  const clientOf = { source: clusters.source, dr: clusters.dr } as const;
  const deploy = (dryRun = false): Promise<DeployReport> =>
    deployCredentials(config, {
      clients: new Map<string, KubeClient>([["source", clusters.source], ["dr", clusters.dr]]),
      dryRun,
      logger: silentLogger,
    });
  const read = (cluster: "source" | "dr") =>
    clientOf[cluster].request<Secret>({ method: "GET", path: secretPath(agentNs) });
  const hostKeyAction = (report: DeployReport, cluster: string) =>
    report.objects.find((o) => o.cluster === cluster && o.name === HOST_KEY_SECRET);
  try {
    for (const client of [clusters.source, clusters.dr]) await createNamespace(client, agentNs);
    // the runtime's token in the source, which deploy copies into a kubeconfig (here a stand-in: only read)
    await createNamespace(clusters.source, runtimeNs);
    await clusters.source.request({
      method: "POST",
      path: `/api/v1/namespaces/${runtimeNs}/secrets`,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: RUNTIME_TOKEN_SECRET },
        data: { token: b64("not-a-real-token"), "ca.crt": b64("not-a-real-ca") },
      },
    });
    const legacy = legacyUnreadableKey();

    await t.step(
      "a Secret made or changed by hand with an unreadable key: deploy stops and leaves it as it is",
      async () => {
        const handMade = await putHostKey(clusters.dr, agentNs, "kubectl-create", legacy);
        await assert.rejects(
          deploy(),
          (error: Error) => {
            assert.match(error.message, new RegExp(`Secret "${agentNs}/${HOST_KEY_SECRET}" in cluster "dr"`));
            assert.match(
              error.message,
              /holds a host key the agents cannot use: its private key .* cannot be read/,
            );
            assert.match(error.message, /delete it and deploy again/);
            return true;
          },
        );
        const after = await read("dr");
        assert.equal(after.metadata.resourceVersion, handMade.metadata.resourceVersion, "not written");
        assert.deepEqual(after.data, handMade.data);
        // one deploy made, then changed by something else (a label by kubectl): not deploy's alone, kept too
        await putHostKey(clusters.dr, agentNs, "dr-syncer-deploy", legacy);
        const labelled = await clusters.dr.request<Secret>({
          method: "PATCH",
          path: secretPath(agentNs),
          query: { fieldManager: "kubectl-label" },
          contentType: "application/merge-patch+json",
          body: { metadata: { labels: { team: "platform" } } },
        });
        await assert.rejects(deploy(), /holds a host key the agents cannot use/);
        assert.equal(
          (await read("dr")).metadata.resourceVersion,
          labelled.metadata.resourceVersion,
          "not written",
        );
      },
    );

    await t.step("made by an earlier deploy: unreadable, or its .pub another key's: replaced", async () => {
      const unreadable = await putHostKey(clusters.dr, agentNs, "dr-syncer-deploy", legacy);
      const other = generateHostKey("other"), own = generateHostKey("own");
      const mismatched = await putHostKey(clusters.source, agentNs, "dr-syncer-deploy", {
        privateKey: own.privateKey,
        publicKey: other.publicKey,
      });
      // a dry run says so and writes nothing
      const dry = await deploy(true);
      assert.equal(hostKeyAction(dry, "dr")?.action, "replaced");
      assert.equal(dry.counts.replaced, 2);
      assert.equal((await read("dr")).metadata.resourceVersion, unreadable.metadata.resourceVersion);
      assert.equal((await read("source")).metadata.resourceVersion, mismatched.metadata.resourceVersion);

      const report = await deploy();
      assert.equal(report.counts.replaced, 2, JSON.stringify(report.objects));
      assert.match(hostKeyAction(report, "dr")!.reason!, /private key .* cannot be read.*a new key was made/);
      assert.match(hostKeyAction(report, "source")!.reason!, /is not its private key's/);
      for (const cluster of ["source", "dr"] as const) {
        const secret = await read(cluster);
        assert.ok(!(utils.parseKey(Buffer.from(secret.data![HOST_KEY_PRIVATE]!, "base64")) instanceof Error));
        // OpenSSH reads the new private key; pvc-sync pins its public half, published in the ConfigMap
        const derived = await sshKeygenPublic(secret);
        assert.equal(await agentHostKey(clientOf[cluster], agentNs), derived);
        const published = await clientOf[cluster].request<{ data: Record<string, string> }>({
          method: "GET",
          path: `/api/v1/namespaces/${agentNs}/configmaps/${HOST_PUBLIC_KEY_CONFIG_MAP}`,
        });
        assert.ok(published.data[HOST_KEY_PUBLIC]!.startsWith(`${derived} `));
      }
      assert.notEqual(
        await agentHostKey(clusters.source, agentNs),
        other.publicKey.split(" ").slice(0, 2).join(" "),
      );
    });

    await t.step("a working key is kept: a second deploy writes no Secret", async () => {
      const before = { source: await read("source"), dr: await read("dr") };
      const report = await deploy();
      assert.equal(report.counts.replaced, 0);
      for (const cluster of ["source", "dr"] as const) {
        assert.equal(hostKeyAction(report, cluster)?.action, "kept");
        assert.equal(
          (await read(cluster)).metadata.resourceVersion,
          before[cluster].metadata.resourceVersion,
        );
      }
    });
  } finally {
    for (const client of [clusters.source, clusters.dr]) {
      await deleteNamespace(client, agentNs);
      await deleteNamespace(client, runtimeNs);
    }
  }
});
