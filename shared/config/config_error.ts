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

/** At most this many issues are kept and listed; the others are only counted (`issueCount`). */
export const MAX_LISTED_ISSUES = 20;
/** Longest path or message of a listed issue, in characters. */
const MAX_ISSUE_CHARS = 300;

function clip(text: string): string {
  return text.length > MAX_ISSUE_CHARS
    ? `${text.slice(0, MAX_ISSUE_CHARS)}... (${text.length - MAX_ISSUE_CHARS} more characters)`
    : text;
}

function clipIssue(issue: ConfigIssue): ConfigIssue {
  if (issue.path.length <= MAX_ISSUE_CHARS && issue.message.length <= MAX_ISSUE_CHARS) return issue;
  return { ...issue, path: clip(issue.path), message: clip(issue.message) };
}

function describeIssue(issue: ConfigIssue): string {
  if (issue.path === "") {
    if (issue.line === undefined) return detail(issue.message);
    return `line ${issue.line}, column ${issue.column ?? 1}: ${issue.message}`;
  }
  const line = issue.line === undefined ? "" : ` (line ${issue.line})`;
  return `${issue.path}: ${issue.message}${line}`;
}

/**
 * The config cannot be read, parsed or validated. Bad input: do not retry. However many problems a
 * file has, the error keeps the first `MAX_LISTED_ISSUES` (each path and message cut to 300
 * characters) and counts the rest, so its message stays a few kilobytes.
 */
export class ConfigError extends InvalidInputError {
  override readonly name = "ConfigError";
  /** The file name or other origin the config came from. */
  readonly origin: string;
  /** The first `MAX_LISTED_ISSUES` problems, in file order. */
  readonly issues: readonly ConfigIssue[];
  /** How many problems were found in all (`issues` lists at most `MAX_LISTED_ISSUES`). */
  readonly issueCount: number;

  constructor(origin: string, issues: readonly ConfigIssue[], options: ConfigErrorOptions = {}) {
    const { summary = `Invalid config ${JSON.stringify(clip(origin))}`, ...errorOptions } = options;
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map(clipIssue);
    const more = issues.length - listed.length;
    super(
      `${summary}: ${listed.map(describeIssue).join("; ")}${more > 0 ? `; and ${more} more` : ""}`,
      errorOptions,
    );
    this.origin = origin;
    this.issues = listed;
    this.issueCount = issues.length;
  }
}
