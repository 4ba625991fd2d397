/**
 * The pure copy engine: which types and objects are copied, how each object is transformed for the
 * DR namespace, the plan of writes against what DR holds, provenance and the scaling decisions.
 * No cluster access here (`deno task check` enforces that nothing in this folder reaches the client).
 */
export * from "./contracts.ts";
export * from "./names.ts";
export * from "./provenance.ts";
export * from "./replica_count.ts";
export * from "./replication_spec.ts";
export * from "./default_resource_types.ts";
export * from "./resolve_resource_types.ts";
export * from "./filter_object.ts";
export * from "./kind_rules.ts";
export * from "./transform_object.ts";
export * from "./build_desired_state.ts";
export * from "./content_hash.ts";
export * from "./parse_quantity.ts";
export * from "./plan_sync.ts";
export * from "./scale_decisions.ts";
export * from "./drift.ts";
