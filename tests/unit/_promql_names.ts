/**
 * Test helper: the metric names the alerting rules and the dashboard of `infra/monitoring/` query: read from each
 * PromQL expression (label matchers, ranges, grouping lists, string literals and function names taken out;
 * what is left that is not a keyword or a number is a metric), and from the dashboard's variables
 * (`label_values(metric, label)`). tests/integration/monitoring_metrics_test.ts checks each against the
 * `/metrics` of a running runtime.
 */

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/** The metric names of one PromQL expression. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(m[1]!.toLowerCase())) names.add(m[1]!);
  }
  return [...names].sort();
}

/** Each alerting rule's expression, by alert name (a Prometheus rule file's `groups`). */
export function ruleExpressions(
  rules: { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] },
) {
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ name: r.alert ?? r.record ?? "", expr: r.expr })));
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

/** Each query of a Grafana dashboard: its panels' targets and its variables' `label_values(metric, ...)`. */
export function dashboardExpressions(dashboard: {
  panels: readonly Panel[];
  templating?: { list: readonly { name: string; definition?: string }[] };
}): { name: string; expr: string }[] {
  const out: { name: string; expr: string }[] = [];
  const walk = (panels: readonly Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ name: p.title ?? "", expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const metric = /label_values\(\s*([A-Za-z_:][\w:]*)\s*,/.exec(v.definition ?? "")?.[1];
    if (metric) out.push({ name: `$${v.name}`, expr: metric });
  }
  return out;
}
