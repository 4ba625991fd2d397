/**
 * The alerting rules and the dashboard of `infra/monitoring/`: `promtool check rules` accepts the rules and
 * `promtool test rules` runs their unit tests over synthetic series (every alert shown firing); every query
 * of the rules and of the dashboard names dr-syncer's metrics only (which the runtime exports:
 * tests/integration/monitoring_metrics_test.ts); the dashboard is one Grafana can import.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { dashboardExpressions, metricNames, ruleExpressions } from "./_promql_names.ts";

const DIR = new URL("../../infra/monitoring/", import.meta.url).pathname;
const RULES = `${DIR}dr-syncer.rules.yaml`;
const RULE_TESTS = `${DIR}dr-syncer.rules.test.yaml`;
const DASHBOARD = `${DIR}dr-syncer.dashboard.json`;

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command("promtool", { args, cwd: DIR, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { code: out.code, out: `${text.decode(out.stdout)}${text.decode(out.stderr)}` };
}

type RuleFile = {
  groups: { name: string; rules: { alert: string; expr: string; labels: Record<string, string> }[] }[];
};

Deno.test("monitoring: promtool checks the rules and runs their unit tests", async () => {
  const check = await promtool("check", "rules", RULES);
  assert.equal(check.code, 0, check.out);
  assert.match(check.out, /SUCCESS: \d+ rules found/);
  const test = await promtool("test", "rules", RULE_TESTS);
  assert.equal(test.code, 0, test.out);
  assert.match(test.out, /SUCCESS/);
});

Deno.test("monitoring: every alert has a severity and a test in which it fires", async () => {
  const rules = parse(await Deno.readTextFile(RULES)) as RuleFile;
  const tests = parse(await Deno.readTextFile(RULE_TESTS)) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const fired = new Set(
    tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) =>
      a.alertname
    ),
  );
  const alerts = rules.groups.flatMap((g) => g.rules);
  assert.deepEqual(
    alerts.map((r) => r.alert).sort(),
    [
      "DrSyncerAgentDown",
      "DrSyncerConfigInvalid",
      "DrSyncerLockHeldTooLong",
      "DrSyncerMetricsAbsent",
      "DrSyncerNoAgentReady",
      "DrSyncerNoSuccessfulRun",
      "DrSyncerRpoAtRisk",
      "DrSyncerRpoBreached",
      "DrSyncerRunsFailing",
      "DrSyncerWatchLagging",
      "DrSyncerWatchRelisting",
    ],
  );
  for (const rule of alerts) {
    assert.ok(["warning", "critical"].includes(rule.labels.severity!), `${rule.alert}: a severity`);
    assert.ok(fired.has(rule.alert), `${rule.alert}: no test shows it firing`);
  }
});

Deno.test("monitoring: the rules and the dashboard query dr-syncer's metrics only", async () => {
  const rules = parse(await Deno.readTextFile(RULES)) as RuleFile;
  const dashboard = JSON.parse(await Deno.readTextFile(DASHBOARD));
  const queries = [...ruleExpressions(rules), ...dashboardExpressions(dashboard)];
  assert.ok(queries.length > 30);
  for (const { name, expr } of queries) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${name}: ${expr} names no metric`);
    for (const metric of names) assert.match(metric, /^dr_syncer_[a-z_]+$/, `${name}: ${expr}`);
  }
  // the name reader itself
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (replication, le) (rate(dr_syncer_watch_lag_seconds_bucket{replication=~"$r"}[$__rate_interval]))) > 10 unless on (x) time() - max(dr_syncer_a) < 7200',
    ),
    ["dr_syncer_a", "dr_syncer_watch_lag_seconds_bucket"],
  );
});

Deno.test("monitoring: the dashboard is one Grafana imports: unique ids, a datasource variable, every panel placed", async () => {
  const dashboard = JSON.parse(await Deno.readTextFile(DASHBOARD)) as {
    uid: string;
    schemaVersion: number;
    templating: { list: { name: string; type: string }[] };
    panels: {
      id: number;
      type: string;
      title: string;
      gridPos: { x: number; y: number; w: number; h: number };
      datasource?: { uid: string };
      targets?: { refId: string; datasource: { uid: string } }[];
    }[];
  };
  assert.equal(dashboard.uid, "dr-syncer");
  assert.ok(dashboard.schemaVersion >= 36);
  assert.ok(dashboard.templating.list.some((v) => v.name === "datasource" && v.type === "datasource"));
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "unique panel ids");
  for (const p of dashboard.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: within the grid`);
    if (p.type === "row") continue;
    assert.equal(p.datasource?.uid, "${datasource}", `${p.title}: the chosen datasource`);
    assert.ok(p.targets && p.targets.length > 0, `${p.title}: a query`);
    for (const t of p.targets!) assert.equal(t.datasource.uid, "${datasource}");
  }
  // no two panels overlap
  const cells = new Set<string>();
  for (const p of dashboard.panels) {
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel`);
        cells.add(`${x},${y}`);
      }
    }
  }
});
