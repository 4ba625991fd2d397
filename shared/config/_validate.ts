/** Runs the config schema and turns zod issues into readable, path-named issues. */
import { z } from "zod";
import { type Config, configSchema, configSchemaFor } from "./config_schema.ts";
import { closest, describeValue, formatPath, type PathSegment, quote, quoteAll } from "./_text.ts";

/** An issue with its path still as segments (positions are looked up by the caller). */
export interface PathIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

export type ParseResult<T> =
  | { readonly data: T; readonly issues?: undefined }
  | { readonly data?: undefined; readonly issues: readonly PathIssue[] };

const EXPECTED: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
};

function messageFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "Required";
      return `Expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `Expected one of ${quoteAll(issue.values)}, got ${describeValue(issue.input)}`;
    case "unrecognized_keys":
      return "Unknown field";
    default:
      return undefined;
  }
}

function toSegments(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((segment) => typeof segment === "number" ? segment : String(segment));
}

function unknownFieldMessage(key: string, known: readonly string[] | undefined): string {
  if (known === undefined) return "Unknown field";
  const suggestion = closest(key, known);
  if (suggestion !== undefined) return `Unknown field, did you mean ${quote(suggestion)}?`;
  return `Unknown field (fields here: ${quoteAll(known)})`;
}

function isTypeMismatch(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.some((issue) =>
    issue.path.length === 0 && (issue.code === "invalid_type" || issue.code === "invalid_union")
  );
}

function convert(
  issue: z.core.$ZodIssue,
  prefix: readonly PathSegment[],
  knownFields: ReadonlyMap<string, readonly string[]>,
): PathIssue[] {
  const path = [...prefix, ...toSegments(issue.path)];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: unknownFieldMessage(key, knownFields.get(formatPath(path))),
      }));
    case "invalid_key": {
      const inner = issue.issues[0];
      return [{ path, message: inner?.message ?? `${quote(path.at(-1))} is not a valid key` }];
    }
    case "invalid_union": {
      // When the value has the right shape for exactly one branch, that branch's issues say what is wrong.
      const matching = issue.errors.filter((branch) => !isTypeMismatch(branch));
      const [only] = matching;
      if (matching.length === 1 && only !== undefined && only.length > 0) {
        return only.flatMap((inner) => convert(inner, path, knownFields));
      }
      return [{ path, message: issue.message }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/** Parses `input` with `schema`: the output, or every issue with a readable message. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown): ParseResult<z.output<T>> {
  const knownFields = new Map<string, readonly string[]>();
  const result = schema.safeParse(input, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys" && issue.inst instanceof z.ZodObject) {
        knownFields.set(formatPath(issue.path ?? []), Object.keys(issue.inst.shape));
      }
      return messageFor(issue);
    },
  });
  if (result.success) return { data: result.data };
  const seen = new Set<string>();
  const issues: PathIssue[] = [];
  for (const issue of result.error.issues.flatMap((issue) => convert(issue, [], knownFields))) {
    const key = `${formatPath(issue.path)}\n${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return { issues };
}

/** What the edge knows that the config module does not. */
export interface ConfigOptions {
  /** The token scopes that exist (from the operation registry); without them only their spelling is checked. */
  readonly tokenScopes?: readonly string[] | undefined;
}

const schemas = new WeakMap<readonly string[], ReturnType<typeof configSchemaFor>>();

/** The config schema for `options` (built once per list of token scopes). */
export function configSchemaOf(options: ConfigOptions = {}): ReturnType<typeof configSchemaFor> {
  const scopes = options.tokenScopes;
  if (scopes === undefined) return configSchema;
  let schema = schemas.get(scopes);
  if (!schema) schemas.set(scopes, schema = configSchemaFor(scopes));
  return schema;
}

/** Validates a parsed config document: the config with defaults, or every issue found. */
export function validateConfig(input: unknown, options: ConfigOptions = {}): ParseResult<Config> {
  return parseWith(configSchemaOf(options), input);
}
