import type { RunReport } from "../shared/sync/contracts.ts";
import {
  acquireReplicationLock,
  type Operation,
  type ReplicationLock,
  type ReplicationState,
} from "../shared/sync/replication_lock.ts";
import type { ReplicationSpec } from "../shared/sync/replication_spec.ts";
import type { OperationDeps } from "./operation_deps.ts";

export interface RunInfo {
  readonly operation: Operation;
  readonly runId: string;
  readonly startedAt: Date;
  readonly now: () => Date;
}

/**
 * Runs `body` under a held lock, then records the outcome in the replication state and releases
 * the lock, also when `body` throws (then the run is recorded as failed and the error rethrown).
 * `body` returns the report and the state to keep (e.g. the new active side).
 */
async function recordRun(
  lock: ReplicationLock,
  run: RunInfo,
  body: () => Promise<{ report: RunReport; state: ReplicationState }>,
): Promise<RunReport> {
  const summary = (status: RunReport["status"]) => ({
    operation: run.operation,
    runId: run.runId,
    status,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.now().toISOString(),
  });
  let outcome: { report: RunReport; state: ReplicationState };
  try {
    outcome = await body();
  } catch (error) {
    // keep whatever progress the body recorded; the caller sees the error
    await lock.release({ ...lock.state, lastRun: summary("failed") }).catch(() => {});
    throw error;
  }
  const { report, state } = outcome;
  const lastSuccess = report.status === "succeeded"
    ? { ...state.lastSuccess, [run.operation]: report.finishedAt }
    : state.lastSuccess;
  await lock.release({ ...state, lastRun: summary(report.status), lastSuccess });
  return report;
}

/** Takes the replication's lock, runs `body` under it, records the run and releases the lock. */
export async function runLocked(
  deps: OperationDeps,
  spec: ReplicationSpec,
  operation: Operation,
  startedAt: Date,
  body: (lock: ReplicationLock) => Promise<{ report: RunReport; state: ReplicationState }>,
): Promise<RunReport> {
  const runId = deps.runId ?? crypto.randomUUID();
  const lock = await acquireReplicationLock(deps.dr, {
    namespace: spec.destNamespace,
    replication: spec.name,
    holder: runId,
    ...deps.lock,
  });
  return await recordRun(
    lock,
    { operation, runId, startedAt, now: deps.now ?? (() => new Date()) },
    () => body(lock),
  );
}
