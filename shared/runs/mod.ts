/** Runs as the runtime keeps them: records in the DR cluster, derived run ids, schedule times and RPO. */
export * from "./run_record.ts";
export * from "./run_record_store.ts";
export * from "./derived_run_id.ts";
export * from "./schedule_times.ts";
export * from "./replication_rpo.ts";
