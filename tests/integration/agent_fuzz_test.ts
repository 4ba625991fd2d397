/**
 * The agent's refusals hold under fuzzed commands against a real agent process: random exec commands (rsync
 * server commands with injected options, paths and shell syntax, other programs, garbage), sent with a key
 * that may receive and a key that may send, each on its own connection. Whatever the agent accepted or
 * refused, nothing outside the volumes changed (canary files, and the whole tree around the kubelet root),
 * nothing was written through the sending key, and the agent stayed up and healthy.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { Client, type ClientChannel } from "ssh2";
import {
  type AgentProcess,
  generateKeyPair,
  makeVolume,
  snapshotTree,
  startAgentProcess,
  writeAuthorizedKeys,
} from "../support/agent/mod.ts";
import { RSYNC_OPTIONS } from "../../agent/mod.ts";
import { publicKeyBlob } from "../../shared/pvc/pull_client.ts";

const REFUSED_LONG = [...RSYNC_OPTIONS.long].filter(([, rule]) => rule.kind === "refused").map(([name]) =>
  name
);

const word = fc.oneof(
  fc.constantFrom("rsync", "--server", "--sender", ".", "./", "d/", "-e", "sh", "-c", "touch", "/tmp/pwned"),
  fc.constantFrom(...REFUSED_LONG.map((n) => `--${n}=../../outside/x`)),
  fc.constantFrom("-logDtpre.iLsfxCIvu", "-vlHogDtpAXrSe.iLsfxCIvu", "-Lr", "-esh", "-T/tmp", "--delete"),
  fc.constantFrom("../outside/", "../../../../outside", "/etc/", "/", "link-out/", "*", "~root", "-"),
  fc.constantFrom(";", "&&", "|", "`touch x`", "$(touch x)", ">x", "\n", "'", '"', "\\"),
  fc.string({ maxLength: 10 }),
);
const command = fc.oneof(
  fc.array(word, { maxLength: 8 }).map((w) => w.join(" ")),
  fc.tuple(fc.array(word, { maxLength: 5 }), fc.array(word, { maxLength: 3 }), fc.boolean()).map((
    [options, paths, sender],
  ) => ["rsync", "--server", ...(sender ? ["--sender"] : []), ...options, ".", ...paths].join(" ")),
);

/** Runs `command` on the agent with `key`, sends nothing, and returns the exit code (null: none). */
function exec(port: number, hostKey: string, key: string, text: string): Promise<number | null> {
  const pinned = publicKeyBlob(hostKey)!;
  return new Promise((resolve) => {
    const client = new Client();
    const timer = setTimeout(() => {
      client.destroy();
      resolve(null);
    }, 10_000);
    const done = (code: number | null) => {
      clearTimeout(timer);
      client.end();
      resolve(code);
    };
    client.on("error", () => done(null));
    client.on("ready", () => {
      client.exec(text, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return done(null);
        let code: number | null = null;
        channel.on("exit", (c: number | null) => code = c);
        channel.on("close", () => done(code));
        channel.on("data", () => {});
        channel.stderr.on("data", () => {});
        channel.end(); // no rsync protocol follows: an accepted server ends at once
      });
    });
    client.connect({
      host: "127.0.0.1",
      port,
      username: "agent",
      privateKey: key,
      hostVerifier: (k: Buffer) => Buffer.compare(k, pinned) === 0,
    });
  });
}

Deno.test("agent fuzz: random commands change nothing outside the volumes and the agent stays up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-fuzz-" });
  let agent: AgentProcess | undefined;
  try {
    const root = `${dir}/kubelet`;
    const receiving = await makeVolume(root, "pod-a", "kubernetes.io~csi", "pv-a");
    const sending = await makeVolume(root, "pod-b", "kubernetes.io~csi", "pv-b");
    await Deno.mkdir(`${dir}/outside`);
    await Deno.writeTextFile(`${dir}/outside/canary`, "untouched\n");
    await Deno.writeTextFile(`${sending}/data.txt`, "the sender's data\n");
    await Deno.symlink(`${dir}/outside`, `${receiving}/link-out`);
    const [host, receiver, sender] = await Promise.all(
      ["host", "receiver", "sender"].map((name) => generateKeyPair(dir, name)),
    );
    await writeAuthorizedKeys(`${dir}/keys.json`, [
      {
        publicKey: receiver!.publicKey,
        volume: { podUid: "pod-a", volumeName: "pv-a" },
        mode: "receiver",
        expiresAt: "2099-01-01T00:00:00Z",
      },
      {
        publicKey: sender!.publicKey,
        volume: { podUid: "pod-b", volumeName: "pv-b" },
        mode: "sender",
        expiresAt: "2099-01-01T00:00:00Z",
      },
    ]);
    agent = await startAgentProcess({ root, hostKey: host!.privateKey, authorizedKeys: `${dir}/keys.json` });
    const outsideBefore = await snapshotTree(`${dir}/outside`);
    const sendingBefore = await snapshotTree(sending);
    const keys = [await Deno.readTextFile(receiver!.privateKey), await Deno.readTextFile(sender!.privateKey)];
    const commands = fc.sample(command, { numRuns: 100, seed: 20261130 });
    const codes = new Map<string, number>();
    for (const [i, text] of commands.entries()) {
      const code = await exec(agent.port, host!.publicKey, keys[i % 2]!, text);
      codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
    }
    assert.ok((codes.get("126") ?? 0) > 30, `most were refused (exit codes: ${JSON.stringify([...codes])})`);
    assert.deepEqual(
      await snapshotTree(`${dir}/outside`),
      outsideBefore,
      "nothing outside the volumes changed",
    );
    assert.deepEqual(await snapshotTree(sending), sendingBefore, "the sending key wrote nothing");
    assert.equal(await Deno.readTextFile(`${dir}/outside/canary`), "untouched\n");
    const entries = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(
      entries.filter((n) =>
        ![
          "host",
          "host.pub",
          "receiver",
          "receiver.pub",
          "sender",
          "sender.pub",
          "keys.json",
          "kubelet",
          "outside",
        ].includes(n)
      ),
      [],
    );
    const health = await fetch(`http://127.0.0.1:${agent.healthPort}/healthz`);
    assert.equal(health.status, 200, "the agent is healthy after the fuzzing");
    await health.body?.cancel();
  } finally {
    await agent?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
