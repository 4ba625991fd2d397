/**
 * The docs' tables that come from the operation registry, written from it: the trigger body table of
 * `docs/runtime.md`, between the markers `<!-- registry:trigger-body -->` and
 * `<!-- /registry:trigger-body -->`. A unit test fails when the file differs from what this writes.
 *
 *   deno run -A tests/tools/docs_tables.ts          rewrites the tables in place
 */
import { type OperationOption, OPERATIONS } from "../../functions/operations/mod.ts";
import { RUN_FIELDS } from "../../functions/http/trigger_request.ts";

export const RUNTIME_DOC = new URL("../../docs/runtime.md", import.meta.url).pathname;
const BEGIN = "<!-- registry:trigger-body -->";
const END = "<!-- /registry:trigger-body -->";

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(rows[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.slice(1).map(line)]
    .join("\n");
}

/** The trigger body table: one row per field, the operations that take it, what it does, its scope. */
export function triggerBodyTable(): string {
  interface Field {
    operations: string[];
    helps: Map<string, string[]>;
    scope?: string;
  }
  const fields = new Map<string, Field>();
  for (const operation of OPERATIONS) {
    for (const [key, option] of Object.entries(operation.options as Record<string, OperationOption>)) {
      if (!option.http) continue;
      const field: Field = fields.get(key) ?? { operations: [], helps: new Map() };
      field.operations.push(operation.name);
      field.helps.set(option.help, [...(field.helps.get(option.help) ?? []), operation.name]);
      if (option.scope !== undefined) field.scope = option.scope;
      fields.set(key, field);
    }
  }
  const all = OPERATIONS.length;
  const rows: string[][] = [["field", "operations", "scope needed", "meaning"]];
  for (const [key, field] of fields) {
    const helps = [...field.helps];
    const meaning = helps.length === 1
      ? helps[0]![0]
      : helps.map(([help, ops]) => `${ops.join(", ")}: ${help}`).join("; ");
    rows.push([
      `\`${key}\``,
      field.operations.length === all ? "all" : field.operations.join(", "),
      field.scope === undefined ? "" : `\`${field.scope}\``,
      meaning,
    ]);
  }
  for (const [key, field] of Object.entries(RUN_FIELDS)) rows.push([`\`${key}\``, "all", "", field.help]);
  return table(rows);
}

/** `text` with the generated tables in place of the old ones. */
export function withTables(text: string): string {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${RUNTIME_DOC} lacks the markers ${BEGIN} ... ${END}`);
  return `${text.slice(0, start + BEGIN.length)}\n\n${triggerBodyTable()}\n\n${text.slice(end)}`;
}

if (import.meta.main) {
  const text = await Deno.readTextFile(RUNTIME_DOC);
  await Deno.writeTextFile(RUNTIME_DOC, withTables(text));
}
