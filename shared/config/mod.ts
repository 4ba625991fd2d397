/**
 * The config file: its schema and types, loading (native YAML or the upstream operator's manifests)
 * with path-named errors, and lookup of a replication by name.
 */
export * from "./config_schema.ts";
export * from "./config_error.ts";
export * from "./load_config.ts";
export * from "./find_replication.ts";
export * from "./replication_spec_from_config.ts";
export { parseBandwidthLimit } from "./_bandwidth.ts";
export * from "./operator_objects.ts";
export * from "./operator_names.ts";
