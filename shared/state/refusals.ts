/**
 * When an operation must refuse to run, decided from the replication's state alone (pure). Each
 * returns the message to show, or `undefined` when the operation may go ahead. `--force` lifts
 * each of them.
 */
import type { ReplicationState } from "./replication_state.ts";

/** Stage while DR is live would scale the live side to zero; an unfinished cutover must be finished first. */
export function stageRefusal(name: string, state: ReplicationState, force: boolean): string | undefined {
  if (force) return undefined;
  if (state.activeSide === "dr") {
    return `Replication "${name}" is cut over to DR: staging would scale the live side to zero; run failback first`;
  }
  if (state.progress) {
    return `Replication "${name}" has an unfinished ${state.progress.operation} (done: ${
      state.progress.steps.join(", ") || "nothing"
    }): run ${state.progress.operation} again to finish it`;
  }
  return undefined;
}

/**
 * Stage over source workloads that a cutover scaled down (at zero, with a record) would stage a
 * quiet source over a DR side that may be live, even when the state record is gone.
 */
export function cutoverTracesRefusal(
  name: string,
  sourceRecords: readonly string[],
  force: boolean,
): string | undefined {
  if (force || sourceRecords.length === 0) return undefined;
  const names = sourceRecords.slice(0, 3).join(", ") + (sourceRecords.length > 3 ? ", ..." : "");
  return `Source workloads of "${name}" stand at zero with a recorded count (${names}): a cutover scaled them down, so DR may be the live side; run failback first, or pass --force`;
}

/**
 * A cutover that already finished: repeating it succeeds with nothing to do (a retried trigger is
 * safe), and never stages the source over the live DR side. Unfinished ones are finished instead.
 */
export function cutoverAlreadyDone(state: ReplicationState): string | undefined {
  if (state.activeSide !== "dr" || state.progress !== undefined) return undefined;
  return "already cut over: DR is the active side; nothing to do (--force runs the whole cutover again)";
}

/** A failback that already finished: repeating it succeeds with nothing to do. */
export function failbackAlreadyDone(state: ReplicationState): string | undefined {
  if (state.activeSide !== "source" || state.progress !== undefined || !state.lastSuccess.failback) {
    return undefined;
  }
  return "already failed back: the source is the active side; nothing to do";
}

/** Failback when nothing was cut over has nothing to do. */
export function failbackRefusal(name: string, state: ReplicationState, force: boolean): string | undefined {
  if (!force && state.activeSide === "source" && state.progress === undefined) {
    return `Replication "${name}" is not cut over: the source is the active side, so there is nothing to fail back; pass --force to do it anyway`;
  }
  return undefined;
}
