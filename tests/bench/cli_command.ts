/**
 * The arguments of `deno` that run the CLI the way `deno task cli` does (deno.json's `cli` task,
 * its runtime flags included), so the benchmarks measure the CLI as users start it.
 */
const ROOT = new URL("../../", import.meta.url);

export function cliArgs(...command: string[]): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  const [deno, ...args] = config.tasks.cli!.split(/\s+/);
  if (deno !== "deno") throw new Error(`deno.json's cli task does not start with deno: ${config.tasks.cli}`);
  // the entry point relative to the repository, as the task runs it from there
  return [...args.map((a) => a.endsWith(".ts") ? new URL(a, ROOT).pathname : a), ...command];
}
