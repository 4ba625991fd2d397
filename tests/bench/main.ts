// deno-lint-ignore-file no-console -- the benchmark is a program whose output is its report
/**
 * `deno task bench [-- --case NAME] [--runs N]`: the benchmarks of docs/benchmarks.md against the local
 * real clusters, each case beside its baseline in the same run. Prints a table and writes
 * bench/results.json. `http-trigger`, `continuous-latency`, `serve-idle` (tests/bench/runtime_cases.ts)
 * `scale` and the PVC data cases `pvc-cold`, `pvc-delta` (tests/bench/pvc_cases.ts) run only when asked
 * with `--case`; `--seconds N` shortens serve-idle's idle window.
 */
import { parseArgs } from "node:util";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { apiVersionOf, resourcePath } from "../../shared/kube/types.ts";
import type { KubeObject } from "../../shared/kube/types.ts";
import { silentLogger } from "../../shared/log/logger.ts";
import { pooledMap } from "../../shared/async/pooled_map.ts";
import { FIELD_MANAGER } from "../../shared/kube/verbs.ts";
import { isRetryable, isUnreachable } from "../../shared/kube/kube_api_error.ts";
import { withRetry } from "../../shared/kube/retry.ts";
import { replicationSpec, transformContext } from "../../shared/plan/replication_spec.ts";
import { checkSync } from "../../shared/sync/check_sync.ts";
import { type PreparedSync, prepareSync } from "../../shared/sync/prepare_sync.ts";
import { buildDesiredState } from "../../shared/plan/build_desired_state.ts";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  SOURCE_KUBECONFIG,
  testClusters,
  TESTENV_DIR,
  typeOf,
} from "../_clusters.ts";
import { benchObjects, scalableObjects } from "./bench_objects.ts";
import { log, median, type Result } from "./bench_result.ts";
import {
  type BenchContext,
  continuousLatency,
  httpTrigger,
  resourceChange,
  scaleNamespaces,
  serveIdle,
} from "./runtime_cases.ts";
import { pvcCases } from "./pvc_cases.ts";
import { scaleChartSvg } from "./scale_chart.ts";
import { cliArgs } from "./cli_command.ts";

const CONCURRENCY = 16;
const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "--"),
  options: {
    case: { type: "string", multiple: true },
    runs: { type: "string" },
    objects: { type: "string" },
    sizes: { type: "string" },
    seconds: { type: "string" },
    namespaces: { type: "string" },
    /** continuous-latency: the changes per second (default: 20, then 200). */
    rate: { type: "string", multiple: true },
    /** pvc-cold, pvc-delta: the folder their data goes in (a tmpfs keeps the disk's writeback out). */
    "pvc-dir": { type: "string" },
  },
});
const RUNS = Number(values.runs ?? 3);
const SCALE = Number(values.objects ?? 1000);
const wanted = (name: string) => !values.case || values.case.includes(name);
/** The cases run only when asked for by name. */
const asked = (name: string) => values.case?.includes(name) ?? false;

/** Times `fn`, sampling the process's RSS every 20 ms. */
async function measure(fn: () => Promise<void>): Promise<{ seconds: number; peakRssMb: number }> {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, Deno.memoryUsage().rss);
  return { seconds: (performance.now() - t0) / 1000, peakRssMb: Math.round(peak / 1048576) };
}

function counters(client: KubeClient) {
  const start = { total: client.stats.total, writes: client.stats.writes };
  return () => ({ requests: client.stats.total - start.total, writes: client.stats.writes - start.writes });
}

/**
 * Runs a stage RUNS times, timed, with DR's request counts of the last run and the peak RSS.
 * `prepare` (untimed) may change the source first and returns the stage to time.
 */
async function repeatStage(
  prepare: (run: number) => Promise<() => Promise<unknown>>,
): Promise<{ times: number[]; counts: { requests: number; writes: number }; rss: number }> {
  const times: number[] = [];
  let counts = { requests: 0, writes: 0 }, rss = 0;
  for (let i = 0; i < RUNS; i++) {
    const run = await prepare(i);
    const count = counters(clusters.dr);
    const m = await measure(async () => void await run());
    times.push(m.seconds);
    counts = count();
    rss = Math.max(rss, m.peakRssMb);
  }
  return { times, counts, rss };
}

/**
 * Creates or updates objects in the source (server-side apply with the bench's own field manager).
 * An apply is idempotent, so one that timed out or met a busy server is sent again: seeding 20,000
 * objects must outlast a loaded API server.
 */
function seedSource(objects: readonly KubeObject[], concurrency: number): Promise<void[]> {
  const retryable = (e: unknown) => isRetryable(e) || isUnreachable(e);
  return pooledMap(objects, concurrency, async (o) => {
    const type = await typeOf(clusters.source, o.apiVersion, o.kind);
    await withRetry(() =>
      clusters.source.request({
        method: "PATCH",
        path: resourcePath(type, o.metadata.namespace, o.metadata.name),
        query: { fieldManager: "bench-seed", force: true },
        contentType: "application/apply-patch+yaml",
        body: o,
      }), { attempts: 10, retryable });
  });
}

/** Waits until neither cluster is still deleting a namespace: measurements run on quiet API servers. */
async function quiesce(): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const busy = (await Promise.all([clusters.source, clusters.dr].map(async (client) => {
      const list = await client.request<{ items: { status?: { phase?: string } }[] }>({
        method: "GET",
        path: "/api/v1/namespaces",
      });
      return list.items.filter((n) => n.status?.phase === "Terminating").length;
    }))).reduce((a, b) => a + b, 0);
    if (busy === 0) break;
    if (performance.now() - t0 > 900_000) {
      throw new Error(`${busy} namespaces are still being deleted after 15 minutes`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const waited = (performance.now() - t0) / 1000;
  if (waited > 1) log(`waited ${waited.toFixed(0)}s for the clusters to finish deleting namespaces`);
}

/** The test environment's processes (etcd, API servers, controllers, schedulers, KWOK): their pids. */
function clusterPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (
        /(etcd|kube-apiserver|kube-controller|kube-scheduler|kwok)/.test(cmdline.split("\0")[0] ?? "") &&
        cmdline.includes(TESTENV_DIR)
      ) pids.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return pids;
}

function cpuTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // utime and stime: fields 14 and 15, counted after the ")" that ends the command name
      const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* gone */ }
  }
  return ticks;
}

/**
 * Waits until the clusters' own processes are idle (under 20% of one core for three 2-second windows
 * in a row, at most 10 minutes): after a seed or a namespace deletion the controllers work on for
 * minutes (ReplicaSets, EndpointSlices, KWOK's pods, garbage collection), and a run that starts then
 * measures their backlog, not dr-syncer. Clusters that hold many objects may never drop under 20% (after
 * the 200 x 100 seed: 22% to 53% for more than 10 minutes), so the wait also ends when the load has
 * stopped falling: the last 20 seconds' share within 10% (or 5% of a core) of the 20 seconds' before.
 */
async function settle(): Promise<void> {
  const pids = clusterPids();
  if (pids.length === 0) return;
  const t0 = performance.now();
  const shares: number[] = [];
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  let quiet = 0;
  let steady: number | undefined;
  while (quiet < 3 && performance.now() - t0 < 600_000) {
    const before = cpuTicks(pids);
    await new Promise((r) => setTimeout(r, 2000));
    const share = (cpuTicks(pids) - before) / 100 / 2; // 100 ticks a second
    shares.push(share);
    quiet = share < 0.2 ? quiet + 1 : 0;
    if (shares.length >= 20) {
      const [earlier, last] = [mean(shares.slice(-20, -10)), mean(shares.slice(-10))];
      if (Math.abs(last - earlier) <= Math.max(0.05, earlier * 0.1)) {
        steady = last;
        break;
      }
    }
  }
  const waited = (performance.now() - t0) / 1000;
  if (steady !== undefined) {
    log(
      `waited ${waited.toFixed(0)}s for the clusters' processes: steady at ${
        (steady * 100).toFixed(0)
      }% of a core`,
    );
  } else if (waited > 8) log(`waited ${waited.toFixed(0)}s for the clusters' processes to go idle`);
}

/** Deletes a namespace and waits until the namespace controller has removed it and its objects. */
async function deleteAndWait(client: KubeClient, namespace: string): Promise<void> {
  await deleteNamespace(client, namespace);
  const t0 = performance.now();
  for (;;) {
    const gone = await client.request({ method: "GET", path: `/api/v1/namespaces/${namespace}` }).then(
      () => false,
      () => true,
    );
    if (gone) break;
    if (performance.now() - t0 > 900_000) {
      throw new Error(`Namespace "${namespace}" was not deleted within 15 minutes`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(`deleted ${namespace} in ${((performance.now() - t0) / 1000).toFixed(0)}s`);
}

/** The floor: a minimal client server-side-applying already-transformed objects with the same concurrency. */
async function ssaFloor(
  dr: KubeClient,
  namespace: string,
  objects: KubeObject[],
  types: Map<string, Parameters<typeof resourcePath>[0]>,
) {
  await dr.request({
    method: "POST",
    path: "/api/v1/namespaces",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  });
  await pooledMap(objects, CONCURRENCY, async (o) => {
    const type = types.get(o.kind)!;
    await dr.request({
      method: "PATCH",
      path: resourcePath(type, namespace, o.metadata.name),
      query: { fieldManager: FIELD_MANAGER, force: true },
      contentType: "application/apply-patch+yaml",
      body: { ...o, metadata: { ...o.metadata, namespace } },
    });
  });
}

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args[0]} failed: ${new TextDecoder().decode(out.stderr).slice(0, 500)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** kubectl from the test environment's cache (built on first use), or undefined when it cannot be built. */
async function kubectlPath(): Promise<string | undefined> {
  try {
    const script = new URL("../testenv/testenv.sh", import.meta.url).pathname;
    return (await output("bash", [script, "build-kubectl"])).trim();
  } catch (error) {
    log(`no kubectl, the by-hand baseline is skipped: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
}

/**
 * The by-hand baseline: `kubectl get -o json` of the same types, the same transform (in process,
 * standing in for a jq script), then `kubectl apply --server-side` of the result.
 */
async function byHand(kubectl: string, prepared: PreparedSync, srcNs: string, dest: string): Promise<void> {
  const names = prepared.types.map((t) => t.group ? `${t.resource}.${t.group}` : t.resource).join(",");
  const list = JSON.parse(
    await output(kubectl, ["--kubeconfig", SOURCE_KUBECONFIG, "get", names, "-n", srcNs, "-o", "json"]),
  ) as { items: KubeObject[] };
  const nsObject = JSON.parse(
    await output(kubectl, ["--kubeconfig", SOURCE_KUBECONFIG, "get", "namespace", srcNs, "-o", "json"]),
  ) as KubeObject;
  const items = prepared.types.map((type) => ({
    type,
    objects: list.items.filter((o) => o.kind === type.kind && o.apiVersion === apiVersionOf(type)),
  }));
  const desired = buildDesiredState(
    { namespace: nsObject, items },
    transformContext(replicationSpec({ name: "bench", sourceNamespace: srcNs, destNamespace: dest })),
  );
  const objects = desired.entries.flatMap((e) => e.outcome.action === "copy" ? [e.outcome.object] : []);
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(
      file,
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [desired.namespace, ...objects] }),
    );
    await output(kubectl, [
      "--kubeconfig",
      DR_KUBECONFIG,
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager",
      "dr-syncer",
      "-f",
      file,
    ]);
  } finally {
    await Deno.remove(file);
  }
}
/** Prints the results' table and writes `bench/results.json` (and the scale chart when the scale case ran). */
async function publish(results: Result[]): Promise<void> {
  const fmt = (n: number | null, d = 2) => n === null ? "-" : n.toFixed(d);
  console.log(
    "\n| case | objects | runs | median s | baseline | baseline s | ratio | writes | requests | peak RSS MB | target | met | note |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.case} | ${r.objects ?? "-"} | ${r.runs} | ${fmt(r.median_s)} | ${r.baseline ?? "-"} | ${
        fmt(r.baseline_median_s)
      } | ${fmt(r.ratio)} | ${r.writes ?? "-"} | ${r.requests ?? "-"} | ${
        r.peak_rss_mb ?? "-"
      } | ${r.target} | ${r.met === null ? "-" : r.met ? "yes" : "no"} | ${r.note ?? ""} |`,
    );
  }
  await Deno.mkdir(new URL("../../bench/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("../../bench/results.json", import.meta.url),
    JSON.stringify(results, null, 2) + "\n",
  );
  const chart = scaleChartSvg(results);
  if (chart) {
    const chartFile = new URL("../../bench/scale.svg", import.meta.url);
    await Deno.writeTextFile(chartFile, chart);
    log(`scale chart: ${chartFile.pathname}`);
  }
}

const PVC_CASES = ["pvc-cold", "pvc-delta"];
// Only PVC data cases asked: agents and sshd on this machine, no cluster needed.
if (values.case !== undefined && values.case.every((name) => PVC_CASES.includes(name))) {
  await publish(await pvcCases(values.case, RUNS, values["pvc-dir"]));
  Deno.exit(0);
}
await using clusters = await testClusters();
const { source, dr } = clusters;
const results: Result[] = [];
const cleanup: string[] = [];
const runId = Date.now().toString(36);

try {
  await quiesce();
  if (["stage-cold", "stage-cold-hand", "stage-warm", "stage-delta"].some(wanted)) {
    const srcNs = `bench-src-${runId}`;
    await createNamespace(source, srcNs);
    log(`seeding ${SCALE} objects in ${srcNs}`);
    const seeded = benchObjects(srcNs, SCALE);
    await seedSource(seeded, CONCURRENCY);
    const spec = (dest: string) =>
      replicationSpec({ name: "bench", sourceNamespace: srcNs, destNamespace: dest });
    const deps = { source, dr, logger: silentLogger, concurrency: CONCURRENCY };

    // the already-transformed objects for the floor (computed once, untimed)
    const planSpec = spec(`bench-plan-${runId}`);
    const prepared = await prepareSync(source, dr, {
      replication: planSpec,
      checked: await checkSync(source, dr, planSpec),
      prune: false,
    });
    const desired = prepared.plan.entries.filter((e) => e.desired).map((e) => e.desired!);
    const types = new Map(prepared.plan.entries.map((e) => [e.type.kind, e.type]));

    const cold: number[] = [], floor: number[] = [];
    let coldCounts = { requests: 0, writes: 0 }, coldRss = 0;
    for (let i = 0; i < RUNS; i++) {
      const floorNs = `bench-floor-${runId}-${i}`;
      cleanup.push(floorNs);
      floor.push((await measure(() => ssaFloor(dr, floorNs, desired, types))).seconds);
      const dest = `bench-dr-${runId}-${i}`;
      cleanup.push(dest);
      const count = counters(dr);
      const m = await measure(async () => {
        const report = await stage(deps, { replication: spec(dest) });
        if (report.status !== "succeeded") throw new Error(`stage failed: ${JSON.stringify(report.counts)}`);
      });
      cold.push(m.seconds);
      coldCounts = count();
      coldRss = Math.max(coldRss, m.peakRssMb);
      log(`stage-cold run ${i + 1}: ${m.seconds.toFixed(2)}s (floor ${floor.at(-1)!.toFixed(2)}s)`);
    }
    const coldMedian = median(cold);
    if (wanted("stage-cold-hand")) {
      const kubectl = await kubectlPath();
      const hand: number[] = [];
      for (let i = 0; kubectl && i < RUNS; i++) {
        const handNs = `bench-hand-${runId}-${i}`;
        cleanup.push(handNs);
        hand.push((await measure(() => byHand(kubectl, prepared, srcNs, handNs))).seconds);
        log(`stage-cold-hand run ${i + 1}: ${hand.at(-1)!.toFixed(2)}s`);
      }
      results.push({
        case: "stage-cold-hand",
        objects: desired.length,
        runs: hand.length,
        median_s: coldMedian,
        baseline: "kubectl get + transform + kubectl apply --server-side",
        baseline_median_s: hand.length ? median(hand) : null,
        ratio: hand.length ? coldMedian / median(hand) : null,
        writes: null,
        requests: null,
        peak_rss_mb: null,
        target: "faster than by hand (ratio < 1)",
        met: hand.length ? coldMedian < median(hand) : null,
      });
    }
    results.push({
      case: "stage-cold",
      objects: desired.length,
      runs: RUNS,
      median_s: coldMedian,
      baseline: "ssa-floor",
      baseline_median_s: median(floor),
      ratio: coldMedian / median(floor),
      writes: coldCounts.writes,
      requests: coldCounts.requests,
      peak_rss_mb: coldRss,
      target: "<= 1.25x floor",
      met: coldMedian / median(floor) <= 1.25,
    });

    const dest = `bench-dr-${runId}-0`;
    if (wanted("stage-warm")) {
      const { times: warm, counts: c, rss } = await repeatStage(() =>
        Promise.resolve(() => stage(deps, { replication: spec(dest) }))
      );
      const r = median(warm) / coldMedian;
      results.push({
        case: "stage-warm",
        objects: desired.length,
        runs: RUNS,
        median_s: median(warm),
        baseline: "stage-cold",
        baseline_median_s: coldMedian,
        ratio: r,
        writes: c.writes,
        requests: c.requests,
        peak_rss_mb: rss,
        target: "0 object writes (2 lock writes); <= 10% of stage-cold",
        met: r <= 0.10 && c.writes <= 2,
      });
    }
    if (wanted("stage-delta")) {
      const changedCount = Math.max(1, Math.round(seeded.length / 100));
      const { times: delta, counts: c, rss } = await repeatStage(async (i) => {
        const changed = seeded.filter((o) => o.kind === "ConfigMap").slice(0, changedCount).map((o) => ({
          ...o,
          data: { ...(o.data as Record<string, string>), rev: `${runId}-${i}` },
        }));
        await seedSource(changed, CONCURRENCY);
        return () => stage(deps, { replication: spec(dest) });
      });
      const r = median(delta) / coldMedian;
      results.push({
        case: "stage-delta",
        objects: changedCount,
        runs: RUNS,
        median_s: median(delta),
        baseline: "stage-cold",
        baseline_median_s: coldMedian,
        ratio: r,
        writes: c.writes,
        requests: c.requests,
        peak_rss_mb: rss,
        target: `writes == ${changedCount} changed (+2 lock writes); <= 15% of stage-cold`,
        met: r <= 0.15 && c.writes === changedCount + 2,
      });
    }
    cleanup.push(srcNs);
  }

  await quiesce();
  if (asked("scale")) {
    // stage-cold through the CLI in its own process, started as `deno task cli` starts it, so the
    // peak RSS is the function's alone
    const sizes = (values.sizes ?? "1000,5000,20000").split(",").map(Number);
    const rows: {
      size: number;
      median: number;
      rss: number;
      runs: number;
      floor: number;
      times: number[];
    }[] = [];
    for (const size of sizes) {
      const srcNs = `bench-scale-${size}-${runId}`;
      await createNamespace(source, srcNs);
      cleanup.push(srcNs);
      log(`seeding ${size} objects in ${srcNs}`);
      await seedSource(benchObjects(srcNs, size), 32);
      await settle();
      const times: number[] = [];
      let rss = 0;
      const runs = size >= 20000 ? Math.min(RUNS, 3) : RUNS;
      for (let i = 0; i < runs; i++) {
        const dest = `${srcNs}-dr-${i}`;
        cleanup.push(dest);
        const t0 = performance.now();
        const child = new Deno.Command(Deno.execPath(), {
          args: cliArgs(
            "stage",
            "--source-kubeconfig",
            SOURCE_KUBECONFIG,
            "--dest-kubeconfig",
            DR_KUBECONFIG,
            "--source-namespace",
            srcNs,
            "--dest-namespace",
            dest,
            "--output",
            "json",
          ),
          stdout: "piped",
          stderr: "null",
        }).spawn();
        let hwm = 0;
        const poll = setInterval(() => {
          try {
            const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
            hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
          } catch { /* exited */ }
        }, 25);
        const out = await child.output();
        clearInterval(poll);
        const seconds = (performance.now() - t0) / 1000;
        const report = JSON.parse(new TextDecoder().decode(out.stdout));
        if (!out.success || report.status !== "succeeded") {
          throw new Error(`stage of ${size} failed: ${JSON.stringify(report.counts)}`);
        }
        times.push(seconds);
        rss = Math.max(rss, Math.round(hwm / 1024));
        log(`scale ${size} run ${i + 1}: ${seconds.toFixed(2)}s, peak RSS ${Math.round(hwm / 1024)} MB`);
        await deleteAndWait(dr, dest); // every run meets the same, empty DR server
        await settle();
      }
      // the API server's own share: the same objects, already transformed, server-side applied
      // directly at the same concurrency (one run; untimed planning), so the note can tell how much
      // of the growth with size is the server's
      const floorNs = `${srcNs}-floor`;
      cleanup.push(floorNs);
      const floorSpec = replicationSpec({
        name: "bench-scale",
        sourceNamespace: srcNs,
        destNamespace: floorNs,
      });
      const planned = await prepareSync(source, dr, {
        replication: floorSpec,
        checked: await checkSync(source, dr, floorSpec),
        prune: false,
      });
      const floor = (await measure(() =>
        ssaFloor(
          dr,
          floorNs,
          planned.plan.entries.filter((e) => e.desired).map((e) => e.desired!),
          new Map(planned.plan.entries.map((e) => [e.type.kind, e.type])),
        )
      )).seconds;
      log(`scale ${size} SSA floor: ${floor.toFixed(2)}s`);
      await deleteAndWait(dr, floorNs);
      await settle();
      rows.push({ size, median: median(times), rss, runs, floor, times });
      await deleteAndWait(source, srcNs);
    }
    const base = rows[0]!;
    for (const r of rows) {
      const ratio = r.median / base.median;
      const allowed = (r.size / base.size) * 1.25;
      results.push({
        case: `scale-${r.size}`,
        objects: r.size,
        runs: r.runs,
        median_s: r.median,
        baseline: `scale-${base.size}`,
        baseline_median_s: base.median,
        ratio,
        writes: null,
        requests: null,
        peak_rss_mb: r.rss,
        target: `<= ${allowed.toFixed(2)}x (linear); RSS <= 200 MB at 20k`,
        met: ratio <= allowed && (r.size < 20000 || r.rss <= 200),
        note:
          `SSA floor ${r.floor.toFixed(2)}s (${
            (r.floor / base.floor).toFixed(1)
          }x the floor at ${base.size}); ` +
          `stage/floor ${(r.median / r.floor).toFixed(2)}`,
        date: new Date().toISOString().slice(0, 10),
        series: [
          ...r.times.map((y) => ({ x: r.size, y, label: "run_s" })),
          { x: r.size, y: r.floor, label: "floor_s" },
        ],
      });
    }
  }

  await quiesce();
  if (wanted("cutover")) {
    const srcNs = `bench-cut-${runId}`;
    await createNamespace(source, srcNs);
    cleanup.push(srcNs);
    const objs = scalableObjects(srcNs, 100, 20);
    await seedSource(objs, CONCURRENCY);
    const dest = `${srcNs}-dr`;
    cleanup.push(dest);
    const spec = replicationSpec({
      name: "bench-cut",
      sourceNamespace: srcNs,
      destNamespace: dest,
      resourceTypes: ["deployments", "statefulsets"],
    });
    const deps = { source, dr, logger: silentLogger, concurrency: CONCURRENCY };
    await stage(deps, { replication: spec });
    const times: number[] = [], floors: number[] = [], floors48: number[] = [];
    const stepTimes = new Map<string, number[]>(); // per step of the report, its durations (ms)
    let c = { requests: 0, writes: 0 }, rss = 0;
    const patch = (client: KubeClient, ns: string, o: KubeObject, replicas: number) =>
      client.request({
        method: "PATCH",
        path: `/apis/apps/v1/namespaces/${ns}/${
          o.kind === "Deployment" ? "deployments" : "statefulsets"
        }/${o.metadata.name}`,
        contentType: "application/merge-patch+json",
        body: { spec: { replicas } },
      });
    for (let i = 0; i < RUNS; i++) {
      // both the cutover and its floor start from clusters at rest (the pods of the last step created)
      await settle();
      const count = counters(dr);
      const sc = counters(source);
      const m = await measure(async () => {
        const report = await cutover(deps, { replication: spec });
        if (report.status !== "succeeded") throw new Error(`cutover failed: ${JSON.stringify(report.steps)}`);
        for (const step of report.steps) {
          if (step.durationMs === undefined) continue;
          stepTimes.set(step.step, [...(stepTimes.get(step.step) ?? []), step.durationMs]);
        }
      });
      times.push(m.seconds);
      const a = count(), b = sc();
      c = { requests: a.requests + b.requests, writes: a.writes + b.writes };
      rss = Math.max(rss, m.peakRssMb);
      await failback(deps, { replication: spec });
      await settle();
      // the floor: the same scale patches sent directly (source to 0, DR up), then put back
      // (16 at a time, the baseline as first defined; and 48, as many as cutover's scale writes)
      for (const [inFlight, into] of [[CONCURRENCY, floors], [CONCURRENCY * 3, floors48]] as const) {
        if (into === floors48) await settle();
        into.push(
          (await measure(async () => {
            await pooledMap(objs, inFlight, (o) => patch(source, srcNs, o, 0));
            await pooledMap(
              objs,
              inFlight,
              (o) => patch(dr, dest, o, (o.spec as { replicas: number }).replicas),
            );
          })).seconds,
        );
        await pooledMap(objs, CONCURRENCY, (o) => patch(dr, dest, o, 0));
        await pooledMap(
          objs,
          CONCURRENCY,
          (o) => patch(source, srcNs, o, (o.spec as { replicas: number }).replicas),
        );
      }
      log(
        `cutover run ${i + 1}: ${m.seconds.toFixed(2)}s (floor ${floors.at(-1)!.toFixed(2)}s, at ${
          CONCURRENCY * 3
        } in flight ${floors48.at(-1)!.toFixed(2)}s)`,
      );
    }
    const perStep = [...stepTimes].map(([step, ms]) => `${step} ${(median(ms) / 1000).toFixed(2)}s`).join(
      ", ",
    );
    log(`cutover steps (median): ${perStep}`);
    const r = median(times) / median(floors);
    results.push({
      case: "cutover",
      objects: objs.length,
      runs: RUNS,
      median_s: median(times),
      baseline: "scale-patch-floor",
      baseline_median_s: median(floors),
      ratio: r,
      writes: c.writes,
      requests: c.requests,
      peak_rss_mb: rss,
      target: "<= 1.3x floor",
      met: r <= 1.3,
      note: `steps (median): ${perStep}; the floor at ${
        CONCURRENCY * 3
      } in flight (cutover's scale writes): ${median(floors48).toFixed(2)}s, ratio ${
        (median(times) / median(floors48)).toFixed(2)
      }`,
    });
  }

  const ctx: BenchContext = {
    source,
    dr,
    runId,
    runs: RUNS,
    objects: SCALE,
    cleanup,
    seed: seedSource,
    settle,
    measure,
    counters,
  };
  // the second scale shape, `--namespaces COUNTxOBJECTS` (default 200x100)
  const [namespaces = 200, perNamespace = 100] = (values.namespaces ?? "200x100").split("x").map(Number);
  for (
    const [name, run] of [
      ["scale-namespaces", () => scaleNamespaces(ctx, { namespaces, perNamespace })],
      ["http-trigger", () => httpTrigger(ctx)],
      ...(values.rate ?? ["20", "200"]).map((rate) =>
        [
          "continuous-latency",
          () =>
            continuousLatency(ctx, {
              rate: Number(rate),
              ...(values.seconds ? { seconds: Number(values.seconds) } : {}),
            }),
        ] as const
      ),
      ["serve-idle", () => serveIdle(ctx, { seconds: Number(values.seconds ?? 120) })],
      ["resource-change", () => resourceChange(ctx)],
    ] as const
  ) {
    if (!asked(name) && !(name === "scale-namespaces" && asked("scale"))) continue;
    await quiesce();
    const result = await run();
    results.push(...(Array.isArray(result) ? result : [result]));
  }
  // the PVC data cases need no clusters: agents and sshd on this machine
  const pvc = PVC_CASES.filter(asked);
  if (pvc.length > 0) results.push(...await pvcCases(pvc, RUNS, values["pvc-dir"]));
} finally {
  for (const ns of cleanup) {
    await deleteNamespace(
      ns.startsWith("bench-src") || ns.startsWith("bench-cut-") && !ns.endsWith("-dr") ||
        ns.startsWith("bench-scale-") && !ns.includes("-dr-")
        ? source
        : dr,
      ns,
    );
  }
}

await publish(results);
