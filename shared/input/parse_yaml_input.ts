/**
 * YAML parsing for untrusted text in linear time. The `yaml` package checks each mapping key
 * against every earlier key of its mapping (a 100,000-key mapping took 100 s); here that check is
 * off and duplicate keys are found with one set per mapping, reported as the same `DUPLICATE_KEY`
 * error. Aliases are limited when converting (`maxAliasCount`), which refuses alias bombs.
 */
import {
  type Document,
  type DocumentOptions,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  type ParseOptions,
  type SchemaOptions,
  YAMLParseError,
} from "yaml";

/** At most this many alias expansions per document when converting to plain data. */
export const MAX_YAML_ALIASES = 100;

export type YamlInputOptions = ParseOptions & DocumentOptions & SchemaOptions;

function addDuplicateKeyErrors(doc: Document.Parsed): void {
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        const key: unknown = pair.key;
        if (isScalar(key)) {
          if (keys.has(key.value)) {
            const start = key.range?.[0] ?? 0;
            doc.errors.push(
              new YAMLParseError([start, start + 1], "DUPLICATE_KEY", "Map keys must be unique"),
            );
          } else keys.add(key.value);
        } else pending.push(key);
        pending.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(isPair(item) ? item.value : item);
    } else if (isPair(node)) {
      pending.push(node.key, node.value);
    }
    // an alias is skipped: the node it names is walked where it is defined
  }
}

/**
 * Parses every document of a YAML stream as `parseAllDocuments` does, with duplicate mapping keys
 * reported in each document's `errors`, in time linear in the size of the text.
 */
export function parseYamlInput(text: string, options: YamlInputOptions = {}): Document.Parsed[] {
  const docs = parseAllDocuments(text, { ...options, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) addDuplicateKeyErrors(doc);
  return list;
}

/** A parsed document as plain data, with at most `MAX_YAML_ALIASES` alias expansions. */
export function yamlInputToJs(doc: Document.Parsed): unknown {
  return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
}
