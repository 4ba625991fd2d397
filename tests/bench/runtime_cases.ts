/**
 * The runtime's benchmark cases (docs/benchmarks.md), each run only when asked with `--case`:
 *
 * - `http-trigger`: stage of the 1,000-object namespace triggered over HTTP (`wait`) on a real
 *   Deno.serve of the app, against the stage function called directly; interleaved pairs.
 * - `continuous-latency`: a continuous replication in this process; 20 ConfigMap changes/s in the
 *   source for ~20 s; the time from each change to its copy on DR carrying the new value.
 * - `serve-idle`: `dr-syncer serve` as a process with 100 scheduled replications that do not fire
 *   in the window; its peak RSS and CPU time while idle.
 */
import { cliArgs } from "./cli_command.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import type { KubeObject } from "../../shared/kube/types.ts";
import { watchObjects } from "../../shared/kube/verbs.ts";
import { createTextLogger, silentLogger } from "../../shared/log/logger.ts";
import { type ConfigInput, loadConfig, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import { createApp } from "../../functions/http/create_app.ts";
import { createRuntime } from "../../functions/runtime/mod.ts";
import { watchers } from "../../functions/watch/mod.ts";
import { stage } from "../../functions/stage.ts";
import { createNamespace, DR_KUBECONFIG, SOURCE_KUBECONFIG, typeOf } from "../_clusters.ts";
import { benchObjects } from "./bench_objects.ts";
import { log, median, percentile, type Result, type SeriesPoint } from "./bench_result.ts";

export interface BenchContext {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  readonly runId: string;
  /** Runs asked for (`--runs`). */
  readonly runs: number;
  /** Objects of the stage namespace (`--objects`). */
  readonly objects: number;
  /** Namespaces deleted at the end (source ones start with `bench-src`). */
  readonly cleanup: string[];
  /** Creates or updates objects in the source. */
  seed(objects: readonly KubeObject[], concurrency: number): Promise<unknown>;
  /** Waits until the clusters' own processes are idle (after a seed, a deletion). */
  settle(): Promise<void>;
  /** Measures `fn`'s wall time and this process's peak RSS. */
  measure(fn: () => Promise<void>): Promise<{ seconds: number; peakRssMb: number }>;
  counters(client: KubeClient): () => { requests: number; writes: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function clusterConfig(replications: ConfigInput["replications"], tokenEnv?: string): ConfigInput {
  return {
    clusters: [
      { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
      { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
    ],
    tokens: tokenEnv ? [{ name: "bench", value: { env: tokenEnv }, operations: ["read", "stage"] }] : [],
    replications,
  };
}

const repl = (name: string, source: string, dest: string, extra: Record<string, unknown> = {}) => ({
  name,
  source: { cluster: "source", namespace: source },
  destination: { cluster: "dr", namespace: dest },
  ...extra,
});

/** http-trigger: POST /v1/replications/{name}/stage over a real socket vs `stage()` called directly. */
export async function httpTrigger(ctx: BenchContext): Promise<Result> {
  const { runId } = ctx;
  const srcNs = `bench-src-http-${runId}`;
  await createNamespace(ctx.source, srcNs);
  ctx.cleanup.push(srcNs);
  log(`http-trigger: seeding ${ctx.objects} objects in ${srcNs}`);
  await ctx.seed(benchObjects(srcNs, ctx.objects), 16);
  const pairs = Math.max(7, ctx.runs);
  const token = `bench-${crypto.randomUUID()}`;
  const dests = Array.from({ length: pairs }, (_, i) => ({
    http: `bench-http-dr-${runId}-${i}`,
    direct: `bench-direct-dr-${runId}-${i}`,
  }));
  const config = loadConfig(
    JSON.stringify(clusterConfig(
      [
        repl("warmup", srcNs, `bench-http-dr-${runId}-warm`),
        ...dests.flatMap((d, i) => [repl(`http-${i}`, srcNs, d.http), repl(`direct-${i}`, srcNs, d.direct)]),
      ],
      "BENCH_TOKEN",
    )),
    "bench config",
  );
  const runtime = await createRuntime({
    config,
    logger: silentLogger,
    readEnv: (name) => name === "BENCH_TOKEN" ? token : undefined,
  });
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => listening.resolve(port) },
    createApp(runtime).fetch,
  );
  const port = await listening.promise;
  const trigger = async (name: string, body: Record<string, unknown>) => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/replications/${name}/stage`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const report = await response.json() as { status?: string };
    if (response.status !== 200 || report.status !== "succeeded") {
      throw new Error(`HTTP stage of ${name}: ${response.status} ${JSON.stringify(report).slice(0, 500)}`);
    }
  };
  const deps = { source: ctx.source, dr: ctx.dr, logger: silentLogger, concurrency: 16 };
  const direct = async (name: string, dryRun = false) => {
    const spec = replicationSpecFromConfig(config.replications.find((r) => r.name === name)!);
    const report = await stage(deps, { replication: spec, dryRun });
    if (report.status !== "succeeded") throw new Error(`stage of ${name}: ${JSON.stringify(report.counts)}`);
  };
  const httpTimes: number[] = [], directTimes: number[] = [], ratios: number[] = [];
  let counts = { requests: 0, writes: 0 }, directCounts = { requests: 0, writes: 0 }, rss = 0;
  try {
    // untimed warm-up of both paths (dry runs write nothing): clients, discovery, the HTTP stack
    await trigger("warmup", { dryRun: true, wait: 300 });
    await direct("warmup", true);
    const runtimeDr = await runtime.clusters.get("dr");
    for (let i = 0; i < pairs; i++) {
      ctx.cleanup.push(dests[i]!.http, dests[i]!.direct);
      const count = ctx.counters(runtimeDr);
      const h = await ctx.measure(() => trigger(`http-${i}`, { wait: 300 }));
      counts = count();
      const directCount = ctx.counters(ctx.dr);
      const d = await ctx.measure(() => direct(`direct-${i}`));
      directCounts = directCount();
      httpTimes.push(h.seconds);
      directTimes.push(d.seconds);
      ratios.push(h.seconds / d.seconds);
      rss = Math.max(rss, h.peakRssMb, d.peakRssMb);
      log(`http-trigger pair ${i + 1}: http ${h.seconds.toFixed(2)}s, direct ${d.seconds.toFixed(2)}s`);
    }
  } finally {
    await server.shutdown();
    await runtime.drain(5_000);
    await runtime.close();
  }
  const ratio = median(ratios);
  return {
    case: "http-trigger",
    objects: ctx.objects,
    runs: pairs,
    median_s: median(httpTimes),
    baseline: "stage-direct",
    baseline_median_s: median(directTimes),
    ratio,
    writes: counts.writes,
    requests: counts.requests,
    peak_rss_mb: rss,
    target: "<= 1.1x stage called directly (median of per-pair ratios)",
    met: ratio <= 1.1,
    note: `pair ratios ${
      [...ratios].sort((a, b) => a - b).map((r) => r.toFixed(2)).join(" ")
    }; direct: ${directCounts.writes} writes, ${directCounts.requests} requests`,
  };
}

interface Change {
  readonly cm: number;
  readonly seq: number;
  readonly sentAt: number;
  ackAt?: number;
  arrivedAt?: number;
}

/** continuous-latency: `rate` changes/s (20 by default) to ConfigMaps in the source; change to copy on DR, watched. */
export async function continuousLatency(
  ctx: BenchContext,
  options: { rate?: number; seconds?: number; configMaps?: number } = {},
): Promise<Result> {
  const { runId, source, dr } = ctx;
  const rate = options.rate ?? 20, seconds = options.seconds ?? 20, k = options.configMaps ?? 20;
  // one pair of namespaces per rate: one bench run measures several rates
  const srcNs = `bench-src-cont${rate}-${runId}`, dest = `bench-cont${rate}-dr-${runId}`;
  await createNamespace(source, srcNs);
  ctx.cleanup.push(srcNs, dest);
  const cm = (i: number, v: string): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `lat-${i}`, namespace: srcNs },
    data: { v },
  });
  await ctx.seed(Array.from({ length: k }, (_, i) => cm(i, "-1")), 16);
  const config = loadConfig(
    JSON.stringify(clusterConfig([repl("live", srcNs, dest, { mode: "continuous" })])),
    "bench config",
  );
  // the runtime's log: what is not routine (a staging refused or failed, a watch interrupted) is printed and
  // counted; each run's start and end only counted
  let warnings = 0;
  const routine = / (run started|run finished|watching)( |$)/;
  const logger = createTextLogger({
    level: "info",
    write: (line) => {
      if (routine.test(line)) return;
      warnings++;
      log(`continuous-latency: runtime: ${line.slice(0, 400)}`);
    },
  });
  const runtime = await createRuntime({ config, logger, readEnv: () => undefined });
  const watches = watchers(runtime);
  const cmType = await typeOf(dr, "v1", "ConfigMap");
  const stop = new AbortController();
  const changes: Change[] = [];
  const pending: Change[][] = Array.from({ length: k }, () => []);
  const rssSamples: number[] = [], heapSamples: number[] = [];
  let relists = 0, runsDone = 0;
  let watchEnded: Promise<void> | undefined;
  try {
    watches.start();
    const t0 = performance.now();
    for (;;) {
      const list = await dr.request<{ items: KubeObject[] }>({
        method: "GET",
        path: `/api/v1/namespaces/${dest}/configmaps`,
      }).catch(() => ({ items: [] as KubeObject[] }));
      const copied = list.items.filter((o) => o.metadata.name.startsWith("lat-")).length;
      if (copied === k && watches.states.live === "watching") break;
      if (performance.now() - t0 > 120_000) {
        throw new Error(`the first stage did not copy ${k} ConfigMaps in 2 minutes (${copied} copied)`);
      }
      await sleep(200);
    }
    log(`continuous-latency: watching after ${((performance.now() - t0) / 1000).toFixed(1)}s`);

    // watch DR: a copy carrying value v settles every change of that ConfigMap up to v
    const start = await dr.request<{ metadata: { resourceVersion: string } }>({
      method: "GET",
      path: `/api/v1/namespaces/${dest}/configmaps`,
    });
    const events = await watchObjects<KubeObject & { data?: Record<string, string> }>(dr, cmType, dest, {
      resourceVersion: start.metadata.resourceVersion,
      timeoutSeconds: seconds + 120, // outlives the run: the last changes are seen too
      signal: stop.signal,
    });
    const reader = events.getReader();
    stop.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}));
    watchEnded = (async () => {
      try {
        for (;;) {
          const { value: event, done } = await reader.read();
          if (done) {
            if (!stop.signal.aborted) log("continuous-latency: the DR watch was ended by the server");
            break;
          }
          if (event.type !== "ADDED" && event.type !== "MODIFIED") continue;
          const at = performance.now();
          const i = Number(/^lat-(\d+)$/.exec(event.object.metadata.name)?.[1] ?? NaN);
          const v = Number(event.object.data?.v ?? NaN);
          const queue = pending[i];
          while (queue && queue.length > 0 && queue[0]!.seq <= v) queue.shift()!.arrivedAt = at;
        }
      } catch (error) {
        if (!stop.signal.aborted) log(`continuous-latency: the DR watch ended: ${error}`);
      }
    })();

    const total = Math.round(rate * seconds);
    const interval = 1000 / rate;
    let inFlight = 0;
    const drained = Promise.withResolvers<void>();
    const begin = performance.now();
    let sent = 0;
    // memory over the run: the process's RSS every 10 s (the runtime and this harness share it)
    // and, when V8 lets the harness collect (--v8-flags=--expose-gc), the live heap after a full collection
    const sample = () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const m = Deno.memoryUsage();
      rssSamples.push(Math.round(m.rss / 1048576));
      if (gc) heapSamples.push(Math.round(m.heapUsed / 1048576));
    };
    sample();
    const sampler = setInterval(sample, 10_000);
    for (let s = 0; s < total; s++) {
      await sleep(begin + s * interval - performance.now());
      const change: Change = { cm: s % k, seq: s, sentAt: performance.now() };
      changes.push(change);
      pending[change.cm]!.push(change);
      inFlight++;
      source.request({
        method: "PATCH",
        path: `/api/v1/namespaces/${srcNs}/configmaps/lat-${change.cm}`,
        contentType: "application/merge-patch+json",
        body: { data: { v: String(s) } },
      }).then(
        () => change.ackAt = performance.now(),
        (error) => log(`continuous-latency: a write failed: ${error}`),
      )
        .finally(() => --inFlight === 0 && sent === total && drained.resolve());
      sent++;
    }
    if (inFlight > 0) await drained.promise;
    clearInterval(sampler);
    const sentIn = (performance.now() - begin) / 1000;
    const deadline = performance.now() + 15_000;
    while (changes.some((c) => c.arrivedAt === undefined) && performance.now() < deadline) await sleep(50);
    log(`continuous-latency: ${total} changes sent in ${sentIn.toFixed(1)}s`);
    const exposition = await runtime.metrics.metrics();
    const sum = (name: string) =>
      exposition.split("\n").filter((l) => l.startsWith(name)).reduce(
        (n, l) => n + Number(l.split(" ").at(-1)),
        0,
      );
    relists = sum("dr_syncer_watch_relists_total");
    runsDone = sum("dr_syncer_runs_total");
  } finally {
    stop.abort();
    await Promise.race([watchEnded, sleep(2_000)]);
    log("continuous-latency: stopping the runtime");
    await runtime.drain(5_000);
    await runtime.close();
    log("continuous-latency: stopped");
  }
  const arrived = changes.filter((c) => c.arrivedAt !== undefined);
  const notCopied = changes.filter((c) => c.arrivedAt === undefined);
  // when the slow changes (over 1 s) were sent, seconds from the first change: where a stall was
  const slow = changes.filter((c) => c.arrivedAt !== undefined && c.arrivedAt - c.sentAt > 1000);
  const at = (c: Change) => ((c.sentAt - changes[0]!.sentAt) / 1000).toFixed(1);
  const slowNote = slow.length
    ? `; ${slow.length} over 1 s, sent from ${at(slow[0]!)} s to ${at(slow.at(-1)!)} s`
    : "";
  const missing = notCopied.length;
  const latencies = arrived.map((c) => (c.arrivedAt! - c.sentAt) / 1000);
  // a change never copied within 15 s counts as the slowest
  const all = [...latencies, ...Array<number>(missing).fill(Infinity)];
  const med = all.length ? median(all) : null, p99 = all.length ? percentile(all, 99) : null;
  const fromAck = arrived.filter((c) => c.ackAt !== undefined).map((c) => (c.arrivedAt! - c.ackAt!) / 1000);
  const finite = (n: number | null) => n !== null && Number.isFinite(n) ? n : null;
  return {
    case: `continuous-latency-${rate}`,
    objects: changes.length,
    runs: 1,
    median_s: finite(med),
    baseline: null,
    baseline_median_s: null,
    ratio: null,
    writes: null,
    requests: null,
    peak_rss_mb: null, // the runtime shares the harness's process: its RSS is not the runtime's alone
    p99_s: finite(p99),
    target: "median <= 0.5 s, p99 <= 1 s from the change to its copy on DR",
    met: med !== null && p99 !== null && med <= 0.5 && p99 <= 1,
    note: `p99 ${finite(p99)?.toFixed(3) ?? "-"}s, max ${
      latencies.length ? Math.max(...latencies).toFixed(3) : "-"
    }s, ${missing} not copied${
      missing ? ` (changes ${notCopied[0]!.seq} to ${notCopied.at(-1)!.seq} of ${changes.length})` : ""
    }${slowNote}, ${warnings} runtime log lines besides runs started and finished; from the write's answer: median ${
      fromAck.length ? median(fromAck).toFixed(3) : "-"
    }s; ${runsDone} runs for ${changes.length} changes, ${relists} relists; RSS (runtime and harness) ${
      rssSummary(rssSamples)
    }${heapSamples.length ? `; live heap after a full GC ${rssSummary(heapSamples)}` : ""}`,
  };
}

/** RSS samples (MB, every 10 s) as the note gives them: at the start, after a minute, at the end, the most. */
function rssSummary(samples: readonly number[]): string {
  if (samples.length === 0) return "-";
  const at = (i: number) => samples[Math.min(i, samples.length - 1)]!;
  return `${at(0)} MB at the start, ${at(6)} after 1 min, ${samples.at(-1)} at the end (${
    (samples.length - 1) * 10
  } s), ${Math.max(...samples)} at most`;
}

/** utime + stime of a process, seconds; VmRSS and VmHWM, MB. */
function procSample(pid: number, clkTck: number): { cpu: number; rssMb: number; hwmMb: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  const cpu = (Number(fields[11]) + Number(fields[12])) / clkTck;
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpu, rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/** `dr-syncer serve` as its own process, once it prints its address. */
interface ServeChild {
  readonly pid: number;
  readonly url: string;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for it to exit; its exit code. */
  stop(): Promise<number>;
}

async function startServe(configFile: string | undefined, env: Record<string, string>): Promise<ServeChild> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs("serve", ...(configFile ? ["--config", configFile] : []), "--port", "0"),
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const pumpErr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/serving on http:\/\/\S+/.test(out)) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const pumpOut = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    const status = await child.status;
    await Promise.all([pumpErr, pumpOut]);
    return status.code;
  };
  const url = /serving on (http:\/\/\S+)/.exec(out)?.[1];
  if (!url) {
    await stop();
    throw new Error(`serve did not start: ${out}\n${err.slice(0, 2000)}`);
  }
  return { pid: child.pid, url, stderr: () => err, stop };
}

/**
 * scale, second shape: 200 namespaces of 100 objects (the stage-cold mix), each its own manual
 * replication of one `dr-syncer serve` process, staged one after another over HTTP (`wait`), each
 * into a new, empty DR namespace; against a 1,000-object namespace staged the same way by the same
 * process first (3 times, the median). The peak RSS is the serve process's high-water mark
 * (`VmHWM`), its RSS noted after the baseline and after every 50 stages: memory must not grow with
 * the number of replications run.
 */
export async function scaleNamespaces(
  ctx: BenchContext,
  options: { namespaces?: number; perNamespace?: number; wide?: number } = {},
): Promise<Result> {
  const { runId, source } = ctx;
  const count = options.namespaces ?? 200, per = options.perNamespace ?? 100, wide = options.wide ?? 1000;
  const baselineRuns = 3;
  const wideSrc = `bench-src-wide-${runId}`;
  const srcOf = (i: number) => `bench-src-ns-${runId}-${i}`;
  const replications = [
    ...Array.from(
      { length: baselineRuns },
      (_, k) => repl(`wide-${k}`, wideSrc, `bench-wide-dr-${runId}-${k}`),
    ),
    ...Array.from({ length: count }, (_, i) => repl(`ns-${i}`, srcOf(i), `bench-ns-dr-${runId}-${i}`)),
  ];
  for (const ns of [wideSrc, ...Array.from({ length: count }, (_, i) => srcOf(i))]) {
    await createNamespace(source, ns);
    ctx.cleanup.push(ns);
  }
  ctx.cleanup.push(...replications.map((r) => r.destination.namespace));
  log(`scale ${count}x${per}: seeding ${count * per + wide} objects in ${count + 1} namespaces`);
  await ctx.seed([
    ...benchObjects(wideSrc, wide),
    ...Array.from({ length: count }, (_, i) => benchObjects(srcOf(i), per)).flat(),
  ], 32);
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-bench-scale-" });
  const configFile = `${dir}/config.yaml`;
  await Deno.writeTextFile(configFile, JSON.stringify(clusterConfig(replications, "BENCH_TOKEN"), null, 2));
  const token = `bench-${crypto.randomUUID()}`;
  const serve = await startServe(configFile, { BENCH_TOKEN: token });
  const trigger = async (name: string) => {
    const t0 = performance.now();
    const response = await fetch(`${serve.url}/v1/replications/${name}/stage`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ wait: 600 }),
    });
    const report = await response.json() as { status?: string };
    if (response.status !== 200 || report.status !== "succeeded") {
      throw new Error(`HTTP stage of ${name}: ${response.status} ${JSON.stringify(report).slice(0, 500)}`);
    }
    return (performance.now() - t0) / 1000;
  };
  const clkTck = 100; // procSample's CPU figure is not used here
  try {
    const baseline: number[] = [];
    for (let k = 0; k < baselineRuns; k++) {
      await ctx.settle();
      baseline.push(await trigger(`wide-${k}`));
      log(`scale ${count}x${per}: baseline ${wide} objects run ${k + 1}: ${baseline.at(-1)!.toFixed(2)}s`);
    }
    const rss0 = procSample(serve.pid, clkTck).rssMb;
    const rssAt: string[] = [`${rss0.toFixed(0)} after the baseline`];
    // the chart's points (tests/bench/scale_chart.ts): x is the namespaces staged so far
    const series: SeriesPoint[] = [{ x: 0, y: rss0, label: "rss_mb" }];
    await ctx.settle();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      await trigger(`ns-${i}`);
      if ((i + 1) % 50 === 0 || i + 1 === count) {
        const rss = procSample(serve.pid, clkTck).rssMb;
        rssAt.push(`${rss.toFixed(0)} after ${i + 1}`);
        series.push(
          { x: i + 1, y: (performance.now() - t0) / 1000, label: "elapsed_s" },
          { x: i + 1, y: rss, label: "rss_mb" },
        );
        log(
          `scale ${count}x${per}: ${i + 1} staged in ${((performance.now() - t0) / 1000).toFixed(1)}s, RSS ${
            rss.toFixed(0)
          } MB`,
        );
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const hwm = procSample(serve.pid, clkTck).hwmMb;
    const base = median(baseline);
    const ratio = seconds / base;
    // issue 19's target: 15x the 1k stage for 200 x 100 (0.75 times the size ratio), a run's fixed cost <= 0.1 s
    const allowed = ((count * per) / wide) * 0.75;
    // a run's time as fixed + per object: the wide runs and the small ones give both
    const perRun = seconds / count;
    const fixed = (wide * perRun - per * base) / (wide - per);
    return {
      case: `scale-${count}x${per}`,
      objects: count * per,
      runs: 1,
      median_s: seconds,
      baseline: `scale-${wide} through serve`,
      baseline_median_s: base,
      ratio,
      writes: null,
      requests: null,
      peak_rss_mb: Math.round(hwm),
      target: `<= ${allowed.toFixed(2)}x; a run's fixed cost <= 0.1 s; RSS <= 200 MB`,
      met: ratio <= allowed && fixed <= 0.1 && hwm <= 200,
      note: `one serve process, ${count} replications staged one after another over HTTP; ${
        perRun.toFixed(3)
      } s a run, of which fixed ${fixed.toFixed(3)} s (from the ${wide}-object stage's ${
        base.toFixed(2)
      } s); RSS MB: ${rssAt.join(", ")}`,
      date: new Date().toISOString().slice(0, 10),
      series,
    };
  } finally {
    const code = await serve.stop();
    await Deno.remove(dir, { recursive: true });
    log(`scale ${count}x${per}: serve exited with ${code}`);
  }
}

/** serve-idle: `dr-syncer serve` with 100 scheduled replications, idle; its RSS and CPU time. */
export async function serveIdle(
  ctx: BenchContext,
  options: { seconds?: number; replications?: number; existing?: number } = {},
): Promise<Result> {
  const { runId, source, dr } = ctx;
  const seconds = options.seconds ?? 120, count = options.replications ?? 100;
  const existing = Math.min(count, options.existing ?? 10);
  // a daily schedule 12 hours away: it does not fire during the window
  const hour = (new Date().getUTCHours() + 12) % 24;
  const schedule = `0 ${hour} * * *`;
  const replications = [];
  for (let i = 0; i < count; i++) {
    // the first ones name namespaces that exist (source with one ConfigMap, DR empty), the rest do not
    const src = i < existing ? `bench-src-idle-${runId}-${i}` : `bench-idle-none-${runId}-${i}`;
    const dest = i < existing ? `bench-idle-dr-${runId}-${i}` : `bench-idle-none-dr-${runId}-${i}`;
    if (i < existing) {
      await createNamespace(source, src);
      await createNamespace(dr, dest);
      ctx.cleanup.push(src, dest);
      await ctx.seed(
        [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "idle", namespace: src } }],
        1,
      );
    }
    replications.push(repl(`idle-${i}`, src, dest, { mode: "scheduled", schedule }));
  }
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-bench-idle-" });
  const configFile = `${dir}/config.yaml`;
  await Deno.writeTextFile(configFile, JSON.stringify(clusterConfig(replications, "BENCH_TOKEN"), null, 2));
  const getconf = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
    .output().catch(() => undefined);
  const clkTck = Number(getconf ? new TextDecoder().decode(getconf.stdout).trim() : "") || 100;
  const t0 = performance.now();
  const child = await startServe(configFile, { BENCH_TOKEN: `bench-${crypto.randomUUID()}` });
  try {
    const startup = (performance.now() - t0) / 1000;
    const first = procSample(child.pid, clkTck);
    log(
      `serve-idle: listening after ${startup.toFixed(1)}s (${first.cpu.toFixed(2)}s CPU, RSS ${
        first.rssMb.toFixed(0)
      } MB); idle for ${seconds}s`,
    );
    let last = first, peakRss = first.rssMb;
    const windowStart = performance.now();
    let nextLog = 30;
    while (performance.now() - windowStart < seconds * 1000) {
      await sleep(Math.min(1000, windowStart + seconds * 1000 - performance.now()));
      last = procSample(child.pid, clkTck);
      peakRss = Math.max(peakRss, last.rssMb);
      const elapsed = (performance.now() - windowStart) / 1000;
      if (elapsed >= nextLog) {
        log(
          `serve-idle: ${elapsed.toFixed(0)}s, CPU ${(last.cpu - first.cpu).toFixed(2)}s, RSS ${
            last.rssMb.toFixed(0)
          } MB`,
        );
        nextLog += 30;
      }
    }
    const idle = (performance.now() - windowStart) / 1000;
    const cpu = last.cpu - first.cpu;
    const hwm = Math.max(last.hwmMb, peakRss);
    // untouched: no DR namespace was created for the missing ones, nothing written to the existing ones
    const touched: string[] = [];
    for (const r of replications) {
      const ns = r.destination.namespace;
      if (ns.startsWith("bench-idle-none-")) {
        const exists = await dr.request({ method: "GET", path: `/api/v1/namespaces/${ns}` }).then(
          () => true,
          () => false,
        );
        if (exists) touched.push(ns);
      } else {
        const cms = await dr.request<{ items: KubeObject[] }>({
          method: "GET",
          path: `/api/v1/namespaces/${ns}/configmaps`,
        });
        const leases = await dr.request<{ items: KubeObject[] }>({
          method: "GET",
          path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
        });
        if (cms.items.some((o) => o.metadata.name !== "kube-root-ca.crt") || leases.items.length) {
          touched.push(ns);
        }
      }
    }
    const err = child.stderr().trim();
    const logLines = err ? err.split("\n").length : 0;
    const nearZero = cpu <= 0.01 * idle;
    return {
      case: "serve-idle",
      objects: null,
      runs: 1,
      median_s: null,
      baseline: null,
      baseline_median_s: null,
      ratio: null,
      writes: null,
      requests: null,
      peak_rss_mb: Math.round(hwm),
      idle_s: Math.round(idle * 10) / 10,
      cpu_s: Math.round(cpu * 1000) / 1000,
      target: `peak RSS <= 150 MB; CPU near zero (<= 1% of the window); ${count} replications untouched`,
      met: hwm <= 150 && nearZero && touched.length === 0,
      note: `${count} replications; CPU ${cpu.toFixed(2)}s in ${idle.toFixed(0)}s idle (${
        (100 * cpu / idle).toFixed(2)
      }%); startup ${startup.toFixed(1)}s and ${first.cpu.toFixed(2)}s CPU; RSS at end ${
        last.rssMb.toFixed(0)
      } MB; ${logLines} log lines; touched: ${touched.length ? touched.join(",") : "none"}`,
    };
  } finally {
    const code = await child.stop();
    await Deno.remove(dir, { recursive: true });
    log(`serve-idle: serve exited with ${code}`);
  }
}

/**
 * resource-change: `serve` (its own process) reads `mappings` NamespaceMappings (and a RemoteCluster) in its
 * namespace of the source cluster; then, `samples` times, one mapping's schedule is edited and the time taken
 * until its status shows the next run of the new schedule (the replication's next decision) is measured.
 * Also the process's RSS with all the mappings watched.
 */
export async function resourceChange(
  ctx: BenchContext,
  options: { mappings?: number; samples?: number } = {},
): Promise<Result[]> {
  const { runId, source } = ctx;
  const count = options.mappings ?? 200, samples = options.samples ?? 10;
  const { operatorCrds } = await import("../../infra/operator_crds.ts");
  const { applyObject, patchObject, getObject } = await import("../../shared/kube/verbs.ts");
  const { CRDS, SECRETS } = await import("../../shared/kube/types.ts");
  const { scheduleTimes } = await import("../../shared/runs/mod.ts");
  for (const crd of operatorCrds()) await applyObject(source, CRDS, crd);
  const mappingType = {
    group: "dr-syncer.io",
    version: "v1alpha1",
    resource: "namespacemappings",
    kind: "NamespaceMapping",
    namespaced: true,
  };
  const remoteType = { ...mappingType, resource: "remoteclusters", kind: "RemoteCluster" };
  for (let i = 0; i < 100; i++) {
    try {
      await source.request({ method: "GET", path: "/apis/dr-syncer.io/v1alpha1/namespacemappings" });
      break;
    } catch {
      await sleep(200);
    }
  }
  const home = `bench-home-${runId}`;
  await createNamespace(source, home);
  ctx.cleanup.push(home);
  await applyObject(source, SECRETS, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "dr-cluster-kubeconfig", namespace: home },
    stringData: { kubeconfig: await Deno.readTextFile(DR_KUBECONFIG) },
  } as KubeObject);
  await applyObject(source, remoteType, {
    apiVersion: "dr-syncer.io/v1alpha1",
    kind: "RemoteCluster",
    metadata: { name: "dr-cluster", namespace: home },
    spec: { kubeconfigSecret: "dr-cluster-kubeconfig" },
  } as KubeObject);
  // once a year: nothing runs while it is measured
  const yearly = "0 0 1 1 *";
  await Promise.all(Array.from({ length: count }, (_, i) =>
    applyObject(source, mappingType, {
      apiVersion: "dr-syncer.io/v1alpha1",
      kind: "NamespaceMapping",
      metadata: { name: `m-${i}`, namespace: home },
      spec: {
        sourceNamespace: `bench-rc-${runId}-${i}`,
        destinationNamespace: `bench-rc-${runId}-${i}-dr`,
        destinationCluster: "dr-cluster",
        schedule: yearly,
      },
    } as KubeObject)));
  const serve = await startServe(undefined, {
    DR_SYNCER_SECRETS_KUBECONFIG: SOURCE_KUBECONFIG,
    DR_SYNCER_NAMESPACE: home,
  });
  const clkTck = 100;
  type Mapping = KubeObject & { status?: { phase?: string; nextSyncTime?: string } };
  const read = (i: number) => getObject<Mapping>(source, mappingType, home, `m-${i}`);
  try {
    const t0 = performance.now();
    for (;;) {
      const list = await source.request<{ items: Mapping[] }>({
        method: "GET",
        path: `/apis/dr-syncer.io/v1alpha1/namespaces/${home}/namespacemappings`,
      });
      if (list.items.filter((m) => m.status?.phase === "Pending").length === count) break;
      if (performance.now() - t0 > 180_000) {
        throw new Error(`the ${count} mappings were not all in use in 3 minutes`);
      }
      await sleep(500);
    }
    log(`resource-change: ${count} mappings in use after ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    const latencies: number[] = [];
    for (let k = 0; k < samples; k++) {
      const i = (k * 37) % count;
      const schedule = `${(k * 7) % 60} ${(k * 5) % 24} * * *`;
      const expected = scheduleTimes(schedule, new Date()).next?.toISOString();
      const start = performance.now();
      await patchObject(source, mappingType, home, `m-${i}`, { spec: { schedule } });
      for (;;) {
        const next = (await read(i))?.status?.nextSyncTime;
        if (next !== undefined && expected !== undefined && Date.parse(next) === Date.parse(expected)) break;
        if (performance.now() - start > 30_000) {
          throw new Error(`mapping m-${i}: no decision in 30 s (${next})`);
        }
        await sleep(50);
      }
      latencies.push((performance.now() - start) / 1000);
    }
    const sample = procSample(serve.pid, clkTck);
    const med = median(latencies);
    return [{
      case: "resource-change",
      objects: samples,
      runs: samples,
      median_s: med,
      baseline: null,
      baseline_median_s: null,
      ratio: null,
      writes: null,
      requests: null,
      peak_rss_mb: Math.round(sample.hwmMb),
      target:
        "a mapping's edit reaches its next decision within 5 s (median of 10); 200 mappings in <= 150 MB",
      met: med <= 5 && sample.hwmMb <= 150,
      note: `${count} mappings watched; latencies ${latencies.map((l) => l.toFixed(2)).join(", ")} s; RSS ${
        sample.rssMb.toFixed(0)
      } MB, peak ${sample.hwmMb.toFixed(0)} MB`,
    }];
  } finally {
    await serve.stop();
  }
}
