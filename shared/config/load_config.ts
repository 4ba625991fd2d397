import { type Config } from "./config_schema.ts";
import { ConfigError, type ConfigIssue } from "./config_error.ts";
import {
  convertOperatorManifests,
  isOperatorManifests,
  type ManifestLocation,
  OPERATOR_API_VERSION,
} from "./_operator_manifests.ts";
import { formatPath, type PathSegment } from "./_text.ts";
import { validateConfig } from "./_validate.ts";
import { locate, type ParsedYaml, parseYaml } from "./_yaml.ts";

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

function loadOperatorManifests(yaml: ParsedYaml, origin: string): Config {
  const converted = convertOperatorManifests(yaml.documents);
  const toIssue = (at: ManifestLocation, message: string): ConfigIssue => ({
    path: joinPath(at.manifest.label, at.field),
    message,
    ...locate(yaml, at.manifest.docIndex, [...at.manifest.basePath, ...at.field]),
  });
  if (converted.issues.length > 0) {
    throw new ConfigError(origin, byLine(converted.issues.map((issue) => toIssue(issue.at, issue.message))));
  }
  const result = validateConfig(converted.input);
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
export function loadConfig(text: string, origin: string): Config {
  const parsed = parseYaml(text);
  if (parsed.issues !== undefined) throw new ConfigError(origin, parsed.issues);
  const yaml = parsed.yaml;
  if (isOperatorManifests(yaml.documents)) return loadOperatorManifests(yaml, origin);

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
  const result = validateConfig(document.value);
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

function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "It is a directory";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads and loads a config file (see `loadConfig`).
 *
 * @throws {ConfigError} when the file cannot be read (missing, unreadable) or is not a valid config
 */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(path, [{ path: "", message: readFailure(error) }], {
      summary: `Cannot read config ${JSON.stringify(path)}`,
      cause: error,
    });
  }
  return loadConfig(text, path);
}
