/** @jsxImportSource hono/jsx */
/**
 * The status page at `/`: server-rendered, readable without JavaScript, refreshed by the browser
 * itself (`<meta http-equiv="refresh">`). One row per replication: where it copies, the active
 * side, the last run (a link to its report), the RPO in its colour, the next run.
 */
import type { Child } from "hono/jsx";
import type { RunRecordSummary } from "../../shared/runs/mod.ts";
import type { ReplicationStatus } from "../runtime/mod.ts";
import { PAGE_STYLE, relativeTime, seconds } from "./_page_parts.ts";

export interface StatusPageProps {
  readonly statuses: readonly ReplicationStatus[];
  readonly now: Date;
  readonly refreshSeconds: number;
  /** The last refused version of a config source, while the last good one runs. */
  readonly configError?:
    | { readonly origin: string; readonly message: string; readonly at: string }
    | undefined;
}

const RPO_TEXT: Readonly<Record<ReplicationStatus["rpo"]["level"], string>> = {
  ok: "ok",
  warning: "warning",
  critical: "critical",
  none: "none",
};

function Rpo(props: { status: ReplicationStatus }): Child {
  const { rpo } = props.status;
  let detail: string;
  if (props.status.activeSide === "dr") detail = "cut over: DR is live";
  else if (rpo.intervalSeconds === null) detail = "manual: no schedule";
  else if (rpo.ageSeconds === null) detail = `never synced (every ${seconds(rpo.intervalSeconds)})`;
  else {
    detail = `${rpo.ratio!.toFixed(1)}× — last good sync ${seconds(rpo.ageSeconds)} ago, every ${
      seconds(rpo.intervalSeconds)
    }`;
  }
  return (
    <td class={`rpo rpo-${rpo.level}`} data-rpo={rpo.level}>
      <span class="dot"></span> {RPO_TEXT[rpo.level]}
      <div class="sub">{detail}</div>
    </td>
  );
}

function LastRun(props: { run: RunRecordSummary | undefined; now: Date }): Child {
  const { run } = props;
  if (!run) return <td class="muted">no run yet</td>;
  return (
    <td>
      <a href={`/runs/${run.runId}`}>
        {run.operation}
        {run.dryRun ? " (dry run)" : ""}
      </a>{" "}
      <span class={`status status-${run.status}`}>{run.status}</span>
      <div class="sub">
        {run.trigger} · {relativeTime(run.finishedAt ?? run.startedAt, props.now)}
        {run.error ? ` · ${run.error.message}` : ""}
      </div>
    </td>
  );
}

function Row(props: { status: ReplicationStatus; now: Date }): Child {
  const s = props.status;
  return (
    <tr data-replication={s.name}>
      <td>
        <strong>{s.name}</strong>
        <div class="sub">
          {s.source.cluster}/{s.source.namespace} → {s.destination.cluster}/{s.destination.namespace}
        </div>
      </td>
      <td>
        {s.mode}
        {s.schedule ? <div class="sub">{s.schedule}</div> : ""}
        {s.watch ? <div class="sub">watch: {s.watch}</div> : ""}
      </td>
      <td>
        {s.activeSide === null
          ? <span class="muted">unknown</span>
          : <span class={`side side-${s.activeSide}`}>{s.activeSide === "dr" ? "DR" : "source"}</span>}
        {s.progress ? <div class="sub">unfinished {s.progress.operation}</div> : ""}
      </td>
      <LastRun run={s.lastRuns[0]} now={props.now} />
      <Rpo status={s} />
      <td>
        {s.running.length > 0
          ? <span class="status status-running">running {s.running.map((r) => r.operation).join(", ")}</span>
          : s.paused
          ? <span class="status status-paused" title={s.paused}>paused</span>
          : s.nextRun
          ? relativeTime(s.nextRun, props.now)
          : <span class="muted">{s.mode === "continuous" ? "continuous" : "on demand"}</span>}
        {s.paused ? <div class="sub">{s.paused}</div> : ""}
        {s.nextRun ? <div class="sub">{s.nextRun}</div> : ""}
      </td>
      {s.error ? <td class="error">{s.error}</td> : <td></td>}
    </tr>
  );
}

/** The whole page. */
export function statusPage(props: StatusPageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content={String(props.refreshSeconds)} />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>dr-syncer</title>
        <style>{PAGE_STYLE}</style>
      </head>
      <body>
        <h1>dr-syncer</h1>
        {props.configError
          ? (
            <p class="error" role="alert">
              The last version of the {props.configError.origin} was refused at {props.configError.at}: {props
                .configError.message}. The last good configuration keeps running.
            </p>
          )
          : ""}
        <p class="sub">
          {props.statuses.length} replication(s) · as of {props.now.toISOString()} · refreshes every{" "}
          {props.refreshSeconds}s
        </p>
        <table>
          <thead>
            <tr>
              <th>replication</th>
              <th>mode</th>
              <th>active side</th>
              <th>last run</th>
              <th>RPO</th>
              <th>next run</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {props.statuses.map((status) => <Row key={status.name} status={status} now={props.now} />)}
          </tbody>
        </table>
      </body>
    </html>
  );
}
