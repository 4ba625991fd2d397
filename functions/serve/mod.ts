/** The runtime and its entry point `runServe`. */
export * from "./runtime.ts";
export * from "./runtime_from_env.ts";
export * from "./run_coordinator.ts";
export * from "./replication_status.ts";
export * from "./cluster_pool.ts";
export * from "./run_operation_request.ts";
export * from "./parse_serve_args.ts";
export * from "./main.ts";
