/**
 * The watchers of a runtime's continuous replications, as a runnable of the runtime: started with
 * it, paused around a run of their replication that asks for it (a cutover or failback here waits
 * until the watcher has stopped), stopped before the runs drain. Their state shows in the status.
 */
import type { Runnable, Runtime } from "../runtime/mod.ts";
import {
  type ContinuousOptions,
  ContinuousReplication,
  type ContinuousState,
} from "./continuous_replication.ts";

export interface WatchManagerOptions {
  /** This replica's identity in the watch Leases (default: the runtime's replica and a random suffix). */
  readonly holder?: string | undefined;
  readonly debounceMs?: ContinuousOptions["debounceMs"];
  readonly leaseSeconds?: ContinuousOptions["leaseSeconds"];
}

export class WatchManager implements Runnable {
  readonly name = "watch";
  readonly #watchers: ReadonlyMap<string, ContinuousReplication>;

  constructor(runtime: Runtime, options: WatchManagerOptions = {}) {
    const holder = options.holder ?? `${runtime.replica}-${crypto.randomUUID().slice(0, 8)}`;
    const continuous = runtime.config.replications.filter((r) => r.mode === "continuous");
    const shared = {
      runs: runtime.runs,
      clusters: runtime.clusters,
      metrics: runtime.metrics,
      logger: runtime.logger,
      holder,
      debounceMs: options.debounceMs,
      leaseSeconds: options.leaseSeconds,
    };
    this.#watchers = new Map(continuous.map((r) => [r.name, new ContinuousReplication(shared, r)]));
    runtime.runs.addPauseHook(async (replication) => {
      const watcher = this.#watchers.get(replication);
      if (!watcher) return () => {};
      await watcher.pause();
      return () => watcher.resume();
    });
    runtime.status.setWatchState((name) => this.#watchers.get(name)?.state);
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

/** Adds the watchers of the runtime's continuous replications to it. */
export function watchers(runtime: Runtime, options: WatchManagerOptions = {}): WatchManager {
  const manager = new WatchManager(runtime, options);
  runtime.add(manager);
  return manager;
}
