/**
 * Credentials in-cluster, on the real test clusters: `serve` runs as a process that gets what a
 * pod gets (KUBERNETES_SERVICE_HOST/PORT and a folder with a real ServiceAccount token, the CA and
 * the namespace), reads both clusters' kubeconfigs and its API token from Secrets with that
 * ServiceAccount, and picks up rotated Secrets without a restart.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import type { KubeClient } from "../../shared/kube/mod.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  fixtures,
  names,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
  withNamespaces,
} from "../_clusters.ts";
import { serveProcess, writeConfig } from "./serve_harness.ts";

const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

async function putSecret(dr: KubeClient, namespace: string, name: string, data: Record<string, string>) {
  await dr.request({
    method: "PATCH",
    path: `/api/v1/namespaces/${namespace}/secrets/${name}`,
    query: { fieldManager: "test", force: true },
    contentType: "application/apply-patch+yaml",
    body: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    },
  });
}

/** A ServiceAccount allowed to read Secrets in `namespace` only, and a token for it (TokenRequest). */
async function serviceAccountToken(dr: KubeClient, namespace: string): Promise<string> {
  const apply = (path: string, body: Record<string, unknown>) =>
    dr.request({
      method: "PATCH",
      path,
      query: { fieldManager: "test", force: true },
      contentType: "application/apply-patch+yaml",
      body,
    });
  await apply(`/api/v1/namespaces/${namespace}/serviceaccounts/dr-syncer`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "dr-syncer", namespace },
  });
  await apply(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles/read-secrets`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "read-secrets", namespace },
    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
  });
  await apply(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/dr-syncer`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "dr-syncer", namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-secrets" },
    subjects: [{ kind: "ServiceAccount", name: "dr-syncer", namespace }],
  });
  const request = await dr.request<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/dr-syncer/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  return request.status.token;
}

async function stage(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/replications/shop/stage`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("serve process in-cluster: kubeconfigs and the API token from Secrets read with the pod's ServiceAccount; rotations picked up without a restart", async () => {
  await using c = await testClusters();
  const credsNs = uniqueName("servecreds");
  await createNamespace(c.dr, credsNs);
  const podDir = await Deno.makeTempDir({ prefix: "dr-syncer-sa-" });
  try {
    await withNamespaces(c, "servesecret", async (ns) => {
      await seed(c.source, [fixtures.configMap(ns.source, "a")]);
      const sourceKubeconfig = await Deno.readTextFile(SOURCE_KUBECONFIG);
      const drKubeconfig = await Deno.readTextFile(DR_KUBECONFIG);
      const noRights = sourceKubeconfig.replace(/^current-context: .*$/m, "current-context: source-norights");
      const [token1, token2] = [`t1-${crypto.randomUUID()}`, `t2-${crypto.randomUUID()}`];
      await putSecret(c.dr, credsNs, "clusters", { source: noRights, dr: drKubeconfig });
      await putSecret(c.dr, credsNs, "api", { token: token1 });

      // what a pod gets: the token, the CA and the namespace in a folder, and the service's address
      const saToken = await serviceAccountToken(c.dr, credsNs);
      const dr = (parseYaml(drKubeconfig) as {
        clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      })
        .clusters[0]!.cluster;
      await Deno.writeTextFile(`${podDir}/token`, saToken);
      await Deno.writeTextFile(`${podDir}/ca.crt`, atob(dr["certificate-authority-data"]));
      await Deno.writeTextFile(`${podDir}/namespace`, credsNs);
      const server = new URL(dr.server);

      const secret = (key: string) => ({ secret: { name: "clusters", namespace: credsNs, key } });
      const config = await writeConfig({
        clusters: [{ name: "source", kubeconfig: secret("source") }, {
          name: "dr",
          kubeconfig: secret("dr"),
        }],
        tokens: [{
          name: "ops",
          value: { secret: { name: "api", namespace: credsNs } },
          operations: ["read", "stage"],
        }],
        replications: [{
          name: "shop",
          source: { cluster: "source", namespace: ns.source },
          destination: { cluster: "dr", namespace: ns.dest },
        }],
      });
      await using serve = await serveProcess(["--config", config], {
        KUBERNETES_SERVICE_HOST: server.hostname,
        KUBERNETES_SERVICE_PORT: server.port,
        DR_SYNCER_SERVICEACCOUNT_DIR: podDir,
        DR_SYNCER_CREDENTIALS_REFRESH_SECONDS: "1",
      });

      // the source kubeconfig in the Secret has no rights: the stage is refused by the cluster
      const forbidden = await stage(serve.url, token1);
      assert.equal(forbidden.status, 502, JSON.stringify(forbidden.body));
      assert.equal(forbidden.body.code, "cluster-error");
      assert.match(String(forbidden.body.error), /forbidden/i);
      assert.ok(!(await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("a"), "nothing was copied");

      // rotate both Secrets: the right kubeconfig, a new API token
      await putSecret(c.dr, credsNs, "clusters", { source: sourceKubeconfig, dr: drKubeconfig });
      await putSecret(c.dr, credsNs, "api", { token: token2 });
      let staged = { status: 0, body: {} as Record<string, unknown> };
      for (let i = 0; i < 40 && staged.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 500));
        staged = await stage(serve.url, token2);
      }
      assert.equal(staged.status, 200, `${JSON.stringify(staged.body)}\n${serve.stderr()}`);
      assert.equal(staged.body.status, "succeeded");
      assert.ok((await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("a"));
      assert.equal((await stage(serve.url, token1)).status, 401, "the old token is refused");
      assert.match(serve.stderr(), /cluster credentials changed: using the new ones/);
      assert.doesNotMatch(
        serve.stderr(),
        new RegExp(`${token1}|${token2}|${saToken.slice(0, 40)}`),
        "no secret in the logs",
      );
      assert.equal((await serve.stop("SIGTERM")).code, 0);
    }, { destSuffix: "-dr" });
  } finally {
    await deleteNamespace(c.dr, credsNs);
    await Deno.remove(podDir, { recursive: true });
  }
});
