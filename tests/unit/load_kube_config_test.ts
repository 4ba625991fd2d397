import assert from "node:assert/strict";
import { errorOutcome } from "../../shared/errors.ts";
import { createKubeClient, type KubeClient, KubeconfigError, loadKubeConfig } from "../../shared/kube/mod.ts";

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

/** A client that answers every GET with one Secret holding `text` under `kubeconfig`. */
function secretHolding(text: string): KubeClient {
  return {
    name: "secrets",
    server: "https://127.0.0.1:1",
    contextNamespace: undefined,
    stats: { total: 0, writes: 0, byMethod: { GET: 0, POST: 0, PUT: 0, PATCH: 0, DELETE: 0 } },
    request: <T>() =>
      Promise.resolve({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "prod-kubeconfig", namespace: "ops" },
        data: { kubeconfig: btoa(text) },
      } as T),
    stream: () => Promise.reject(new Error("no streams")),
    close() {},
  };
}

const EXEC = VALID.replace(
  "user: {token: s3cret}",
  "user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/touch, args: [/tmp/pwned]}}",
);
const AUTH_PROVIDER = VALID.replace(
  "user: {token: s3cret}",
  "user: {auth-provider: {name: gcp, config: {cmd-path: /bin/touch, cmd-args: /tmp/pwned}}}",
);
const FILES: [field: string, text: string][] = [
  [
    "users[0].user.tokenFile",
    VALID.replace("user: {token: s3cret}", "user: {tokenFile: /var/run/secrets/token}"),
  ],
  [
    "users[0].user.client-certificate",
    VALID.replace(
      "user: {token: s3cret}",
      "user: {client-certificate: /etc/ssl/c.pem, client-key-data: eA==}",
    ),
  ],
  [
    "users[0].user.client-key",
    VALID.replace(
      "user: {token: s3cret}",
      "user: {client-certificate-data: eA==, client-key: /etc/ssl/k.pem}",
    ),
  ],
  [
    "clusters[0].cluster.certificate-authority",
    VALID.replace(
      'server: "https://127.0.0.1:6443"',
      'server: "https://127.0.0.1:6443", certificate-authority: /ca.pem',
    ),
  ],
];
const secretSource = { secret: { name: "prod-kubeconfig", namespace: "ops", key: "kubeconfig" } };

Deno.test("a kubeconfig from a Secret or a variable may not run a command unless its cluster sets allowExec", async () => {
  for (const [text, field] of [[EXEC, "exec"], [AUTH_PROVIDER, "auth-provider"]] as const) {
    let e = await loadError(() =>
      loadKubeConfig(secretSource, { secretClient: secretHolding(text), trust: { cluster: "prod" } })
    );
    assert.equal(
      e.message,
      `Cannot load kubeconfig from Secret "prod-kubeconfig" key "kubeconfig" in namespace "ops": users[0].user.${field}: a kubeconfig from a Secret may not run a command in dr-syncer (${
        field === "exec" ? "an exec plugin" : "an auth provider"
      }); set allowExec: true on cluster "prod" (clusters[].allowExec) to allow it`,
    );
    e = await loadError(() =>
      loadKubeConfig({ env: "PROD_KUBECONFIG" }, {
        readEnv: () => text,
        trust: { cluster: "prod", allowFileReferences: true },
      })
    );
    assert.match(
      e.message,
      /from environment variable "PROD_KUBECONFIG": .*a kubeconfig from an environment variable/,
    );
    assert.match(e.message, /set allowExec: true on cluster "prod" \(clusters\[\]\.allowExec\)/);
    assert.equal(errorOutcome(e).httpStatus, 400);
    // the allowed cases: the cluster opts in; a file of the operator's
    const allowed = await loadKubeConfig(secretSource, {
      secretClient: secretHolding(text),
      trust: { cluster: "prod", allowExec: true },
    });
    assert.equal(allowed.pluginAuth?.context, "prod-admin");
    assert.equal(
      (await loadKubeConfig({ env: "K" }, { readEnv: () => text, trust: { allowExec: true } })).pluginAuth
        ?.context,
      "prod-admin",
    );
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/kc`, EXEC);
    assert.equal(
      (await loadKubeConfig({ path: `${dir}/kc` })).pluginAuth?.context,
      "prod-admin",
      "a file is trusted",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a kubeconfig from a Secret or a variable may not name files unless its cluster sets allowFileReferences", async () => {
  for (const [field, text] of FILES) {
    const e = await loadError(() =>
      loadKubeConfig(secretSource, {
        secretClient: secretHolding(text),
        trust: { cluster: "prod", allowExec: true },
      })
    );
    assert.match(
      e.message,
      new RegExp(
        `: ${
          field.replaceAll(/[[\].]/g, "\\$&")
        }: a kubeconfig from a Secret may not name a file \\("/.+"\\), which dr-syncer would read and send to the server it names; put its content in .+, or set allowFileReferences: true on cluster "prod" \\(clusters\\[\\]\\.allowFileReferences\\) to allow it$`,
      ),
      field,
    );
    const fromEnv = await loadError(() => loadKubeConfig({ env: "K" }, { readEnv: () => text }));
    assert.match(fromEnv.message, /an environment variable may not name a file/, field);
    assert.match(fromEnv.message, /on its cluster \(clusters\[\]\.allowFileReferences\)/, field);
  }
  // the allowed cases: the cluster opts in (the file is then read as from a file); a file of the operator's
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "file-token\n");
    const text = VALID.replace("user: {token: s3cret}", `user: {tokenFile: ${dir}/token}`);
    const allowed = await loadKubeConfig(secretSource, {
      secretClient: secretHolding(text),
      trust: { cluster: "prod", allowFileReferences: true },
    });
    assert.equal(allowed.tokenFile, `${dir}/token`);
    await Deno.writeTextFile(`${dir}/kc`, text);
    assert.equal(
      (await loadKubeConfig({ path: `${dir}/kc` })).tokenFile,
      `${dir}/token`,
      "a file is trusted",
    );
    // data fields name no file: nothing to allow
    assert.equal((await loadKubeConfig({ env: "K" }, { readEnv: () => VALID })).token, "s3cret");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
