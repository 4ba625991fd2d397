/**
 * The agent carries real rsync transfers: the OpenSSH client as rsync's transport, the agent as a real
 * process on 127.0.0.1, its host key pinned. Data must arrive equal (contents, modes, owners, times,
 * symlinks, hard links), deletes propagate, an empty volume stays empty, and a second run moves only the
 * changes.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  generateKeyPair,
  makeVolume,
  pseudoRandomBytes,
  rsyncVia,
  run,
  type RunResult,
  sampleTree,
  snapshotTree,
  type SshOptions,
  sshTransport,
  startAgentProcess,
  writeAuthorizedKeys,
  writeKnownHosts,
} from "../support/agent/mod.ts";

const FOREVER = "2099-01-01T00:00:00Z";

function assertOk(result: RunResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed (code ${result.code}): ${result.stderr}`);
}

/** The numbers of `rsync --stats`. */
function stats(output: string): { transferred: number; literal: number; matched: number; deleted: number } {
  const number = (label: string) => {
    const match = output.match(new RegExp(`${label}: ([\\d,]+)`));
    assert.ok(match, `no "${label}" in rsync's output:\n${output}`);
    return Number(match[1]!.replaceAll(",", ""));
  };
  return {
    transferred: number("Number of regular files transferred"),
    literal: number("Literal data"),
    matched: number("Matched data"),
    deleted: number("Number of deleted files"),
  };
}

async function assertSameTree(actual: string, expected: string): Promise<void> {
  const [a, e] = await Promise.all([snapshotTree(actual), snapshotTree(expected)]);
  assert.deepEqual(Object.keys(a.entries), Object.keys(e.entries), "the same paths");
  assert.deepEqual(a.entries, e.entries);
  assert.deepEqual(a.hardLinks, e.hardLinks, "the same hard links");
}

Deno.test("agent carries rsync transfers with the data intact", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "agent-rsync-" });
  let agent: AgentProcess | undefined;
  try {
    const root = `${dir}/kubelet`;
    const receiverVolume = await makeVolume(root, "pod-receiver", "kubernetes.io~csi", "pvc-receiver");
    const senderVolume = await makeVolume(root, "pod-sender", "kubernetes.io~local-volume", "data");
    const emptySender = await makeVolume(root, "pod-empty", "kubernetes.io~csi", "pvc-empty-sender");
    const emptyReceiver = await makeVolume(root, "pod-empty", "kubernetes.io~csi", "pvc-empty-receiver");
    const [host, receiver, sender, emptyReceiverKey, emptySenderKey] = await Promise.all(
      ["host", "receiver", "sender", "empty-receiver", "empty-sender"].map((name) =>
        generateKeyPair(dir, name)
      ),
    );
    await writeAuthorizedKeys(`${dir}/authorized-keys.json`, [
      {
        name: "push",
        publicKey: receiver!.publicKey,
        volume: { podUid: "pod-receiver", volumeName: "pvc-receiver" },
        mode: "receiver",
        expiresAt: FOREVER,
      },
      {
        name: "pull",
        publicKey: sender!.publicKey,
        volume: { path: "pods/pod-sender/volumes/kubernetes.io~local-volume/data" },
        mode: "sender",
        expiresAt: FOREVER,
      },
      {
        publicKey: emptyReceiverKey!.publicKey,
        volume: { podUid: "pod-empty", volumeName: "pvc-empty-receiver" },
        mode: "receiver",
        expiresAt: FOREVER,
      },
      {
        publicKey: emptySenderKey!.publicKey,
        volume: { podUid: "pod-empty", volumeName: "pvc-empty-sender" },
        mode: "sender",
        expiresAt: FOREVER,
      },
    ]);
    await writeKnownHosts(`${dir}/known_hosts`, host!.publicKey);
    agent = await startAgentProcess({
      root,
      hostKey: host!.privateKey,
      authorizedKeys: `${dir}/authorized-keys.json`,
    });
    const ssh = (key: { privateKey: string }): SshOptions => ({
      port: agent!.port,
      identity: key.privateKey,
      knownHosts: `${dir}/known_hosts`,
    });
    const source = `${dir}/source`;
    await Deno.mkdir(source);
    await sampleTree(source);

    await t.step(
      "agent receives a push: every file's content, mode, owner, symlink and hard link",
      async () => {
        assertOk(
          await rsyncVia(ssh(receiver!), ["-aH", "--numeric-ids", `${source}/`, "agent@127.0.0.1:."]),
          "push",
        );
        await assertSameTree(receiverVolume, source);
        const log = await agent!.waitForLog((e) => e.msg === "transfer finished" && e.key === "push");
        assert.equal(log.mode, "receiver");
        assert.equal(log.exitCode, 0);
        // what the agent received was decrypted by its own AES-GCM (libcrypto), not ssh2's node:crypto one
        assert.deepEqual(log.crypto, { inbound: "openssl", outbound: "openssl" });
        // rsync's pipes (bubblewrap's stdout and stdin) were raised to 1 MiB, with the agent's own permissions
        assert.equal(log.pipeKiB, 1024);
        assert.ok(!agent!.logs.some((e) => String(e.msg).startsWith("rsync pipes not enlarged")));
      },
    );

    await t.step("agent sends a pull: every file's content, mode, owner, symlink and hard link", async () => {
      await sampleTree(senderVolume);
      const target = `${dir}/pulled`;
      assertOk(
        await rsyncVia(ssh(sender!), ["-aH", "--numeric-ids", "agent@127.0.0.1:./", `${target}/`]),
        "pull",
      );
      await assertSameTree(target, senderVolume);
    });

    await t.step(
      "agent's own AES-GCM (libcrypto) carries a pull with either key size, across re-keys",
      async () => {
        const listening = agent!.logs.find((entry) => entry.msg === "agent listening");
        assert.match(String(listening?.outboundGcm), /^openssl /);
        for (const cipher of ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]) {
          const target = `${dir}/pulled-${cipher}`;
          // RekeyLimit=1M: the client re-keys every MiB, so the agent switches keys (and ciphers) mid-transfer.
          const transport = `${sshTransport(ssh(sender!))} -c ${cipher} -o RekeyLimit=1M`;
          const result = await run("rsync", [
            "-aH",
            "--numeric-ids",
            "-e",
            transport,
            "agent@127.0.0.1:./",
            `${target}/`,
          ]);
          assertOk(result, `pull with ${cipher}`);
          await assertSameTree(target, senderVolume);
        }
      },
    );

    await t.step(
      "agent's own AES-GCM (libcrypto) decrypts a push with either key size, across re-keys",
      async () => {
        const listening = agent!.logs.find((entry) => entry.msg === "agent listening");
        assert.match(String(listening?.inboundGcm), /^openssl /);
        for (const [i, cipher] of ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"].entries()) {
          // RekeyLimit=1M: the client re-keys every MiB, so the agent switches keys (and deciphers) mid-transfer.
          const transport = `${sshTransport(ssh(receiver!))} -c ${cipher} -o RekeyLimit=1M`;
          const result = await run("rsync", [
            "-aH",
            "--numeric-ids",
            "--mkpath",
            "-e",
            transport,
            `${source}/`,
            `agent@127.0.0.1:gcm-${i}/`,
          ]);
          assertOk(result, `push with ${cipher}`);
          await assertSameTree(`${receiverVolume}/gcm-${i}`, source);
          const log = await agent!.waitForLog((e) =>
            e.msg === "transfer finished" && e.key === "push" && JSON.stringify(e.paths).includes(`gcm-${i}`)
          );
          assert.equal(log.exitCode, 0);
          assert.deepEqual(log.crypto, { inbound: "openssl", outbound: "openssl" });
        }
      },
    );

    await t.step("agent receives a push into a subfolder of the volume it creates", async () => {
      assertOk(
        await rsyncVia(ssh(receiver!), ["-aH", "--mkpath", `${source}/dir/`, "agent@127.0.0.1:copies/one/"]),
        "push into a subfolder",
      );
      await assertSameTree(`${receiverVolume}/copies/one`, `${source}/dir`);
    });

    await t.step("agent propagates deletes with --delete", async () => {
      await Deno.remove(`${source}/a.txt`);
      await Deno.remove(`${source}/dir/nested`, { recursive: true });
      await Deno.remove(`${source}/hard-2`);
      await Deno.writeTextFile(`${source}/new.txt`, "new\n");
      const result = await rsyncVia(ssh(receiver!), [
        "-aH",
        "--numeric-ids",
        "--delete",
        "--stats",
        `${source}/`,
        "agent@127.0.0.1:.",
      ]);
      assertOk(result, "push with --delete");
      await assertSameTree(receiverVolume, source);
      assert.ok(stats(result.stdout).deleted >= 4, result.stdout); // a.txt, nested, deep, file.txt, hard-2, copies...
    });

    await t.step("agent moves only the changes in an incremental run", async () => {
      const push = () =>
        rsyncVia(ssh(receiver!), [
          "-aH",
          "--numeric-ids",
          "--delete",
          "--stats",
          `${source}/`,
          "agent@127.0.0.1:.",
        ]);
      const unchanged = await push();
      assertOk(unchanged, "unchanged push");
      assert.equal(stats(unchanged.stdout).transferred, 0, unchanged.stdout);

      // 1 KiB changed in the middle of the 4 MiB file: rsync's delta moves about that, not the file.
      using file = await Deno.open(`${source}/big.bin`, { write: true });
      await file.seek(2 * 1024 * 1024, Deno.SeekMode.Start);
      await file.write(pseudoRandomBytes(1024, 99));
      file.close();
      const changed = await push();
      assertOk(changed, "push of one change");
      const moved = stats(changed.stdout);
      assert.equal(moved.transferred, 1, changed.stdout);
      assert.ok(moved.literal < 64 * 1024, `literal data ${moved.literal} should be about the change`);
      assert.ok(
        moved.matched > 3 * 1024 * 1024,
        `matched data ${moved.matched} should be the rest of the file`,
      );
      await assertSameTree(receiverVolume, source);

      // The other direction: one file changed on the sending volume.
      const target = `${dir}/pulled`;
      await Deno.writeTextFile(`${senderVolume}/dir/nested/deep/file.txt`, "changed\n");
      const pulled = await rsyncVia(ssh(sender!), [
        "-aH",
        "--numeric-ids",
        "--stats",
        "agent@127.0.0.1:./",
        `${target}/`,
      ]);
      assertOk(pulled, "pull of one change");
      assert.equal(stats(pulled.stdout).transferred, 1, pulled.stdout);
      await assertSameTree(target, senderVolume);
    });

    await t.step("agent copies an empty volume both ways", async () => {
      const target = `${dir}/pulled-empty`;
      assertOk(
        await rsyncVia(ssh(emptySenderKey!), ["-aH", "agent@127.0.0.1:./", `${target}/`]),
        "pull of empty",
      );
      assert.deepEqual((await snapshotTree(target)).entries, {});

      await Deno.writeTextFile(`${emptyReceiver}/stale`, "stale\n");
      const emptySource = `${dir}/empty-source`;
      await Deno.mkdir(emptySource);
      assertOk(
        await rsyncVia(ssh(emptyReceiverKey!), ["-aH", "--delete", `${emptySource}/`, "agent@127.0.0.1:."]),
        "push of empty",
      );
      assert.deepEqual((await snapshotTree(emptyReceiver)).entries, {});
      assert.deepEqual((await snapshotTree(emptySender)).entries, {});
    });
  } finally {
    await agent?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
