import assert from "node:assert/strict";
import { type CliIo, main } from "../../functions/cli/run_cli.ts";

async function cli(...argv: string[]) {
  let stdout = "", stderr = "";
  const io: CliIo = {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    env: () => undefined,
    stderrIsTerminal: false,
  };
  return { code: await main(argv, io), stdout, stderr };
}

async function configFile(text: string): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(file, text);
  return file;
}

const CONFIG = `clusters:
  - { name: prod, kubeconfig: { path: /nowhere/prod } }
  - { name: dr, kubeconfig: { path: /nowhere/dr } }
replications:
  - { name: shop, source: { cluster: prod, namespace: shop }, destination: { cluster: dr } }
`;

Deno.test("render reads no cluster: YAML by default, JSON with --output json, one cluster with --cluster", async () => {
  const file = await configFile(CONFIG);
  const yaml = await cli("render", "--config", file);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.match(yaml.stdout, /^# cluster: prod\napiVersion: v1\nkind: Namespace\n/);
  const json = await cli("render", "--config", file, "--cluster", "dr", "-o", "json");
  assert.equal(json.code, 0);
  const document = JSON.parse(json.stdout);
  assert.deepEqual(
    document.clusters.map((c: { cluster: string; runtime: boolean }) => [c.cluster, c.runtime]),
    [[
      "dr",
      true,
    ]],
  );
  await Deno.remove(file);
});

Deno.test("render and deploy: bad input is exit code 2 with a clear message (and JSON with --output json)", async () => {
  const file = await configFile(CONFIG);
  const unknown = await cli("render", "--config", file, "--cluster", "nope", "-o", "json");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown cluster "nope" \(configured clusters: "prod", "dr"\)/);
  assert.equal(JSON.parse(unknown.stdout).error.exitCode, 2);
  const split = await configFile(
    `${CONFIG}  - { name: back, source: { cluster: dr, namespace: x }, destination: { cluster: prod } }\n`,
  );
  for (const command of ["render", "deploy"]) {
    const out = await cli(command, "--config", split);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /runtime.cluster: the replications go to several clusters/);
  }
  const noConfig = await cli("deploy");
  assert.equal(noConfig.code, 2);
  assert.match(noConfig.stderr, /deploy needs --config FILE/);
  // deploy connects before it writes: a kubeconfig that cannot be read is bad usage
  const missing = await cli("deploy", "--config", file);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nowhere\/prod/);
  const help = await cli("deploy", "--help");
  assert.match(help.stdout, /--dry-run +send every write with dryRun=All/);
  await Deno.remove(file);
  await Deno.remove(split);
});

Deno.test("render refuses custom types only a cluster can name, saying what to do; deploy reads them from discovery", async () => {
  const withCustom = (custom: string) =>
    CONFIG.replace(
      "destination: { cluster: dr } }",
      `destination: { cluster: dr }, includeCustomResources: ${custom}, syncCRDs: true }`,
    );
  const file = await configFile(withCustom("true"));
  const out = await cli("render", "--config", file);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /replication "shop": includeCustomResources: true names no type/);
  assert.match(
    out.stderr,
    /includeCustomResources: \[widgets.example.com, \.\.\.\]\), or run "dr-syncer deploy"/,
  );
  // deploy does not refuse it before it connects (it reads the types from the source's discovery)
  const deploy = await cli("deploy", "--config", file);
  assert.equal(deploy.code, 2);
  assert.match(deploy.stderr, /\/nowhere\/prod/);
  const named = await configFile(withCustom("[widgets.example.com]"));
  const rendered = await cli("render", "--config", named, "--cluster", "dr", "-o", "json");
  assert.equal(rendered.code, 0, rendered.stderr);
  const objects = JSON.parse(rendered.stdout).clusters[0].objects as { kind: string; rules?: unknown[] }[];
  const clusterRole = objects.find((o) => o.kind === "ClusterRole")!;
  assert.ok(
    JSON.stringify(clusterRole.rules).includes(
      '"resources":["customresourcedefinitions"],"resourceNames":["widgets.example.com"],"verbs":["create","get","patch"]',
    ),
    JSON.stringify(clusterRole.rules),
  );
  for (const f of [file, named]) await Deno.remove(f);
});
