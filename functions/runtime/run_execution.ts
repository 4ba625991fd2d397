/**
 * Runs one admitted run: the operation's deps built for the runtime (its clients, logger, lock
 * settings and stop signal), the replication's other work paused around an operation that asks for
 * it, the operation run, and its end turned into the run's record, its metrics and its log lines.
 */
import { type Replication, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import type { AgentSettings } from "../../shared/config/mod.ts";
import { errorMessage, errorOutcome } from "../../shared/errors.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { RuntimeMetrics } from "../../shared/metrics/mod.ts";
import type { RunRecord } from "../../shared/runs/mod.ts";
import type { OperationDeps } from "../operation_deps.ts";
import type { AnyOperation, RunFunction } from "../operations/mod.ts";
import type { RunOutcome, RunRequest } from "./run_admission.ts";

/**
 * Called before an operation that pauses the replication's other work runs here (not a dry run);
 * what it returns is called when the run has ended. The watcher pauses its replication with it: a
 * cutover waits for the watcher to stop before it touches anything.
 */
export type PauseHook = (replication: string, operation: string) => Promise<() => void>;

export interface RunExecutionContext {
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  readonly now: () => Date;
  readonly agent?: AgentSettings | undefined;
  /** The replication lock's lease (default: the operations' own). */
  readonly leaseSeconds?: number | undefined;
  /** The runtime's stop (a drain past its grace period). */
  readonly signal: AbortSignal;
  readonly pauseHooks: readonly PauseHook[];
  /** Takes a place among the runs at once before the operation starts (none: the run never waits). */
  readonly slot?: ((log: Logger) => Promise<() => void>) | undefined;
}

export async function executeRun(
  ctx: RunExecutionContext,
  operation: AnyOperation,
  run: RunFunction,
  replication: Replication,
  request: RunRequest,
  record: RunRecord,
  clients: { readonly source: KubeClient; readonly dr: KubeClient },
): Promise<RunOutcome> {
  const started = ctx.now();
  const log = ctx.logger.child({
    runId: record.runId,
    replication: replication.name,
    operation: request.operation,
    trigger: request.trigger,
  });
  const deps: OperationDeps = {
    source: clients.source,
    dr: clients.dr,
    logger: log,
    runId: record.runId,
    now: ctx.now,
    signal: ctx.signal,
    lock: {
      ...(ctx.leaseSeconds !== undefined ? { leaseSeconds: ctx.leaseSeconds } : {}),
      ...(request.waitForLockMs ? { waitMs: request.waitForLockMs } : {}),
    },
  };
  const resumes: (() => void)[] = [];
  let giveBack: (() => void) | undefined;
  try {
    if (ctx.slot) giveBack = await ctx.slot(log);
    log.info("run started", { dryRun: record.dryRun });
    if (operation.pausesWatch && !record.dryRun) {
      for (const pause of ctx.pauseHooks) resumes.push(await pause(replication.name, request.operation));
    }
    const report = await run(
      deps,
      { ...replicationSpecFromConfig(replication, ctx.agent), ...request.spec },
      request.options ?? {},
    );
    ctx.metrics.runFinished(report, request.trigger);
    log.info("run finished", { status: report.status, durationMs: report.durationMs, ...report.counts });
    return {
      record: { ...record, status: report.status, finishedAt: report.finishedAt, httpStatus: 200, report },
    };
  } catch (error) {
    const { httpStatus, code } = errorOutcome(error);
    const finishedAt = ctx.now();
    ctx.metrics.runErrored(
      request.operation,
      code,
      request.trigger,
      finishedAt.getTime() - started.getTime(),
    );
    log[httpStatus >= 500 ? "error" : "warn"]("run stopped", { code, error });
    return {
      record: {
        ...record,
        status: "failed",
        finishedAt: finishedAt.toISOString(),
        httpStatus,
        error: { message: errorMessage(error), code },
      },
      error,
    };
  } finally {
    for (const resume of resumes) resume();
    giveBack?.();
  }
}
