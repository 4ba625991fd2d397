import assert from "node:assert/strict";
import { createKubeClient, KubeconfigError, loadKubeConfig } from "../../shared/kube/mod.ts";

const VALID = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: admin
  user: {token: s3cret}
contexts:
- name: prod-admin
  context: {cluster: prod, user: admin, namespace: shop}
- name: broken
  context: {cluster: nowhere, user: admin}
current-context: prod-admin
`;

const CA_PEM = "-----BEGIN CERTIFICATE-----\nTUlJQ2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

async function loadError(fn: () => Promise<unknown>): Promise<KubeconfigError> {
  const error = await fn().then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof KubeconfigError, `expected a KubeconfigError, got ${error}`);
  return error;
}

Deno.test("a kubeconfig loads from a file and keeps the context namespace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/kc`, VALID);
    const access = await loadKubeConfig({ path: `${dir}/kc` });
    assert.equal(access.contextName, "prod-admin");
    assert.equal(access.token, "s3cret");
    const client = createKubeClient(access);
    assert.equal(client.name, "prod-admin");
    assert.equal(client.contextNamespace, "shop");
    assert.equal(client.server, "https://127.0.0.1:6443");
    client.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a kubeconfig loads from an environment variable", async () => {
  const access = await loadKubeConfig({ env: "PROD_KUBECONFIG" }, {
    readEnv: (name) => name === "PROD_KUBECONFIG" ? VALID : undefined,
  });
  assert.equal(access.server, "https://127.0.0.1:6443");
  assert.equal(access.namespace, "shop");
});

Deno.test("an unset variable, a missing file and bad YAML are clear errors", async () => {
  let e = await loadError(() => loadKubeConfig({ env: "NOPE" }, { readEnv: () => undefined }));
  assert.equal(e.message, 'Cannot load kubeconfig from environment variable "NOPE": the variable is not set');
  e = await loadError(() => loadKubeConfig({ path: "/nonexistent/kubeconfig" }));
  assert.equal(e.message, 'Cannot load kubeconfig from file "/nonexistent/kubeconfig": no such file');
  e = await loadError(() => loadKubeConfig({ inline: "clusters: [unclosed" }));
  assert.match(e.message, /^Cannot load kubeconfig from inline text: not a valid kubeconfig: /);
});

Deno.test("a missing context lists the contexts that exist", async () => {
  const e = await loadError(() => loadKubeConfig({ inline: VALID, context: "staging" }));
  assert.equal(
    e.message,
    'Cannot load kubeconfig from inline text: no context "staging" (contexts: prod-admin, broken)',
  );
});

Deno.test("a context that names an undefined cluster is rejected", async () => {
  const e = await loadError(() => loadKubeConfig({ inline: VALID, context: "broken" }));
  assert.match(e.message, /context "broken" names cluster "nowhere", which is not defined/);
});

Deno.test("a kubeconfig without contexts is rejected", async () => {
  const e = await loadError(() => loadKubeConfig({ inline: "apiVersion: v1\nkind: Config\n" }));
  assert.match(e.message, /it defines no contexts/);
});

Deno.test("insecure-skip-tls-verify is refused with a reason", async () => {
  const access = await loadKubeConfig({
    inline: VALID.replace(
      'server: "https://127.0.0.1:6443"',
      'server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true',
    ),
  });
  assert.throws(() => createKubeClient(access), /insecure-skip-tls-verify, which dr-syncer refuses/);
});

Deno.test("certificate and token files are read relative to the kubeconfig's folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/certs`);
    await Deno.writeTextFile(`${dir}/certs/ca.pem`, CA_PEM);
    await Deno.writeTextFile(`${dir}/token`, "file-token\n");
    await Deno.writeTextFile(
      `${dir}/kc`,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443/", certificate-authority: certs/ca.pem}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );
    const access = await loadKubeConfig({ path: `${dir}/kc` });
    assert.equal(access.caPem, CA_PEM);
    assert.equal(access.tokenFile, `${dir}/token`);
    assert.equal(access.server, "https://127.0.0.1:6443", "a trailing slash is dropped");
    assert.equal(access.pluginAuth, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing certificate file names the file", async () => {
  const e = await loadError(() =>
    loadKubeConfig({
      inline: VALID.replace(
        'server: "https://127.0.0.1:6443"',
        'server: "https://127.0.0.1:6443", certificate-authority: /nope/ca.pem',
      ),
    })
  );
  assert.equal(
    e.message,
    'Cannot load kubeconfig from inline text: clusters[0].cluster.certificate-authority: file "/nope/ca.pem": ' +
      "no such file",
  );
});

Deno.test("a field of the wrong shape is named by its path", async () => {
  const e = await loadError(() =>
    loadKubeConfig({ inline: VALID.replace('server: "https://127.0.0.1:6443"', "server: 42") })
  );
  assert.match(
    e.message,
    /^Cannot load kubeconfig from inline text: not a valid kubeconfig: clusters\[0\]\.cluster\.server: /,
  );
});

Deno.test("an exec plugin user is handed to client-node, not parsed here", async () => {
  const access = await loadKubeConfig({
    inline: VALID.replace(
      "user: {token: s3cret}",
      "user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token}}",
    ),
  });
  assert.equal(access.token, undefined);
  assert.equal(access.pluginAuth?.context, "prod-admin");
});
