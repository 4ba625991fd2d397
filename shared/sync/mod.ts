/**
 * The cluster side of a sync: checks before writing, reading and planning, the DR namespace, CRDs,
 * applying a plan, and the scaling steps of cutover and failback.
 */
export * from "./check_sync.ts";
export * from "./prepare_sync.ts";
export * from "./dest_namespace.ts";
export * from "./sync_crds.ts";
export * from "./apply_plan.ts";
export * from "./scale_workloads.ts";
export * from "./copy_back.ts";
export * from "./hand_over.ts";
