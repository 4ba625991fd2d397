/**
 * The registry of operations: one descriptor per operation (`operation.ts` is the contract), in one
 * explicit list. Adding an operation is its descriptor file and one line here; every edge (the CLI,
 * the HTTP app, the runtime, the schedules, the token scopes of the config) reads this list.
 */
import { type Config, type ConfigOptions, loadConfigFile } from "../../shared/config/mod.ts";
import { cutoverOperation } from "./cutover_operation.ts";
import { failbackOperation } from "./failback_operation.ts";
import { fenceOperation } from "./fence_operation.ts";
import type { AnyOperation, OperationOption } from "./operation.ts";
import { pvcSyncOperation } from "./pvc_sync_operation.ts";
import { stageOperation } from "./stage_operation.ts";

export * from "./operation.ts";

export const OPERATIONS: readonly AnyOperation[] = [
  stageOperation,
  cutoverOperation,
  failbackOperation,
  pvcSyncOperation,
  fenceOperation,
];

/** An operation's name. */
export type OperationName = string;

/** The scope of the read-only routes (runs, status, the page). */
export const READ_SCOPE = "read";

/** The operation named `name`, or `undefined`. */
export function findOperation(name: string): AnyOperation | undefined {
  return OPERATIONS.find((operation) => operation.name === name);
}

/** The operation named `name` (a programming error when there is none). */
export function operationNamed(name: string): AnyOperation {
  const operation = findOperation(name);
  if (!operation) throw new RangeError(`No operation "${name}"`);
  return operation;
}

/** The names of the operations, in the registry's order. */
export const OPERATION_NAMES: readonly string[] = OPERATIONS.map((o) => o.name);

/** Every scope a token may list: `read`, each operation, and the scopes of the options that lift a refusal. */
export const TOKEN_SCOPES: readonly string[] = [
  READ_SCOPE,
  ...OPERATION_NAMES,
  ...new Set(
    OPERATIONS.flatMap((o) =>
      Object.values(o.options as Record<string, OperationOption>).flatMap((option) =>
        option.scope === undefined ? [] : [option.scope]
      )
    ),
  ),
];

/** What the config module needs to know of the operations: the token scopes that exist. */
export const CONFIG_OPTIONS: ConfigOptions = { tokenScopes: TOKEN_SCOPES };

/** Reads and checks a config file, token scopes included. */
export function readConfigFile(path: string): Promise<Config> {
  return loadConfigFile(path, CONFIG_OPTIONS);
}
