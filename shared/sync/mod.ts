/**
 * The pure copy engine: which types and objects are copied, how each object is transformed for the
 * DR namespace, and the plan of writes against what DR holds. No cluster access here.
 */
export * from "./contracts.ts";
export * from "./names.ts";
export * from "./default_resource_types.ts";
export * from "./resolve_resource_types.ts";
export * from "./filter_object.ts";
export * from "./kind_rules.ts";
export * from "./transform_object.ts";
export * from "./build_desired_state.ts";
export * from "./content_hash.ts";
export * from "./parse_quantity.ts";
export * from "./plan_sync.ts";
