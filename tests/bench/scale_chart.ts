/**
 * The scale case as a picture (docs/benchmarks.md, "scale"): a self-contained SVG, no script, no
 * external font or link. Left: the `scale-<N>` entries, median seconds and peak RSS against objects,
 * with the linear target (1.25 times the baseline's seconds scaled by size) dashed. Right: the
 * `scale-<namespaces>x<per>` entry, seconds since the first stage and the serve process's RSS against
 * namespaces staged, beside the 1,000-object baseline scaled to the same objects.
 */
import type { Result, SeriesPoint } from "./bench_result.ts";

const WIDTH = 1000, HEIGHT = 500, PANEL = 500;
const PLOT = { left: 66, right: 66, top: 118, bottom: 368 };
const SECONDS = "#1f5fa8", RSS = "#d0661a", FLOOR = "#6b6b6b", TARGET = "#1f5fa8";
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';

/** Text for SVG content and attribute values. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");

const n1 = (v: number) => String(Math.round(v * 10) / 10);

/** Round ticks from 0 to at least `max`, about `count` of them (steps of 1, 2, 2.5 or 5 times a power of 10). */
export function niceTicks(max: number, count = 5): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; ticks.length === 0 || ticks.at(-1)! < top - 1e-9; i++) {
    ticks.push(+(i * step).toPrecision(12));
  }
  return ticks;
}

const tickText = (v: number) =>
  v >= 1000 && v % 1000 === 0 ? `${v / 1000}k` : Number.isInteger(v) ? String(v) : String(+v.toFixed(2));

const thousands = (v: number) => v.toLocaleString("en-US");

interface Axis {
  ticks: number[];
  at: (v: number) => number;
}

function axis(max: number, from: number, to: number, count = 5): Axis {
  const ticks = niceTicks(max, count);
  const top = ticks.at(-1)!;
  return { ticks, at: (v) => from + (v / top) * (to - from) };
}

interface LegendItem {
  text: string;
  color: string;
  dash?: string;
  marker?: "circle" | "square" | "ring" | "diamond";
  line?: boolean;
}

/** A point's marker, with a tooltip when `tip` is given. */
function marker(kind: LegendItem["marker"], x: number, y: number, color: string, tip?: string): string {
  const paint = `fill="${color}" stroke="#fff" stroke-width="1"`;
  const [tag, attrs] = kind === "circle"
    ? ["circle", `cx="${n1(x)}" cy="${n1(y)}" r="4" ${paint}`]
    : kind === "ring"
    ? ["circle", `cx="${n1(x)}" cy="${n1(y)}" r="2.6" fill="none" stroke="${color}" stroke-width="1.2"`]
    : kind === "square"
    ? ["rect", `x="${n1(x - 3.6)}" y="${n1(y - 3.6)}" width="7.2" height="7.2" ${paint}`]
    : kind === "diamond"
    ? [
      "polygon",
      `points="${n1(x)},${n1(y - 4.5)} ${n1(x + 4.5)},${n1(y)} ${n1(x)},${n1(y + 4.5)} ${n1(x - 4.5)},${
        n1(y)
      }" ${paint}`,
    ]
    : ["", ""];
  if (!tag) return "";
  return tip === undefined
    ? `<${tag} ${attrs}/>`
    : `<${tag} ${attrs}><title>${escapeXml(tip)}</title></${tag}>`;
}

const polyline = (points: [number, number][], color: string, width = 2, dash?: string) =>
  points.length < 2
    ? ""
    : `<polyline points="${
      points.map(([x, y]) => `${n1(x)},${n1(y)}`).join(" ")
    }" fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;

const text = (x: number, y: number, content: string, attrs = "") =>
  `<text x="${n1(x)}" y="${n1(y)}"${attrs ? ` ${attrs}` : ""}>${escapeXml(content)}</text>`;

/** The frame of one panel: grid, both y axes, x axis, their labels and the legend. */
function frame(
  px: number,
  x: Axis,
  left: Axis,
  right: Axis,
  labels: { x: string; left: string; right: string; title: string; subtitle: string },
  legend: LegendItem[],
): string {
  const l = px + PLOT.left, r = px + PANEL - PLOT.right;
  const out: string[] = [];
  out.push(text(px + PANEL / 2, 76, labels.title, 'text-anchor="middle" font-size="14" font-weight="bold"'));
  out.push(text(px + PANEL / 2, 94, labels.subtitle, 'text-anchor="middle" font-size="11" fill="#555"'));
  for (const t of left.ticks) {
    const y = left.at(t);
    out.push(`<line x1="${l}" y1="${n1(y)}" x2="${r}" y2="${n1(y)}" stroke="#e4e4e4" stroke-width="1"/>`);
    out.push(text(l - 6, y + 4, tickText(t), `text-anchor="end" font-size="10" fill="${SECONDS}"`));
  }
  for (const t of right.ticks) {
    out.push(text(r + 6, right.at(t) + 4, tickText(t), `font-size="10" fill="${RSS}"`));
  }
  for (const t of x.ticks) {
    const xx = x.at(t);
    out.push(
      `<line x1="${n1(xx)}" y1="${PLOT.bottom}" x2="${n1(xx)}" y2="${
        PLOT.bottom + 4
      }" stroke="#333" stroke-width="1"/>`,
    );
    out.push(text(xx, PLOT.bottom + 16, tickText(t), 'text-anchor="middle" font-size="10"'));
  }
  out.push(
    `<line x1="${l}" y1="${PLOT.bottom}" x2="${r}" y2="${PLOT.bottom}" stroke="#333" stroke-width="1"/>`,
    `<line x1="${l}" y1="${PLOT.top}" x2="${l}" y2="${PLOT.bottom}" stroke="${SECONDS}" stroke-width="1"/>`,
    `<line x1="${r}" y1="${PLOT.top}" x2="${r}" y2="${PLOT.bottom}" stroke="${RSS}" stroke-width="1"/>`,
  );
  out.push(text((l + r) / 2, PLOT.bottom + 34, labels.x, 'text-anchor="middle" font-size="11"'));
  const mid = (PLOT.top + PLOT.bottom) / 2;
  out.push(text(
    px + 20,
    mid,
    labels.left,
    `text-anchor="middle" font-size="11" fill="${SECONDS}" transform="rotate(-90 ${px + 20} ${mid})"`,
  ));
  out.push(text(
    px + PANEL - 16,
    mid,
    labels.right,
    `text-anchor="middle" font-size="11" fill="${RSS}" transform="rotate(90 ${px + PANEL - 16} ${mid})"`,
  ));
  legend.forEach((item, i) => {
    const lx = px + 22 + (i % 2) * 240, ly = PLOT.bottom + 58 + Math.floor(i / 2) * 18;
    if (item.line !== false) {
      out.push(
        `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${item.color}" stroke-width="2"${
          item.dash ? ` stroke-dasharray="${item.dash}"` : ""
        }/>`,
      );
    }
    out.push(marker(item.marker, lx + 12, ly, item.color));
    out.push(text(lx + 30, ly + 4, item.text, 'font-size="10.5"'));
  });
  return out.join("\n");
}

const points = (result: Result, label: string): SeriesPoint[] =>
  (result.series ?? []).filter((p) => p.label === label && Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => a.x - b.x);

/** What a point's tooltip says: the entry's figures, target and note. */
function describe(r: Result): string {
  const parts = [
    `${r.case}: ${r.median_s === null ? "-" : r.median_s.toFixed(2)} s (median of ${r.runs})`,
    r.peak_rss_mb === null ? "" : `peak RSS ${r.peak_rss_mb} MB`,
    r.ratio === null ? "" : `${r.ratio.toFixed(2)}x ${r.baseline ?? "the baseline"}`,
    `target ${r.target}${r.met === null ? "" : r.met ? " (met)" : " (not met)"}`,
    r.note ?? "",
  ];
  return parts.filter(Boolean).join("; ");
}

const pointAttrs = (r: Result) => ` class="point" data-case="${escapeXml(r.case)}"`;

function missing(px: number, what: string): string {
  return text(
    px + PANEL / 2,
    (PLOT.top + PLOT.bottom) / 2,
    `no ${what} entry in these results`,
    'text-anchor="middle" font-size="12" fill="#777"',
  );
}

/** Left panel: the `scale-<N>` entries. */
function objectsPanel(entries: Result[]): string {
  const px = 0;
  if (entries.length === 0) return missing(px, "scale-<N>");
  const sizeOf = (r: Result) => r.objects ?? Number(/^scale-(\d+)$/.exec(r.case)![1]);
  const sorted = [...entries].sort((a, b) => sizeOf(a) - sizeOf(b));
  const first = sorted[0]!;
  const baseEntry = sorted.find((r) => r.case === first.baseline) ?? first;
  const baseN = sizeOf(baseEntry);
  const baseS = first.baseline_median_s ?? baseEntry.median_s;
  const maxN = sizeOf(sorted.at(-1)!);
  const target = (n: number) => baseS === null ? null : baseS * (n / baseN) * 1.25;
  const runs = sorted.flatMap((r) => points(r, "run_s"));
  const floors = sorted.flatMap((r) => points(r, "floor_s"));
  const maxS = Math.max(
    ...sorted.map((r) => r.median_s ?? 0),
    ...runs.map((p) => p.y),
    ...floors.map((p) => p.y),
    target(maxN) ?? 0,
  );
  const rssValues = sorted.flatMap((r) => r.peak_rss_mb === null ? [] : [r.peak_rss_mb]);
  const x = axis(maxN, px + PLOT.left, px + PANEL - PLOT.right, 4);
  const left = axis(maxS * 1.08, PLOT.bottom, PLOT.top);
  const right = axis(Math.max(200, ...rssValues) * 1.1, PLOT.bottom, PLOT.top);
  const legend: LegendItem[] = [
    { text: "median seconds", color: SECONDS, marker: "circle" },
    { text: "peak RSS (VmHWM), MB", color: RSS, marker: "square" },
  ];
  const body: string[] = [];
  if (baseS !== null) {
    const from = Math.min(baseN, maxN);
    body.push(
      polyline(
        [[x.at(from), left.at(target(from)!)], [x.at(maxN), left.at(target(maxN)!)]],
        TARGET,
        1.5,
        "6 4",
      ),
    );
    legend.push({
      text: `target: 1.25 × linear from ${tickText(baseN)} (${baseS.toFixed(2)} s)`,
      color: TARGET,
      dash: "6 4",
    });
  }
  body.push(
    `<line x1="${x.at(0)}" y1="${n1(right.at(200))}" x2="${n1(x.at(maxN))}" y2="${
      n1(right.at(200))
    }" stroke="${RSS}" stroke-width="1" stroke-dasharray="2 3"/>`,
  );
  legend.push({ text: "RSS limit at 20k: 200 MB", color: RSS, dash: "2 3" });
  if (floors.length > 0) {
    body.push(polyline(floors.map((p) => [x.at(p.x), left.at(p.y)]), FLOOR, 1));
    for (const p of floors) {
      body.push(
        marker(
          "diamond",
          x.at(p.x),
          left.at(p.y),
          FLOOR,
          `SSA floor at ${thousands(p.x)}: ${p.y.toFixed(2)} s`,
        ),
      );
    }
    legend.push({ text: "SSA floor (objects applied directly)", color: FLOOR, marker: "diamond" });
  }
  if (runs.length > 0) {
    for (const p of runs) {
      body.push(
        marker("ring", x.at(p.x), left.at(p.y), SECONDS, `a run at ${thousands(p.x)}: ${p.y.toFixed(2)} s`),
      );
    }
    legend.push({ text: "single runs", color: SECONDS, marker: "ring", line: false });
  }
  const withRss = sorted.filter((r) => r.peak_rss_mb !== null);
  body.push(polyline(withRss.map((r) => [x.at(sizeOf(r)), right.at(r.peak_rss_mb!)]), RSS));
  const timed = sorted.filter((r) => r.median_s !== null);
  body.push(polyline(timed.map((r) => [x.at(sizeOf(r)), left.at(r.median_s!)]), SECONDS));
  for (const r of withRss) {
    const cx = x.at(sizeOf(r)), cy = right.at(r.peak_rss_mb!);
    body.push(
      marker("square", cx, cy, RSS, `${r.case}: peak RSS ${r.peak_rss_mb} MB`),
    );
    body.push(text(cx, cy + 17, `${r.peak_rss_mb} MB`, `text-anchor="middle" font-size="10" fill="${RSS}"`));
  }
  timed.forEach((r, i) => {
    const cx = x.at(sizeOf(r)), cy = left.at(r.median_s!);
    body.push(
      `<circle${pointAttrs(r)} cx="${n1(cx)}" cy="${
        n1(cy)
      }" r="4.5" fill="${SECONDS}" stroke="#fff" stroke-width="1"><title>${
        escapeXml(describe(r))
      }</title></circle>`,
    );
    if (r === baseEntry && baseS !== null) return; // the legend's target line gives its seconds
    const ratio = r.ratio !== null ? ` (${r.ratio.toFixed(2)}×)` : "";
    const last = i === timed.length - 1;
    body.push(text(
      cx + (last ? -8 : 8),
      cy - 8,
      `${r.median_s!.toFixed(2)} s${ratio}`,
      `${last ? 'text-anchor="end" ' : ""}font-size="10" font-weight="bold" fill="${SECONDS}"`,
    ));
  });
  return frame(px, x, left, right, {
    title: "One stage through the CLI, by size",
    subtitle: "stage-cold into an empty DR namespace, one CLI process per run",
    x: "objects",
    left: "seconds (median of the runs)",
    right: "peak RSS, MB",
  }, legend) + "\n" + body.join("\n");
}

/** Right panel: the `scale-<namespaces>x<per>` entry. */
function namespacesPanel(entry: Result | undefined): string {
  const px = PANEL;
  if (!entry) return missing(px, "scale-<namespaces>x<per>");
  const [, c, p] = /^scale-(\d+)x(\d+)$/.exec(entry.case)!;
  const count = Number(c), per = Number(p);
  const wide = Number(/scale-(\d+)/.exec(entry.baseline ?? "")?.[1] ?? NaN);
  const base = entry.baseline_median_s;
  const elapsed = points(entry, "elapsed_s");
  const measured = elapsed.length > 0
    ? elapsed
    : entry.median_s === null
    ? []
    : [{ x: count, y: entry.median_s, label: "elapsed_s" }];
  const rss = points(entry, "rss_mb");
  const linear = (k: number) => base !== null && wide > 0 ? base * (k * per) / wide : null;
  // the entry's own target ("<= 15.00x ..."), as a factor of the linear line; 1.25 when it names none
  const targetRatio = Number(/<= ([\d.]+)x/.exec(entry.target ?? "")?.[1] ?? NaN);
  const factor = Number.isFinite(targetRatio) && wide > 0 ? targetRatio / ((count * per) / wide) : 1.25;
  const maxS = Math.max(...measured.map((q) => q.y), (linear(count) ?? 0) * factor);
  const x = axis(count, px + PLOT.left, px + PANEL - PLOT.right, 4);
  const left = axis(maxS * 1.08, PLOT.bottom, PLOT.top);
  const right = axis(
    Math.max(200, entry.peak_rss_mb ?? 0, ...rss.map((q) => q.y)) * 1.1,
    PLOT.bottom,
    PLOT.top,
  );
  const legend: LegendItem[] = [
    { text: "seconds since the first stage", color: SECONDS, marker: "circle" },
  ];
  const body: string[] = [];
  if (linear(count) !== null) {
    body.push(polyline([[x.at(0), left.at(0)], [x.at(count), left.at(linear(count)!)]], FLOOR, 1.5, "2 3"));
    body.push(
      polyline([[x.at(0), left.at(0)], [x.at(count), left.at(linear(count)! * factor)]], TARGET, 1.5, "6 4"),
    );
    legend.push(
      {
        text: `linear from the ${tickText(wide)} stage (${base!.toFixed(2)} s)`,
        color: FLOOR,
        dash: "2 3",
      },
      {
        text: `target: ${Number((factor * (count * per) / wide).toFixed(2))}× the ${tickText(wide)} stage`,
        color: TARGET,
        dash: "6 4",
      },
    );
  }
  if (rss.length > 0) {
    body.push(polyline(rss.map((q) => [x.at(q.x), right.at(q.y)]), RSS));
    for (const q of rss) {
      body.push(
        marker("square", x.at(q.x), right.at(q.y), RSS, `VmRSS ${Math.round(q.y)} MB after ${q.x} stages`),
      );
    }
    legend.push({ text: "RSS (VmRSS), MB", color: RSS, marker: "square" });
  }
  if (entry.peak_rss_mb !== null) {
    const y = right.at(entry.peak_rss_mb);
    body.push(
      `<line x1="${n1(x.at(0))}" y1="${n1(y)}" x2="${n1(x.at(count))}" y2="${
        n1(y)
      }" stroke="${RSS}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    body.push(text(x.at(0) + 6, y - 6, `peak ${entry.peak_rss_mb} MB`, `font-size="10" fill="${RSS}"`));
    legend.push({ text: "peak RSS (VmHWM), MB", color: RSS, dash: "6 4" });
  }
  body.push(
    `<line x1="${n1(x.at(0))}" y1="${n1(right.at(200))}" x2="${n1(x.at(count))}" y2="${
      n1(right.at(200))
    }" stroke="${RSS}" stroke-width="1" stroke-dasharray="2 3"/>`,
  );
  legend.push({ text: "RSS limit: 200 MB", color: RSS, dash: "2 3" });
  const line: [number, number][] = [
    [x.at(0), left.at(0)],
    ...measured.map((q) =>
      [x.at(q.x), left.at(q.y)] as [
        number,
        number,
      ]
    ),
  ];
  body.push(polyline(line, SECONDS));
  measured.forEach((q, i) => {
    const last = i === measured.length - 1;
    const before = i === 0 ? { x: 0, y: 0 } : measured[i - 1]!;
    const tip = last
      ? describe(entry)
      : `${q.x} staged after ${q.y.toFixed(1)} s (${
        ((q.y - before.y) / (q.x - before.x)).toFixed(2)
      } s a stage)`;
    body.push(
      `<circle${last ? pointAttrs(entry) : ""} cx="${n1(x.at(q.x))}" cy="${n1(left.at(q.y))}" r="${
        last ? 4.5 : 3.5
      }" fill="${SECONDS}" stroke="#fff" stroke-width="1"><title>${escapeXml(tip)}</title></circle>`,
    );
  });
  const end = measured.at(-1);
  if (end) {
    const ratio = entry.ratio !== null
      ? ` = ${entry.ratio.toFixed(1)}× the ${tickText(wide || 0)} stage`
      : "";
    body.push(text(
      x.at(end.x) - 8,
      left.at(end.y) - 9,
      `${end.y.toFixed(1)} s${ratio}`,
      `text-anchor="end" font-size="10" font-weight="bold" fill="${SECONDS}"`,
    ));
  }
  return frame(px, x, left, right, {
    title: `${count} namespaces × ${per} objects, one serve process`,
    subtitle: "each staged over HTTP into an empty DR namespace, one after another",
    x: "namespaces staged",
    left: "seconds",
    right: "RSS, MB",
  }, legend) + "\n" + body.join("\n");
}

/** "run of D" or "runs of D1 (cases); D2 (cases)", from the entries' dates. */
function dates(entries: Result[]): string {
  const byDate = new Map<string, string[]>();
  for (const r of entries) byDate.set(r.date ?? "", [...(byDate.get(r.date ?? "") ?? []), r.case]);
  if (byDate.size === 1) {
    const [only] = byDate.keys();
    return only ? `run of ${only}` : "date of the run not recorded";
  }
  return "runs of " + [...byDate].map(([d, cases]) => `${d || "an unrecorded date"} (${cases.join(", ")})`)
    .join("; ");
}

/** The scale case's chart, or undefined when `results` has no scale entry. */
export function scaleChartSvg(results: Result[]): string | undefined {
  const bySize = results.filter((r) => /^scale-\d+$/.test(r.case));
  const wide = results.filter((r) => /^scale-\d+x\d+$/.test(r.case));
  if (bySize.length === 0 && wide.length === 0) return undefined;
  const entries = [...bySize, ...wide.slice(0, 1)];
  const title = "dr-syncer benchmark: the scale case";
  const subtitle = dates(entries);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT} role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>${escapeXml(entries.map(describe).join("\n"))}</desc>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 26, title, 'text-anchor="middle" font-size="17" font-weight="bold"'),
    text(WIDTH / 2, 46, subtitle, 'text-anchor="middle" font-size="11" fill="#555"'),
    `<line x1="${PANEL}" y1="62" x2="${PANEL}" y2="${HEIGHT - 12}" stroke="#ddd" stroke-width="1"/>`,
    objectsPanel(bySize),
    namespacesPanel(wide[0]),
    "</svg>",
    "",
  ].join("\n");
}
