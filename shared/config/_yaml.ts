/** YAML parsing with positions: syntax errors name line and column, and a path can be traced to its line. */
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Pair,
  type YAMLMap,
} from "yaml";
import { parseYamlInput, yamlInputToJs } from "../input/mod.ts";
import type { ConfigIssue } from "./config_error.ts";
import type { PathSegment } from "./_text.ts";

export interface YamlDocument {
  /** Position in the stream, from 0. */
  readonly index: number;
  /** The document as plain data (`null` when empty). */
  readonly value: unknown;
  readonly doc: Document.Parsed;
}

export interface ParsedYaml {
  readonly documents: readonly YamlDocument[];
  readonly lineCounter: LineCounter;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export type ParseYamlResult =
  | { readonly yaml: ParsedYaml; readonly issues?: undefined }
  | { readonly yaml?: undefined; readonly issues: readonly ConfigIssue[] };

function position(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  return { line: Math.max(line, 1), column: col };
}

/** A hint for the usual cause of alias errors: an unquoted value starting with `*`, such as a cron expression. */
function hintFor(text: string, lineCounter: LineCounter, line: number): string {
  const start = lineCounter.lineStarts[line - 1] ?? 0;
  const end = text.indexOf("\n", start);
  const source = text.slice(start, end < 0 ? undefined : Math.min(end, start + 1000));
  return /(^|:|-)\s+\*\S*\s/.test(source)
    ? ' (a value starting with "*" must be quoted, as in schedule: "*/5 * * * *")'
    : "";
}

/**
 * Parses every document of a YAML stream (in linear time, aliases limited: see `parseYamlInput`);
 * syntax errors come back as issues with line and column.
 */
export function parseYaml(text: string): ParseYamlResult {
  const lineCounter = new LineCounter();
  const docs = parseYamlInput(text, { lineCounter, prettyErrors: false, merge: true });
  const issues: ConfigIssue[] = [];
  const lines = new Set<number>();
  for (const doc of docs) {
    for (const error of doc.errors) {
      const at = position(lineCounter, error.pos[0]);
      // one mistake often yields several errors on its line: the first says the most
      if (lines.has(at.line)) continue;
      lines.add(at.line);
      issues.push({
        path: "",
        message: `YAML syntax error: ${error.message}${hintFor(text, lineCounter, at.line)}`,
        ...at,
      });
    }
  }
  if (issues.length > 0) return { issues };
  const documents: YamlDocument[] = [];
  for (const [index, doc] of docs.entries()) {
    try {
      documents.push({ index, value: yamlInputToJs(doc), doc });
    } catch (error) {
      // unresolved or excessive aliases surface only when converting
      const message = error instanceof Error ? error.message : String(error);
      const start = doc.range[0];
      return { issues: [{ path: "", message: `YAML error: ${message}`, ...position(lineCounter, start) }] };
    }
  }
  return { yaml: { documents, lineCounter } };
}

function start(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

/** Each mapping's pairs by key, built once per mapping: locating every issue of a large file stays linear. */
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairAt(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndexes.get(map);
  if (index === undefined) {
    index = new Map();
    for (const item of map.items) {
      const name = isScalar(item.key) ? String(item.key.value) : undefined;
      if (name !== undefined && !index.has(name)) index.set(name, item as Pair);
    }
    pairIndexes.set(map, index);
  }
  return index.get(key);
}

/** Where the value at `path` in a document is written (the key's line for mapping entries), or the nearest parent. */
export function locate(
  yaml: ParsedYaml,
  docIndex: number,
  path: readonly PathSegment[],
): Position | undefined {
  const document = yaml.documents[docIndex];
  if (document === undefined) return undefined;
  let node: unknown = document.doc.contents;
  let offset = start(node);
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(document.doc);
    if (isMap(node)) {
      const pair = pairAt(node as YAMLMap, String(segment));
      if (pair === undefined) break;
      offset = start(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      offset = start(item) ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : position(yaml.lineCounter, offset);
}
