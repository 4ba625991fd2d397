/**
 * Kubeconfigs the runtime did not get from its operator's files: one in a Secret with an exec plugin
 * (its command would create a marker file), one in an environment variable with a `tokenFile` (the
 * file's content, say the runtime's own ServiceAccount token, would be sent to the server it names).
 * `serve` (a real process) refuses both when it loads them, naming the cluster, the field and the
 * option; the marker never appears and the named server gets no request. The same exec plugin runs
 * for a cluster whose config sets `allowExec: true`.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { parse as parseYaml, stringify } from "yaml";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
  withNamespaces,
} from "../_clusters.ts";
import { TOKENS } from "./http_harness.ts";
import { serveProcess, writeConfig } from "./serve_harness.ts";

const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

type Kubeconfig = {
  users: { name: string; user: Record<string, unknown> }[];
  clusters: { name: string; cluster: Record<string, unknown> }[];
  "current-context": string;
};

/** The source kubeconfig, its context's user replaced by an exec plugin that touches `marker`. */
function execKubeconfig(source: Kubeconfig, marker: string, token: string): string {
  const credential = JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token },
  });
  return stringify({
    ...source,
    "current-context": "source-norights",
    users: source.users.map((u) =>
      u.name === "source-norights"
        ? {
          name: u.name,
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1",
              command: "sh",
              args: ["-c", `touch '${marker}'; printf '%s' '${credential}'`],
              interactiveMode: "Never",
            },
          },
        }
        : u
    ),
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("serve: a kubeconfig from a Secret with an exec plugin, or from a variable naming a token file, is refused unless its cluster opts in", async () => {
  await using c = await testClusters();
  const credsNs = uniqueName("kctrust");
  await createNamespace(c.dr, credsNs);
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-kctrust-" });
  // a server the variable's kubeconfig names: it must never hear from the runtime
  const heard: string[] = [];
  const listener = createServer((req, res) => {
    heard.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const address = listener.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  try {
    await withNamespaces(c, "kctrust", async (ns) => {
      const source = parseYaml(await Deno.readTextFile(SOURCE_KUBECONFIG)) as Kubeconfig;
      const token = String(source.users.find((u) => u.name === "source-norights")!.user.token);
      const [refusedMarker, allowedMarker] = [`${dir}/refused-ran`, `${dir}/allowed-ran`];
      await seed(c.dr, [{
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "clusters", namespace: credsNs },
        data: {
          refused: b64(execKubeconfig(source, refusedMarker, token)),
          allowed: b64(execKubeconfig(source, allowedMarker, token)),
        },
      }]);
      // the runtime's own ServiceAccount token, as a file a kubeconfig could name
      await Deno.writeTextFile(`${dir}/sa-token`, "THE-RUNTIME-SA-TOKEN");
      const leaky = stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "elsewhere", cluster: { server: `http://127.0.0.1:${port}` } }],
        users: [{ name: "u", user: { tokenFile: `${dir}/sa-token` } }],
        contexts: [{ name: "x", context: { cluster: "elsewhere", user: "u" } }],
        "current-context": "x",
      });
      const secret = (key: string) => ({ secret: { name: "clusters", namespace: credsNs, key } });
      const destinations = [ns.dest, `${ns.dest}-b`, `${ns.dest}-c`];
      const config = await writeConfig({
        clusters: [
          { name: "source-exec", kubeconfig: secret("refused") },
          { name: "source-exec-ok", kubeconfig: secret("allowed"), allowExec: true },
          { name: "source-env", kubeconfig: { env: "TEST_LEAKY_KUBECONFIG" } },
          { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
        ],
        tokens: [{ name: "ops", value: { env: "TEST_OPS_TOKEN" }, operations: ["read", "stage"] }],
        replications: [
          ["refused", "source-exec"],
          ["allowed", "source-exec-ok"],
          ["leaky", "source-env"],
        ].map(([name, cluster], i) => ({
          name,
          source: { cluster, namespace: ns.source },
          destination: { cluster: "dr", namespace: destinations[i] },
        })),
      }, dir);
      await using serve = await serveProcess(["--config", config], {
        DR_SYNCER_SECRETS_KUBECONFIG: DR_KUBECONFIG,
        TEST_LEAKY_KUBECONFIG: leaky,
      });
      const stage = async (replication: string) => {
        const response = await fetch(`${serve.url}/v1/replications/${replication}/stage`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKENS.ops}`, "content-type": "application/json" },
          body: "{}",
        });
        return { status: response.status, body: await response.json() as Record<string, unknown> };
      };

      const refused = await stage("refused");
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.match(
        String(refused.body.error),
        /Secret "clusters" key "refused" .*users\[\d+\]\.user\.exec: a kubeconfig from a Secret may not run a command .*set allowExec: true on cluster "source-exec" \(clusters\[\]\.allowExec\)/,
      );
      await fetch(`${serve.url}/readyz`).then((r) => r.body?.cancel()); // loads every cluster too
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(await exists(refusedMarker), false, "the exec plugin's command never ran");

      const leaked = await stage("leaky");
      assert.equal(leaked.status, 400, JSON.stringify(leaked.body));
      assert.match(
        String(leaked.body.error),
        /environment variable "TEST_LEAKY_KUBECONFIG": users\[0\]\.user\.tokenFile: .*may not name a file .*set allowFileReferences: true on cluster "source-env" \(clusters\[\]\.allowFileReferences\)/,
      );
      assert.deepEqual(heard, [], "the server the kubeconfig names heard nothing");
      assert.doesNotMatch(serve.stderr(), /THE-RUNTIME-SA-TOKEN/);

      // the allowed case: the cluster opts in, its plugin runs (the token it gives has no rights here)
      const allowed = await stage("allowed");
      assert.notEqual(allowed.status, 400, JSON.stringify(allowed.body));
      assert.equal(await exists(allowedMarker), true, "the opted-in exec plugin ran");
      assert.equal(await exists(refusedMarker), false, "and only that one");
      for (const extra of destinations.slice(1)) await deleteNamespace(c.dr, extra);
    }, { destSuffix: "-dr" });
  } finally {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    await deleteNamespace(c.dr, credsNs);
    await Deno.remove(dir, { recursive: true });
  }
});
