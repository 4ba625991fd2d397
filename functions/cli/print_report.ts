import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import type { ReplicationState } from "../../shared/state/replication_state.ts";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The run report as a person reads it: a headline, the counts, the steps, then every object not unchanged. */
export function formatReport(report: RunReport): string {
  const lines: string[] = [];
  const dry = report.dryRun ? " (dry run: nothing was written)" : "";
  lines.push(
    `${report.operation} "${report.replication}" ${report.status} in ${seconds(report.durationMs)}${dry}`,
  );
  if (report.error) lines.push(`  error: ${report.error}`);
  const c = report.counts;
  const verb = report.dryRun ? "would be " : "";
  lines.push(
    `  objects: ${c.created} ${verb}created, ${c.updated} ${verb}updated, ${c.recreated} ${verb}recreated, ` +
      `${c.pruned} ${verb}pruned, ${c.unchanged} unchanged, ${c.skipped} skipped, ${c.failed} failed`,
  );
  for (const s of report.steps) {
    lines.push(`  step ${s.step.padEnd(18)} ${s.status}${s.detail ? `: ${s.detail}` : ""}`);
  }
  const shown = report.objects.filter((o) => o.action !== "unchanged" || o.warnings?.length);
  // a dry run shows the deletions first
  const order = report.dryRun
    ? ["pruned", "failed", "created", "updated", "recreated", "skipped", "unchanged"]
    : ["failed", "created", "updated", "recreated", "pruned", "skipped", "unchanged"];
  shown.sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action));
  for (const o of shown) {
    const kind = o.group ? `${o.kind}.${o.group}` : o.kind;
    lines.push(`  ${o.action.padEnd(9)} ${kind} ${o.namespace}/${o.name}${o.reason ? `: ${o.reason}` : ""}`);
    for (const w of o.warnings ?? []) lines.push(`            warning: ${w}`);
  }
  return lines.join("\n");
}

/** The state as `dr-syncer status` prints it. */
export function formatState(spec: ReplicationSpec, state: ReplicationState): string {
  const lines = [
    `replication "${spec.name}": ${spec.sourceCluster}/${spec.sourceNamespace} -> ${spec.destCluster}/${spec.destNamespace}`,
    `  active side: ${state.activeSide}`,
  ];
  if (state.fenceSource) {
    lines.push(
      "  the source still needs scaling down (a cutover skipped it): dr-syncer fence, or the next stage, does it",
    );
  }
  if (state.progress) {
    lines.push(
      `  unfinished ${state.progress.operation}: done ${state.progress.steps.join(", ") || "nothing"}`,
    );
  }
  if (state.lastRun) {
    lines.push(
      `  last run: ${state.lastRun.operation} ${state.lastRun.status} at ${state.lastRun.finishedAt}`,
    );
  }
  for (const [op, at] of Object.entries(state.lastSuccess)) lines.push(`  last successful ${op}: ${at}`);
  return lines.join("\n");
}
