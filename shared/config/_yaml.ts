/** YAML parsing with positions: syntax errors name line and column, and a path can be traced to its line. */
import { type Document, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments } from "yaml";
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
function hintFor(text: string, line: number): string {
  const source = text.split("\n")[line - 1] ?? "";
  return /(^|:|-)\s+\*\S*\s/.test(source)
    ? ' (a value starting with "*" must be quoted, as in schedule: "*/5 * * * *")'
    : "";
}

/** Parses every document of a YAML stream; syntax errors come back as issues with line and column. */
export function parseYaml(text: string): ParseYamlResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, merge: true });
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
        message: `YAML syntax error: ${error.message}${hintFor(text, at.line)}`,
        ...at,
      });
    }
  }
  if (issues.length > 0) return { issues };
  const documents: YamlDocument[] = [];
  for (const [index, doc] of docs.entries()) {
    try {
      documents.push({ index, value: doc.toJS(), doc });
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
      const pair = node.items.find((item) =>
        isScalar(item.key) && String(item.key.value) === String(segment)
      );
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
