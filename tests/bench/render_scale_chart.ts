/**
 * `deno run -A tests/bench/render_scale_chart.ts RESULTS.json [OUT.svg]`: the scale case's chart
 * (tests/bench/scale_chart.ts) from a bench/results.json, written to OUT.svg (default: scale.svg beside
 * the results). docs/bench/scale.svg is made this way from the figures of the last run on record.
 */
import { log, type Result } from "./bench_result.ts";
import { scaleChartSvg } from "./scale_chart.ts";

const [input, output] = Deno.args;
if (!input) {
  log("usage: deno run -A tests/bench/render_scale_chart.ts RESULTS.json [OUT.svg]");
  Deno.exit(2);
}
const results = JSON.parse(await Deno.readTextFile(input)) as Result[];
const svg = scaleChartSvg(results);
if (svg === undefined) {
  log(`${input} has no scale entry (scale-<N> or scale-<namespaces>x<per>)`);
  Deno.exit(1);
}
const out = output ?? `${input.slice(0, input.lastIndexOf("/") + 1)}scale.svg`;
await Deno.writeTextFile(out, svg);
log(`wrote ${out}`);
