/**
 * The watchers of a runtime's continuous replications: started with the runtime, paused around a
 * cutover or failback of their replication on this replica (the run waits until the watcher has
 * stopped), stopped at drain.
 */
import type { Replication } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { RuntimeMetrics } from "../../shared/metrics/mod.ts";
import type { ClusterPool } from "../serve/cluster_pool.ts";
import type { RunCoordinator } from "../serve/run_coordinator.ts";
import {
  type ContinuousOptions,
  ContinuousReplication,
  type ContinuousState,
} from "./continuous_replication.ts";

export interface WatchManagerOptions {
  readonly replications: readonly Replication[];
  readonly runs: RunCoordinator;
  readonly clusters: ClusterPool;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  readonly holder?: string | undefined;
  readonly debounceMs?: ContinuousOptions["debounceMs"];
  readonly leaseSeconds?: ContinuousOptions["leaseSeconds"];
}

export class WatchManager {
  readonly #watchers: ReadonlyMap<string, ContinuousReplication>;

  constructor(options: WatchManagerOptions) {
    const holder = options.holder ?? crypto.randomUUID();
    const continuous = options.replications.filter((r) => r.mode === "continuous");
    this.#watchers = new Map(
      continuous.map((r) => [r.name, new ContinuousReplication({ ...options, holder }, r)]),
    );
    options.runs.setPauseHook(async (replication) => {
      const watcher = this.#watchers.get(replication);
      if (!watcher) return () => {};
      await watcher.pause();
      return () => watcher.resume();
    });
  }

  /** The state of each continuous replication's watcher here. */
  get states(): Record<string, ContinuousState> {
    return Object.fromEntries([...this.#watchers].map(([name, w]) => [name, w.state]));
  }

  start(): void {
    for (const watcher of this.#watchers.values()) watcher.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#watchers.values()].map((w) => w.stop()));
  }
}
