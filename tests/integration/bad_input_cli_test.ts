/**
 * Bad input through the CLI (`main(argv, io)` in-process) against the real clusters: mutated config
 * files and kubeconfigs, binary garbage, alias bombs, huge files, bad certificate data and tokens
 * with line breaks. Each run ends with a clear error (exit code 2) of bounded size, never shows a
 * credential, and writes nothing: the DR namespace it names is never created.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type CliIo, main } from "../../functions/cli/run_cli.ts";
import { ConfigError, loadConfig } from "../../shared/config/mod.ts";
import { loadKubeConfig } from "../../shared/kube/mod.ts";
import { DR_KUBECONFIG, SOURCE_KUBECONFIG, testClusters, TESTENV_DIR, uniqueName } from "../_clusters.ts";
import { aliasBomb, binaryGarbage, mutated } from "../unit/_bad_input.ts";

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const io: CliIo = {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    env: () => undefined,
    stderrIsTerminal: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

async function namespaceExists(name: string): Promise<boolean> {
  await using c = await testClusters();
  const list = await c.dr.request<{ items: { metadata: { name: string } }[] }>({
    method: "GET",
    path: "/api/v1/namespaces",
  });
  return list.items.some((ns) => ns.metadata.name === name);
}

/** A bad input's run: exit code 2, a bounded answer, no credential in it. */
function assertRefused(run: { code: number; stdout: string; stderr: string }, secret?: string): void {
  assert.equal(run.code, 2, run.stderr.slice(0, 2000));
  assert.match(run.stderr, /^error: /);
  assert.ok(run.stderr.length < 20_000, `stderr of ${run.stderr.length} characters`);
  assert.ok(run.stdout.length < 30_000, `stdout of ${run.stdout.length} characters`);
  if (secret !== undefined) {
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), "the credential is never shown");
  }
}

const SOURCE_TEXT = await Deno.readTextFile(SOURCE_KUBECONFIG).catch(() => "");

Deno.test("bad input cli: bad certificate data, tokens with line breaks, huge files and alias bombs exit 2, naming the file and the field, writing nothing", async () => {
  const dir = await Deno.makeTempDir();
  const dest = uniqueName("badkc-dr");
  try {
    const secret = "NEVER-SHOWN-TOKEN-PART";
    const cases: [string, string, RegExp][] = [
      [
        "ca-not-base64",
        SOURCE_TEXT.replace(/certificate-authority-data: .*/, 'certificate-authority-data: "!!!notbase64"'),
        /clusters\[0\]\.cluster\.certificate-authority-data: not valid base64/,
      ],
      [
        "key-garbage",
        SOURCE_TEXT.replace(/client-key-data: .*/, `client-key-data: ${btoa("valid base64 of garbage")}`),
        /users\[0\]\.user\.client-key-data: not a PEM private key/,
      ],
      [
        "token-line-break",
        SOURCE_TEXT.replace(/current-context: .*/, "current-context: source-norights")
          .replace(/token: .*/, `token: "abc\\n${secret}"`),
        /users\[1\]\.user\.token: contains a line break or another control character/,
      ],
      ["huge", SOURCE_TEXT + "#".repeat(3 * 1024 * 1024), /: it is 3\.0 MiB, over the limit of 2\.0 MiB/],
      ["alias-bomb", SOURCE_TEXT + aliasBomb(), /not a valid kubeconfig: Excessive alias count/],
      ["binary", "\u0000\u0001\u00ff\u00fe garbage", /not a valid kubeconfig/],
    ];
    for (const [name, text, expected] of cases) {
      const path = `${dir}/${name}.kubeconfig`;
      await Deno.writeTextFile(path, text);
      const started = performance.now();
      const run = await cli(
        "stage",
        "--source-kubeconfig",
        path,
        "--dest-kubeconfig",
        DR_KUBECONFIG,
        "--source-namespace",
        "default",
        "--dest-namespace",
        dest,
        "--replication",
        "bad",
        "-o",
        "json",
      );
      assert.ok(performance.now() - started < 5000, `${name}: answered in time`);
      assertRefused(run, secret);
      assert.match(run.stderr, new RegExp(`Cannot load kubeconfig from file "${path}": `));
      assert.match(run.stderr, expected, name);
      assert.equal(JSON.parse(run.stdout).error.code, "invalid-input");
    }
    assert.equal(await namespaceExists(dest), false, "nothing was written to DR");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input cli: a token file with a line break fails the run without showing the token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = "NEVER-SHOWN-TOKEN-FILE-PART";
    await Deno.writeTextFile(`${dir}/token`, `abc\n${secret}\n`);
    const path = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      path,
      SOURCE_TEXT.replace(/current-context: .*/, "current-context: source-norights")
        .replace(/token: .*/, "tokenFile: token"),
    );
    const dest = uniqueName("badtf-dr");
    const run = await cli(
      "stage",
      "--dry-run",
      "--source-kubeconfig",
      path,
      "--dest-kubeconfig",
      DR_KUBECONFIG,
      "--source-namespace",
      "default",
      "--dest-namespace",
      dest,
      "-o",
      "json",
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /Cannot get credentials for cluster "source"/);
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), run.stderr);
    assert.ok(!run.stdout.includes("abc") && !run.stderr.includes("abc"), run.stderr);
    assert.equal(await namespaceExists(dest), false, "nothing was written to DR");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input cli property: mutated and garbage config files exit 2 with bounded output and write nothing", async () => {
  const dir = await Deno.makeTempDir();
  const dest = uniqueName("badcfg-dr");
  const good = `clusters:
  - name: source
    kubeconfig: { path: ${SOURCE_KUBECONFIG} }
  - name: dr
    kubeconfig: { path: ${DR_KUBECONFIG} }
replications:
  - name: shop
    source: { cluster: source, namespace: default }
    destination: { cluster: dr, namespace: ${dest} }
    resourceTypes: [configmaps]
`;
  const invalid = (text: string) => {
    try {
      loadConfig(text, "check");
      return false;
    } catch (error) {
      return error instanceof ConfigError;
    }
  };
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutated(good), binaryGarbage, fc.constant(good + aliasBomb())).filter(invalid),
        async (text) => {
          const path = `${dir}/config-${n++}.yaml`;
          await Deno.writeTextFile(path, text);
          assertRefused(await cli("stage", "--config", path, "--replication", "shop", "-o", "json"));
        },
      ),
      { numRuns: 60 },
    );
    assert.equal(await namespaceExists(dest), false, "nothing was written to DR");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input cli property: mutated kubeconfigs that do not load exit 2 and write nothing", async () => {
  const dir = await Deno.makeTempDir();
  const dest = uniqueName("badkcp-dr");
  const invalid = async (text: string) => {
    try {
      await loadKubeConfig({ inline: text });
      return false;
    } catch {
      return true;
    }
  };
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(SOURCE_TEXT), binaryGarbage), async (text) => {
        fc.pre(await invalid(text));
        const path = `${dir}/kc-${n++}`;
        await Deno.writeTextFile(path, text);
        const run = await cli(
          "stage",
          "--source-kubeconfig",
          path,
          "--dest-kubeconfig",
          DR_KUBECONFIG,
          "--source-namespace",
          "default",
          "--dest-namespace",
          dest,
          "--replication",
          "bad",
        );
        assertRefused(run);
        assert.match(run.stderr, /^error: Cannot load kubeconfig from file /);
      }),
      { numRuns: 60 },
    );
    assert.equal(await namespaceExists(dest), false, "nothing was written to DR");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input cli: a huge config file is refused before parsing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/huge.yaml`;
    await Deno.writeTextFile(path, "clusters: []\n" + "# comment\n".repeat(1_200_000));
    const started = performance.now();
    const run = await cli("validate", "--config", path);
    assert.ok(performance.now() - started < 2000);
    assertRefused(run);
    assert.match(
      run.stderr,
      /Cannot read config ".*huge\.yaml": it is 11\.4 MiB, over the limit of 2\.0 MiB/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the test environment's kubeconfigs, keys and tokens are owner-only", async () => {
  const owner = async (path: string, mode: number) => {
    const info = await Deno.stat(path);
    assert.equal(
      info.mode! & 0o077,
      0,
      `${path} is ${(info.mode! & 0o777).toString(8)}, not ${mode.toString(8)}`,
    );
  };
  for (const cluster of ["source", "dr"]) {
    await owner(`${TESTENV_DIR}/${cluster}.kubeconfig`, 0o600);
    await owner(`${TESTENV_DIR}/${cluster}`, 0o700);
    await owner(`${TESTENV_DIR}/${cluster}/tokens.csv`, 0o600);
    for (const key of ["ca.key", "admin.key", "apiserver.key", "sa.key"]) {
      await owner(`${TESTENV_DIR}/${cluster}/${key}`, 0o600);
    }
  }
});
