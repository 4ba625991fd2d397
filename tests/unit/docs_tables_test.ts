import assert from "node:assert/strict";
import { RUNTIME_DOC, triggerBodyTable, withTables } from "../tools/docs_tables.ts";

Deno.test("docs/runtime.md's trigger body table is the one the operation registry writes", async () => {
  const text = await Deno.readTextFile(RUNTIME_DOC);
  assert.equal(
    withTables(text),
    text,
    "docs/runtime.md is out of date: run `deno run -A tests/tools/docs_tables.ts`",
  );
  for (const field of ["useDrCounts", "allowDrUnavailable", "acceptStale", "toSource", "wait"]) {
    assert.match(triggerBodyTable(), new RegExp(`\\| \`${field}\` `), field);
  }
});
