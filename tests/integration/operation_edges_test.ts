/**
 * Every option of every operation in the registry reaches the operation from every edge: the
 * command line (`main`, flags parsed from a real argv) and HTTP (the app over a real runtime), each
 * checked at the operation, which a recording replacement stands in for. Then HTTP failback's own
 * options end to end on the real clusters.
 */
import assert from "node:assert/strict";
import { main } from "../../functions/cli/run_cli.ts";
import { type OperationOption, OPERATIONS, type RunFunction } from "../../functions/operations/mod.ts";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { buildRunReport } from "../../shared/run_report.ts";
import {
  DR_KUBECONFIG,
  extraCluster,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

interface Received {
  readonly operation: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** A stand-in for each operation that records what it received and succeeds. */
function recorders(received: Received[]): Record<string, RunFunction> {
  return Object.fromEntries(OPERATIONS.map((operation) => [
    operation.name,
    (deps, spec, options) => {
      received.push({ operation: operation.name, options: { ...options } });
      const now = new Date();
      return Promise.resolve(buildRunReport({
        runId: deps.runId ?? crypto.randomUUID(),
        operation: operation.name,
        replication: spec.name,
        dryRun: options.dryRun === true,
        startedAt: now,
        finishedAt: now,
        objects: [],
        steps: [],
      }));
    },
  ]));
}

/** The values to send for an option: each value its schema accepts that differs from unset. */
function samples(option: OperationOption): unknown[] {
  if (option.schema.safeParse(true).success) return option.default === false ? [true] : [true, false];
  throw new Error(`No sample values for an option of schema ${option.schema.def.type}: add them here`);
}

const cases = OPERATIONS.flatMap((operation) =>
  Object.entries(operation.options as Record<string, OperationOption>).map(([key, option]) => ({
    operation,
    key,
    option,
  }))
);

Deno.test("every option of every operation is on the command line and in the HTTP body", () => {
  assert.ok(cases.length >= 15, `${cases.length} options in the registry`);
  for (const { operation, key, option } of cases) {
    assert.notEqual(option.cli, false, `${operation.name}.${key} has a flag`);
    assert.equal(option.http, true, `${operation.name}.${key} is in the body`);
  }
});

Deno.test("every option of every operation reaches it from the command line, as --flag and --flag=true|false", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "edgescli", async (ns) => {
    const received: Received[] = [];
    const operations = recorders(received);
    for (const { operation, key, option } of cases) {
      for (const value of samples(option)) {
        const spellings = value === true
          ? [`--${option.cli}`, `--${option.cli}=true`, `--${option.cli}=TRUE`]
          : [`--${option.cli}=false`, ...(option.negation ? [`--${option.negation}`] : [])];
        for (const flag of spellings) {
          let err = "";
          const code = await main([
            operation.name,
            "--source-kubeconfig",
            SOURCE_KUBECONFIG,
            "--dest-kubeconfig",
            DR_KUBECONFIG,
            "--source-namespace",
            ns.source,
            "--dest-namespace",
            ns.dest,
            flag,
          ], {
            stdout: () => {},
            stderr: (t) => err += t,
            env: () => undefined,
            stderrIsTerminal: false,
            operations,
          });
          assert.equal(code, 0, `${operation.name} ${flag}: ${err}`);
          const last = received.at(-1);
          assert.equal(last?.operation, operation.name, `${operation.name} ${flag} ran ${last?.operation}`);
          assert.equal(last?.options[key], value, `${operation.name} ${flag} -> ${key}=${value}`);
        }
      }
    }
  }, { destSuffix: "-dr" });
});

Deno.test("every option of every operation reaches it over HTTP", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "edgeshttp", async (ns) => {
    const received: Received[] = [];
    await using t = await testRuntime(testConfig([replication("edges", ns.source, ns.dest)]), {
      operations: recorders(received),
    });
    for (const { operation, key, option } of cases) {
      for (const value of samples(option)) {
        const r = await json(t.request(`/v1/replications/edges/${operation.name}`, {
          token: TOKENS.ops,
          body: { [key]: value },
        }));
        assert.equal(r.status, 200, `${operation.name} {${key}: ${value}}: ${JSON.stringify(r.body)}`);
        const last = received.at(-1);
        assert.equal(last?.operation, operation.name);
        assert.equal(last?.options[key], value, `${operation.name} over HTTP -> ${key}=${value}`);
      }
    }
  }, { destSuffix: "-dr" });
});

type Workload = KubeObject & { spec: { replicas?: number } };
const replicas = async (client: KubeClient, ns: string, name: string) =>
  (await read<Workload>(client, "apps/v1", "Deployment", ns, name))?.spec.replicas;

Deno.test("HTTP failback with useDrCounts restores the source to the counts DR runs at now", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpdrcounts", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    for (const operation of ["stage", "cutover"]) {
      const r = await json(t.request(`/v1/replications/shop/${operation}`, { token: TOKENS.ops, body: {} }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
    }
    assert.equal(await replicas(c.dr, ns.dest, "web"), 3);
    await c.dr.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/web`,
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: 5 } },
    });
    const back = await json(t.request("/v1/replications/shop/failback", {
      token: TOKENS.ops,
      body: { useDrCounts: true },
    }));
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.status, "succeeded", JSON.stringify(back.body));
    assert.equal(await replicas(c.source, ns.source, "web"), 5, "the source runs at DR's count");
    assert.equal(await replicas(c.dr, ns.dest, "web"), 0);
  });
});

Deno.test("HTTP failback with allowDrUnavailable restores the source from its own records when DR is gone", async () => {
  await using c = await testClusters();
  await using gone = await extraCluster("httpdrgone");
  const dr = await connectCluster("dr", { path: gone.kubeconfig });
  try {
    await withNamespaces({ source: c.source, dr }, "httpnodr", async (ns) => {
      await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
      const config = testConfig([replication("shop", ns.source, ns.dest)], {
        clusters: [
          { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
          { name: "dr", kubeconfig: { path: gone.kubeconfig } },
        ],
      });
      await using t = await testRuntime(config);
      for (const operation of ["stage", "cutover"]) {
        const r = await json(
          t.request(`/v1/replications/shop/${operation}`, { token: TOKENS.ops, body: {} }),
        );
        assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
      }
      assert.equal(await replicas(c.source, ns.source, "web"), 0);
      await gone.stop();
      const refused = await json(
        t.request("/v1/replications/shop/failback", { token: TOKENS.ops, body: {} }),
      );
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(await replicas(c.source, ns.source, "web"), 0, "nothing changed");
      const back = await json(t.request("/v1/replications/shop/failback", {
        token: TOKENS.ops,
        body: { allowDrUnavailable: true },
      }));
      assert.equal(back.status, 200, JSON.stringify(back.body));
      assert.equal(back.body.status, "succeeded", JSON.stringify(back.body));
      assert.equal(await replicas(c.source, ns.source, "web"), 3, "the source is back at its recorded count");
    });
  } finally {
    dr.close();
  }
});
