/** The runtime: the manager the edges (HTTP, schedules, watchers) register with, and what it owns. */
export * from "./runtime.ts";
export * from "./runtime_from_env.ts";
export * from "./run_coordinator.ts";
export * from "./replication_status.ts";
export * from "./cluster_pool.ts";
