/** @jsxImportSource hono/jsx */
/** A run's report as a page (`/runs/{id}`, linked from the status page): headline, counts, steps, objects. */
import type { RunRecord } from "../../shared/runs/mod.ts";
import { PAGE_STYLE, seconds } from "./_page_parts.ts";

export function runPage(record: RunRecord) {
  const report = record.report;
  const objects = report?.objects ?? [];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        {record.status === "running" ? <meta http-equiv="refresh" content="5" /> : ""}
        <title>dr-syncer: {record.operation} of {record.replication}</title>
        <style>{PAGE_STYLE}</style>
      </head>
      <body>
        <p>
          <a href="/">← all replications</a>
        </p>
        <h1>
          {record.operation} of {record.replication}{" "}
          <span class={`status status-${record.status}`}>{record.status}</span>
        </h1>
        <p class="sub">
          run {record.runId} · {record.trigger}
          {record.dryRun ? " · dry run: nothing was written" : ""} · started {record.startedAt}
          {record.finishedAt ? ` · finished ${record.finishedAt}` : ""}
          {report ? ` · ${seconds(report.durationMs / 1000)}` : ""}
          {report?.activeSide ? ` · active side: ${report.activeSide}` : ""}
        </p>
        {record.error ? <p class="error">{record.error.code}: {record.error.message}</p> : ""}
        {report?.error ? <p class="error">{report.error}</p> : ""}
        {report
          ? (
            <div>
              <p>
                {Object.entries(report.counts).map(([action, n]) => `${n} ${action}`).join(" · ")}
              </p>
              {report.steps.length > 0
                ? (
                  <table>
                    <thead>
                      <tr>
                        <th>step</th>
                        <th>status</th>
                        <th>detail</th>
                      </tr>
                    </thead>
                    <tbody>
                      {report.steps.map((s) => (
                        <tr key={s.step}>
                          <td>{s.step}</td>
                          <td>
                            <span class={`status status-${s.status === "done" ? "succeeded" : s.status}`}>
                              {s.status}
                            </span>
                          </td>
                          <td>{s.detail ?? ""}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
                : ""}
              <table>
                <thead>
                  <tr>
                    <th>action</th>
                    <th>object</th>
                    <th>reason</th>
                  </tr>
                </thead>
                <tbody>
                  {objects.map((o) => (
                    <tr key={`${o.kind}.${o.group}/${o.namespace}/${o.name}`}>
                      <td>{o.action}</td>
                      <td>
                        {o.group ? `${o.kind}.${o.group}` : o.kind} {o.namespace}/{o.name}
                      </td>
                      <td>{o.reason ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {record.objectsOmitted
                ? (
                  <p class="sub">
                    {record.objectsOmitted} unchanged or further object(s) not kept in the record
                  </p>
                )
                : ""}
            </div>
          )
          : ""}
      </body>
    </html>
  );
}
