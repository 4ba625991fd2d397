/**
 * The agent's `pull` command between two real agent processes (a sending node and a receiving node, each
 * rooted at its own kubelet folder): pvc-sync's client logs in to the receiving agent, which runs the rsync
 * client against the sending agent with its host key pinned. The data arrives equal, deletes propagate, a
 * second pull moves nothing, verification finds a difference planted behind rsync's back, and what the
 * request may not do is refused.
 */
import assert from "node:assert/strict";
import {
  pseudoRandomBytes,
  type PullPair,
  run,
  sampleTree,
  snapshotTree,
  startPullPair,
  writeAuthorizedKeys,
} from "../support/agent/mod.ts";
import { generateTransferKey, PullError, runPullOn } from "../../shared/pvc/pull_client.ts";
import type { PullEvent } from "../../shared/pvc/pull_protocol.ts";

const FOREVER = "2099-01-01T00:00:00Z";

async function assertSameTree(actual: string, expected: string): Promise<void> {
  const [a, e] = await Promise.all([snapshotTree(actual), snapshotTree(expected)]);
  assert.deepEqual(Object.keys(a.entries), Object.keys(e.entries), "the same paths");
  assert.deepEqual(a.entries, e.entries);
  assert.deepEqual(a.hardLinks, e.hardLinks, "the same hard links");
}

Deno.test("agent pull: the receiving agent copies a volume from the sending agent", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "agent-pull-" });
  let pair: PullPair | undefined;
  try {
    pair = await startPullPair(dir);
    const { sourceVolume, drVolume, target, request } = pair;
    const hostA = pair.hostKeys.sending;
    const hostB = pair.hostKeys.receiving;
    await sampleTree(sourceVolume, { bigFileBytes: 3 * 1024 * 1024 });
    for (let i = 0; i < 40; i++) {
      await Deno.writeFile(`${sourceVolume}/dir/small-${i}`, pseudoRandomBytes(1000 + i * 37, i));
    }

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

    await t.step("ACLs, extended attributes and file capabilities arrive (-A -X)", async () => {
      await Deno.mkdir(`${sourceVolume}/attrs`);
      await Deno.writeTextFile(`${sourceVolume}/attrs/acl.txt`, "acl\n");
      await Deno.writeTextFile(`${sourceVolume}/attrs/xattr.txt`, "xattr\n");
      await Deno.writeTextFile(`${sourceVolume}/attrs/capable`, "not really a binary\n");
      await Deno.chmod(`${sourceVolume}/attrs/capable`, 0o755);
      const tool = async (program: string, args: string[], cwd?: string) => {
        const result = await run(program, args, cwd === undefined ? {} : { cwd });
        assert.equal(result.code, 0, `${program} ${args.join(" ")}: ${result.stderr}`);
        return result.stdout;
      };
      await tool("setfacl", ["-m", "u:1234:rw,g:2345:r", `${sourceVolume}/attrs/acl.txt`]);
      await tool("setfacl", ["-d", "-m", "u:1234:rwx", `${sourceVolume}/attrs`]);
      await tool("setfattr", ["-n", "user.dr-syncer", "-v", "kept", `${sourceVolume}/attrs/xattr.txt`]);
      await tool("setcap", ["cap_net_bind_service,cap_net_raw+ep", `${sourceVolume}/attrs/capable`]);
      const outcome = await runPullOn(target, request());
      assert.equal(outcome.exitCode, 0, outcome.stderr);
      const attrs = async (volume: string) => ({
        acls: await tool("getfacl", ["-R", "-p", "--omit-header", "-n", "attrs"], volume),
        xattrs: await tool("getfattr", ["-R", "-d", "-m", "-", "attrs"], volume),
        caps: await tool("getcap", [`${volume}/attrs/capable`]),
      });
      const [got, want] = [await attrs(drVolume), await attrs(sourceVolume)];
      assert.match(want.acls, /user:1234:rw-/);
      assert.match(want.acls, /default:user:1234:rwx/);
      assert.match(want.xattrs, /user\.dr-syncer="kept"/);
      assert.match(want.caps, /cap_net_bind_service,cap_net_raw[=+]ep/);
      assert.deepEqual(
        { ...got, caps: got.caps.replace(drVolume, "") },
        { ...want, caps: want.caps.replace(sourceVolume, "") },
      );
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
      await writeAuthorizedKeys(`${pair!.receivingKeys}/t2.json`, [{
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
    await pair?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
