import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import type { Rpo, RunRecordSummary } from "../../shared/runs/mod.ts";
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
  if (report.pvcData !== undefined) {
    const d = report.pvcData;
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    lines.push(
      `  PVC data: ${d.claims} claim(s), ${d.files} file(s), ${mib(d.bytes)} MiB transferred, ${
        mib(d.wireBytes)
      } MiB over the network`,
    );
  }
  for (const s of report.steps) {
    const took = s.durationMs === undefined ? "" : ` (${formatStepDuration(s.durationMs)})`;
    lines.push(`  step ${s.step.padEnd(18)} ${s.status}${took}${s.detail ? `: ${s.detail}` : ""}`);
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

/** What `dr-syncer status` shows besides the state record (known for configured replications). */
export interface StatusExtras {
  readonly schedule?: string | undefined;
  readonly nextRun?: string | undefined;
  readonly rpo?: Rpo;
  readonly runs?: readonly RunRecordSummary[];
}

/** The state as `dr-syncer status` prints it. */
export function formatState(spec: ReplicationSpec, state: ReplicationState & StatusExtras): string {
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
  if (state.schedule) {
    lines.push(`  schedule: "${state.schedule}"${state.nextRun ? `, next run at ${state.nextRun}` : ""}`);
  }
  if (state.rpo && state.rpo.level !== "none") {
    const age = state.rpo.ageSeconds === null
      ? "never synced"
      : `last good sync ${Math.round(state.rpo.ageSeconds)} s ago`;
    const ratio = state.rpo.ratio === null ? "" : `, ${state.rpo.ratio.toFixed(1)}x the schedule's interval`;
    lines.push(`  RPO: ${state.rpo.level} (${age}${ratio}; warning at 2x, critical at 3x)`);
  }
  for (const run of state.runs?.slice(0, 5) ?? []) {
    lines.push(
      `  run ${run.runId}: ${run.operation} ${run.status} (${run.trigger}) at ${
        run.finishedAt ?? run.startedAt
      }`,
    );
  }
  return lines.join("\n");
}

/** A step's duration as a person reads it: `120 ms`, `1.4 s`, `2 min 05 s`. */
export function formatStepDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}
