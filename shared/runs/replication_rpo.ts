/**
 * RPO of a replication: the age of its last good sync over its schedule's interval. Below 2 it is
 * `ok`, from 2 a `warning`, from 3 `critical`. A replication never synced is `critical` once it
 * has a schedule; a manual one, or one cut over to DR (DR is live, nothing is copied), has none.
 */
export type RpoLevel = "ok" | "warning" | "critical" | "none";

export interface Rpo {
  /** Seconds since the last good sync, when there was one. */
  readonly ageSeconds: number | null;
  /** The expected seconds between two syncs. */
  readonly intervalSeconds: number | null;
  readonly ratio: number | null;
  readonly level: RpoLevel;
}

export const RPO_WARNING_RATIO = 2;
export const RPO_CRITICAL_RATIO = 3;

export interface RpoInput {
  /** When the replication last copied successfully (ISO time). */
  readonly lastGoodSync?: string | undefined;
  /** The expected gap between syncs; `undefined` for a manual replication. */
  readonly intervalMs?: number | undefined;
  /** Cut over: DR serves, so nothing is copied and there is no RPO. */
  readonly cutOver?: boolean;
}

export function replicationRpo(input: RpoInput, now: Date): Rpo {
  const last = input.lastGoodSync === undefined ? NaN : Date.parse(input.lastGoodSync);
  const ageSeconds = Number.isNaN(last) ? null : Math.max(0, (now.getTime() - last) / 1000);
  const intervalSeconds = input.intervalMs === undefined || input.intervalMs <= 0
    ? null
    : input.intervalMs / 1000;
  if (intervalSeconds === null || input.cutOver) {
    return { ageSeconds, intervalSeconds, ratio: null, level: "none" };
  }
  if (ageSeconds === null) return { ageSeconds, intervalSeconds, ratio: null, level: "critical" };
  const ratio = ageSeconds / intervalSeconds;
  const level = ratio >= RPO_CRITICAL_RATIO ? "critical" : ratio >= RPO_WARNING_RATIO ? "warning" : "ok";
  return { ageSeconds, intervalSeconds, ratio, level };
}
