/** Continuous mode: the watchers of continuous replications and who owns each watch. */
export * from "./watch_manager.ts";
export * from "./continuous_replication.ts";
export * from "./watch_lease.ts";
