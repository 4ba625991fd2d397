import assert from "node:assert/strict";
import { parseCliArgs, parseMap, UsageError } from "../../functions/cli/parse_cli_args.ts";
import { replicationFromFlags, specFlags } from "../../functions/cli/resolve_replication.ts";

function run(argv: string[]) {
  const parsed = parseCliArgs(argv);
  assert.equal(parsed.kind, "run");
  return parsed as Extract<typeof parsed, { kind: "run" }>;
}

Deno.test("cli parsing: a command with its flags, lists and maps", () => {
  const { command, options } = run([
    "stage",
    "--source-kubeconfig=a",
    "--dest-kubeconfig",
    "b",
    "--source-namespace",
    "shop",
    "--resource-types",
    " cm, deploy ,,",
    "--storage-class-map",
    "fast=standard,slow=cold",
    "--prune",
    "--dry-run",
    "-o",
    "json",
  ]);
  assert.equal(command, "stage");
  assert.deepEqual(options.resourceTypes, ["cm", "deploy"]);
  assert.deepEqual(options.storageClassMap, { fast: "standard", slow: "cold" });
  assert.equal(options.request.prune, true);
  assert.equal(options.request.dryRun, true);
  assert.equal(options.output, "json");
  assert.equal(options.logLevel, "info");
});

Deno.test("cli parsing: the older --mode form, in any case, and its contradictions", () => {
  assert.equal(run(["--mode=CUTOVER"]).command, "cutover");
  assert.equal(run(["failback", "--mode", "Failback"]).command, "failback");
  assert.throws(() => parseCliArgs(["stage", "--mode=Cutover"]), /contradicts the command "stage"/);
  assert.throws(() => parseCliArgs(["--mode=Sideways"]), UsageError);
});

Deno.test("cli parsing: help and version need no command", () => {
  assert.deepEqual(parseCliArgs([]), { kind: "help" });
  assert.deepEqual(parseCliArgs(["cutover", "--help"]), { kind: "help", command: "cutover" });
  assert.deepEqual(parseCliArgs(["--version"]), { kind: "version" });
});

Deno.test("cli parsing: bad flags and values are usage errors naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["stage", "--frobnicate"], /^Unknown flag --frobnicate/],
    [["launch"], /^Unknown command "launch"/],
    [["stage", "extra"], /^Unexpected argument "extra"/],
    [["stage", "--log-level", "loud"], /^--log-level: "loud" is not one of/],
    [["stage", "--immutable", "ignore"], /^--immutable: "ignore" is not one of report, recreate/],
    [["stage", "--concurrency", "1.5"], /^--concurrency: "1.5" is not a whole number from 1 to 256/],
    [["stage", "--prune", "--no-prune"], /contradict each other/],
  ];
  for (const [argv, expected] of cases) {
    assert.throws(
      () => parseCliArgs(argv),
      (e: unknown) => e instanceof UsageError && expected.test(e.message),
    );
  }
  assert.throws(
    () => parseMap("access-mode-map", "a=b,c"),
    /--access-mode-map: "c" is not of the form from=to/,
  );
});

Deno.test("cli parsing: flags become a replication with defaults, the DR namespace defaulting to the source's", () => {
  const { options } = run([
    "cutover",
    "--source-kubeconfig",
    "s.kubeconfig",
    "--dest-kubeconfig",
    "d.kubeconfig",
    "--dest-context",
    "dr-admin",
    "--source-namespace",
    "shop",
    "--no-scale-to-zero",
  ]);
  const resolved = replicationFromFlags(options);
  assert.equal(resolved.spec.name, "shop");
  assert.equal(resolved.spec.destNamespace, "shop");
  assert.equal(resolved.spec.scaleToZero, false);
  assert.equal(resolved.spec.prune, false);
  assert.deepEqual(resolved.dest.kubeconfig, { path: "d.kubeconfig", context: "dr-admin" });
  assert.deepEqual(
    specFlags(run(["stage"]).options),
    {},
    "no flags, no overrides of a configured replication",
  );
  assert.throws(
    () => replicationFromFlags(run(["stage"]).options),
    /Missing --source-kubeconfig, --dest-kubeconfig/,
  );
});

Deno.test("render and deploy: --config is required, --cluster belongs to render, render's output is yaml or json", () => {
  const render = parseCliArgs(["render", "--config", "c.yaml", "--cluster", "dr", "-o", "yaml"]);
  assert.equal(render.kind, "run");
  if (render.kind === "run") {
    assert.equal(render.options.cluster, "dr");
    assert.equal(render.options.output, "text");
  }
  const json = parseCliArgs(["render", "--config", "c.yaml", "--output", "json"]);
  assert.ok(json.kind === "run" && json.options.output === "json");
  const deploy = parseCliArgs(["deploy", "--config", "c.yaml", "--dry-run"]);
  assert.ok(deploy.kind === "run" && deploy.options.dryRun);
  assert.throws(() => parseCliArgs(["render"]), /render needs --config FILE/);
  assert.throws(() => parseCliArgs(["deploy"]), /deploy needs --config FILE/);
  assert.throws(
    () => parseCliArgs(["deploy", "--config", "c", "--cluster", "dr"]),
    /--cluster is a flag of "render"/,
  );
  assert.throws(
    () => parseCliArgs(["render", "--config", "c", "--cluster", "Bad_Name"]),
    /not a valid cluster name/,
  );
  assert.throws(() => parseCliArgs(["render", "--config", "c", "-o", "text2"]), /one of yaml, json/);
  assert.throws(() => parseCliArgs(["stage", "-o", "yaml"]), /one of text, json/);
  assert.throws(
    () => parseCliArgs(["render", "--config", "c", "--dry-run"]),
    /--dry-run is a flag of "deploy"/,
  );
});

Deno.test("cli parsing: start takes a port or --help; anything else is a usage error naming it", async () => {
  const { parseStartArgs, runStart, START_HELP } = await import("../../functions/cli/start.ts");
  assert.deepEqual(parseStartArgs([]), { help: false, port: 8080 });
  assert.deepEqual(parseStartArgs(["--port", "9090"]), { help: false, port: 9090 });
  assert.deepEqual(parseStartArgs(["--port=1"]), { help: false, port: 1 });
  assert.deepEqual(parseStartArgs(["--port", "0"]), { help: false, port: 0 }, "0: any free port");
  assert.deepEqual(parseStartArgs(["-h"]), { help: true, port: 8080 });
  for (
    const [argv, pattern] of [
      [["--bogus"], /start: unknown argument "--bogus"/],
      [["--port"], /--port: expected a port number from 0 \(any free port\) to 65535, got nothing/],
      [["--port", "80x"], /got "80x"/],
      [["--port", "70000"], /got "70000"/],
      [["--port=-1"], /got "-1"/],
    ] as const
  ) {
    assert.throws(
      () => parseStartArgs(argv),
      (e: unknown) => e instanceof UsageError && pattern.test(e.message),
    );
  }
  // --help prints and starts nothing (no clusters: it returns at once)
  let out = "";
  const code = await runStart(["--help"], {
    stdout: (t) => (out += t),
    stderr: () => {},
    env: () => undefined,
    stderrIsTerminal: false,
  }, {} as never);
  assert.equal(code, 0);
  assert.equal(out, START_HELP);
  assert.match(out, /--port N/);
});
