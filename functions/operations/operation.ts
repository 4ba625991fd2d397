/**
 * The contract of an operation as every edge sees it: one descriptor per operation with its name, a
 * one-line summary, the options it takes (a zod schema each, how each is spelled on the command line
 * and in an HTTP body, the token scope an option that lifts a safety refusal needs) and the function
 * that runs it. The CLI's parser and help, the HTTP trigger schema, the runtime's dispatcher, the
 * schedules, the request hash of an Idempotency-Key, the token scopes the config accepts and the docs'
 * body table all read the descriptors `mod.ts` lists: an option is declared once, here, and reaches
 * its operation from every edge.
 */
import { z } from "zod";
import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import type { OperationDeps } from "../operation_deps.ts";

/** One option of an operation. */
export interface OperationOption<T = unknown> {
  /** The value's schema (the HTTP body and the command line are checked with it). */
  readonly schema: z.ZodType<T>;
  /** One line for `--help` and the docs. */
  readonly help: string;
  /** Its command-line flag, without `--` (default: the key in kebab case); `false`: not a flag. */
  readonly cli: string | false;
  /** Whether it is a field of an HTTP trigger's JSON body (named as its key). */
  readonly http: boolean;
  /**
   * The token scope a request needs to send it set (besides the operation's own scope): the options
   * that lift a safety refusal.
   */
  readonly scope?: string | undefined;
  /** The command line's placeholder of a value (`SECONDS`); booleans take none. */
  readonly placeholder?: string | undefined;
  /** A second flag that sets the option to `false` (`no-prune`). */
  readonly negation?: string | undefined;
  /**
   * What an unset option means, when that is a value (`false` for most flags); none when unset means
   * something of its own (`prune` unset: the replication's setting).
   */
  readonly default?: T | undefined;
}

export type OptionSpecs = Readonly<Record<string, OperationOption>>;

/** The values of an operation's options as its function receives them: each optional. */
export type OptionValues<S extends OptionSpecs> = {
  readonly [K in keyof S]?: S[K] extends OperationOption<infer T> ? T | undefined : never;
};

/** The command line's groups of flags besides an operation's options. */
export type FlagGroup = "copy" | "pvc" | "lock";

export interface Operation<S extends OptionSpecs = OptionSpecs> {
  /** The command, the route's last segment, the token scope, the run report's `operation`. */
  readonly name: string;
  /** One line: what it does. */
  readonly summary: string;
  /** The paragraph heading `dr-syncer NAME --help`. */
  readonly description: string;
  readonly options: S;
  /** The command line's flag groups it takes besides its options. */
  readonly flagGroups: readonly FlagGroup[];
  /** Pauses the replication's watcher while it runs (not in a dry run). */
  readonly pausesWatch: boolean;
  /**
   * Waits for a free place among the runtime's runs at once (`runtime.maxConcurrentRuns`) when every place
   * is taken; false for the operations that switch sides (cutover, failback, fence), which must never wait
   * behind scheduled stages.
   */
  readonly queued: boolean;
  /** Creates a missing DR namespace (so its run record can be kept there before it runs). */
  readonly createsDestNamespace: boolean;
  /**
   * Whether, with these options, it runs although DR does not answer: its run record is then kept
   * on the replica only.
   */
  toleratesDrUnavailable(options: OptionValues<S>): boolean;
  /** Runs it. */
  run(deps: OperationDeps, spec: ReplicationSpec, options: OptionValues<S>): Promise<RunReport>;
}

/** What runs an operation by name: its descriptor's `run`, or a replacement (tests, benchmarks). */
export type RunFunction = (
  deps: OperationDeps,
  spec: ReplicationSpec,
  options: Readonly<Record<string, unknown>>,
) => Promise<RunReport>;

/** An operation of any options, as the registry holds them. */
// deno-lint-ignore no-explicit-any
export type AnyOperation = Operation<any>;

/** `someName` as `some-name`. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

interface OptionInit {
  /** Unset means the replication's setting, not `false`. */
  readonly overridesSetting?: boolean;
  readonly cli?: string | false;
  readonly http?: boolean;
  readonly scope?: string;
  readonly negation?: string;
}

/** A yes/no option: `--flag` (or `--flag=true|false`) on the command line, a boolean in the body. */
export function flag(help: string, init: OptionInit = {}): OperationOption<boolean> {
  return {
    schema: z.boolean(),
    help,
    cli: init.cli ?? "",
    http: init.http ?? true,
    ...(init.scope !== undefined ? { scope: init.scope } : {}),
    ...(init.negation !== undefined ? { negation: init.negation } : {}),
    ...(init.overridesSetting ? {} : { default: false }),
  };
}

/** Fills in the defaults of the options' spellings (the flag named after the key). */
function withSpellings<S extends OptionSpecs>(options: S): S {
  return Object.fromEntries(
    Object.entries(options).map(([key, option]) => [
      key,
      { ...option, cli: option.cli === "" ? kebabCase(key) : option.cli },
    ]),
  ) as unknown as S;
}

/** Declares an operation; its options' flags default to their keys in kebab case. */
export function defineOperation<const S extends OptionSpecs>(
  operation:
    & Omit<Operation<S>, "toleratesDrUnavailable" | "pausesWatch" | "queued" | "createsDestNamespace">
    & {
      readonly pausesWatch?: boolean;
      readonly queued?: boolean;
      readonly createsDestNamespace?: boolean;
      toleratesDrUnavailable?(options: OptionValues<S>): boolean;
    },
): Operation<S> {
  return {
    pausesWatch: false,
    queued: true,
    createsDestNamespace: false,
    toleratesDrUnavailable: () => false,
    ...operation,
    options: withSpellings(operation.options),
  };
}

/** The dry run every operation has. */
export const DRY_RUN = flag("report what would be done; write nothing");

/** The schema of an operation's options keyed as in an HTTP body: strict, every field optional. */
export function bodySchema(operation: AnyOperation): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, option] of Object.entries(operation.options as OptionSpecs)) {
    if (option.http) shape[key] = option.schema.optional();
  }
  return z.strictObject(shape);
}

/**
 * The options of a request with every option named, unset ones at their default (or `null`), in the
 * descriptor's order: what two requests are compared by (an Idempotency-Key's repeat must ask the same).
 */
export function normalizedOptions(
  operation: AnyOperation,
  options: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(operation.options as OptionSpecs).map((
      [key, option],
    ) => [key, options[key] ?? option.default ?? null]),
  );
}

/** The scopes the set options of a request need, besides the operation's own. */
export function scopesNeeded(
  operation: AnyOperation,
  options: Readonly<Record<string, unknown>>,
): string[] {
  const scopes: string[] = [];
  for (const [key, option] of Object.entries(operation.options as OptionSpecs)) {
    const value = options[key];
    if (
      option.scope !== undefined && value !== undefined && value !== false && !scopes.includes(option.scope)
    ) {
      scopes.push(option.scope);
    }
  }
  return scopes;
}
