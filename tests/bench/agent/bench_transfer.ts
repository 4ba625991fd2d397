/**
 * Measures rsync through the agent beside rsync through OpenSSH's sshd, in the same run, on 127.0.0.1:
 * one large file plus many small ones, pushed into an empty receiving volume and pulled from a sending one.
 * sshd is started by this script with a temporary config (needs `sshd`, as root); the agent is started as
 * `deno task agent` would run it. Prints a table and the median of each case.
 *
 *   deno run -A tests/bench/agent/bench_transfer.ts [--mb 500] [--small 2000] [--runs 3] [--dir /tmp]
 */
import { parseArgs } from "node:util";
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
    mb: { type: "string", default: "500" },
    small: { type: "string", default: "2000" },
    runs: { type: "string", default: "3" },
    dir: { type: "string", default: "/tmp" },
  },
});
const totalBytes = Number(values.mb) * 1024 * 1024;
const smallCount = Number(values.small);
const smallBytes = 50 * 1024;
const runs = Number(values.runs);
const encoder = new TextEncoder();
const say = (text: string) => Deno.stderr.writeSync(encoder.encode(`${text}\n`));
const print = (text: string) => Deno.stdout.writeSync(encoder.encode(`${text}\n`));

async function writeData(folder: string): Promise<void> {
  const big = totalBytes - smallCount * smallBytes;
  using file = await Deno.open(`${folder}/big.bin`, { write: true, create: true, truncate: true });
  const chunk = 8 * 1024 * 1024;
  for (let written = 0; written < big; written += chunk) {
    await file.write(pseudoRandomBytes(Math.min(chunk, big - written), written / chunk + 1));
  }
  await Deno.mkdir(`${folder}/small`, { recursive: true });
  for (let i = 0; i < smallCount; i++) {
    await Deno.writeFile(`${folder}/small/f${i}.bin`, pseudoRandomBytes(smallBytes, i + 1000));
  }
}

const dir = await Deno.makeTempDir({ dir: values.dir, prefix: "agent-bench-" });
const cleanup: (() => Promise<unknown>)[] = [];
try {
  const root = `${dir}/kubelet`;
  const senderVolume = await makeVolume(root, "pod-src", "kubernetes.io~csi", "pvc-src");
  const receiverVolume = await makeVolume(root, "pod-dst", "kubernetes.io~csi", "pvc-dst");
  say(`writing ${values.mb} MB (1 file + ${smallCount} x 50 KiB) ...`);
  await writeData(senderVolume);
  const [host, client, sshdHost] = await Promise.all(
    ["host", "client", "sshd-host"].map((name) => generateKeyPair(dir, name)),
  );
  await writeAuthorizedKeys(`${dir}/authorized-keys.json`, [
    {
      publicKey: client!.publicKey,
      volume: { podUid: "pod-dst", volumeName: "pvc-dst" },
      mode: "receiver",
      expiresAt: "2099-01-01T00:00:00Z",
    },
    {
      publicKey: client!.publicKey,
      volume: { podUid: "pod-src", volumeName: "pvc-src" },
      mode: "sender",
      expiresAt: "2099-01-01T00:00:00Z",
    },
  ]);
  await writeKnownHosts(`${dir}/known_hosts`, host!.publicKey);
  await writeKnownHosts(`${dir}/known_hosts_sshd`, sshdHost!.publicKey);
  const agent = await startAgentProcess({
    root,
    hostKey: host!.privateKey,
    authorizedKeys: `${dir}/authorized-keys.json`,
  });
  cleanup.push(() => agent.stop());
  const agentCtr = await startAgentProcess({
    root,
    hostKey: host!.privateKey,
    authorizedKeys: `${dir}/authorized-keys.json`,
    args: ["--ciphers", "aes128-ctr"],
  });
  cleanup.push(() => agentCtr.stop());

  const sshd = await startSshd(dir, sshdHost!.privateKey, client!.publicKey);
  const sshdPort = sshd.port;
  cleanup.push(() => sshd.stop());

  const agentSsh = (port: number) => [
    "ssh",
    ...sshArgs({ port, identity: client!.privateKey, knownHosts: `${dir}/known_hosts` }),
  ];
  const sshdSsh = (cipher?: string) => [
    "ssh",
    ...sshArgs({ port: sshdPort, identity: client!.privateKey, knownHosts: `${dir}/known_hosts_sshd` }),
    ...(cipher === undefined ? [] : ["-c", cipher]),
  ];
  const pulled = `${dir}/pulled`;
  const user = Deno.env.get("USER") ?? "root";
  const push = { from: `${senderVolume}/`, clear: receiverVolume };
  const pull = { to: `${pulled}/`, clear: pulled };
  const sshdPush = { ...push, to: `${user}@127.0.0.1:${receiverVolume}/` };
  const sshdPull = { ...pull, from: `${user}@127.0.0.1:${senderVolume}/` };
  interface Case {
    readonly name: string;
    readonly transport: string[];
    readonly from: string;
    readonly to: string;
    readonly clear: string;
    /** The agent process whose CPU time is measured. */
    readonly pid?: number;
  }
  const cases: Case[] = [
    {
      name: "push, agent (aes128-gcm)",
      transport: agentSsh(agent.port),
      ...push,
      to: "x@127.0.0.1:.",
      pid: agent.pid,
    },
    {
      name: "push, agent (--ciphers aes128-ctr)",
      transport: agentSsh(agentCtr.port),
      ...push,
      to: "x@127.0.0.1:.",
      pid: agentCtr.pid,
    },
    { name: "push, sshd (aes128-gcm)", transport: sshdSsh("aes128-gcm@openssh.com"), ...sshdPush },
    { name: "push, sshd (client default: chacha20)", transport: sshdSsh(), ...sshdPush },
    {
      name: "pull, agent (aes128-gcm)",
      transport: agentSsh(agent.port),
      ...pull,
      from: "x@127.0.0.1:./",
      pid: agent.pid,
    },
    {
      name: "pull, agent (--ciphers aes128-ctr)",
      transport: agentSsh(agentCtr.port),
      ...pull,
      from: "x@127.0.0.1:./",
      pid: agentCtr.pid,
    },
    { name: "pull, sshd (aes128-gcm)", transport: sshdSsh("aes128-gcm@openssh.com"), ...sshdPull },
  ];
  const cpuSeconds = async (pid: number | undefined) => {
    if (pid === undefined) return 0;
    const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  };
  const results = new Map<string, { seconds: number[]; cpu: number[] }>();
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      await Deno.remove(c.clear, { recursive: true }).catch(() => {});
      await Deno.mkdir(c.clear, { recursive: true });
      await run("sync", []);
      const cpuBefore = await cpuSeconds(c.pid);
      const started = performance.now();
      const result = await run("rsync", ["-a", "-e", c.transport.join(" "), c.from, c.to], {
        timeoutMs: 600_000,
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = (await cpuSeconds(c.pid)) - cpuBefore;
      if (result.code !== 0) throw new Error(`${c.name} failed: ${result.stderr}`);
      const entry = results.get(c.name) ?? { seconds: [], cpu: [] };
      entry.seconds.push(seconds);
      entry.cpu.push(cpu);
      results.set(c.name, entry);
      say(
        `run ${i + 1} ${c.name}: ${seconds.toFixed(2)} s${
          c.pid === undefined ? "" : `, agent CPU ${cpu.toFixed(2)} s`
        }`,
      );
    }
  }
  const mb = totalBytes / 1024 / 1024;
  const base = (direction: string) => median(results.get(`${direction}, sshd (aes128-gcm)`)!.seconds);
  print(`| case | median s | MB/s | runs (s) | vs sshd aes128-gcm | agent CPU s (median) |`);
  print(`| --- | --- | --- | --- | --- | --- |`);
  for (const [name, { seconds, cpu }] of results) {
    const m = median(seconds);
    const direction = name.split(",")[0]!;
    const agentCpu = name.includes("agent") ? median(cpu).toFixed(2) : "-";
    print(
      `| ${name} | ${m.toFixed(2)} | ${(mb / m).toFixed(0)} | ${
        seconds.map((s) => s.toFixed(2)).join(", ")
      } | ${(base(direction) / m).toFixed(2)}x | ${agentCpu} |`,
    );
  }
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
