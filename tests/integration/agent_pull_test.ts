/**
 * The agent's `pull` command between two real agent processes (a sending node and a receiving node, each
 * rooted at its own kubelet folder): pvc-sync's client logs in to the receiving agent, which runs the rsync
 * client against the sending agent with its host key pinned. The data arrives equal, deletes propagate, a
 * second pull moves nothing, verification finds a difference planted behind rsync's back, and what the
 * request may not do is refused.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  generateKeyPair,
  makeVolume,
  pseudoRandomBytes,
  sampleTree,
  snapshotTree,
  startAgentProcess,
  writeAuthorizedKeys,
} from "../../agent/testing/mod.ts";
import { generateTransferKey, PullError, runPullOn } from "../../shared/pvc/pull_client.ts";
import type { PullEvent, PullRequest } from "../../shared/pvc/pull_protocol.ts";

const FOREVER = "2099-01-01T00:00:00Z";

async function assertSameTree(actual: string, expected: string): Promise<void> {
  const [a, e] = await Promise.all([snapshotTree(actual), snapshotTree(expected)]);
  assert.deepEqual(Object.keys(a.entries), Object.keys(e.entries), "the same paths");
  assert.deepEqual(a.entries, e.entries);
  assert.deepEqual(a.hardLinks, e.hardLinks, "the same hard links");
}

Deno.test("agent pull: the receiving agent copies a volume from the sending agent", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "agent-pull-" });
  const agents: AgentProcess[] = [];
  try {
    const sourceVolume = await makeVolume(`${dir}/node-a`, "pod-a", "kubernetes.io~csi", "pv-a");
    const drVolume = await makeVolume(`${dir}/node-b`, "pod-b", "kubernetes.io~csi", "pv-b");
    await sampleTree(sourceVolume, { bigFileBytes: 3 * 1024 * 1024 });
    for (let i = 0; i < 40; i++) {
      await Deno.writeFile(`${sourceVolume}/dir/small-${i}`, pseudoRandomBytes(1000 + i * 37, i));
    }
    const [hostA, hostB] = await Promise.all([
      generateKeyPair(dir, "host-a"),
      generateKeyPair(dir, "host-b"),
    ]);
    const receiver = generateTransferKey("receiver");
    const sender = generateTransferKey("sender");
    await Deno.mkdir(`${dir}/keys-a`);
    await Deno.mkdir(`${dir}/keys-b`);
    await writeAuthorizedKeys(`${dir}/keys-a/t1.json`, [{
      publicKey: sender.publicKey,
      volume: { podUid: "pod-a", volumeName: "pv-a" },
      mode: "sender",
      expiresAt: FOREVER,
    }]);
    await writeAuthorizedKeys(`${dir}/keys-b/t1.json`, [{
      publicKey: receiver.publicKey,
      volume: { podUid: "pod-b", volumeName: "pv-b" },
      mode: "receiver",
      expiresAt: FOREVER,
    }]);
    const [a, b] = await Promise.all([
      startAgentProcess({
        root: `${dir}/node-a`,
        hostKey: hostA.privateKey,
        authorizedKeys: `${dir}/keys-a`,
      }),
      startAgentProcess({
        root: `${dir}/node-b`,
        hostKey: hostB.privateKey,
        authorizedKeys: `${dir}/keys-b`,
      }),
    ]);
    agents.push(a!, b!);
    const target = {
      host: "127.0.0.1",
      port: b!.port,
      hostKey: hostB.publicKey,
      privateKey: receiver.privateKey,
    };
    const request = (extra: Partial<PullRequest> = {}): PullRequest => ({
      source: { host: "127.0.0.1", port: a!.port, hostKey: hostA.publicKey.split(" ").slice(0, 2).join(" ") },
      identity: sender.privateKey,
      ...extra,
    });

    await t.step("a first pull copies everything, with progress and figures", async () => {
      const events: PullEvent[] = [];
      const outcome = await runPullOn(target, request(), { onEvent: (event) => events.push(event) });
      assert.equal(outcome.exitCode, 0, outcome.stderr);
      await assertSameTree(drVolume, sourceVolume);
      assert.equal(events[0]?.event, "started");
      assert.ok(outcome.result !== undefined);
      assert.ok(outcome.result.files >= 48, `files ${outcome.result.files}`);
      assert.ok(outcome.result.bytes >= 3 * 1024 * 1024);
    });

    await t.step("deletes propagate and a quiet second pull moves no file", async () => {
      await Deno.remove(`${sourceVolume}/big.bin`);
      const removed = await runPullOn(target, request());
      assert.equal(removed.exitCode, 0, removed.stderr);
      await assertSameTree(drVolume, sourceVolume);
      const again = await runPullOn(target, request({ verify: "full" }));
      assert.equal(again.exitCode, 0, again.stderr);
      assert.equal(again.result?.files, 0);
      assert.deepEqual(again.result?.verify?.mismatched, []);
    });

    await t.step("full verification finds a change rsync's quick check misses", async () => {
      // Same size and time on both sides, different content: the quick check skips it, checksums do not.
      const name = "dir/small-3";
      const stat = await Deno.stat(`${drVolume}/${name}`);
      const bytes = await Deno.readFile(`${drVolume}/${name}`);
      bytes[0] = bytes[0]! ^ 0xff;
      await Deno.writeFile(`${drVolume}/${name}`, bytes);
      await Deno.utime(`${drVolume}/${name}`, stat.atime!, stat.mtime!);
      const outcome = await runPullOn(target, request({ verify: "full" }));
      assert.equal(outcome.exitCode, 90, outcome.stderr);
      assert.deepEqual(outcome.result?.verify?.mismatched, [name]);
    });

    await t.step("a wrong pinned host key is refused before anything runs", async () => {
      await assert.rejects(
        runPullOn({ ...target, hostKey: hostA.publicKey }, request()),
        (error: unknown) =>
          error instanceof PullError && !error.retryable && /pinned host key/.test(error.message),
      );
      const wrongPeer = await runPullOn(
        target,
        request({
          source: { ...request().source, hostKey: hostB.publicKey.split(" ").slice(0, 2).join(" ") },
        }),
      );
      assert.notEqual(wrongPeer.exitCode, 0);
      assert.match(wrongPeer.stderr, /Host key verification failed/);
    });

    await t.step("a key that may only send cannot ask for a pull; bad requests are refused", async () => {
      const sendOnly = generateTransferKey("send-only");
      await writeAuthorizedKeys(`${dir}/keys-b/t2.json`, [{
        publicKey: sendOnly.publicKey,
        volume: { podUid: "pod-b", volumeName: "pv-b" },
        mode: "sender",
        expiresAt: FOREVER,
      }]);
      const refused = await runPullOn({ ...target, privateKey: sendOnly.privateKey }, request());
      assert.equal(refused.exitCode, 126);
      assert.match(refused.stderr, /may only send/);
      const bad = await runPullOn(target, {
        ...request(),
        source: { host: "-oProxyCommand=x", port: 1, hostKey: "ssh-ed25519 AAAA" },
      });
      assert.equal(bad.exitCode, 126);
      assert.match(bad.stderr, /Bad pull request: source.host/);
    });
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
