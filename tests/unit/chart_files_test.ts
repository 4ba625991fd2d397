/**
 * The Helm chart's generated files (`infra/chart_files.ts`: the CRDs, the tables its templates read, the
 * values' schema) are up to date with the TypeScript they come from; the chart's own files are where Helm
 * expects them. (The chart's objects against render's: tests/integration/chart_render_test.ts.)
 */
import assert from "node:assert/strict";
import { CHART_DIR, chartGeneratedFiles, formatted } from "../../infra/chart_files.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("chart: the generated files are up to date (deno run -A infra/chart_files.ts writes them)", async () => {
  for (const [path, text] of Object.entries(chartGeneratedFiles())) {
    const onDisk = await Deno.readTextFile(new URL(`${CHART_DIR}/${path}`, ROOT));
    assert.equal(onDisk, await formatted(path, text), `${CHART_DIR}/${path} is out of date`);
  }
});

Deno.test("chart: Chart.yaml, values.yaml and the templates are in place; no file of the chart's is left over", async () => {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(`${CHART_DIR}/${dir}`, ROOT))) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else files.push(path);
    }
  };
  await walk("");
  const generated = Object.keys(chartGeneratedFiles());
  const handWritten = [
    ".helmignore",
    "Chart.yaml",
    "values.yaml",
    "templates/NOTES.txt",
    "templates/_helpers.tpl",
    "templates/agent.yaml",
    "templates/cronjobs.yaml",
    "templates/namespaces.yaml",
    "templates/rbac.yaml",
    "templates/runtime.yaml",
  ];
  assert.deepEqual(files.sort(), [...generated, ...handWritten].sort());
});
