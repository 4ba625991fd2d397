import assert from "node:assert/strict";
import { ConfigError, type ConfigIssue, loadConfig, loadConfigFile } from "../../shared/config/mod.ts";

/** The example from docs/product.md, comments and all. */
const PRODUCT_EXAMPLE = `clusters:
  - name: prod
    kubeconfig: { path: /etc/dr-syncer/prod.kubeconfig, context: admin }   # or { env: PROD_KUBECONFIG }
  - name: dr                                                                 # or { secret: { name, namespace, key } }
    kubeconfig: { secret: { name: dr-kubeconfig, namespace: dr-syncer-system, key: kubeconfig } }
tokens:
  - name: ops
    value: { env: DR_SYNCER_OPS_TOKEN }          # same three sources as kubeconfigs
    operations: [read, stage, cutover, failback, pvc-sync]
replications:
  - name: shop
    source: { cluster: prod, namespace: shop }
    destination: { cluster: dr, namespace: shop-dr }
    mode: scheduled                               # scheduled | continuous | manual
    schedule: "*/5 * * * *"
    resourceTypes: [configmaps, secrets, deployments, services]   # omitted = defaults
    excludeResourceTypes: []
    includeCustomResources: false
    scaleToZero: true
    prune: false
    immutable: report                             # report | recreate
    storageClassMap: { fast: standard }
    accessModeMap: { ReadWriteMany: ReadWriteOnce }
    pvc: { enabled: true, schedule: "0 * * * *", bandwidthLimit: 50M, verify: none }   # verify: none|sample|full
`;

/** A valid config whose first replication ends the file, so tests can append fields to it. */
const BASE = `clusters:
  - name: prod
    kubeconfig: { path: /etc/prod.kubeconfig }
  - name: dr
    kubeconfig: { env: DR_KUBECONFIG }
replications:
  - name: shop
    source: { cluster: prod, namespace: shop }
    destination: { cluster: dr, namespace: shop-dr }
`;

function loadIssues(text: string): readonly ConfigIssue[] {
  try {
    loadConfig(text, "dr-syncer.yaml");
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.ok(error.issues.length > 0);
    return error.issues;
  }
  assert.fail("expected a ConfigError");
}

function issueAt(issues: readonly ConfigIssue[], path: string): ConfigIssue {
  const issue = issues.find((candidate) => candidate.path === path);
  assert.ok(issue, `no issue at ${path}; issues: ${JSON.stringify(issues)}`);
  return issue;
}

Deno.test("the product example loads with its values and the remaining defaults filled in", () => {
  const config = loadConfig(PRODUCT_EXAMPLE, "dr-syncer.yaml");
  assert.deepEqual(config.clusters, [
    {
      name: "prod",
      kubeconfig: { path: "/etc/dr-syncer/prod.kubeconfig", context: "admin" },
      allowExec: false,
      allowFileReferences: false,
    },
    {
      name: "dr",
      kubeconfig: { secret: { name: "dr-kubeconfig", namespace: "dr-syncer-system", key: "kubeconfig" } },
      allowExec: false,
      allowFileReferences: false,
    },
  ]);
  assert.deepEqual(config.tokens, [
    {
      name: "ops",
      value: { env: "DR_SYNCER_OPS_TOKEN" },
      replications: ["*"],
      operations: ["read", "stage", "cutover", "failback", "pvc-sync"],
    },
  ]);
  assert.deepEqual(config.replications, [{
    name: "shop",
    source: { cluster: "prod", namespace: "shop" },
    destination: { cluster: "dr", namespace: "shop-dr" },
    mode: "scheduled",
    schedule: "*/5 * * * *",
    resourceTypes: ["configmaps", "secrets", "deployments", "services"],
    excludeResourceTypes: [],
    includeCustomResources: false,
    syncCRDs: false,
    scaleToZero: true,
    preserveNodePorts: false,
    prune: false,
    pruneClaims: false,
    maxPrune: 50,
    adopt: false,
    immutable: "report",
    storageClassMap: { fast: "standard" },
    accessModeMap: { ReadWriteMany: "ReadWriteOnce" },
    ingressHostMap: {},
    ingressClassMap: {},
    pvc: { enabled: true, schedule: "0 * * * *", bandwidthLimit: 50 * 1024, verify: "none" },
  }]);
});

Deno.test("a minimal replication gets manual mode, the source namespace, default types and no PVC sync", () => {
  const config = loadConfig(
    BASE.replace("destination: { cluster: dr, namespace: shop-dr }", "destination: { cluster: dr }"),
    "x",
  );
  const [replication] = config.replications;
  assert.ok(replication);
  assert.equal(replication.mode, "manual");
  assert.equal(replication.schedule, undefined);
  assert.deepEqual(replication.destination, { cluster: "dr", namespace: "shop" });
  assert.equal("resourceTypes" in replication, false);
  assert.equal(replication.scaleToZero, true);
  assert.equal(replication.prune, false);
  assert.equal(replication.immutable, "report");
  assert.deepEqual(replication.pvc, { enabled: false, verify: "none" });
  assert.deepEqual(config.tokens, []);
});

Deno.test("a schedule without a mode makes the replication scheduled", () => {
  const config = loadConfig(`${BASE}    schedule: "0 * * * *"\n`, "x");
  assert.equal(config.replications[0]?.mode, "scheduled");
});

Deno.test("a misspelt field is an error at its own path with a suggestion and a line", () => {
  const issues = loadIssues(`${BASE}    schedul: "*/5 * * * *"\n`);
  const issue = issueAt(issues, "replications[0].schedul");
  assert.match(issue.message, /Unknown field, did you mean "schedule"\?/);
  assert.equal(issue.line, 10);
});

Deno.test("a misspelt kubeconfig source is reported at the field and at the kubeconfig", () => {
  const issues = loadIssues(BASE.replace("{ path: /etc/prod.kubeconfig }", "{ pth: /etc/prod.kubeconfig }"));
  assert.match(issueAt(issues, "clusters[0].kubeconfig.pth").message, /did you mean "path"/);
  assert.match(
    issueAt(issues, "clusters[0].kubeconfig").message,
    /Needs exactly one of "path", "env" or "secret", or "inCluster: true"/,
  );
});

Deno.test("a kubeconfig with two sources is an error", () => {
  const issues = loadIssues(BASE.replace("{ env: DR_KUBECONFIG }", "{ env: DR_KUBECONFIG, path: /x }"));
  assert.match(issueAt(issues, "clusters[1].kubeconfig").message, /\(found "path", "env"\)/);
});

Deno.test("a reference to an unknown cluster names the replication field and the configured clusters", () => {
  const issues = loadIssues(BASE.replace("source: { cluster: prod,", "source: { cluster: prd,"));
  const issue = issueAt(issues, "replications[0].source.cluster");
  assert.equal(
    issue.message,
    'Unknown cluster "prd", did you mean "prod"? (configured clusters: "prod", "dr")',
  );
  assert.equal(issue.line, 8);
});

Deno.test("an invalid cron expression is an error at the schedule", () => {
  const issues = loadIssues(`${BASE}    schedule: "*/5 * *"\n`);
  assert.match(
    issueAt(issues, "replications[0].schedule").message,
    /^"\*\/5 \* \*" is not a valid cron expression: /,
  );
});

Deno.test("an invalid PVC schedule is an error at pvc.schedule", () => {
  const issues = loadIssues(`${BASE}    pvc: { schedule: "61 * * * *" }\n`);
  assert.match(
    issueAt(issues, "replications[0].pvc.schedule").message,
    /"61 \* \* \* \*" is not a valid cron expression: invalid value for minute/,
  );
});

Deno.test("duplicate cluster, token and replication names are errors at the later name", () => {
  const text = `clusters:
  - name: prod
    kubeconfig: { path: /a }
  - name: prod
    kubeconfig: { path: /b }
tokens:
  - { name: ops, value: { env: A }, operations: [read] }
  - { name: ops, value: { env: B }, operations: [stage] }
replications:
  - { name: shop, source: { cluster: prod, namespace: shop }, destination: { cluster: prod, namespace: shop-dr } }
  - { name: shop, source: { cluster: prod, namespace: blog }, destination: { cluster: prod, namespace: blog-dr } }
`;
  const issues = loadIssues(text);
  assert.equal(
    issueAt(issues, "clusters[1].name").message,
    'Duplicate cluster name "prod": clusters[0] has the same name',
  );
  assert.match(issueAt(issues, "tokens[1].name").message, /Duplicate token name "ops"/);
  assert.match(issueAt(issues, "replications[1].name").message, /Duplicate replication name "shop"/);
  assert.equal(issues.length, 3);
});

Deno.test("YAML syntax errors name the line and column", () => {
  const text = "clusters:\n  - name: prod\n    kubeconfig: { path: /a\nreplications: []\n";
  const issues = loadIssues(text);
  const [issue] = issues;
  assert.ok(issue);
  assert.equal(issue.path, "");
  assert.match(issue.message, /^YAML syntax error: /);
  assert.equal(typeof issue.line, "number");
  assert.ok((issue.line ?? 0) >= 3);
  assert.throws(
    () => loadConfig(text, "dr-syncer.yaml"),
    /^ConfigError: Invalid config "dr-syncer.yaml": line \d+, column \d+: YAML syntax error/,
  );
});

Deno.test("a duplicate YAML key is a syntax error with its line", () => {
  const issues = loadIssues(`${BASE}    prune: true\n    prune: false\n`);
  assert.equal(issues[0]?.line, 11);
  assert.match(issues[0]?.message ?? "", /Map keys must be unique/);
});

Deno.test("a namespace that is not a DNS-1123 label is an error", () => {
  const issues = loadIssues(BASE.replace("namespace: shop-dr", "namespace: Shop_DR"));
  assert.match(
    issueAt(issues, "replications[0].destination.namespace").message,
    /^"Shop_DR" is not a valid namespace name: use at most 63 lowercase letters/,
  );
});

Deno.test("a cluster name that is not a DNS-1123 label is an error", () => {
  const issues = loadIssues(BASE.replace("- name: dr", "- name: dr.example"));
  assert.match(issueAt(issues, "clusters[1].name").message, /"dr.example" is not a valid cluster name/);
});

Deno.test("scheduled mode without a schedule is an error at the schedule", () => {
  const issues = loadIssues(`${BASE}    mode: scheduled\n`);
  assert.equal(issueAt(issues, "replications[0].schedule").message, 'Required when mode is "scheduled"');
});

Deno.test("manual mode with a schedule is an error rather than a silently ignored schedule", () => {
  const issues = loadIssues(`${BASE}    mode: manual\n    schedule: "*/5 * * * *"\n`);
  assert.match(issueAt(issues, "replications[0].schedule").message, /^Not used when mode is "manual"/);
});

Deno.test("an unknown mode lists the accepted modes", () => {
  const issues = loadIssues(`${BASE}    mode: hourly\n`);
  assert.equal(
    issueAt(issues, "replications[0].mode").message,
    'Expected one of "scheduled", "continuous", "manual", got the string "hourly"',
  );
});

Deno.test("a wrong type names what was expected and what was found", () => {
  const issues = loadIssues(`${BASE}    scaleToZero: "yes"\n`);
  assert.equal(
    issueAt(issues, "replications[0].scaleToZero").message,
    'Expected true or false, got the string "yes"',
  );
});

Deno.test("a missing required field is reported as required", () => {
  const issues = loadIssues(BASE.replace("    destination: { cluster: dr, namespace: shop-dr }\n", ""));
  assert.equal(issueAt(issues, "replications[0].destination").message, "Required");
});

Deno.test("a replication onto its own source namespace is an error", () => {
  const issues = loadIssues(
    BASE.replace("destination: { cluster: dr, namespace: shop-dr }", "destination: { cluster: prod }"),
  );
  assert.equal(
    issueAt(issues, "replications[0].destination").message,
    'Same cluster "prod" and namespace "shop" as the source',
  );
});

Deno.test("the same namespace on different clusters is a valid replication", () => {
  const config = loadConfig(BASE.replace("namespace: shop-dr", "namespace: shop"), "x");
  assert.deepEqual(config.replications[0]?.destination, { cluster: "dr", namespace: "shop" });
});

Deno.test("two replications writing to one destination namespace is an error", () => {
  const text = `${BASE}  - name: blog
    source: { cluster: prod, namespace: blog }
    destination: { cluster: dr, namespace: shop-dr }
`;
  assert.match(
    issueAt(loadIssues(text), "replications[1].destination").message,
    /^Same destination as replications\[0\]/,
  );
});

Deno.test("a replication that copies back into another one's source is an error", () => {
  const text = `${BASE}  - name: shop-back
    source: { cluster: dr, namespace: shop-dr }
    destination: { cluster: prod, namespace: shop }
`;
  assert.match(issueAt(loadIssues(text), "replications[1].destination").message, /use failback/);
});

Deno.test("an empty config file is an error", () => {
  assert.throws(() => loadConfig("# nothing here\n", "dr-syncer.yaml"), {
    name: "ConfigError",
    message: 'Invalid config "dr-syncer.yaml": the file is empty',
  });
});

Deno.test("a config that is not a mapping is an error at the root", () => {
  const issues = loadIssues("- clusters\n");
  assert.equal(issues[0]?.path, "");
  assert.equal(issues[0]?.message, "Expected a mapping, got a list");
});

Deno.test("a native config spread over several YAML documents is an error", () => {
  const issues = loadIssues(`${BASE}---\nclusters: []\n`);
  assert.match(issues[0]?.message ?? "", /^Expected one YAML document, found 2/);
  assert.equal(issues[0]?.line, 11);
});

Deno.test("the error message lists every issue with its path and line", () => {
  const text = `${BASE}    schedule: "*/5 * *"\n    prune: maybe\n`;
  assert.throws(() => loadConfig(text, "dr-syncer.yaml"), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.origin, "dr-syncer.yaml");
    assert.equal(
      error.message,
      'Invalid config "dr-syncer.yaml": replications[0].schedule: "*/5 * *" is not a valid cron expression: expected ' +
        "5 fields (minute hour day-of-month month day-of-week), got 3 (line 10); " +
        'replications[0].prune: Expected true or false, got the string "maybe" (line 11)',
    );
    return true;
  });
});

Deno.test("a missing config file is a ConfigError that says the file does not exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing.yaml`;
    const error = await loadConfigFile(path).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `Cannot read config "${path}": no such file`);
    assert.deepEqual(error.issues, [{ path: "", message: "No such file" }]);
    assert.ok(error.cause instanceof Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a config file is read and its errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/good.yaml`, PRODUCT_EXAMPLE);
    const config = await loadConfigFile(`${dir}/good.yaml`);
    assert.equal(config.replications[0]?.name, "shop");
    await Deno.writeTextFile(`${dir}/bad.yaml`, `${BASE}    mode: scheduled\n`);
    await assert.rejects(loadConfigFile(`${dir}/bad.yaml`), {
      name: "ConfigError",
      message:
        `Invalid config "${dir}/bad.yaml": replications[0].schedule: Required when mode is "scheduled" (line 7)`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unquoted cron expression gets one YAML error with a hint to quote it", () => {
  const issues = loadIssues(`${BASE}    schedule: */5 * * * *\n`);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.line, 10);
  assert.match(issues[0]?.message ?? "", /a value starting with "\*" must be quoted/);
});

Deno.test("YAML anchors and merge keys can share settings between replications", () => {
  const text = `${BASE.replace("  - name: shop", "  - &shop\n    name: shop")}    prune: true
  - <<: *shop
    name: blog
    source: { cluster: prod, namespace: blog }
    destination: { cluster: dr, namespace: blog-dr }
`;
  const config = loadConfig(text, "x");
  assert.deepEqual(config.replications.map((r) => [r.name, r.prune, r.destination.namespace]), [
    ["shop", true, "shop-dr"],
    ["blog", true, "blog-dr"],
  ]);
});
