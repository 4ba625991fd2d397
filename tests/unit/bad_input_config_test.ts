/**
 * Bad config files: generated structures, random mutations of a good file, binary garbage, alias
 * bombs, huge and odd files. Each gets a ConfigError (or loads), quickly, with output of bounded
 * size; plus one regression test per finding of issue 10 with its time bound.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import { ConfigError, loadConfig, loadConfigFile, MAX_LISTED_ISSUES } from "../../shared/config/mod.ts";
import { errorMessage, errorOutcome } from "../../shared/errors.ts";
import { aliasBomb, binaryGarbage, measured, mutated, threadCpuMs } from "./_bad_input.ts";

const GOOD = `clusters:
  - name: prod
    kubeconfig: { path: /etc/dr-syncer/prod.kubeconfig, context: admin }
  - name: dr
    kubeconfig: { env: DR_KUBECONFIG }
tokens:
  - name: ops
    value: { env: OPS_TOKEN }
    operations: [read, stage, cutover, failback]
replications:
  - name: shop
    source: { cluster: prod, namespace: shop }
    destination: { cluster: dr, namespace: shop-dr }
    schedule: "*/5 * * * *"
    resourceTypes: [configmaps, deploy]
    storageClassMap: { fast-ssd: standard }
    pvc: { enabled: true, bandwidthLimit: 50M }
  - name: billing
    source: { cluster: prod, namespace: billing }
    destination: { cluster: dr }
`;

/** Loads `text`: a config, or a ConfigError (exit code 2) whose message and issue list stay small. */
function assertClearOutcome(text: string): Promise<void> {
  return measured(() => loadConfig(text, "generated.yaml")).then(({ error, cpuMs }) => {
    assert.ok(cpuMs < 1000, `answered in ${cpuMs} ms of CPU`);
    if (error === undefined) return;
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error).slice(0, 300)}`);
    assert.equal(errorOutcome(error).exitCode, 2);
    assert.ok(error.issues.length <= MAX_LISTED_ISSUES);
    assert.ok(error.issueCount >= error.issues.length);
    assert.ok(error.message.length < 16_000, `a bounded message: ${error.message.length}`);
    assert.ok(errorMessage(error).length <= 2100);
  });
}

const word = fc.oneof(fc.constantFrom("prod", "dr", "shop", "billing", ""), fc.string({ maxLength: 12 }));
const source = fc.record({
  path: fc.string({ maxLength: 20 }),
  env: word,
  secret: fc.record({ name: word, namespace: word, key: word }, { requiredKeys: [] }),
  context: word,
}, { requiredKeys: [] });
const configObject = fc.record({
  clusters: fc.oneof(
    fc.array(fc.record({ name: word, kubeconfig: source }, { requiredKeys: [] }), { maxLength: 4 }),
    fc.anything({ maxDepth: 2 }),
  ),
  tokens: fc.array(
    fc.record({
      name: word,
      value: source,
      operations: fc.array(fc.constantFrom("read", "stage", "cutover", "failback", "pvc-sync", "nope")),
    }, { requiredKeys: [] }),
    { maxLength: 2 },
  ),
  replications: fc.oneof(
    fc.array(
      fc.record({
        name: word,
        source: fc.record({ cluster: word, namespace: word }, { requiredKeys: [] }),
        destination: fc.record({ cluster: word, namespace: word }, { requiredKeys: [] }),
        mode: fc.constantFrom("scheduled", "continuous", "manual", "often"),
        schedule: fc.oneof(
          fc.constantFrom("*/5 * * * *", "0 * * * *", "61 * * * *"),
          fc.string({ maxLength: 12 }),
        ),
        maxPrune: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 4 })),
        storageClassMap: fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), {
          maxKeys: 3,
        }),
        pvc: fc.anything({ maxDepth: 2 }),
        extra: fc.anything({ maxDepth: 2 }),
      }, { requiredKeys: ["name"] }),
      { maxLength: 4 },
    ),
    fc.anything({ maxDepth: 2 }),
  ),
  agent: fc.anything({ maxDepth: 2 }),
  runtime: fc.anything({ maxDepth: 2 }),
}, { requiredKeys: [] });

Deno.test("property: generated config structures load or fail with a bounded ConfigError", async () => {
  await fc.assert(
    fc.asyncProperty(configObject, fc.boolean(), async (object, json) => {
      await assertClearOutcome(json ? JSON.stringify(object) : stringify(object));
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: a mutated config loads or fails with a bounded ConfigError", async () => {
  await fc.assert(fc.asyncProperty(mutated(GOOD), assertClearOutcome), { numRuns: 400 });
});

Deno.test("property: binary garbage is refused with a bounded ConfigError", async () => {
  await fc.assert(fc.asyncProperty(binaryGarbage, assertClearOutcome), { numRuns: 200 });
});

Deno.test("an 11 MB config file is refused before parsing, naming the file and the limit (was no answer in 120 s at 1.2 GB)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/big.yaml`;
    const entry = (i: number) =>
      `  - name: r${i}\n    source: { cluster: prod, namespace: ns${i} }\n    destination: { cluster: dr }\n`;
    await Deno.writeTextFile(path, GOOD + Array.from({ length: 120_000 }, (_, i) => entry(i)).join(""));
    assert.ok((await Deno.stat(path)).size > 11_000_000);
    const { error, wallMs } = await measured(() => loadConfigFile(path));
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /^Cannot read config ".*big\.yaml": it is 1\d\.\d MiB, over the limit of 2\.0 MiB$/,
    );
    assert.ok(wallMs < 1000, `refused in ${wallMs} ms`);
    const text = await measured(() => loadConfig("#".repeat(3 * 1024 * 1024), "text"));
    assert.match(
      String(text.error),
      /^ConfigError: Invalid config "text": the config is too large: it is larger than the limit of 2\.0 MiB$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a config of 15,000 invalid entries (1.8 MB) answers in linear time with a short error (7 MB took 42 s, 2 GB, one 75 MB line)", () => {
  const entry = (i: number) =>
    `  - name: R_${i}\n    source: { cluster: nope, namespace: NS${i} }\n    destinaton: { cluster: dr }\n    mode: bogus\n`;
  const invalid = (n: number) => `${GOOD}${Array.from({ length: n }, (_, i) => entry(i)).join("")}`;
  const small = invalid(3_750), large = invalid(15_000);
  assert.ok(large.length > 1_700_000 && large.length < 2 * 1024 * 1024);
  loadConfigSafely(small); // warm up
  let cpu = threadCpuMs();
  loadConfigSafely(small);
  const smallMs = Math.max(threadCpuMs() - cpu, 10);
  cpu = threadCpuMs();
  const error = loadConfigSafely(large);
  const largeMs = threadCpuMs() - cpu;
  assert.ok(error instanceof ConfigError);
  assert.equal(error.issues.length, MAX_LISTED_ISSUES);
  assert.ok(error.issueCount >= 15_000 * 5, `${error.issueCount} issues counted`);
  assert.match(error.message, new RegExp(`; and ${error.issueCount - MAX_LISTED_ISSUES} more$`));
  assert.ok(error.message.length < 16_000, `${error.message.length} characters`);
  assert.ok(largeMs < 8000, `15,000 invalid entries took ${largeMs} ms of CPU`);
  assert.ok(largeMs < smallMs * 8 + 200, `3,750 entries: ${smallMs} ms, 15,000 entries: ${largeMs} ms`);
});

Deno.test("a config of 15,000 valid replications loads in linear time (the reverse-replication check was quadratic)", () => {
  const entry = (i: number) =>
    `  - name: r${i}\n    source: { cluster: prod, namespace: ns${i} }\n    destination: { cluster: dr }\n`;
  const valid = (n: number) => `${GOOD}${Array.from({ length: n }, (_, i) => entry(i)).join("")}`;
  const small = valid(3_750), large = valid(15_000);
  loadConfig(small, "warm-up");
  let cpu = threadCpuMs();
  loadConfig(small, "small");
  const smallMs = Math.max(threadCpuMs() - cpu, 10);
  cpu = threadCpuMs();
  assert.equal(loadConfig(large, "large").replications.length, 15_002);
  const largeMs = threadCpuMs() - cpu;
  assert.ok(largeMs < 8000, `15,000 replications took ${largeMs} ms of CPU`);
  assert.ok(largeMs < smallMs * 8 + 200, `3,750 replications: ${smallMs} ms, 15,000: ${largeMs} ms`);
});

function loadConfigSafely(text: string): unknown {
  try {
    loadConfig(text, "big.yaml");
    return undefined;
  } catch (error) {
    return error;
  }
}

Deno.test("a YAML alias bomb in a config is refused at once", async () => {
  const { error, wallMs } = await measured(() => loadConfig(`${GOOD}${aliasBomb()}`, "bomb.yaml"));
  assert.ok(error instanceof ConfigError);
  assert.match(error.message, /YAML error: Excessive alias count indicates a resource exhaustion attack/);
  assert.ok(wallMs < 1000, `refused in ${wallMs} ms`);
  const merge = `base: &b {a: 1}\n${Array.from({ length: 200 }, (_, i) => `m${i}: {<<: *b}`).join("\n")}\n`;
  const merged = await measured(() => loadConfig(merge, "merge.yaml"));
  assert.ok(merged.error instanceof ConfigError);
  assert.ok(merged.wallMs < 1000);
});

Deno.test("duplicate keys are still found, in every mapping, with their line", () => {
  const error = loadConfigSafely(`${GOOD}clusters: []\n`);
  assert.ok(error instanceof ConfigError);
  assert.deepEqual(error.issues.map((i) => [i.line, i.message]), [[
    21,
    "YAML syntax error: Map keys must be unique",
  ]]);
  const nested = loadConfigSafely(GOOD.replace("schedule:", "mode: manual\n    mode: manual\n    schedule:"));
  assert.ok(nested instanceof ConfigError);
  assert.match(nested.message, /line 15, column 5: YAML syntax error: Map keys must be unique/);
});

Deno.test("a config path that never ends, is a folder, is binary, is missing or has an odd name is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const odd = `${dir}/line\nbreak \u202e.yaml`;
    await Deno.writeFile(odd, new Uint8Array([0x63, 0x3a, 0x20, 0xff, 0xfe, 0x00]));
    const cases: [string, RegExp][] = [
      ["/dev/zero", /^Cannot read config "\/dev\/zero": it is larger than the limit of 2\.0 MiB$/],
      [dir, /: it is a directory$/],
      [odd, /^Cannot read config ".*line\\nbreak \u202e\.yaml": it is not UTF-8 text$/],
      [`${dir}/missing.yaml`, /: no such file$/],
    ];
    for (const [path, expected] of cases) {
      const { error, wallMs } = await measured(() => loadConfigFile(path));
      assert.ok(error instanceof ConfigError, `${path}: ${error}`);
      assert.match(error.message, expected);
      assert.ok(wallMs < 2000, `${path}: answered in ${wallMs} ms`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("one huge value or key is cut in the message", () => {
  const error = loadConfigSafely(
    GOOD.replace("name: billing", `name: ${"b".repeat(500_000)}`) + `${"k".repeat(200_000)}: 1\n`,
  );
  assert.ok(error instanceof ConfigError);
  assert.ok(error.message.length < 5000, `${error.message.length} characters`);
  for (const issue of error.issues) assert.ok(issue.path.length + issue.message.length < 700);
});
