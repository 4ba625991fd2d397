/** One entry of bench/results.json (docs/benchmarks.md); fields that do not apply are null. */
export interface Result {
  case: string;
  objects: number | null;
  runs: number;
  median_s: number | null;
  baseline: string | null;
  baseline_median_s: number | null;
  ratio: number | null;
  writes: number | null;
  requests: number | null;
  peak_rss_mb: number | null;
  /** continuous-latency: the 99th percentile of the change-to-copy times, seconds. */
  p99_s?: number | null;
  /** serve-idle: the length of the idle window and the CPU time (user + system) spent in it, seconds. */
  idle_s?: number | null;
  cpu_s?: number | null;
  target: string;
  met: boolean | null;
  /** A short note for the printed table (not a figure the harness checks). */
  note?: string;
  /** The day the case ran (YYYY-MM-DD, UTC); the scale chart shows it. */
  date?: string;
  /**
   * The scale cases' points for the chart (tests/bench/scale_chart.ts). `scale-N`: `run_s` (x: objects,
   * y: one run's seconds) and `floor_s` (the SSA floor's seconds); `scale-NxM`: `elapsed_s` (seconds since
   * the first of the many stages) and `rss_mb` (the serve process's VmRSS), x: namespaces staged so far
   * (0: after the baseline).
   */
  series?: SeriesPoint[];
}

/** One point of a chart series: `label` names the series. */
export interface SeriesPoint {
  x: number;
  y: number;
  label: string;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The `p`-th percentile (0–100), nearest rank. */
export const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export const log = (text: string): void => {
  // deno-lint-ignore no-console -- progress of the benchmark, on stderr
  console.error(`[bench] ${text}`);
};
