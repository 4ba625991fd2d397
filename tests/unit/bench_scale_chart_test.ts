import assert from "node:assert/strict";
import type { Result } from "../bench/bench_result.ts";
import { niceTicks, scaleChartSvg } from "../bench/scale_chart.ts";

const entry = (fields: Partial<Result> & Pick<Result, "case">): Result => ({
  objects: null,
  runs: 3,
  median_s: null,
  baseline: null,
  baseline_median_s: null,
  ratio: null,
  writes: null,
  requests: null,
  peak_rss_mb: null,
  target: "",
  met: null,
  ...fields,
});

const bySize = (size: number, seconds: number, rss: number): Result =>
  entry({
    case: `scale-${size}`,
    objects: size,
    median_s: seconds,
    baseline: "scale-1000",
    baseline_median_s: 3,
    ratio: seconds / 3,
    peak_rss_mb: rss,
    target: `<= ${((size / 1000) * 1.25).toFixed(2)}x (linear); RSS <= 200 MB at 20k`,
    met: true,
    date: "2026-12-08",
    series: [
      { x: size, y: seconds * 0.95, label: "run_s" },
      { x: size, y: seconds * 0.9, label: "floor_s" },
    ],
  });

const results: Result[] = [
  entry({ case: "stage-cold", objects: 1000, median_s: 4, peak_rss_mb: 120, target: "<= 1.25x floor" }),
  // out of order on purpose: the chart sorts by objects
  bySize(20000, 70, 150),
  bySize(1000, 3, 90),
  bySize(5000, 16, 110),
  entry({
    case: "scale-200x100",
    objects: 20000,
    runs: 1,
    median_s: 140,
    baseline: "scale-1000 through serve",
    baseline_median_s: 3.5,
    ratio: 40,
    peak_rss_mb: 103,
    target: "<= 15.00x; a run's fixed cost <= 0.1 s; RSS <= 200 MB",
    met: false,
    note: 'RSS MB: 98 after the baseline <&> "quoted"',
    date: "2026-12-08",
    series: [
      { x: 0, y: 98, label: "rss_mb" },
      ...[50, 100, 150, 200].flatMap((k) => [
        { x: k, y: k * 0.7, label: "elapsed_s" },
        { x: k, y: 100 + k / 100, label: "rss_mb" },
      ]),
    ],
  }),
];

/** Checks that every tag is closed in order; returns the element names seen. */
function balancedTags(svg: string): string[] {
  const stack: string[] = [], seen: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes what was opened`);
    else if (!selfClosing) stack.push(name!);
    if (!closing) seen.push(name!);
  }
  assert.deepEqual(stack, [], "every tag is closed");
  // no stray "<" or "&" outside tags and entities
  const outside = svg.replace(/<[^>]*>/g, "");
  assert.doesNotMatch(outside, /</);
  assert.doesNotMatch(outside.replace(/&(amp|lt|gt|quot|apos);/g, ""), /&/);
  return seen;
}

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

Deno.test("the scale chart is one self-contained SVG with balanced tags", () => {
  const svg = scaleChartSvg(results)!;
  assert.ok(svg.startsWith("<svg"));
  assert.match(svg.slice(0, svg.indexOf(">")), /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  const elements = new Set(balancedTags(svg));
  for (const name of ["svg", "text", "line", "polyline", "circle"]) assert.ok(elements.has(name), name);
  for (const forbidden of ["script", "foreignObject", "image", "a", "style", "link"]) {
    assert.ok(!elements.has(forbidden), forbidden);
  }
  assert.doesNotMatch(svg, /href=|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
});

Deno.test("the scale chart has one point per scale entry, further right with more objects", () => {
  const svg = scaleChartSvg(results)!;
  const points = [...svg.matchAll(/<circle[^>]*class="point"[^>]*>/g)].map((m) => m[0]);
  assert.deepEqual(
    points.map((p) => attr(p, "data-case")).sort(),
    ["scale-1000", "scale-20000", "scale-200x100", "scale-5000"],
  );
  const cx = (name: string) => Number(attr(points.find((p) => attr(p, "data-case") === name)!, "cx"));
  const cy = (name: string) => Number(attr(points.find((p) => attr(p, "data-case") === name)!, "cy"));
  assert.ok(cx("scale-1000") < cx("scale-5000") && cx("scale-5000") < cx("scale-20000"));
  // more seconds is higher up (smaller y)
  assert.ok(cy("scale-1000") > cy("scale-5000") && cy("scale-5000") > cy("scale-20000"));
  // the two panels side by side: the namespaces shape on the right of the objects shape
  assert.ok(cx("scale-200x100") > cx("scale-20000"));
  assert.doesNotMatch(svg, /data-case="stage-cold"/);
});

Deno.test("the scale chart carries its labels, target, legend and the date of the run", () => {
  const svg = scaleChartSvg(results)!;
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
  for (
    const label of [
      "objects",
      "namespaces staged",
      "peak RSS, MB",
      "RSS, MB",
      "median seconds",
      "peak RSS (VmHWM), MB",
      "RSS (VmRSS), MB",
      "target: 15× the 1k stage",
      "run of 2026-12-08",
      "20k",
    ]
  ) assert.ok(texts.some((t) => t.includes(label)), label);
  assert.ok(texts.some((t) => /^seconds/.test(t)), "a seconds axis");
  assert.ok(texts.some((t) => t.startsWith("target: 1.25 × linear from 1k (3.00 s)")));
  // the dashed target reaches 1.25 x 20 x 3 s at 20k: the seconds axis goes to at least 75
  const ticks = texts.filter((t) => /^\d+$/.test(t)).map(Number);
  assert.ok(Math.max(...ticks) >= 75);
  assert.match(svg, /stroke-dasharray="6 4"/);
});

Deno.test("the scale chart escapes text", () => {
  const svg = scaleChartSvg(results)!;
  assert.match(svg, /98 after the baseline &lt;&amp;&gt; &quot;quoted&quot;/);
  assert.doesNotMatch(svg, /<&>/);
  balancedTags(svg);
  const odd = scaleChartSvg([{ ...bySize(1000, 3, 90), case: "scale-1000", note: "a <b>&c</b>" }])!;
  assert.match(odd, /a &lt;b&gt;&amp;c&lt;\/b&gt;/);
  balancedTags(odd);
});

Deno.test("the scale chart: undefined without a scale entry; one shape alone still draws", () => {
  assert.equal(scaleChartSvg([]), undefined);
  assert.equal(scaleChartSvg(results.filter((r) => !r.case.startsWith("scale-"))), undefined);
  assert.equal(scaleChartSvg([entry({ case: "scale-namespaces-notes" })]), undefined);
  const onlyWide = scaleChartSvg(results.filter((r) => r.case === "scale-200x100"))!;
  balancedTags(onlyWide);
  assert.match(onlyWide, /no scale-&lt;N&gt; entry in these results/);
  assert.match(onlyWide, /data-case="scale-200x100"/);
  // an entry without series (as before the field existed): its median alone
  const bare = scaleChartSvg([{ ...bySize(1000, 3, 90), series: [] }, { ...results[4]!, series: [] }])!;
  balancedTags(bare);
  assert.equal([...bare.matchAll(/class="point"/g)].length, 2);
});

Deno.test("niceTicks gives round steps from 0 past the maximum", () => {
  assert.deepEqual(niceTicks(20000, 4), [0, 5000, 10000, 15000, 20000]);
  assert.deepEqual(niceTicks(81.8), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(220), [0, 50, 100, 150, 200, 250]);
  assert.deepEqual(niceTicks(0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});
