import type { Logger } from "../shared/log/logger.ts";
import { redactSecrets } from "../shared/log/redact_secrets.ts";
import {
  addPvcData,
  buildRunReport,
  type ObjectResult,
  type PvcDataTotals,
  type RunReport,
  type StepResult,
} from "../shared/run_report.ts";
import type { ReplicationLock } from "../shared/state/replication_lock.ts";
import type { Operation, ReplicationState } from "../shared/state/replication_state.ts";

/** Milliseconds since `t0` (`performance.now()`), whole. */
const since = (t0: number) => Math.round(performance.now() - t0);

export interface StepOutcome {
  readonly objects?: readonly ObjectResult[];
  /** Default: the objects counted by action. */
  readonly detail?: string;
  /** What a PVC data pass moved. */
  readonly pvcData?: PvcDataTotals;
}

/**
 * Runs the steps of cutover or failback in order under the replication lock. After each step it
 * records the step in the lock's state, so a run that crashed is finished by the next run: a step
 * recorded as done by an earlier run of the same operation can be passed over (`doneBefore`).
 */
export class StepRunner {
  readonly steps: StepResult[] = [];
  readonly objects: ObjectResult[] = [];
  #pvcData: PvcDataTotals | undefined;
  readonly #done: string[];
  /** The id of the operation's progress: the run that began it, kept across the runs that finish it. */
  readonly progressId: string;
  #failed = false;
  #forget = false;

  constructor(
    private readonly lock: ReplicationLock,
    private readonly operation: Operation,
    private readonly runId: string,
    private readonly logger: Logger,
    private readonly afterStep?: (step: string) => void | Promise<void>,
  ) {
    const progress = lock.state.progress;
    this.#done = progress?.operation === operation ? [...progress.steps] : [];
    this.progressId = (progress?.operation === operation ? progress.id : undefined) ?? runId;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** True when an earlier, unfinished run of this operation got past `step`. */
  doneBefore(step: string): boolean {
    return this.#done.includes(step);
  }

  /** True when this run started `step` (whatever came of it) or an earlier run finished it. */
  touched(step: string): boolean {
    return this.#done.includes(step) || this.steps.some((s) => s.step === step && s.status !== "skipped");
  }

  /** The first step that failed in this run: the real cause, whatever an undo reports after it. */
  get firstFailure(): StepResult | undefined {
    return this.steps.find((s) => s.status === "failed");
  }

  /**
   * Records a step that repairs after a failure (an undo): its own failure is reported, but it
   * does not replace the failure that caused it and does not count as progress.
   */
  async repair(step: string, fn: () => Promise<StepOutcome>): Promise<boolean> {
    const t0 = performance.now();
    try {
      const outcome = await fn();
      this.objects.push(...(outcome.objects ?? []));
      const failures = (outcome.objects ?? []).filter((o) => o.action === "failed").length;
      const detail = outcome.detail ?? (outcome.objects ? summarise(outcome.objects) : "done");
      this.steps.push({ step, status: failures > 0 ? "failed" : "done", detail, durationMs: since(t0) });
      return failures === 0;
    } catch (error) {
      this.steps.push({
        step,
        status: "failed",
        detail: redactSecrets(error instanceof Error ? error.message : String(error)),
        durationMs: since(t0),
      });
      return false;
    }
  }

  /**
   * Forgets the operation's progress when the run ends: an undo put everything back, so the next run is a
   * new operation (its steps, and its data passes, start over: the source may have written since).
   */
  forgetProgress(): void {
    this.#forget = true;
  }

  /** Runs one step unless an earlier step failed; a step fails when it throws or an object failed. */
  async run(step: string, fn: () => Promise<StepOutcome>): Promise<void> {
    if (this.#failed) {
      this.steps.push({ step, status: "skipped", detail: "an earlier step failed" });
      return;
    }
    let outcome: StepOutcome;
    const t0 = performance.now();
    try {
      outcome = await fn();
    } catch (error) {
      this.#failed = true;
      this.steps.push({
        step,
        status: "failed",
        detail: redactSecrets(error instanceof Error ? error.message : String(error)),
        durationMs: since(t0),
      });
      return;
    }
    const durationMs = since(t0);
    this.objects.push(...(outcome.objects ?? []));
    this.#pvcData = addPvcData(this.#pvcData, outcome.pvcData);
    const failures = (outcome.objects ?? []).filter((o) => o.action === "failed").length;
    if (failures > 0) {
      this.#failed = true;
      this.steps.push({
        step,
        status: "failed",
        detail: `${failures} object(s) failed${outcome.detail ? `; ${outcome.detail}` : ""}`,
        durationMs,
      });
      return;
    }
    const detail = outcome.detail ?? (outcome.objects ? summarise(outcome.objects) : undefined);
    this.steps.push({ step, status: "done", ...(detail ? { detail } : {}), durationMs });
    if (!this.#done.includes(step)) this.#done.push(step);
    // Not awaited: the next step need not wait for the record. A crash before it lands only means
    // the step is done again (every step is idempotent); a lost lock aborts the next write anyway.
    this.lock.update({
      ...this.lock.state,
      progress: { operation: this.operation, steps: [...this.#done], id: this.progressId },
    })
      .catch((error) =>
        this.logger.warn("could not record a finished step; a re-run does it again", { step, error })
      );
    await this.afterStep?.(step);
  }

  skip(step: string, detail: string): void {
    this.steps.push({ step, status: "skipped", detail });
  }

  /** The run's report, and the state to record: `activeSide` when every step succeeded, else as it was. */
  finish(
    replication: string,
    startedAt: Date,
    finishedAt: Date,
    activeSide: ReplicationState["activeSide"],
  ): { report: RunReport; state: ReplicationState } {
    const state = this.#failed
      ? (this.#forget ? { ...this.lock.state, progress: undefined } : this.lock.state)
      : { ...this.lock.state, activeSide, progress: undefined };
    const report = buildRunReport({
      runId: this.runId,
      operation: this.operation,
      replication,
      dryRun: false,
      startedAt,
      finishedAt,
      objects: this.objects,
      steps: this.steps,
      activeSide: state.activeSide,
      pvcData: this.#pvcData,
    });
    return { report, state };
  }
}

/** Counts objects by action for a step's detail line, e.g. "3 updated, 2 unchanged". */
export function summarise(objects: readonly ObjectResult[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(", ") || "nothing to do";
}
