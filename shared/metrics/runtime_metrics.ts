/**
 * The runtime's Prometheus metrics (prom-client), in a registry of their own so that several
 * runtimes in one process (tests) do not share counters. Runs are counted as they end; the
 * per-replication gauges (last success, RPO, active side) are set from the replications' status
 * just before each scrape.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RunReport } from "../run_report.ts";

export interface ReplicationGauges {
  readonly replication: string;
  /** Per operation, when it last succeeded (ISO time). */
  readonly lastSuccess: Readonly<Partial<Record<string, string>>>;
  readonly rpoRatio: number | null;
  readonly rpoSeconds: number | null;
  readonly activeSide: "source" | "dr" | undefined;
  /** How long the replication's lock has been held by a run whose lease is alive (0: not held). */
  readonly lockHeldSeconds?: number | undefined;
}

export interface RuntimeMetrics {
  readonly registry: Registry;
  /** A run that produced a report. */
  runFinished(report: RunReport, trigger: string): void;
  /** A run that ended with an error before its report (`code`: the error table's word). */
  runErrored(operation: string, code: string, trigger: string, durationMs: number): void;
  runStarted(): void;
  runSettled(): void;
  /** A run that waits for a place among the runs at once (`runtime.maxConcurrentRuns`), and its end. */
  runQueued(): void;
  runDequeued(): void;
  /** A schedule tick and what became of it (`started`, `overlap`, `elsewhere`, `paused`, `draining`, `failed`). */
  tick(replication: string, outcome: string): void;
  /** A continuous replication's watch: an applied change and its lag from the source's change. */
  watchApplied(replication: string, lagSeconds: number): void;
  watchRelist(replication: string, reason: string): void;
  setReplication(gauges: ReplicationGauges): void;
  /** A new version of a config source (`file`, `resources`) and whether it was taken (`applied`, `invalid`). */
  configReload(source: string, result: "applied" | "invalid" | "unchanged", generation: number): void;
  /** The replications the runtime has now. */
  setReplications(count: number): void;
  /** The PVC data agents' pods of a cluster, ready and not. */
  setAgentPods(cluster: string, ready: number, notReady: number): void;
  /** The exposition text. */
  metrics(): Promise<string>;
  readonly contentType: string;
}

const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  const registers = [registry];
  const runs = new Counter({
    name: "dr_syncer_runs_total",
    help: "Runs by operation, result (succeeded, failed, or the error code that stopped them) and trigger.",
    labelNames: ["operation", "result", "trigger"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "dr_syncer_run_duration_seconds",
    help: "Duration of runs by operation.",
    labelNames: ["operation"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const objects = new Counter({
    name: "dr_syncer_objects_total",
    help: "Objects handled by runs, by operation and action.",
    labelNames: ["operation", "action"] as const,
    registers,
  });
  const pvcBytes = new Counter({
    name: "dr_syncer_pvc_bytes_total",
    help:
      "Size of the files PVC data passes transferred (new or changed files), by replication and operation",
    labelNames: ["replication", "operation"],
    registers,
  });
  const pvcWireBytes = new Counter({
    name: "dr_syncer_pvc_wire_bytes_total",
    help: "Bytes PVC data passes sent over the network (rsync deltas), by replication and operation",
    labelNames: ["replication", "operation"],
    registers,
  });
  const pvcFiles = new Counter({
    name: "dr_syncer_pvc_files_total",
    help: "Files PVC data passes transferred, by replication and operation",
    labelNames: ["replication", "operation"],
    registers,
  });
  const inProgress = new Gauge({
    name: "dr_syncer_runs_in_progress",
    help: "Runs this replica is running now.",
    registers,
  });
  const queued = new Gauge({
    name: "dr_syncer_runs_queued",
    help:
      "Runs this replica has started that wait for a place among its runs at once (runtime.maxConcurrentRuns).",
    registers,
  });
  const ticks = new Counter({
    name: "dr_syncer_schedule_ticks_total",
    help:
      "Schedule ticks by replication and outcome (started; overlap: skipped, a run was in progress; elsewhere: another replica took it; paused: the replication is cut over or its cutover unfinished, nothing to copy; draining; failed).",
    labelNames: ["replication", "outcome"] as const,
    registers,
  });
  const lastSuccess = new Gauge({
    name: "dr_syncer_last_success_timestamp_seconds",
    help: "When an operation last succeeded for a replication (Unix time).",
    labelNames: ["replication", "operation"] as const,
    registers,
  });
  const rpoRatio = new Gauge({
    name: "dr_syncer_rpo_ratio",
    help: "Age of the last good sync over the schedule interval (warning at 2, critical at 3).",
    labelNames: ["replication"] as const,
    registers,
  });
  const rpoSeconds = new Gauge({
    name: "dr_syncer_rpo_seconds",
    help: "Age of the last good sync in seconds.",
    labelNames: ["replication"] as const,
    registers,
  });
  const cutOver = new Gauge({
    name: "dr_syncer_replication_cut_over",
    help: "1 while the replication is cut over to DR, else 0.",
    labelNames: ["replication"] as const,
    registers,
  });
  const watchLag = new Histogram({
    name: "dr_syncer_watch_lag_seconds",
    help: "Continuous mode: time from a source change to its copy on DR.",
    labelNames: ["replication"] as const,
    buckets: LAG_BUCKETS,
    registers,
  });
  const relists = new Counter({
    name: "dr_syncer_watch_relists_total",
    help: "Continuous mode: watches resumed with a full list, by reason.",
    labelNames: ["replication", "reason"] as const,
    registers,
  });
  const rss = new Gauge({
    name: "dr_syncer_process_resident_memory_bytes",
    help: "Resident memory of the runtime process.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  void rss;

  const configReloads = new Counter({
    name: "dr_syncer_config_reloads_total",
    help:
      "New versions of the configuration by source (file: the config file; resources: the dr-syncer.io objects) and result (applied; invalid: refused, the last good one kept; unchanged).",
    labelNames: ["source", "result"] as const,
    registers,
  });
  const configInvalid = new Gauge({
    name: "dr_syncer_config_invalid",
    help: "1 while the last version of a config source was refused (the last good one runs), else 0.",
    labelNames: ["source"] as const,
    registers,
  });
  const configGeneration = new Gauge({
    name: "dr_syncer_config_generation",
    help: "The generation of the configuration in force; it grows with every change taken.",
    registers,
  });
  const replicationsGauge = new Gauge({
    name: "dr_syncer_replications",
    help: "The replications the runtime has now (config file and dr-syncer.io objects).",
    registers,
  });
  const lockHeld = new Gauge({
    name: "dr_syncer_lock_held_seconds",
    help:
      "How long the replication's lock has been held by a run whose lease is alive (the Lease's acquireTime to now); 0 while free.",
    labelNames: ["replication"] as const,
    registers,
  });
  const agentPods = new Gauge({
    name: "dr_syncer_agent_pods",
    help:
      "The PVC data agents' pods per cluster of a replication with PVC data, by their Ready condition (both series always exported).",
    labelNames: ["cluster", "ready"] as const,
    registers,
  });
  return {
    registry,
    contentType: registry.contentType,
    setAgentPods(cluster, ready, notReady) {
      agentPods.set({ cluster, ready: "true" }, ready);
      agentPods.set({ cluster, ready: "false" }, notReady);
    },
    configReload(source, result, generation) {
      configReloads.inc({ source, result });
      configInvalid.set({ source }, result === "invalid" ? 1 : 0);
      configGeneration.set(generation);
    },
    setReplications: (count) => replicationsGauge.set(count),
    runFinished(report, trigger) {
      runs.inc({ operation: report.operation, result: report.status, trigger });
      if (report.pvcData !== undefined) {
        pvcBytes.inc({ replication: report.replication, operation: report.operation }, report.pvcData.bytes);
        pvcWireBytes.inc(
          { replication: report.replication, operation: report.operation },
          report.pvcData.wireBytes,
        );
        pvcFiles.inc({ replication: report.replication, operation: report.operation }, report.pvcData.files);
      }
      duration.observe({ operation: report.operation }, report.durationMs / 1000);
      for (const [action, n] of Object.entries(report.counts)) {
        if (n > 0) objects.inc({ operation: report.operation, action }, n);
      }
    },
    runErrored(operation, code, trigger, durationMs) {
      runs.inc({ operation, result: code, trigger });
      duration.observe({ operation }, durationMs / 1000);
    },
    runStarted: () => inProgress.inc(),
    runSettled: () => inProgress.dec(),
    runQueued: () => queued.inc(),
    runDequeued: () => queued.dec(),
    tick: (replication, outcome) => ticks.inc({ replication, outcome }),
    watchApplied: (replication, lag) => watchLag.observe({ replication }, Math.max(0, lag)),
    watchRelist: (replication, reason) => relists.inc({ replication, reason }),
    setReplication(g) {
      for (const [operation, at] of Object.entries(g.lastSuccess)) {
        const t = at === undefined ? NaN : Date.parse(at);
        if (!Number.isNaN(t)) lastSuccess.set({ replication: g.replication, operation }, t / 1000);
      }
      if (g.rpoRatio === null) rpoRatio.remove({ replication: g.replication });
      else rpoRatio.set({ replication: g.replication }, g.rpoRatio);
      if (g.rpoSeconds === null) rpoSeconds.remove({ replication: g.replication });
      else rpoSeconds.set({ replication: g.replication }, g.rpoSeconds);
      if (g.activeSide !== undefined) {
        cutOver.set({ replication: g.replication }, g.activeSide === "dr" ? 1 : 0);
      }
      lockHeld.set({ replication: g.replication }, g.lockHeldSeconds ?? 0);
    },
    metrics: () => registry.metrics(),
  };
}
