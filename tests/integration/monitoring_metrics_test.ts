/**
 * Every metric the alerting rules and the dashboard of `infra/monitoring/` query is one a running runtime
 * exports: a runtime started in-process on the test clusters (`testRuntime`), a scheduled replication staged
 * through its API, then its `/metrics` read and each name looked up in it (a histogram's `_bucket`, `_sum`
 * and `_count` by its name). The metrics the rules need that the runtime does not export yet are listed in
 * `PENDING` (docs/monitoring.md, "Metrics the rules need"): each must still be missing, so the list is
 * emptied as they arrive.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { fixtures, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { json, replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";
import { dashboardExpressions, metricNames, ruleExpressions } from "../unit/_promql_names.ts";

const DIR = new URL("../../infra/monitoring/", import.meta.url).pathname;

/** Asked of the runtime (name: what it is); the rules and the dashboard use them already. */
const PENDING: Readonly<Record<string, string>> = {};

/** The metric families of an exposition text, by name, with their type. */
function families(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

function exported(types: Map<string, string>, name: string): boolean {
  if (types.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && ["histogram", "summary"].includes(types.get(base) ?? "");
}

Deno.test("monitoring: every metric of the rules and the dashboard is exported by a running runtime", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "monmetrics", async (ns) => {
    await seed(c.source, [
      fixtures.configMap(ns.source, "settings"),
      fixtures.deployment(ns.source, "web", 1),
    ]);
    await using rt = await testRuntime(testConfig([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "*/5 * * * *" }),
    ]));
    const staged = await json(rt.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: {} }));
    assert.equal(staged.status, 200, JSON.stringify(staged.body));
    const response = await rt.request("/metrics");
    assert.equal(response.status, 200);
    const text = await response.text();
    const types = families(text);
    // the per-replication gauges are there after a stage
    assert.match(text, /dr_syncer_rpo_ratio\{replication="shop"\} \d/);
    assert.match(text, /dr_syncer_last_success_timestamp_seconds\{replication="shop",operation="stage"\} \d/);

    const rules = parse(await Deno.readTextFile(`${DIR}dr-syncer.rules.yaml`));
    const dashboard = JSON.parse(await Deno.readTextFile(`${DIR}dr-syncer.dashboard.json`));
    const used = new Map<string, string[]>();
    for (const { name, expr } of [...ruleExpressions(rules), ...dashboardExpressions(dashboard)]) {
      for (const metric of metricNames(expr)) used.set(metric, [...(used.get(metric) ?? []), name]);
    }
    assert.ok(used.size > 15, [...used.keys()].join(", "));
    const missing = [...used.keys()].filter((m) => !exported(types, m) && PENDING[m] === undefined);
    assert.deepEqual(missing, [], `queried but not exported: ${missing.map((m) => `${m} (${used.get(m)})`)}`);
    for (const metric of Object.keys(PENDING)) {
      assert.ok(used.has(metric), `${metric} is pending but nothing queries it`);
      assert.ok(!exported(types, metric), `${metric} is exported now: take it out of PENDING`);
    }
  }, { destSuffix: "-dr" });
});
