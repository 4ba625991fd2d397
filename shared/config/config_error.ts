import { InvalidInputError } from "../errors.ts";
import { detail } from "./_text.ts";

/** One problem in a config: where it is and what is wrong. */
export interface ConfigIssue {
  /**
   * The bad field: `replications[0].source.cluster`; for operator manifests `NamespaceMapping/shop.spec.schedule`;
   * `""` for the file as a whole.
   */
  readonly path: string;
  readonly message: string;
  /** 1-based position in the file, when known. */
  readonly line?: number;
  readonly column?: number;
}

export interface ConfigErrorOptions extends ErrorOptions {
  /** What could not be done; defaults to `Invalid config "<origin>"`. */
  readonly summary?: string;
}

function describeIssue(issue: ConfigIssue): string {
  if (issue.path === "") {
    if (issue.line === undefined) return detail(issue.message);
    return `line ${issue.line}, column ${issue.column ?? 1}: ${issue.message}`;
  }
  const line = issue.line === undefined ? "" : ` (line ${issue.line})`;
  return `${issue.path}: ${issue.message}${line}`;
}

/** The config cannot be read, parsed or validated. Bad input: do not retry. */
export class ConfigError extends InvalidInputError {
  override readonly name = "ConfigError";
  /** The file name or other origin the config came from. */
  readonly origin: string;
  readonly issues: readonly ConfigIssue[];

  constructor(origin: string, issues: readonly ConfigIssue[], options: ConfigErrorOptions = {}) {
    const { summary = `Invalid config ${JSON.stringify(origin)}`, ...errorOptions } = options;
    super(`${summary}: ${issues.map(describeIssue).join("; ")}`, errorOptions);
    this.origin = origin;
    this.issues = issues;
  }
}
