/**
 * The state record of one replication: which side is active, the steps of an unfinished cutover
 * or failback, and the last runs. Kept as JSON in the annotation `dr-syncer.io/state` of the
 * replication's Lease in the DR namespace (see `replication_lock.ts`), so the functions stay
 * stateless. This file is pure: parsing and the record's shape.
 */
import { RefusedError } from "../errors.ts";
import type { RunReport } from "../run_report.ts";

export const ANNOTATION_STATE = "dr-syncer.io/state";

/**
 * The one Lease per DR namespace that holds the lock and the state. Keyed by the namespace, not by
 * the replication's name, so every way of naming the replication (config, CLI flags) sees the same
 * state: a DR namespace receives one replication.
 */
export const LEASE_NAME = "dr-syncer";

export type Operation = RunReport["operation"];

export interface RunSummary {
  readonly operation: Operation;
  readonly runId: string;
  readonly status: RunReport["status"];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly dryRun?: boolean;
}

export interface ReplicationState {
  /** Which side serves: "source" until a cutover, "dr" after it, "source" again after failback. */
  readonly activeSide: "source" | "dr";
  /** The steps an unfinished cutover or failback has done, so a re-run can tell where it stopped. */
  readonly progress?: {
    readonly operation: Operation;
    readonly steps: readonly string[];
    /** The run that began it (kept by the runs that finish it): names its PVC data passes. */
    readonly id?: string | undefined;
  } | undefined;
  readonly lastRun?: RunSummary | undefined;
  /** Per operation, when it last succeeded (ISO time). */
  readonly lastSuccess: Readonly<Partial<Record<Operation, string>>>;
  /**
   * The source the last stage copied from: its cluster's identity (the uid of kube-system) and
   * namespace. A cutover with the source unreachable finds the copies by it.
   */
  readonly source?: { readonly cluster: string; readonly namespace: string } | undefined;
  /**
   * A cutover skipped the source (it was unavailable): its workloads may still run and must be
   * scaled down (fenced) by the next run that reaches it.
   */
  readonly fenceSource?: boolean | undefined;
}

export const INITIAL_STATE: ReplicationState = { activeSide: "source", lastSuccess: {} };

/** The state record cannot be read: refuse rather than guess (a guess could scale a live side to zero). */
export class StateUnreadableError extends RefusedError {
  override readonly name = "StateUnreadableError";
}

/**
 * The state held in a Lease's annotations; a Lease without the annotation (or no Lease) is the
 * initial state: nothing was ever cut over.
 */
export function parseReplicationState(
  annotations: Readonly<Record<string, string>> | undefined,
  namespace: string,
): ReplicationState {
  const raw = annotations?.[ANNOTATION_STATE];
  if (raw === undefined) return INITIAL_STATE;
  let parsed: Partial<ReplicationState>;
  try {
    parsed = JSON.parse(raw) as Partial<ReplicationState>;
  } catch (error) {
    parsed = { activeSide: `unparseable (${error instanceof Error ? error.message : error})` as "dr" };
  }
  if (
    parsed === null || typeof parsed !== "object" ||
    (parsed.activeSide !== "source" && parsed.activeSide !== "dr")
  ) {
    throw new StateUnreadableError(
      `The state in Lease "${LEASE_NAME}" of namespace "${namespace}" is unreadable (annotation ${ANNOTATION_STATE}): active side ${
        JSON.stringify(parsed?.activeSide)
      }; fix or remove the annotation`,
    );
  }
  return { ...INITIAL_STATE, ...parsed, lastSuccess: parsed.lastSuccess ?? {} };
}

/** The annotation value that holds `state`. */
export function formatReplicationState(state: ReplicationState): string {
  return JSON.stringify(state);
}
