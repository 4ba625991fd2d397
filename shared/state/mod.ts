/** The replication's lock and state record, kept in one Lease in the DR namespace. */
export * from "./replication_state.ts";
export * from "./replication_lock.ts";
export * from "./refusals.ts";
