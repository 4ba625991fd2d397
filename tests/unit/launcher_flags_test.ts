import assert from "node:assert/strict";
import { RUNTIME_COMMAND } from "../../infra/runtime_templates.ts";

const ROOT = new URL("../../", import.meta.url);
const FLAG = "--v8-flags=--optimize-for-size";

Deno.test("every launcher of the CLI runs it with the same V8 flags (the 20k-object memory target relies on them)", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  for (const task of ["cli", "serve", "start", "demo", "install-cli"]) {
    const words = config.tasks[task]!.split(/\s+/);
    const entry = words.findIndex((w) => w.startsWith("functions/"));
    assert.ok(words.includes(FLAG), `task ${task}: ${config.tasks[task]}`);
    assert.ok(entry > 0 && words.indexOf(FLAG) < entry, `task ${task}: the flag before the entry point`);
  }
  const dockerfile = await Deno.readTextFile(new URL("infra/Dockerfile.runtime", ROOT));
  const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]!) as string[];
  assert.deepEqual(entrypoint, RUNTIME_COMMAND, "the image's entrypoint is the command the templates render");
  assert.ok(RUNTIME_COMMAND.includes(FLAG));
  assert.ok(RUNTIME_COMMAND.indexOf(FLAG) < RUNTIME_COMMAND.indexOf("functions/cli/main.ts"));
});
