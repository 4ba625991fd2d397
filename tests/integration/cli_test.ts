/** The dr-syncer CLI, in-process with captured output, against the two real clusters. */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { type CliIo, main } from "../../functions/cli/run_cli.ts";
import { helpText } from "../../functions/cli/help_text.ts";
import { COMMANDS, FLAG_NAMES } from "../../functions/cli/parse_cli_args.ts";
import {
  DR_KUBECONFIG,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";

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

const clusters = ["--source-kubeconfig", SOURCE_KUBECONFIG, "--dest-kubeconfig", DR_KUBECONFIG];

Deno.test("cli: stage, status, cutover and failback by flags, with JSON output", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "cli", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 2)]);
    const args = [
      ...clusters,
      "--source-namespace",
      ns.source,
      "--dest-namespace",
      ns.dest,
      "--replication",
      "cli",
    ];
    const staged = await cli("stage", ...args, "--output", "json");
    assert.equal(staged.code, 0, staged.stderr);
    const report = JSON.parse(staged.stdout);
    assert.equal(report.operation, "stage");
    assert.equal(report.status, "succeeded");
    assert.equal(report.counts.created, 2);
    assert.match(staged.stderr, /writing \d+\/\d+ objects/, "progress is shown");

    const cut = await cli("--mode=CUTOVER", ...args);
    assert.equal(cut.code, 0, cut.stdout + cut.stderr);
    assert.match(cut.stdout, /^cutover "cli" succeeded in/);
    assert.match(cut.stdout, /step scale-dr-up\s+done/);
    const status = await cli("status", ...args);
    assert.match(status.stdout, /active side: dr/);
    const back = await cli("failback", ...args, "-o", "json");
    assert.equal(back.code, 0, back.stderr);
    assert.equal(JSON.parse(back.stdout).status, "succeeded");
    const web = await read<KubeObject & { spec: { replicas: number } }>(
      c.source,
      "apps/v1",
      "Deployment",
      ns.source,
      "web",
    );
    assert.equal(web?.spec.replicas, 2);
  }, { destSuffix: "-dr" });
});

Deno.test("cli: --dry-run prints the plan and writes nothing", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "clidry", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const r = await cli(
      "stage",
      ...clusters,
      "--source-namespace",
      ns.source,
      "--dest-namespace",
      ns.dest,
      "--dry-run",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /dry run: nothing was written/);
    assert.match(r.stdout, new RegExp(`created\\s+ConfigMap ${ns.dest}/a`));
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.dest), undefined);
  }, { destSuffix: "-dr" });
});

Deno.test("cli: a partial failure exits 1", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "clipartial", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 2, { "dr-syncer.io/scale-override": "many" }),
    ]);
    const r = await cli("stage", ...clusters, "--source-namespace", ns.source);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /failed\s+Deployment\.apps/);
  });
});

Deno.test("cli: an unknown resource type exits 2, lists what the cluster serves, and writes nothing", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "cliunknown", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const r = await cli(
      "stage",
      ...clusters,
      "--source-namespace",
      ns.source,
      "--resource-types",
      "configmaps,wombats",
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*"wombats".*configmaps.*deployments/m);
    assert.deepEqual(
      r.stderr.trim().split("\n").slice(1),
      ["Nothing was written."],
      "one line, then the reassurance",
    );
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.dest), undefined, "nothing written");
  });
});

Deno.test("cli: a missing source namespace exits 1 and writes nothing", async () => {
  await using c = await testClusters();
  const r = await cli("stage", ...clusters, "--source-namespace", "no-such-namespace-here");
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    'error: Source namespace "no-such-namespace-here" does not exist in cluster "source"\nNothing was written.',
  );
  assert.equal(await read(c.dr, "v1", "Namespace", undefined, "no-such-namespace-here"), undefined);
});

Deno.test("cli: unreadable and malformed kubeconfigs exit 2 with the file named", async () => {
  const missing = await cli(
    "stage",
    "--source-kubeconfig",
    "/nonexistent/kc",
    "--dest-kubeconfig",
    DR_KUBECONFIG,
    "--source-namespace",
    "x",
  );
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr.trim(),
    'error: Cannot load kubeconfig from file "/nonexistent/kc": no such file',
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/kc`, "clusters: [oops");
    const bad = await cli(
      "stage",
      "--source-kubeconfig",
      `${dir}/kc`,
      "--dest-kubeconfig",
      DR_KUBECONFIG,
      "--source-namespace",
      "x",
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: Cannot load kubeconfig from file ".*\/kc": not a valid kubeconfig: /);
    const ctx = await cli("stage", ...clusters, "--source-context", "nope", "--source-namespace", "x");
    assert.equal(ctx.code, 2);
    assert.match(ctx.stderr, /no context "nope" \(contexts: source, source-norights\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: an unreachable cluster exits 1 with the server named", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir();
  try {
    const text = await Deno.readTextFile(SOURCE_KUBECONFIG);
    await Deno.writeTextFile(`${dir}/kc`, text.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
    const r = await cli(
      "stage",
      "--source-kubeconfig",
      `${dir}/kc`,
      "--dest-kubeconfig",
      DR_KUBECONFIG,
      "--source-namespace",
      "x",
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^error: Cannot reach cluster "source" at https://127\\.0\\.0\\.1:${port}: `),
    );
    assert.match(r.stderr, /Nothing was written/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: invalid flags and values exit 2 with a one-line reason", async () => {
  const cases: [string[], RegExp][] = [
    [["stage", "--frobnicate"], /^error: Unknown flag --frobnicate/],
    [["launch"], /^error: Unknown command "launch"/],
    [["--mode=Sideways"], /^error: --mode: "Sideways" is not one of Stage, Cutover, Failback/],
    [["stage", "--output", "xml"], /^error: --output: "xml" is not one of text, json/],
    [
      ["stage", "--storage-class-map", "fast"],
      /^error: --storage-class-map: "fast" is not of the form from=to/,
    ],
    [["stage", ...clusters], /^error: Missing --source-namespace/],
    [
      ["stage", ...clusters, "--source-namespace", "Bad_Name"],
      /^error: --source-namespace: "Bad_Name" is not a valid namespace name/,
    ],
    [["stage", "--concurrency", "0"], /^error: --concurrency: "0" is not a whole number from 1 to 256/],
  ];
  for (const [argv, expected] of cases) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, expected);
  }
});

Deno.test("cli: --help documents every flag the parser accepts", async () => {
  const r = await cli("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /dr-syncer stage/);
  const all = COMMANDS.map((c) => helpText(c)).join("\n") + r.stdout;
  const flags = FLAG_NAMES;
  assert.ok(flags.length > 20);
  for (const flag of flags) assert.ok(all.includes(`--${flag}`), `--${flag} is documented`);
});

Deno.test("cli: the installed entry point exits with the CLI's codes", async () => {
  const entry = new URL("../../functions/cli/main.ts", import.meta.url).pathname;
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", entry, ...args] }).output();
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /Usage:/);
  const bad = await run("stage", "--nope");
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /Unknown flag --nope/);
});

Deno.test("cli: with --output json every outcome is one JSON document, refusals and bad usage included", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "clijson", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 1)]);
    assert.equal((await cli("stage", ...clusters, "--source-namespace", ns.source, "-o", "json")).code, 0);
    const refused = await cli("failback", ...clusters, "--source-namespace", ns.source, "--output", "json");
    assert.equal(refused.code, 1);
    const doc = JSON.parse(refused.stdout);
    assert.equal(doc.status, "refused");
    assert.equal(doc.error.code, "refused");
    assert.equal(doc.error.httpStatus, 409);
    assert.match(doc.error.message, /is not cut over/);
    assert.equal(doc.writeRequestsSent, 0);
  });
  const bad = await cli("stage", "--nope", "--output=json");
  assert.equal(bad.code, 2);
  assert.deepEqual(JSON.parse(bad.stdout).error.code, "invalid-input");
});

Deno.test("cli: validate lists every problem of a file at once, one a line, and as JSON issues", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      file,
      `clusters:
  - { name: prod, kubeconfig: { path: /x } }
  - { name: prod, kubeconfig: { path: /y } }
replications:
  - name: shop
    source: { cluster: prod, namespace: shop }
    destination: { cluster: nowhere, namespace: shop-dr }
    schedule: "bad cron"
`,
    );
    const text = await cli("validate", "--config", file);
    assert.equal(text.code, 2);
    assert.match(text.stderr, /3 problems\n/);
    assert.match(text.stderr, /\n {2}- clusters\[1\]\.name: Duplicate cluster name "prod"/);
    assert.match(text.stderr, /\n {2}- replications\[0\]\.destination\.cluster: Unknown cluster "nowhere"/);
    assert.match(
      text.stderr,
      /\n {2}- replications\[0\]\.schedule: "bad cron" is not a valid cron expression/,
    );
    const json = JSON.parse((await cli("validate", "--config", file, "-o", "json")).stdout);
    assert.deepEqual(
      json.error.issues.map((i: { path: string }) => i.path),
      ["clusters[1].name", "replications[0].destination.cluster", "replications[0].schedule"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: status of a configured replication shows its schedule, next run and RPO", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "clirpo", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/dr-syncer.yaml`;
      await Deno.writeTextFile(
        file,
        `clusters:
  - { name: prod, kubeconfig: { path: ${SOURCE_KUBECONFIG} } }
  - { name: dr, kubeconfig: { path: ${DR_KUBECONFIG} } }
replications:
  - name: rpo
    source: { cluster: prod, namespace: ${ns.source} }
    destination: { cluster: dr, namespace: ${ns.dest} }
    schedule: "*/5 * * * *"
`,
      );
      const before = JSON.parse(
        (await cli("status", "--config", file, "--replication", "rpo", "-o", "json")).stdout,
      );
      assert.equal(before.rpo.level, "critical", "never synced");
      assert.equal((await cli("stage", "--config", file, "--replication", "rpo")).code, 0);
      const after = await cli("status", "--config", file, "--replication", "rpo", "-o", "json");
      const status = JSON.parse(after.stdout);
      assert.equal(status.schedule, "*/5 * * * *");
      assert.ok(Date.parse(status.nextRun) > Date.now());
      assert.equal(status.rpo.level, "ok");
      assert.equal(status.rpo.intervalSeconds, 300);
      const text = await cli("status", "--config", file, "--replication", "rpo");
      assert.match(text.stdout, /RPO: ok \(last good sync \d+ s ago, 0\.\dx the schedule's interval/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
