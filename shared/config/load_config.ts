import { type Config } from "./config_schema.ts";
import { ConfigError, type ConfigIssue } from "./config_error.ts";
import {
  convertOperatorManifests,
  isOperatorManifests,
  type ManifestLocation,
  OPERATOR_API_VERSION,
} from "./_operator_manifests.ts";
import { formatPath, type PathSegment } from "./_text.ts";
import { type ConfigOptions, validateConfig } from "./_validate.ts";

export type { ConfigOptions, PathIssue } from "./_validate.ts";
export { validateConfig } from "./_validate.ts";

/** Issues of `validateConfig` in one line: `path: message; ...` (the first `max`, and how many more). */
export function describeIssues(
  issues: readonly { readonly path: readonly PathSegment[]; readonly message: string }[],
  max = 5,
): string {
  const shown = issues.slice(0, max).map((i) =>
    i.path.length === 0 ? i.message : `${formatPath(i.path)}: ${i.message}`
  );
  return shown.join("; ") + (issues.length > max ? `; and ${issues.length - max} more` : "");
}
import { locate, type ParsedYaml, parseYaml } from "./_yaml.ts";
import { checkTextSize, MAX_INPUT_BYTES, readTextInput, TextInputError } from "../input/mod.ts";

function byLine(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

function joinPath(label: string, field: readonly PathSegment[]): string {
  const rest = formatPath(field);
  if (rest === "") return label;
  return rest.startsWith("[") ? `${label}${rest}` : `${label}.${rest}`;
}

function loadOperatorManifests(yaml: ParsedYaml, origin: string, options: ConfigOptions): Config {
  const converted = convertOperatorManifests(yaml.documents);
  const toIssue = (at: ManifestLocation, message: string): ConfigIssue => ({
    path: joinPath(at.manifest.label, at.field),
    message,
    ...locate(yaml, at.manifest.docIndex, [...at.manifest.basePath, ...at.field]),
  });
  if (converted.issues.length > 0) {
    throw new ConfigError(origin, byLine(converted.issues.map((issue) => toIssue(issue.at, issue.message))));
  }
  const result = validateConfig(converted.input, options);
  if (result.issues === undefined) return result.data;
  throw new ConfigError(
    origin,
    byLine(result.issues.map((issue) => {
      const at = converted.locate(issue.path);
      return at === undefined
        ? { path: formatPath(issue.path), message: issue.message }
        : toIssue(at, issue.message);
    })),
  );
}

/**
 * Parses and validates a config: the native YAML format, or the upstream operator's RemoteCluster /
 * ClusterMapping / NamespaceMapping manifests (recognised by `apiVersion: dr-syncer.io/v1alpha1`).
 * `origin` names the input in messages (usually the file name).
 *
 * @throws {ConfigError} with one issue per problem, each naming its path and, when known, its line
 */
export function loadConfig(text: string, origin: string, options: ConfigOptions = {}): Config {
  try {
    checkTextSize(text, MAX_INPUT_BYTES);
  } catch (error) {
    if (!(error instanceof TextInputError)) throw error;
    throw new ConfigError(origin, [{ path: "", message: `The config is too large: ${error.detail}` }]);
  }
  const parsed = parseYaml(text);
  if (parsed.issues !== undefined) throw new ConfigError(origin, parsed.issues);
  const yaml = parsed.yaml;
  if (isOperatorManifests(yaml.documents)) return loadOperatorManifests(yaml, origin, options);

  const documents = yaml.documents.filter((document) =>
    document.value !== null && document.value !== undefined
  );
  const [document, second] = documents;
  if (document === undefined) throw new ConfigError(origin, [{ path: "", message: "The file is empty" }]);
  if (second !== undefined) {
    throw new ConfigError(origin, [{
      path: "",
      message: `Expected one YAML document, found ${documents.length}: only operator manifests ` +
        `(apiVersion ${JSON.stringify(OPERATOR_API_VERSION)}) may span several`,
      ...locate(yaml, second.index, []),
    }]);
  }
  const result = validateConfig(document.value, options);
  if (result.issues === undefined) return result.data;
  throw new ConfigError(
    origin,
    byLine(result.issues.map((issue) => ({
      path: formatPath(issue.path),
      message: issue.message,
      ...locate(yaml, document.index, issue.path),
    }))),
  );
}

/**
 * Reads and loads a config file (see `loadConfig`). A file over `MAX_INPUT_BYTES` (4 MiB) is refused
 * before it is parsed.
 *
 * @throws {ConfigError} when the file cannot be read (missing, unreadable, too large, not UTF-8 text) or is
 *   not a valid config
 */
export async function loadConfigFile(path: string, options: ConfigOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readTextInput(path, MAX_INPUT_BYTES);
  } catch (error) {
    const detail = error instanceof TextInputError ? error.detail : String(error);
    throw new ConfigError(path, [{ path: "", message: detail.charAt(0).toUpperCase() + detail.slice(1) }], {
      summary: `Cannot read config ${JSON.stringify(path)}`,
      cause: error instanceof TextInputError && error.cause !== undefined ? error.cause : error,
    });
  }
  return loadConfig(text, path, options);
}
