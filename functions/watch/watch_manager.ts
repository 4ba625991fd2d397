/**
 * The watchers of a runtime's continuous replications, as a runnable of the runtime: started with
 * it, paused around a run of their replication that asks for it (a cutover or failback here waits
 * until the watcher has stopped), stopped before the runs drain. They follow the configuration: a
 * new continuous replication gets a watcher, a changed one a new watcher, a removed one none. Their
 * state shows in the status.
 */
import type { Replication } from "../../shared/config/mod.ts";
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
  readonly #watchers = new Map<string, ContinuousReplication>();
  #started = false;

  constructor(runtime: Runtime, options: WatchManagerOptions = {}) {
    const holder = options.holder ?? `${runtime.replica}-${crypto.randomUUID().slice(0, 8)}`;
    const shared = {
      runs: runtime.runs,
      clusters: runtime.clusters,
      metrics: runtime.metrics,
      logger: runtime.logger,
      holder,
      debounceMs: options.debounceMs,
      leaseSeconds: options.leaseSeconds,
    };
    const reconcile = (replications: readonly Replication[]) => {
      const wanted = new Map(replications.filter((r) => r.mode === "continuous").map((r) => [r.name, r]));
      for (const [name, watcher] of this.#watchers) {
        const next = wanted.get(name);
        if (next !== undefined && JSON.stringify(next) === JSON.stringify(watcher.replication)) continue;
        // gone, or changed (types, namespaces, mode): this watcher stops, a new one takes over
        this.#watchers.delete(name);
        void watcher.stop();
      }
      for (const [name, replication] of wanted) {
        if (this.#watchers.has(name)) continue;
        const watcher = new ContinuousReplication(shared, replication);
        this.#watchers.set(name, watcher);
        if (this.#started) watcher.start();
      }
    };
    reconcile(runtime.config.replications);
    runtime.configState.onChange((next) => reconcile(next.replications));
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
    this.#started = true;
    for (const watcher of this.#watchers.values()) watcher.start();
  }

  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#watchers.values()].map((w) => w.stop()));
  }
}

/** Adds the watchers of the runtime's continuous replications to it. */
export function watchers(runtime: Runtime, options: WatchManagerOptions = {}): WatchManager {
  const manager = new WatchManager(runtime, options);
  runtime.add(manager);
  return manager;
}
