/**
 * The agent's rsync is confined to its volume by the kernel (agent/confine.ts), in both directions, with the
 * system's rsync and with Debian's vulnerable 3.2.7: while a tenant's process swaps a folder of its volume
 * for a symlink to a folder outside it, again and again (hundreds of swaps, a process of its own), the test
 * runs real transfers through real agents, real ssh and real rsync:
 *
 * - pulls from the agent (its rsync server sends): the outside files' content never arrives;
 * - pushes into the agent (its rsync server receives): nothing is written into, or deleted from, the outside
 *   folder;
 * - the agent's own pull (its rsync client writes into the receiving volume): the same.
 *
 * Then, without swaps, a copy is complete and its symlinks are copied as symlinks (an absolute one
 * included), so the confinement does not change what is copied.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  generateKeyPair,
  makeVolume,
  rsyncVia,
  snapshotTree,
  type SshOptions,
  startAgentProcess,
  writeAuthorizedKeys,
  writeKnownHosts,
} from "../support/agent/mod.ts";
import { vulnerableRsync } from "../support/agent/vulnerable_rsync.ts";
import { generateTransferKey, runPullOn } from "../../shared/pvc/pull_client.ts";

const FOREVER = "2099-01-01T00:00:00Z";
const SECRET = "node secret: must never leave the node";
const SWAP_LOOP = new URL("../support/agent/swap_loop.ts", import.meta.url).pathname;
/** Transfers per step at least, and swaps the racing tenant makes at least. */
const MIN_TRANSFERS = 12;
const MIN_SWAPS = 300;
const MAX_STEP_MS = 90_000;

/** The tenant's racing process: swaps `folder` for a symlink to `target` until stopped. */
function startSwapping(folder: string, target: string): { stop(): Promise<number> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", SWAP_LOOP, folder, target],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return {
    async stop() {
      child.kill("SIGTERM");
      const out = await child.output();
      return Number(new TextDecoder().decode(out.stdout).trim());
    },
  };
}

/** Every file's content under `root` (symlinks not followed). */
async function contents(root: string): Promise<string[]> {
  const snapshot = await snapshotTree(root);
  const texts: string[] = [];
  for (const [path, entry] of Object.entries(snapshot.entries)) {
    if (entry.type === "file") texts.push(`${path}: ${await Deno.readTextFile(`${root}/${path}`)}`);
  }
  return texts;
}

/** Runs `transfer` again and again while a tenant swaps `folder`; checks `after` each time. */
async function race(
  folder: string,
  target: string,
  transfer: (round: number) => Promise<void>,
  after: () => Promise<void>,
): Promise<{ transfers: number; swaps: number }> {
  const swapper = startSwapping(folder, target);
  let transfers = 0;
  let swaps = 0;
  try {
    const started = Date.now();
    // the swap count is only known at the end: run long enough for hundreds of swaps (about 1 per ms)
    while (transfers < MIN_TRANSFERS || Date.now() - started < MIN_SWAPS * 2) {
      await transfer(transfers);
      transfers++;
      await after();
      if (Date.now() - started > MAX_STEP_MS) break;
    }
  } finally {
    swaps = await swapper.stop();
  }
  await after();
  assert.ok(swaps >= MIN_SWAPS, `only ${swaps} swaps`);
  return { transfers, swaps };
}

/** A tree with a folder the tenant swaps, and symlinks (relative, absolute, to a folder). */
async function volumeContent(volume: string): Promise<void> {
  await Deno.mkdir(`${volume}/sub/deeper`, { recursive: true });
  for (let i = 0; i < 30; i++) await Deno.writeTextFile(`${volume}/sub/file-${i}.txt`, `inside ${i}\n`);
  await Deno.writeTextFile(`${volume}/sub/secret.txt`, "the volume's own secret.txt\n");
  await Deno.writeTextFile(`${volume}/sub/deeper/inner.txt`, "inner\n");
  await Deno.symlink("sub/file-1.txt", `${volume}/relative-link`);
  await Deno.symlink("/etc/passwd", `${volume}/absolute-link`);
  await Deno.symlink("sub", `${volume}/folder-link`);
}

/** The outside folder: files named like the volume's, with content that must never be copied. */
async function outsideContent(outside: string): Promise<void> {
  await Deno.mkdir(`${outside}/deeper`, { recursive: true });
  for (let i = 0; i < 30; i++) await Deno.writeTextFile(`${outside}/file-${i}.txt`, `${SECRET} ${i}\n`);
  await Deno.writeTextFile(`${outside}/secret.txt`, `${SECRET}\n`);
  await Deno.writeTextFile(`${outside}/deeper/inner.txt`, `${SECRET} (inner)\n`);
}

for (const version of ["system", "3.2.7"] as const) {
  Deno.test(`agent confinement (${version} rsync): folders swapped for symlinks never lead out of the volume`, async (t) => {
    const dir = await Deno.makeTempDir({ prefix: `agent-confine-${version}-` });
    const agents: AgentProcess[] = [];
    try {
      const rsync = version === "system" ? "rsync" : await vulnerableRsync();
      // node A: a sending volume and a receiving one; node B: a receiving volume (the agent's pull)
      const sendingVolume = await makeVolume(`${dir}/node-a`, "pod-s", "kubernetes.io~csi", "pv-send");
      const receivingVolume = await makeVolume(`${dir}/node-a`, "pod-r", "kubernetes.io~csi", "pv-recv");
      const pullVolume = await makeVolume(`${dir}/node-b`, "pod-p", "kubernetes.io~csi", "pv-pull");
      await volumeContent(sendingVolume);
      const outside = `${dir}/outside`;
      await outsideContent(outside);
      const outsideBefore = await snapshotTree(outside);
      const [hostA, hostB, sender, receiver] = await Promise.all(
        ["host-a", "host-b", "sender", "receiver"].map((name) => generateKeyPair(dir, name)),
      );
      const agentSender = generateTransferKey("agent-sender");
      const agentReceiver = generateTransferKey("agent-receiver");
      await Deno.mkdir(`${dir}/keys-a`);
      await Deno.mkdir(`${dir}/keys-b`);
      const grant = (publicKey: string, podUid: string, volumeName: string, mode: string) => ({
        publicKey,
        volume: { podUid, volumeName },
        mode,
        expiresAt: FOREVER,
      });
      await writeAuthorizedKeys(`${dir}/keys-a/keys.json`, [
        grant(sender!.publicKey, "pod-s", "pv-send", "sender"),
        grant(receiver!.publicKey, "pod-r", "pv-recv", "receiver"),
        grant(agentSender.publicKey, "pod-s", "pv-send", "sender"),
      ]);
      await writeAuthorizedKeys(`${dir}/keys-b/keys.json`, [
        grant(agentReceiver.publicKey, "pod-p", "pv-pull", "receiver"),
      ]);
      await writeKnownHosts(`${dir}/known_hosts`, hostA!.publicKey);
      const [a, b] = await Promise.all([
        startAgentProcess({
          root: `${dir}/node-a`,
          hostKey: hostA!.privateKey,
          authorizedKeys: `${dir}/keys-a`,
          args: ["--rsync", rsync],
        }),
        startAgentProcess({
          root: `${dir}/node-b`,
          hostKey: hostB!.privateKey,
          authorizedKeys: `${dir}/keys-b`,
          args: ["--rsync", rsync],
        }),
      ]);
      agents.push(a!, b!);
      const listening = a!.logs.find((entry) => entry.msg === "agent listening")!;
      assert.match(String(listening.rsync), version === "system" ? /^rsync +version/ : /version 3\.2\.7 /);
      const ssh = (identity: string): SshOptions => ({
        port: a!.port,
        identity,
        knownHosts: `${dir}/known_hosts`,
      });

      await t.step(
        "pulls from the agent's rsync server never carry a file from outside the volume",
        async () => {
          const copy = `${dir}/pulled`;
          const seen: string[] = [];
          const { transfers, swaps } = await race(
            `${sendingVolume}/sub`,
            outside,
            async () => {
              await Deno.remove(copy, { recursive: true }).catch(() => {});
              await Deno.mkdir(copy);
              // rsync may report files that vanished or changed under it (exit 23/24): that is the race
              await rsyncVia(ssh(sender!.privateKey), ["-a", "agent@127.0.0.1:./", `${copy}/`]);
              seen.push(...(await contents(copy)).filter((text) => text.includes(SECRET)));
            },
            async () => assert.deepEqual(await snapshotTree(outside), outsideBefore),
          );
          assert.deepEqual(seen, [], `outside content pulled (${transfers} pulls, ${swaps} swaps)`);
        },
      );

      await t.step(
        "pushes into the agent's rsync server never write or delete outside the volume",
        async () => {
          const source = `${dir}/push-source`;
          await Deno.mkdir(`${source}/sub/deeper`, { recursive: true });
          await Deno.mkdir(`${receivingVolume}/sub`, { recursive: true });
          await race(
            `${receivingVolume}/sub`,
            outside,
            async (round) => {
              // new files every round, and the old ones deleted (--delete), so every push writes and deletes
              for await (const entry of Deno.readDir(`${source}/sub`)) {
                if (entry.isFile) await Deno.remove(`${source}/sub/${entry.name}`);
              }
              for (let i = 0; i < 20; i++) {
                await Deno.writeTextFile(`${source}/sub/pushed-${round}-${i}.txt`, `pushed ${round}\n`);
              }
              await Deno.writeTextFile(`${source}/sub/deeper/inner.txt`, `pushed ${round}\n`);
              await rsyncVia(ssh(receiver!.privateKey), [
                "-a",
                "--delete",
                `${source}/`,
                "agent@127.0.0.1:./",
              ]);
            },
            async () =>
              assert.deepEqual(await snapshotTree(outside), outsideBefore, "the outside folder changed"),
          );
        },
      );

      const pullTarget = {
        host: "127.0.0.1",
        port: b!.port,
        hostKey: hostB!.publicKey,
        privateKey: agentReceiver.privateKey,
      };
      const pullRequest = {
        source: {
          host: "127.0.0.1",
          port: a!.port,
          hostKey: hostA!.publicKey.split(" ").slice(0, 2).join(" "),
        },
        identity: agentSender.privateKey,
      };

      await t.step(
        "the agent's pull (its rsync client) never writes or deletes outside its volume",
        async () => {
          await Deno.mkdir(`${pullVolume}/sub`, { recursive: true });
          await race(
            `${pullVolume}/sub`,
            outside,
            async (round) => {
              await Deno.writeTextFile(
                `${sendingVolume}/sub/file-${round % 30}.txt`,
                `inside, round ${round}\n`,
              );
              await Deno.writeTextFile(`${sendingVolume}/sub/deeper/inner.txt`, `inner, round ${round}\n`);
              await runPullOn(pullTarget, pullRequest);
            },
            async () =>
              assert.deepEqual(await snapshotTree(outside), outsideBefore, "the outside folder changed"),
          );
        },
      );

      await t.step("without swaps every copy is complete, symlinks copied as symlinks", async () => {
        const outcome = await runPullOn(pullTarget, { ...pullRequest, verify: "sample" });
        assert.equal(outcome.exitCode, 0, outcome.stderr);
        assert.deepEqual(outcome.result?.verify?.mismatched, []);
        const [got, want] = await Promise.all([snapshotTree(pullVolume), snapshotTree(sendingVolume)]);
        assert.deepEqual(got.entries, want.entries);
        assert.equal(got.entries["absolute-link"]?.target, "/etc/passwd");
        assert.equal(got.entries["folder-link"]?.type, "symlink");
        const copy = `${dir}/pulled-plain`;
        await Deno.mkdir(copy);
        const pulled = await rsyncVia(ssh(sender!.privateKey), ["-a", "agent@127.0.0.1:./", `${copy}/`]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.deepEqual((await snapshotTree(copy)).entries, want.entries);
      });
    } finally {
      await Promise.all(agents.map((agent) => agent.stop()));
      await Deno.remove(dir, { recursive: true });
    }
  });
}
