import type { ReplicationSpec } from "../shared/plan/replication_spec.ts";
import type { RunReport } from "../shared/run_report.ts";
import {
  acquireReplicationLock,
  type Lease,
  type ReplicationLock,
} from "../shared/state/replication_lock.ts";
import type { Operation, ReplicationState, RunSummary } from "../shared/state/replication_state.ts";
import type { RunDeps } from "./operation_deps.ts";

/**
 * Takes the replication's lock, runs `body` under it, then records the outcome in the state and
 * releases the lock, also when `body` throws (then the run is recorded as failed and the error
 * rethrown; a failure to record it is logged, and the lock then expires on its own). `body`
 * returns the report and the state to keep (e.g. the new active side).
 */
export async function runLocked(
  deps: RunDeps,
  spec: ReplicationSpec,
  operation: Operation,
  startedAt: Date,
  body: (lock: ReplicationLock) => Promise<{ report: RunReport; state: ReplicationState }>,
  /** The Lease as the run just read it (`readStateLease`): taking the lock starts from it. */
  known?: Lease | null,
): Promise<RunReport> {
  const lock = await acquireReplicationLock(deps.dr, {
    namespace: spec.destNamespace,
    replication: spec.name,
    holder: deps.runId,
    now: deps.now,
    signal: deps.signal,
    ...deps.lock,
    known,
  });
  const summary = (status: RunReport["status"]): RunSummary => ({
    operation,
    runId: deps.runId,
    status,
    startedAt: startedAt.toISOString(),
    finishedAt: deps.now().toISOString(),
  });
  let outcome: { report: RunReport; state: ReplicationState };
  try {
    outcome = await body(lock);
  } catch (error) {
    // keep whatever progress the body recorded; the caller sees the error
    await lock.release({ ...lock.state, lastRun: summary("failed") }).catch((releaseError) => {
      deps.logger.error("could not record the failed run and release the lock; it expires on its own", {
        replication: spec.name,
        runId: deps.runId,
        leaseSeconds: deps.lock?.leaseSeconds ?? 60,
        error: releaseError,
      });
    });
    throw error;
  }
  const { report, state } = outcome;
  const lastSuccess = report.status === "succeeded"
    ? { ...state.lastSuccess, [operation]: report.finishedAt }
    : state.lastSuccess;
  await lock.release({ ...state, lastRun: summary(report.status), lastSuccess });
  return report;
}
