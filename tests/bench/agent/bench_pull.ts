/**
 * The PVC data path as pvc-sync will run it: the DR side's rsync *client* pulls from the agent (the agent runs
 * `rsync --server --sender`, so the agent encrypts), beside the same rsync pulling through OpenSSH's sshd
 * (started here with a temporary config, needs `sshd` and root), on 127.0.0.1, in the same run:
 *
 * - `pvc-cold`: one 512 MiB file + 10,000 files of 50 KiB (1 GiB), pulled into an empty folder;
 * - `pvc-delta`: then 1% of the small files rewritten at the source (same size, new content), pulled again.
 *
 * The agent side is pvc-sync's own path (`--via pull`, the default): a second agent, the receiving node's, runs
 * `dr-syncer-agent pull` and its rsync client pulls from the first; `--via rsync` runs that rsync client here
 * instead (the same data path without the second agent).
 *
 * Each run does agent and sshd back to back (which goes first alternates), each into its own destination, with
 * the rsync options pvc-sync's pull runs (`PULL_RSYNC_OPTIONS`: `-aHSAX --numeric-ids`, then `--delete
 * --partial`) on both sides, so both servers' rsync do the same work (ACLs and extended attributes included;
 * `"--sshd-rsync-options=-aHS --numeric-ids"` for the older, lighter baseline). Prints a table (medians over the runs, the
 * agent's CPU seconds from /proc, and the server side's: the agent with its rsync beside sshd's session
 * processes with theirs) and writes every figure as JSON (`--json`).
 *
 *   deno run -A tests/bench/agent/bench_pull.ts [--runs 3] [--big-mb 512] [--small 10000] [--json FILE]
 *     ["--agent-args=--ciphers aes128-ctr"] ["--deno-flags=--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *     [--sshd-cipher aes128-gcm@openssh.com|default] [--dir /tmp]
 */
import { parseArgs } from "node:util";
import { generateTransferKey, runPullOn } from "../../../shared/pvc/pull_client.ts";
import { PULL_RSYNC_OPTIONS } from "../../../agent/run_pull.ts";
import {
  generateKeyPair,
  makeVolume,
  pseudoRandomBytes,
  run,
  sshArgs,
  startAgentProcess,
  writeAuthorizedKeys,
  writeKnownHosts,
} from "../../support/agent/mod.ts";
import { median, startSshd } from "./bench_support.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    "big-mb": { type: "string", default: "512" },
    small: { type: "string", default: "10000" },
    "small-kb": { type: "string", default: "50" },
    "changed-percent": { type: "string", default: "1" },
    dir: { type: "string", default: "/tmp" },
    json: { type: "string", default: "/tmp/agent_bench_pull.json" },
    "agent-args": { type: "string", default: "" },
    "deno-flags": { type: "string", default: "" },
    "sshd-cipher": { type: "string", default: "aes128-gcm@openssh.com" },
    cases: { type: "string", default: "pvc-cold,pvc-delta" },
    via: { type: "string", default: "pull" },
    "sshd-rsync-options": { type: "string", default: PULL_RSYNC_OPTIONS.join(" ") },
  },
});
const runs = Number(values.runs);
const bigBytes = Number(values["big-mb"]) * 1024 * 1024;
const smallCount = Number(values.small);
const smallBytes = Number(values["small-kb"]) * 1024;
const changedEvery = Math.max(1, Math.round(100 / Number(values["changed-percent"])));
const totalBytes = bigBytes + smallCount * smallBytes;
const words = (text: string) => text.split(/\s+/).filter((word) => word !== "");
const wantedCases = new Set(values.cases.split(","));
/** rsync's options for the sshd side (and `--via rsync`): pvc-sync's own by default. */
const rsyncOptions = words(values["sshd-rsync-options"]);
const encoder = new TextEncoder();
const say = (text: string) => Deno.stderr.writeSync(encoder.encode(`${text}\n`));
const print = (text: string) => Deno.stdout.writeSync(encoder.encode(`${text}\n`));

async function writeData(folder: string): Promise<void> {
  using file = await Deno.open(`${folder}/big.bin`, { write: true, create: true, truncate: true });
  const chunk = 8 * 1024 * 1024;
  for (let written = 0; written < bigBytes; written += chunk) {
    await file.write(pseudoRandomBytes(Math.min(chunk, bigBytes - written), written / chunk + 1));
  }
  for (let i = 0; i < smallCount; i++) {
    if (i % 1000 === 0) await Deno.mkdir(`${folder}/small/d${i / 1000}`, { recursive: true });
    await Deno.writeFile(smallPath(folder, i), pseudoRandomBytes(smallBytes, i + 1000));
  }
}

function smallPath(folder: string, i: number): string {
  return `${folder}/small/d${Math.floor(i / 1000)}/f${i}.bin`;
}

/** Rewrites 1 in `changedEvery` small files (a different set each run), same size, new content. */
async function changeSome(folder: string, runIndex: number): Promise<number> {
  let changed = 0;
  for (let i = runIndex % changedEvery; i < smallCount; i += changedEvery) {
    await Deno.writeFile(smallPath(folder, i), pseudoRandomBytes(smallBytes, (runIndex + 1) * 1_000_003 + i));
    changed++;
  }
  return changed;
}

/**
 * A process's own CPU seconds (user + system, and the system part alone), and with its children that ended
 * (rsync for the agent, sessions for sshd).
 */
async function cpuSeconds(pid: number | undefined): Promise<{ self: number; system: number; tree: number }> {
  if (pid === undefined) return { self: 0, system: 0, tree: 0 };
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ").map(Number);
  const self = (fields[11]! + fields[12]!) / 100; // utime + stime, in clock ticks
  return { self, system: fields[12]! / 100, tree: self + (fields[13]! + fields[14]!) / 100 }; // + cutime + cstime
}

const dir = await Deno.makeTempDir({ dir: values.dir, prefix: "agent-bench-pull-" });
const cleanup: (() => Promise<unknown>)[] = [];
try {
  const root = `${dir}/kubelet`;
  const source = await makeVolume(root, "pod-src", "kubernetes.io~csi", "pvc-src");
  say(
    `writing ${(totalBytes / 2 ** 20).toFixed(0)} MiB (1 x ${values["big-mb"]} MiB + ${smallCount} x ${
      values["small-kb"]
    } KiB) ...`,
  );
  await writeData(source);
  const [host, client, sshdHost] = await Promise.all(
    ["host", "client", "sshd-host"].map((name) => generateKeyPair(dir, name)),
  );
  await writeAuthorizedKeys(`${dir}/authorized-keys.json`, [{
    publicKey: client!.publicKey,
    volume: { podUid: "pod-src", volumeName: "pvc-src" },
    mode: "sender",
    expiresAt: "2099-01-01T00:00:00Z",
  }]);
  await writeKnownHosts(`${dir}/known_hosts`, host!.publicKey);
  await writeKnownHosts(`${dir}/known_hosts_sshd`, sshdHost!.publicKey);
  const agent = await startAgentProcess({
    root,
    hostKey: host!.privateKey,
    authorizedKeys: `${dir}/authorized-keys.json`,
    args: words(values["agent-args"]),
    denoFlags: words(values["deno-flags"]),
  });
  cleanup.push(() => agent.stop());

  const sshd = await startSshd(dir, sshdHost!.privateKey, client!.publicKey);
  const sshdPort = sshd.port;
  cleanup.push(() => sshd.stop());

  // the receiving node's agent, for pvc-sync's own path: it pulls into its volume from the agent above
  const receiverRoot = `${dir}/kubelet-dr`;
  const receiverVolume = await makeVolume(receiverRoot, "pod-dst", "kubernetes.io~csi", "pvc-dst");
  const receiverHost = await generateKeyPair(dir, "host-dr");
  const receiverKey = generateTransferKey("bench receiver");
  await writeAuthorizedKeys(`${dir}/authorized-keys-dr.json`, [{
    publicKey: receiverKey.publicKey,
    volume: { podUid: "pod-dst", volumeName: "pvc-dst" },
    mode: "receiver",
    expiresAt: "2099-01-01T00:00:00Z",
  }]);
  const receiver = values.via === "pull"
    ? await startAgentProcess({
      root: receiverRoot,
      hostKey: receiverHost.privateKey,
      authorizedKeys: `${dir}/authorized-keys-dr.json`,
    })
    : undefined;
  if (receiver !== undefined) cleanup.push(() => receiver.stop());
  const pullRequest = {
    source: {
      host: "127.0.0.1",
      port: agent.port,
      hostKey: host!.publicKey.split(/\s+/).slice(0, 2).join(" "),
    },
    identity: await Deno.readTextFile(client!.privateKey),
  };

  const user = Deno.env.get("USER") ?? "root";
  const sshdCipher = values["sshd-cipher"] === "default" ? [] : ["-c", values["sshd-cipher"]];
  interface Side {
    readonly name: "agent" | "sshd";
    readonly transport: string;
    readonly from: string;
    readonly to: string;
    readonly pid: number;
  }
  const sides: Side[] = [
    {
      name: "agent",
      transport: [
        "ssh",
        ...sshArgs({ port: agent.port, identity: client!.privateKey, knownHosts: `${dir}/known_hosts` }),
      ]
        .join(" "),
      from: "agent@127.0.0.1:./",
      to: values.via === "pull" ? `${receiverVolume}/` : `${dir}/dst-agent/`,
      pid: agent.pid,
    },
    {
      name: "sshd",
      transport: [
        "ssh",
        ...sshArgs({ port: sshdPort, identity: client!.privateKey, knownHosts: `${dir}/known_hosts_sshd` }),
        ...sshdCipher,
      ].join(" "),
      from: `${user}@127.0.0.1:${source}/`,
      to: `${dir}/dst-sshd/`,
      pid: sshd.pid,
    },
  ];
  interface Sample {
    readonly case: string;
    readonly side: string;
    readonly run: number;
    readonly seconds: number;
    readonly agentCpuSeconds: number | null;
    /** The system (kernel) part of `agentCpuSeconds`. */
    readonly agentSystemSeconds: number | null;
    /** The server side's CPU: the agent and its rsync, or sshd's session processes and their rsync. */
    readonly serverCpuSeconds: number;
  }
  const samples: Sample[] = [];
  const pull = async (caseName: string, side: Side, runIndex: number) => {
    await run("sync", []);
    const cpuBefore = await cpuSeconds(side.pid);
    const started = performance.now();
    const result = side.name === "agent" && receiver !== undefined
      ? await runPullOn(
        {
          host: "127.0.0.1",
          port: receiver.port,
          hostKey: receiverHost.publicKey,
          privateKey: receiverKey.privateKey,
        },
        pullRequest,
      ).then((outcome) => ({ code: outcome.exitCode, stderr: outcome.stderr }))
      : await run(
        "rsync",
        [...rsyncOptions, "--delete", "--partial", "-e", side.transport, side.from, side.to],
        { timeoutMs: 900_000 },
      );
    const seconds = (performance.now() - started) / 1000;
    // sshd's session processes have ended (and been counted) once the client is done; give them a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cpuAfter = await cpuSeconds(side.pid);
    const cpu = side.name === "agent" ? cpuAfter.self - cpuBefore.self : null;
    const system = side.name === "agent" ? cpuAfter.system - cpuBefore.system : null;
    const serverCpu = cpuAfter.tree - cpuBefore.tree;
    if (result.code !== 0) throw new Error(`${caseName} via ${side.name} failed: ${result.stderr}`);
    // The sending agent's transfer entry: how many reads of rsync's stdout the data took, and its pipe's size.
    const entry = side.name === "agent"
      ? agent.logs.findLast((e) => e.msg === "transfer finished" && e.mode === "sender")
      : undefined;
    const reads = typeof entry?.outputReads === "number" && typeof entry.bytesOut === "number"
      ? `, ${entry.outputReads} reads of rsync's stdout (${
        (entry.bytesOut / entry.outputReads / 1024).toFixed(0)
      } KiB each, pipe ${entry.pipeKiB} KiB)`
      : "";
    samples.push({
      case: caseName,
      side: side.name,
      run: runIndex + 1,
      seconds,
      agentCpuSeconds: cpu,
      agentSystemSeconds: system,
      serverCpuSeconds: serverCpu,
    });
    say(
      `run ${runIndex + 1} ${caseName} ${side.name}: ${seconds.toFixed(2)} s, server CPU ${
        serverCpu.toFixed(2)
      } s${
        cpu === null ? "" : ` (agent alone ${cpu.toFixed(2)} s, of it system ${system!.toFixed(2)} s)`
      }${reads}`,
    );
  };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    if (wantedCases.has("pvc-cold") || i === 0) {
      for (const side of order) {
        await Deno.remove(side.to, { recursive: true }).catch(() => {});
        await Deno.mkdir(side.to, { recursive: true });
        await pull("pvc-cold", side, i);
      }
    }
    if (wantedCases.has("pvc-delta")) {
      const changed = await changeSome(source, i);
      say(`run ${i + 1}: ${changed} files changed at the source`);
      for (const side of order) await pull("pvc-delta", side, i);
    }
  }
  // Both copies must equal the source (contents compared, not just sizes and times).
  for (const side of sides) {
    const check = await run("rsync", ["-anc", "--delete", "--itemize-changes", `${source}/`, side.to], {
      timeoutMs: 600_000,
    });
    if (check.code !== 0 || check.stdout.trim() !== "") {
      throw new Error(`The ${side.name} copy differs from the source: ${check.stdout.slice(0, 500)}`);
    }
  }

  const mib = totalBytes / 2 ** 20;
  const gib = totalBytes / 2 ** 30;
  const rows = [...new Set(samples.map((s) => s.case))].map((caseName) => {
    const of = (side: string) => samples.filter((s) => s.case === caseName && s.side === side);
    const agentSeconds = median(of("agent").map((s) => s.seconds));
    const sshdSeconds = median(of("sshd").map((s) => s.seconds));
    return {
      case: caseName,
      agentSeconds,
      sshdSeconds,
      agentMiBs: mib / agentSeconds,
      sshdMiBs: mib / sshdSeconds,
      /** sshd time / agent time: 1 means as fast as sshd (target >= 0.8 cold, <= 1.5x the time for delta). */
      ratio: sshdSeconds / agentSeconds,
      /** The same per run (agent and sshd back to back), then the median: less swayed by load that drifts. */
      pairedRatio: median(of("agent").map((a, i) => of("sshd")[i]!.seconds / a.seconds)),
      agentCpuSeconds: median(of("agent").map((s) => s.agentCpuSeconds ?? 0)),
      agentServerCpuSeconds: median(of("agent").map((s) => s.serverCpuSeconds)),
      sshdServerCpuSeconds: median(of("sshd").map((s) => s.serverCpuSeconds)),
      /** The server side's CPU per GiB of the data set: agent + its rsync, sshd + its rsync. */
      agentServerCpuPerGiB: median(of("agent").map((s) => s.serverCpuSeconds)) / gib,
      sshdServerCpuPerGiB: median(of("sshd").map((s) => s.serverCpuSeconds)) / gib,
      /** agent + rsync CPU over sshd + rsync CPU, per run (back to back), then the median (target <= 1.2 cold). */
      cpuRatio: median(of("agent").map((a, i) => a.serverCpuSeconds / of("sshd")[i]!.serverCpuSeconds)),
      agentRuns: of("agent").map((s) => s.seconds),
      sshdRuns: of("sshd").map((s) => s.seconds),
    };
  });
  print(
    "| case | agent s | sshd s | agent MiB/s | sshd MiB/s | agent/sshd speed (per-run median) | agent CPU s | " +
      "server CPU s, agent+rsync / sshd+rsync | server CPU s per GiB, agent+rsync / sshd+rsync (per-run median) " +
      "| runs agent / sshd (s) |",
  );
  print(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  const fixed = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(", ");
  for (const row of rows) {
    print(
      `| ${row.case} | ${row.agentSeconds.toFixed(2)} | ${row.sshdSeconds.toFixed(2)} | ${
        row.agentMiBs.toFixed(0)
      } | ${row.sshdMiBs.toFixed(0)} | ${row.ratio.toFixed(2)}x (${row.pairedRatio.toFixed(2)}x) | ${
        row.agentCpuSeconds.toFixed(2)
      } | ${row.agentServerCpuSeconds.toFixed(2)} / ${row.sshdServerCpuSeconds.toFixed(2)} | ${
        row.agentServerCpuPerGiB.toFixed(2)
      } / ${row.sshdServerCpuPerGiB.toFixed(2)} (${row.cpuRatio.toFixed(2)}x) | ${fixed(row.agentRuns)} / ${
        fixed(row.sshdRuns)
      } |`,
    );
  }
  const loadavg = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  await Deno.writeTextFile(
    values.json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        commit: (await run("git", ["rev-parse", "--short", "HEAD"])).stdout.trim(),
        loadavg,
        data: { bigBytes, smallCount, smallBytes, changedEvery, totalBytes },
        agentArgs: values["agent-args"],
        via: values.via,
        sshdCipher: values["sshd-cipher"],
        sshdRsyncOptions: rsyncOptions,
        rows,
        samples,
      },
      null,
      2,
    ) + "\n",
  );
  say(`figures written to ${values.json} (load average at the end: ${loadavg})`);
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
