/**
 * The Helm chart (`infra/chart/`) against `dr-syncer render`, with the real Helm (`helm template`, `helm
 * lint`; no cluster): for several configs and every cluster of each, the chart's objects are render's, object
 * by object, field by field, with the differences the chart documents (docs/deploy.md, "The Helm chart"):
 *
 * - the release's own namespace is Helm's (`--create-namespace`), not an object of the chart; the other
 *   Namespaces are hooks Helm creates while they are missing and never applies again nor deletes;
 * - the CRDs are the chart's `crds/`, installed with any release (render has them in the runtime's cluster
 *   with the Deployment);
 * - the config file the runtime reads is the same config (compared as the runtime loads it), written by
 *   Helm's YAML.
 *
 * And what render refuses, the chart refuses (its install fails with the reason).
 */
import assert from "node:assert/strict";
import { parseAllDocuments, stringify } from "yaml";
import { type ConfigInput, configSchema, loadConfig } from "../../shared/config/mod.ts";
import type { KubeObject } from "../../shared/kube/types.ts";
import { renderCluster, runtimeClusterOf } from "../../infra/render.ts";
import { operatorCrds } from "../../infra/operator_crds.ts";
import { helmBinary } from "../_clusters.ts";

const CHART = new URL("../../infra/chart", import.meta.url).pathname;

async function helmRun(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(await helmBinary(), { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** `helm template` of the chart with these values: its documents, or the failure's stderr. */
async function helmTemplate(
  values: Record<string, unknown>,
  namespace: string,
): Promise<{ objects: KubeObject[]; error?: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-chart-" });
  try {
    await Deno.writeTextFile(`${dir}/values.yaml`, stringify(values));
    const out = await helmRun(
      "template",
      "dr-syncer",
      CHART,
      "--namespace",
      namespace,
      "--include-crds",
      "--values",
      `${dir}/values.yaml`,
    );
    if (out.code !== 0) return { objects: [], error: out.stderr };
    const objects = parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject).filter((o) => o);
    return { objects };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A namespace of the chart's: created by Helm before the objects, only while missing, never deleted. */
const NAMESPACE_HOOK = {
  "helm.sh/hook": "pre-install,pre-upgrade",
  "helm.sh/hook-weight": "-10",
  "helm.sh/hook-delete-policy": "hook-failed",
  "helm.sh/resource-policy": "keep",
};

const key = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** An object with its config file replaced by the config the runtime loads from it. */
function comparable(o: KubeObject): KubeObject {
  const data = (o as { data?: Record<string, string> }).data;
  if (o.kind !== "ConfigMap" || data?.["config.yaml"] === undefined) return o;
  return {
    ...o,
    data: { ...data, "config.yaml": loadConfig(data["config.yaml"], "config.yaml") },
  } as KubeObject;
}

/** render's objects for `cluster`, as the chart installed in namespace `releaseNs` has them. */
function expected(input: ConfigInput, cluster: string, releaseNs: string): KubeObject[] {
  const rendered = renderCluster(configSchema.parse(input), cluster).objects;
  return rendered
    .filter((o) => o.kind !== "CustomResourceDefinition")
    .filter((o) => !(o.kind === "Namespace" && o.metadata.name === releaseNs))
    .map((o) =>
      o.kind === "Namespace" ? { ...o, metadata: { ...o.metadata, annotations: NAMESPACE_HOOK } } : o
    );
}

async function compare(
  input: ConfigInput,
  cluster: string | undefined,
  releaseNs: string,
  chartConfig = input,
) {
  const target = cluster ?? runtimeClusterOf(configSchema.parse(input));
  const { objects, error } = await helmTemplate(
    { ...(cluster === undefined ? {} : { cluster }), config: chartConfig },
    releaseNs,
  );
  assert.equal(error, undefined, error);
  const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
  const byName = (a: KubeObject, b: KubeObject) => a.metadata.name.localeCompare(b.metadata.name);
  assert.deepEqual(crds.sort(byName), operatorCrds().sort(byName), "the chart's crds/ are render's CRDs");
  const chart = new Map(objects.filter((o) => o.kind !== "CustomResourceDefinition").map((o) => [key(o), o]));
  const want = new Map(expected(input, target, releaseNs).map((o) => [key(o), o]));
  assert.deepEqual([...chart.keys()].sort(), [...want.keys()].sort(), `${target}: the same objects`);
  for (const [k, o] of want) {
    assert.deepEqual(comparable(chart.get(k)!), comparable(o), `${target}: ${k}`);
  }
  return chart.size;
}

const TWO_CLUSTERS: ConfigInput = {
  clusters: [
    { name: "prod", kubeconfig: { path: "/etc/prod.kubeconfig" } },
    { name: "dr", kubeconfig: { env: "DR_KUBECONFIG" } },
  ],
  tokens: [{ name: "ops", value: { env: "OPS" }, operations: ["read", "stage"] }],
  replications: [
    {
      name: "shop",
      source: { cluster: "prod", namespace: "shop" },
      destination: { cluster: "dr", namespace: "shop-dr" },
      schedule: "*/5   * * * *",
      pvc: { enabled: true },
    },
    {
      name: "blog",
      source: { cluster: "prod", namespace: "blog" },
      destination: { cluster: "dr" },
      resourceTypes: ["cm", "deploy", "Ingress.networking.k8s.io"],
    },
    {
      name: "feed",
      source: { cluster: "prod", namespace: "feed" },
      destination: { cluster: "dr" },
      mode: "continuous",
      resourceTypes: ["configmaps", "secrets", "sts", "roles", "rolebindings"],
      excludeResourceTypes: ["secret"],
    },
  ],
};

const CRONJOBS: ConfigInput = {
  clusters: [
    {
      name: "prod",
      kubeconfig: { secret: { namespace: "creds", name: "prod-kubeconfig" } },
      allowExec: true,
    },
    { name: "dr", kubeconfig: { path: "/etc/dr.kubeconfig" } },
  ],
  tokens: [{
    name: "ops",
    value: { secret: { namespace: "dr-syncer-system", name: "api-tokens" } },
    operations: ["read"],
  }],
  replications: [
    {
      name: "nightly",
      source: { cluster: "prod", namespace: "nightly" },
      destination: { cluster: "dr", namespace: "nightly-dr" },
      schedule: "0 3 * * *",
      pvc: { schedule: "30 3 * * *", bandwidthLimit: "50M" },
      includeCustomResources: ["widgets.widgets.example.com"],
      syncCRDs: true,
    },
    { name: "manual", source: { cluster: "prod", namespace: "manual" }, destination: { cluster: "dr" } },
    {
      name: "live",
      source: { cluster: "prod", namespace: "live" },
      destination: { cluster: "dr" },
      mode: "continuous",
      pvc: { enabled: true },
    },
    {
      // names long enough to be shortened with a hash (the job's and its CronJob's)
      name: `long-${"x".repeat(58)}`,
      source: { cluster: "prod", namespace: "long" },
      destination: { cluster: "dr" },
      mode: "continuous",
      schedule: "*/30 * * * *",
      pvc: { schedule: "0 * * * *" },
    },
  ],
  runtime: { cronJobs: true, image: "registry.example.com/dr-syncer/runtime:1.2.3" },
};

const FOUR_CLUSTERS: ConfigInput = {
  clusters: [
    { name: "eu", kubeconfig: { path: "/etc/eu" } },
    { name: "us", kubeconfig: { secret: { namespace: "creds", name: "us-kubeconfig", key: "config" } } },
    { name: "dr", kubeconfig: { env: "DR" } },
    { name: "ops", kubeconfig: { path: "/etc/ops", context: "admin" } },
  ],
  tokens: [
    { name: "ops", value: { secret: { namespace: "creds", name: "api-token" } }, operations: ["read"] },
    { name: "ci", value: { path: "/etc/ci-token" }, operations: ["stage"], replications: ["a*"] },
  ],
  replications: [
    {
      name: "a",
      source: { cluster: "eu", namespace: "shop" },
      destination: { cluster: "dr", namespace: "eu-shop" },
      pvc: { enabled: true },
      includeCustomResources: ["invoices.v1beta1.billing.example.com", "gadgets.gadgets.example.com"],
      syncCRDs: true,
      excludeResourceTypes: ["gadgets.gadgets.example.com", "PodDisruptionBudget"],
    },
    {
      name: "b",
      source: { cluster: "us", namespace: "shop" },
      destination: { cluster: "dr", namespace: "us-shop" },
      mode: "continuous",
      schedule: "0 */2 * * *",
    },
    {
      name: "c",
      source: { cluster: "dr", namespace: "tools" },
      destination: { cluster: "eu", namespace: "tools" },
      resourceTypes: ["cm", "rolebindings", "Roles.rbac.authorization.k8s.io"],
    },
  ],
  agent: { namespace: "dr-agents", port: 22, healthHost: "::1", healthPort: 9333, image: "agent:test" },
  runtime: { cluster: "ops", namespace: "dr-syncer", port: 9090, replicas: 3 },
};

Deno.test("chart: helm lint is clean, with the default values and with a config", async () => {
  const lint = await helmRun("lint", "--strict", CHART);
  assert.equal(lint.code, 0, `${lint.stdout}\n${lint.stderr}`);
  assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  assert.doesNotMatch(lint.stdout, /\[(WARNING|ERROR)\]/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/values.yaml`, stringify({ cluster: "dr", config: TWO_CLUSTERS }));
    const withConfig = await helmRun("lint", "--strict", CHART, "--values", `${dir}/values.yaml`);
    assert.equal(withConfig.code, 0, `${withConfig.stdout}\n${withConfig.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chart: the default values are the runtime alone in its cluster, as render has it", async () => {
  const local: ConfigInput = {
    clusters: [{ name: "local", kubeconfig: { inCluster: true } }],
    runtime: { cluster: "local" },
  };
  // `config: {}` (the default) renders the same objects as this config
  assert.ok(await compare(local, undefined, "dr-syncer-system", {} as ConfigInput) > 5);
  // and so does that config, given
  await compare(local, undefined, "dr-syncer-system");
});

Deno.test("chart: every object is render's, for every cluster of several configs", async (t) => {
  const cases: [string, ConfigInput, string[]][] = [
    ["two clusters, scheduled with PVC data, manual, continuous, Roles copied", TWO_CLUSTERS, ["prod", "dr"]],
    ["the CronJob form: a kubeconfig from a Secret, PVC schedules, long names", CRONJOBS, ["prod", "dr"]],
    ["four clusters, the runtime in a third, custom types, a low agent port, IPv6", FOUR_CLUSTERS, [
      "eu",
      "us",
      "dr",
      "ops",
    ]],
  ];
  for (const [name, input, clusters] of cases) {
    await t.step(name, async () => {
      for (const cluster of clusters) {
        await compare(input, cluster, "dr-syncer-system");
        // a config that names its namespaces: the release may be in another one
        if (input.agent?.namespace && input.runtime?.namespace) {
          await compare(input, cluster, "somewhere-else");
        }
      }
    });
  }
  await t.step("namespaces default to the release's", async () => {
    const { objects, error } = await helmTemplate({ cluster: "dr", config: TWO_CLUSTERS }, "dr-ops");
    assert.equal(error, undefined, error);
    const moved: ConfigInput = {
      ...TWO_CLUSTERS,
      agent: { namespace: "dr-ops" },
      runtime: { namespace: "dr-ops" },
    };
    const want = expected(moved, "dr", "dr-ops").map(key).sort();
    assert.deepEqual(objects.filter((o) => o.kind !== "CustomResourceDefinition").map(key).sort(), want);
  });
});

Deno.test("chart: what render refuses, the chart refuses, saying why", async () => {
  const refused = async (input: ConfigInput, cluster: string | undefined, pattern: RegExp) => {
    assert.throws(() => renderCluster(configSchema.parse(input), cluster ?? "dr"), pattern);
    const { error } = await helmTemplate(
      { ...(cluster ? { cluster } : {}), config: input },
      "dr-syncer-system",
    );
    assert.match(error ?? "(installed)", pattern);
  };
  const base = TWO_CLUSTERS.replications![0]!;
  await refused(
    { ...TWO_CLUSTERS, replications: [{ ...base, includeCustomResources: true }] },
    "dr",
    /includeCustomResources: true names no type/,
  );
  await refused(
    { ...TWO_CLUSTERS, replications: [{ ...base, resourceTypes: ["widgets", "cm"] }] },
    "dr",
    /"widgets" is not a built-in type.*write custom types as resource.group/,
  );
  await refused(
    {
      ...TWO_CLUSTERS,
      replications: [{ ...base, destination: { cluster: "dr", namespace: "dr-syncer-system" } }],
    },
    "dr",
    /its destination namespace "dr-syncer-system" is agent.namespace/,
  );
  await refused(
    {
      ...TWO_CLUSTERS,
      replications: [base, {
        name: "back",
        source: { cluster: "dr", namespace: "back" },
        destination: { cluster: "prod", namespace: "back-dr" },
      }],
    },
    undefined,
    /the replications go to several clusters \("dr", "prod"\): set runtime.cluster/,
  );
  const { error } = await helmTemplate({ cluster: "nowhere", config: TWO_CLUSTERS }, "dr-syncer-system");
  assert.match(error ?? "", /Unknown cluster "nowhere"/);
  // cross-field checks the values' schema cannot make (render's config schema makes them)
  const unknown = await helmTemplate({
    config: { ...TWO_CLUSTERS, replications: [{ ...base, source: { cluster: "prdo", namespace: "shop" } }] },
  }, "dr-syncer-system");
  assert.match(unknown.error ?? "", /replications\[0\]\.source\.cluster: Unknown cluster "prdo"/);
  const twice = await helmTemplate({
    config: {
      ...TWO_CLUSTERS,
      replications: [base, { ...base, destination: { cluster: "dr", namespace: "other" } }],
    },
  }, "dr-syncer-system");
  assert.match(twice.error ?? "", /replications\[1\]\.name: Duplicate replication name "shop"/);
  // the values' schema: a misspelt field of the config is refused by Helm before any template runs
  const misspelt = await helmTemplate(
    { config: { ...TWO_CLUSTERS, replications: [{ ...base, shedule: "* * * * *" }] } },
    "dr-syncer-system",
  );
  assert.match(misspelt.error ?? "", /shedule/);
});
