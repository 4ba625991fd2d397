/**
 * The PVC data cases of the benchmark (docs/benchmarks.md): `pvc-cold` (1 GiB: one 512 MiB file and 10,000
 * files of 50 KiB, into an empty volume) and `pvc-delta` (1% of the small files changed, copied again), moved
 * the way pvc-sync moves them (the receiving node's agent pulls from the sending node's agent), beside
 * `rsync -aHS` over OpenSSH's sshd between the same folders, interleaved in the same run.
 * `tests/bench/agent/bench_pull.ts` does the work (it needs no clusters); this reads its JSON.
 */
import { log, type Result } from "./bench_result.ts";

const SCRIPT = new URL("./agent/bench_pull.ts", import.meta.url).pathname;

interface Row {
  case: string;
  agentSeconds: number;
  sshdSeconds: number;
  pairedRatio: number;
  agentMiBs: number;
  sshdMiBs: number;
  agentServerCpuPerGiB: number;
  sshdServerCpuPerGiB: number;
  cpuRatio: number;
}

/** Runs the asked PVC cases `runs` times each, their data in `dir` (bench_pull's default: /tmp); one result per case. */
export async function pvcCases(cases: readonly string[], runs: number, dir?: string): Promise<Result[]> {
  const json = await Deno.makeTempFile({ prefix: "bench-pvc-", suffix: ".json" });
  try {
    log(`PVC data: ${cases.join(", ")}, ${runs} run(s) each, agent to agent beside rsync over sshd`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", SCRIPT, "--runs", String(runs), "--cases", cases.join(","), "--json", json],
        ...(dir === undefined ? [] : ["--dir", dir]),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    if (!status.success) throw new Error(`bench_pull.ts failed with exit code ${status.code}`);
    const report = JSON.parse(await Deno.readTextFile(json)) as { rows: Row[] };
    return report.rows.filter((row) => cases.includes(row.case)).map((row) => {
      const cold = row.case === "pvc-cold";
      // the ratio is the agent's time over sshd's (median of per-run pairs): < 1.25 is >= 0.8x the speed
      const ratio = 1 / row.pairedRatio;
      return {
        case: row.case,
        objects: null,
        runs,
        median_s: row.agentSeconds,
        baseline: "rsync-openssh",
        baseline_median_s: row.sshdSeconds,
        ratio,
        writes: null,
        requests: null,
        peak_rss_mb: null,
        target: cold ? ">= 0.8x rsync/OpenSSH throughput" : "<= 1.5x rsync/OpenSSH time",
        met: cold ? row.pairedRatio >= 0.8 : ratio <= 1.5,
        note: `${row.agentMiBs.toFixed(0)} MiB/s vs ${row.sshdMiBs.toFixed(0)} MiB/s; server CPU per GiB ` +
          `(agent+rsync vs sshd+rsync) ${row.agentServerCpuPerGiB.toFixed(2)} s vs ${
            row.sshdServerCpuPerGiB.toFixed(2)
          } s, ${row.cpuRatio.toFixed(2)}x${cold ? " (target <= 1.2x)" : ""}`,
      };
    });
  } finally {
    await Deno.remove(json).catch(() => {});
  }
}
