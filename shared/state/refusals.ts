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

/** A second cutover of a finished one would stage the source over the live DR side. */
export function cutoverRefusal(name: string, state: ReplicationState, force: boolean): string | undefined {
  if (!force && state.activeSide === "dr" && state.progress?.operation !== "cutover") {
    return `Replication "${name}" is already cut over to DR: another cutover would stage the source over the live DR side; pass --force to do it anyway`;
  }
  return undefined;
}

/** Failback when nothing was cut over has nothing to do. */
export function failbackRefusal(name: string, state: ReplicationState, force: boolean): string | undefined {
  if (!force && state.activeSide === "source" && state.progress === undefined) {
    return `Replication "${name}" is not cut over: the source is the active side, so there is nothing to fail back; pass --force to do it anyway`;
  }
  return undefined;
}
