import assert from "node:assert/strict";
import { TOKEN_SCOPES } from "../../functions/operations/mod.ts";
import type { ClusterKubeconfig } from "../../shared/config/mod.ts";
import {
  bandwidthLimitSchema,
  clusterSchema,
  type ConfigInput,
  configSchema,
  cronScheduleSchema,
  replicationSchema,
  tokenSchemaFor,
} from "../../shared/config/mod.ts";

const CLUSTERS: ConfigInput["clusters"] = [
  { name: "prod", kubeconfig: { path: "/etc/prod.kubeconfig" } },
  { name: "dr", kubeconfig: { env: "DR_KUBECONFIG" } },
];

function replication(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "shop",
    source: { cluster: "prod", namespace: "shop" },
    destination: { cluster: "dr", namespace: "shop-dr" },
    ...fields,
  };
}

function paths(
  result: { error?: { issues: readonly { path: readonly PropertyKey[] }[] } | undefined },
): string[] {
  return (result.error?.issues ?? []).map((issue) => issue.path.join("."));
}

Deno.test("each kubeconfig source parses to a KubeconfigSource the cluster loader accepts", () => {
  const sources: ClusterKubeconfig[] = [
    clusterSchema.parse({ name: "a", kubeconfig: { path: "/a", context: "admin" } }).kubeconfig,
    clusterSchema.parse({ name: "b", kubeconfig: { env: "B_KUBECONFIG" } }).kubeconfig,
    clusterSchema.parse({ name: "c", kubeconfig: { secret: { name: "c-kc", namespace: "ops" } } }).kubeconfig,
  ];
  assert.deepEqual(sources, [
    { path: "/a", context: "admin" },
    { env: "B_KUBECONFIG" },
    { secret: { name: "c-kc", namespace: "ops", key: "kubeconfig" } },
  ]);
});

Deno.test("a token read from a Secret defaults its key to token", () => {
  const token = tokenSchemaFor().parse({
    name: "ci",
    value: { secret: { name: "t", namespace: "ops" } },
    operations: ["read"],
  });
  assert.deepEqual(token.value, { secret: { name: "t", namespace: "ops", key: "token" } });
});

Deno.test("a token with an unknown or repeated operation is rejected at that operation", () => {
  const tokenSchema = tokenSchemaFor(TOKEN_SCOPES); // the scopes the operation registry declares
  const unknown = tokenSchema.safeParse({ name: "ci", value: { env: "T" }, operations: ["read", "deploy"] });
  assert.deepEqual(paths(unknown), ["operations.1"]);
  const repeated = tokenSchema.safeParse({
    name: "ci",
    value: { env: "T" },
    operations: ["read", "stage", "read"],
  });
  assert.deepEqual(paths(repeated), ["operations.2"]);
  const none = tokenSchema.safeParse({ name: "ci", value: { env: "T" }, operations: [] });
  assert.deepEqual(paths(none), ["operations"]);
});

Deno.test("cron schedules take the 5 fields Deno.cron runs and are normalised to single spaces", () => {
  assert.equal(cronScheduleSchema.parse("  */5   * * * * "), "*/5 * * * *");
  assert.equal(cronScheduleSchema.parse("0 9 * * MON-FRI"), "0 9 * * MON-FRI");
  assert.match(
    cronScheduleSchema.safeParse("30 */5 * * * *").error?.issues[0]?.message ?? "",
    /expected 5 fields/,
  );
  assert.match(
    cronScheduleSchema.safeParse("0 0 ? * *").error?.issues[0]?.message ?? "",
    /"\?" is not supported/,
  );
});

Deno.test("cron schedules with the wrong field count, bad values, nicknames or no run time are rejected", () => {
  for (
    const expression of ["*/5 * *", "0 0 0 1 1 * 2030", "@hourly", "61 * * * *", "0 0 30 2 *", "every minute"]
  ) {
    const result = cronScheduleSchema.safeParse(expression);
    assert.equal(result.success, false, expression);
    assert.match(result.error?.issues[0]?.message ?? "", /is not a valid cron expression: /, expression);
  }
  assert.match(cronScheduleSchema.safeParse("0 0 30 2 *").error?.issues[0]?.message ?? "", /it never runs$/);
});

Deno.test("bandwidth limits are normalised to KiB/s", () => {
  assert.equal(bandwidthLimitSchema.parse("50M"), 51200);
  assert.equal(bandwidthLimitSchema.parse("10k"), 10);
  assert.equal(bandwidthLimitSchema.parse("1G"), 1048576);
  assert.equal(bandwidthLimitSchema.parse("1.5m"), 1536);
  assert.equal(bandwidthLimitSchema.parse(800), 800);
  assert.equal(bandwidthLimitSchema.parse("800"), 800);
});

Deno.test("bandwidth limits that are not a positive rate are rejected", () => {
  for (const value of ["50 Mbit", "fast", "-5M", 0, -1, "0k", true]) {
    assert.equal(bandwidthLimitSchema.safeParse(value).success, false, String(value));
  }
});

Deno.test("a pvc block without enabled is enabled, with verify none", () => {
  const parsed = replicationSchema.parse(replication({ pvc: { bandwidthLimit: "10M" } }));
  assert.deepEqual(parsed.pvc, { enabled: true, bandwidthLimit: 10240, verify: "none" });
});

Deno.test("the sync-rules options parse with their values", () => {
  const parsed = replicationSchema.parse(replication({
    mode: "continuous",
    preserveNodePorts: true,
    syncCRDs: true,
    includeCustomResources: ["widgets.example.com"],
    ingressHostMap: { "shop.example.com": "shop.dr.example.com", "*.example.com": "*.dr.example.com" },
    ingressClassMap: { nginx: "traefik" },
    immutable: "recreate",
    prune: true,
  }));
  assert.equal(parsed.mode, "continuous");
  assert.equal(parsed.preserveNodePorts, true);
  assert.equal(parsed.syncCRDs, true);
  assert.deepEqual(parsed.includeCustomResources, ["widgets.example.com"]);
  assert.deepEqual(parsed.ingressHostMap, {
    "shop.example.com": "shop.dr.example.com",
    "*.example.com": "*.dr.example.com",
  });
  assert.deepEqual(parsed.ingressClassMap, { nginx: "traefik" });
  assert.equal(parsed.immutable, "recreate");
  assert.equal(parsed.prune, true);
});

Deno.test("an empty resourceTypes list is rejected rather than meaning nothing or everything", () => {
  const result = replicationSchema.safeParse(replication({ resourceTypes: [] }));
  assert.deepEqual(paths(result), ["resourceTypes"]);
  assert.match(result.error?.issues[0]?.message ?? "", /omit it to copy the default types/);
});

Deno.test("access mode maps accept only Kubernetes access modes", () => {
  const result = replicationSchema.safeParse(replication({ accessModeMap: { RWX: "ReadWriteOnce" } }));
  assert.deepEqual(paths(result), ["accessModeMap.RWX"]);
});

Deno.test("a secret reference with a bad namespace is rejected at that field", () => {
  const result = clusterSchema.safeParse({
    name: "dr",
    kubeconfig: { secret: { name: "dr-kc", namespace: "DR Syncer", key: "kubeconfig" } },
  });
  assert.deepEqual(paths(result), ["kubeconfig.secret.namespace"]);
});

Deno.test("a config needs at least one cluster", () => {
  assert.deepEqual(paths(configSchema.safeParse({ clusters: [] })), ["clusters"]);
  assert.deepEqual(paths(configSchema.safeParse({})), ["clusters"]);
});

Deno.test("cross-field checks run alongside field checks of other replications", () => {
  const result = configSchema.safeParse({
    clusters: CLUSTERS,
    replications: [
      replication({ schedule: "*/5 * *" }),
      replication({
        name: "blog",
        source: { cluster: "prd", namespace: "blog" },
        destination: { cluster: "dr", namespace: "blog" },
      }),
    ],
  });
  assert.deepEqual(paths(result).sort(), ["replications.0.schedule", "replications.1.source.cluster"]);
});

Deno.test("the runtime block: defaults, and a runtime.cluster that is not configured is an error at its path", () => {
  const parsed = configSchema.parse({ clusters: CLUSTERS });
  assert.deepEqual(parsed.runtime, {
    namespace: "dr-syncer-system",
    image: "ghcr.io/dr-syncer/runtime:0.1.0",
    port: 8080,
    replicas: 1,
    cronJobs: false,
    protectMetrics: false,
    maxConcurrentRuns: 4,
  });
  assert.throws(
    () => configSchema.parse({ clusters: CLUSTERS, runtime: { maxConcurrentRuns: 0 } }),
    /"runtime",\s*"maxConcurrentRuns"/,
  );
  const set = configSchema.parse({
    clusters: CLUSTERS,
    runtime: { cluster: "dr", replicas: 3, cronJobs: true },
  });
  assert.equal(set.runtime.cluster, "dr");
  assert.equal(set.runtime.replicas, 3);
  const bad = configSchema.safeParse({ clusters: CLUSTERS, runtime: { cluster: "drr", port: 0, extra: 1 } });
  assert.deepEqual(paths(bad).sort(), ["runtime", "runtime.cluster", "runtime.port"]);
  const unknown = configSchema.safeParse({ clusters: CLUSTERS, runtime: { cluster: "drr" } });
  assert.deepEqual(paths(unknown), ["runtime.cluster"]);
  assert.match(unknown.error!.issues[0]!.message, /Unknown cluster "drr", did you mean "dr"\?/);
});
