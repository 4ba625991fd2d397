/**
 * What the agent refuses, each attack tried for real: the OpenSSH client and rsync against the agent
 * process. Every step checks the refusal (exit status, the agent's message) and that the attack's effect
 * is absent (a marker file not created, the folder outside the volume unchanged, the volume unchanged), so it
 * fails when the check it covers is missing.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  generateKeyPair,
  type KeyPair,
  makeVolume,
  rsyncVia,
  run,
  type RunResult,
  snapshotTree,
  sshArgs,
  type SshOptions,
  sshVia,
  startAgentProcess,
  writeAuthorizedKeys,
  writeKnownHosts,
} from "../support/agent/mod.ts";

const FOREVER = "2099-01-01T00:00:00Z";
/** What the agent sends back for a refused command (a shell's "cannot execute"). */
const REFUSED = 126;

function assertRefused(result: RunResult, fragment: string | RegExp): void {
  assert.notEqual(result.code, 0, `expected a refusal, got success:\n${result.stdout}${result.stderr}`);
  assert.match(result.stderr, /dr-syncer-agent: /, `no message from the agent:\n${result.stderr}`);
  if (typeof fragment === "string") assert.ok(result.stderr.includes(fragment), result.stderr);
  else assert.match(result.stderr, fragment);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("agent refuses every way out of its volume", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "agent-refusals-" });
  let agent: AgentProcess | undefined;
  try {
    const root = `${dir}/kubelet`;
    const receiverVolume = await makeVolume(root, "pod-a", "kubernetes.io~csi", "pvc-a");
    const senderVolume = await makeVolume(root, "pod-b", "kubernetes.io~local-volume", "data");
    const otherVolume = await makeVolume(root, "pod-c", "kubernetes.io~csi", "pvc-c");
    const outside = `${dir}/outside`;
    await Deno.mkdir(outside);
    await Deno.writeTextFile(`${outside}/secret.txt`, "node secret\n");
    await Deno.symlink(outside, `${receiverVolume}/escape`);
    await Deno.symlink(outside, `${senderVolume}/escape`);
    await Deno.writeTextFile(`${senderVolume}/data.txt`, "volume data\n");
    await Deno.writeTextFile(`${otherVolume}/other.txt`, "another pod's data\n");
    const source = `${dir}/source`;
    await Deno.mkdir(source);
    await Deno.writeTextFile(`${source}/pushed.txt`, "pushed\n");
    const marker = `${dir}/marker`;

    const names = ["host", "other-host", "receiver", "sender", "expired", "stranger", "ghost"];
    const keys = Object.fromEntries(
      await Promise.all(names.map(async (name) => [name, await generateKeyPair(dir, name)] as const)),
    ) as Record<string, KeyPair>;
    const key = (name: string) => keys[name]!;
    await writeAuthorizedKeys(`${dir}/authorized-keys.json`, [
      {
        name: "receiver",
        publicKey: key("receiver").publicKey,
        volume: { podUid: "pod-a", volumeName: "pvc-a" },
        mode: "receiver",
        expiresAt: FOREVER,
      },
      {
        name: "sender",
        publicKey: key("sender").publicKey,
        volume: { podUid: "pod-b", volumeName: "data" },
        mode: "sender",
        expiresAt: FOREVER,
      },
      {
        name: "expired",
        publicKey: key("expired").publicKey,
        volume: { podUid: "pod-a", volumeName: "pvc-a" },
        mode: "receiver",
        expiresAt: "2020-01-01T00:00:00Z",
      },
      {
        name: "ghost",
        publicKey: key("ghost").publicKey,
        volume: { podUid: "pod-not-here", volumeName: "pvc-x" },
        mode: "receiver",
        expiresAt: FOREVER,
      },
    ]);
    await writeKnownHosts(`${dir}/known_hosts`, key("host").publicKey);
    agent = await startAgentProcess({
      root,
      hostKey: key("host").privateKey,
      authorizedKeys: `${dir}/authorized-keys.json`,
    });
    const ssh = (name: string, knownHosts = `${dir}/known_hosts`): SshOptions => ({
      port: agent!.port,
      identity: key(name).privateKey,
      knownHosts,
    });
    const push = (name: string, target: string, extra: readonly string[] = []) =>
      rsyncVia(ssh(name), ["-a", ...extra, `${source}/`, `agent@127.0.0.1:${target}`]);
    const pull = (name: string, from: string, target: string, extra: readonly string[] = []) =>
      rsyncVia(ssh(name), ["-a", ...extra, `agent@127.0.0.1:${from}`, `${target}/`]);
    const before = {
      outside: await snapshotTree(outside),
      receiver: await snapshotTree(receiverVolume),
      sender: await snapshotTree(senderVolume),
      other: await snapshotTree(otherVolume),
    };
    const assertUntouched = async (...which: (keyof typeof before)[]) => {
      const folders = { outside, receiver: receiverVolume, sender: senderVolume, other: otherVolume };
      for (const name of which) {
        assert.deepEqual(await snapshotTree(folders[name]), before[name], `${name} changed`);
      }
      assert.equal(await exists(marker), false, "a command ran on the node");
    };

    await t.step("agent accepts the authorized keys (control for the refusals below)", async () => {
      const result = await pull("sender", "./", `${dir}/control`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await Deno.readTextFile(`${dir}/control/data.txt`), "volume data\n");
    });

    await t.step("agent refuses a wrong key", async () => {
      const result = await push("stranger", ".");
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Permission denied \(publickey\)/);
      await agent!.waitForLog((e) => e.msg === "authentication refused" && e.reason === "unknown key");
      await assertUntouched("receiver");
    });

    await t.step("agent refuses an expired key", async () => {
      const result = await push("expired", ".");
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Permission denied \(publickey\)/);
      await agent!.waitForLog((e) => e.msg === "authentication refused" && e.reason === "key expired");
      await assertUntouched("receiver");
    });

    await t.step("the client refuses an agent whose host key is not pinned or has changed", async () => {
      await Deno.writeTextFile(`${dir}/known_hosts_empty`, "");
      await writeKnownHosts(`${dir}/known_hosts_changed`, key("other-host").publicKey);
      for (const knownHosts of [`${dir}/known_hosts_empty`, `${dir}/known_hosts_changed`]) {
        const result = await rsyncVia(ssh("receiver", knownHosts), ["-a", `${source}/`, "agent@127.0.0.1:."]);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /Host key verification failed/);
      }
      await assertUntouched("receiver");
    });

    await t.step("agent refuses a shell, sftp and port forwarding", async () => {
      const shell = await sshVia(ssh("receiver"), []);
      assert.equal(shell.code, 255, shell.stderr);
      const sftp = await run("ssh", [...sshArgs(ssh("receiver")), "-s", "agent@127.0.0.1", "sftp"]);
      assert.equal(sftp.code, 255, sftp.stderr);
      const forward = await run("ssh", [
        ...sshArgs(ssh("receiver")),
        "-W",
        `127.0.0.1:${agent!.healthPort}`,
        "agent@127.0.0.1",
      ]);
      assert.notEqual(forward.code, 0, forward.stderr);
      assert.doesNotMatch(forward.stdout, /HTTP/);
      await agent!.waitForLog((e) => e.msg === "request refused" && e.request === "shell");
    });

    await t.step("agent refuses any command but rsync --server (no shell runs it)", async () => {
      const commands = [
        "ls -la /",
        `touch ${marker}`,
        `sh -c 'touch ${marker}'`,
        `bash -c "touch ${marker}"`,
        "rsync --version",
        `rsync --server -logDtpre.iLsfxCIvu . . ; touch ${marker}`,
        `rsync --server -logDtpre.iLsfxCIvu . . && touch ${marker}`,
        `rsync --server -logDtpre.iLsfxCIvu . . | touch ${marker}`,
        `rsync --server -logDtpre.iLsfxCIvu . $(touch ${marker})`,
        `rsync --server -logDtpre.iLsfxCIvu . \`touch ${marker}\``,
        `rsync --server -logDtpre.iLsfxCIvu . . > ${marker}`,
        "/usr/bin/rsync --server -logDtpre.iLsfxCIvu . .",
        "rsync --daemon --server .",
        `rsync --server -logDtpre.iLsfxCIvu . .\ntouch ${marker}`,
      ];
      for (const command of commands) {
        const result = await sshVia(ssh("receiver"), [command]);
        assert.equal(result.code, REFUSED, `${command}: ${result.stderr}`);
        assert.match(result.stderr, /dr-syncer-agent: /, command);
      }
      await assertUntouched("receiver", "outside");
    });

    await t.step("agent refuses rsync with a path outside the volume", async () => {
      assertRefused(await push("receiver", `${outside}/`), "outside the volume");
      assertRefused(await push("receiver", "/"), "outside the volume");
      assertRefused(await pull("sender", "/etc/", `${dir}/pulled-etc`), "outside the volume");
      assertRefused(
        await pull("sender", `${outside}/secret.txt`, `${dir}/pulled-secret`),
        "outside the volume",
      );
      assert.equal(await exists(`${dir}/pulled-etc/passwd`), false);
      assert.equal(await exists(`${dir}/pulled-secret/secret.txt`), false);
      await assertUntouched("outside", "receiver");
    });

    await t.step("agent refuses a path with '..'", async () => {
      // From the receiving volume, seven levels up is the test folder: without the check this writes `outside`.
      const up = "../../../../../../../outside/";
      assertRefused(await push("receiver", up), '".."');
      assertRefused(await push("receiver", "sub/../../escape-attempt"), '".."');
      assertRefused(await pull("sender", `${up}secret.txt`, `${dir}/pulled-dots`), '".."');
      assert.equal(await exists(`${dir}/pulled-dots/secret.txt`), false);
      await assertUntouched("outside", "receiver");
    });

    await t.step("agent refuses a symlink in the volume that points outside (escape)", async () => {
      assertRefused(await push("receiver", "escape/"), "symlink");
      assertRefused(await push("receiver", "escape/deeper/"), "symlink");
      assertRefused(await pull("sender", "escape/", `${dir}/pulled-escape`), "symlink");
      assertRefused(await pull("sender", "escape/secret.txt", `${dir}/pulled-escape2`), "symlink");
      assert.equal(await exists(`${dir}/pulled-escape/secret.txt`), false);
      assert.equal(await exists(`${dir}/pulled-escape2/secret.txt`), false);
      // Following links while reading the whole volume is refused too...
      assertRefused(await pull("sender", "./", `${dir}/pulled-L`, ["-L"]), "follows symlinks");
      assertRefused(
        await pull("sender", "./", `${dir}/pulled-k`, ["--copy-unsafe-links"]),
        "follows symlinks",
      );
      assert.equal(await exists(`${dir}/pulled-L/escape/secret.txt`), false);
      assert.equal(await exists(`${dir}/pulled-k/escape/secret.txt`), false);
      // ...and a plain pull carries the link as a link, never what it points to.
      const plain = await pull("sender", "./", `${dir}/pulled-plain`);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal((await Deno.lstat(`${dir}/pulled-plain/escape`)).isSymlink, true);
      await assertUntouched("outside", "receiver", "sender");
    });

    await t.step("agent does not write through a symlink in the volume (keep-dirlinks refused)", async () => {
      const tree = `${dir}/tree-with-escape`;
      await Deno.mkdir(`${tree}/escape`, { recursive: true });
      await Deno.writeTextFile(`${tree}/escape/secret.txt`, "overwritten\n");
      assertRefused(
        await rsyncVia(ssh("receiver"), ["-a", "-K", `${tree}/`, "agent@127.0.0.1:."]),
        "follows symlinks",
      );
      await assertUntouched("outside", "receiver");
      // Without -K rsync replaces the link by a folder inside the volume; the outside stays as it was.
      const result = await rsyncVia(ssh("receiver"), ["-a", `${tree}/`, "agent@127.0.0.1:."]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await Deno.lstat(`${receiverVolume}/escape`)).isDirectory, true);
      assert.equal(await Deno.readTextFile(`${outside}/secret.txt`), "node secret\n");
      await Deno.remove(`${receiverVolume}/escape`, { recursive: true });
      await Deno.symlink(outside, `${receiverVolume}/escape`);
      await assertUntouched("outside", "receiver");
    });

    await t.step(
      "agent refuses option injection (-e, --rsync-path, options that write elsewhere)",
      async () => {
        const direct = async (command: string, fragment: string) => {
          const result = await sshVia(ssh("receiver"), [command]);
          assert.equal(result.code, REFUSED, `${command}: ${result.stderr}`);
          assert.ok(result.stderr.includes(fragment), `${command}: ${result.stderr}`);
        };
        await direct(`rsync --server -e 'touch ${marker}' . .`, 'Option "-e" is not allowed');
        await direct("rsync --server -esh . .", 'Option "-e" is not allowed');
        await direct(`rsync --server --rsh=sh . .`, 'Option "--rsh" is not allowed');
        await direct(`rsync --server --rsync-path=/bin/sh . .`, 'Option "--rsync-path" is not allowed');
        await direct(`rsync --server -logDtpre.iLsfxCIvu --temp-dir=/tmp . .`, "--temp-dir");
        await direct(`rsync --server -logDtpre.iLsfxCIvu --temp-dir /tmp . .`, "--temp-dir");
        await direct(`rsync --server -logDtpre.iLsfxCIvu -T/tmp . .`, '"-T"');
        await direct(`rsync --server -logDtpre.iLsfxCIvu --partial-dir=/.. . .`, "--partial-dir");
        await direct(`rsync --server -logDtpre.iLsfxCIvu --log-file=${outside}/log . .`, "--log-file");
        await direct(
          `rsync --server -logDtpre.iLsfxCIvu --write-batch=${outside}/batch . .`,
          "--write-batch",
        );
        await direct(
          `rsync --server --sender -logDtpre.iLsfxCIvu --files-from=/etc/passwd . .`,
          "--files-from",
        );
        await direct(`rsync --server -logDtpre.iLsfxCIvu . . --log-file=${outside}/log`, 'starts with "-"');
        await direct(`rsync --server -slogDtpre.iLsfxCIvu .`, '"-s"');
        // The same through the rsync client: each would otherwise reach a path outside the volume.
        assertRefused(await push("receiver", ".", [`--rsync-path=touch ${marker}; rsync`]), "Cannot run");
        assertRefused(await push("receiver", ".", ["--rsync-path=/usr/bin/rsync"]), "Cannot run");
        assertRefused(await push("receiver", ".", ["-T", outside]), "--temp-dir");
        assertRefused(await push("receiver", ".", [`--partial-dir=${outside}`]), "--partial-dir");
        assertRefused(await push("receiver", ".", ["-b", `--backup-dir=${outside}`]), "--backup-dir");
        assertRefused(await push("receiver", ".", [`--link-dest=${outside}`]), "--link-dest");
        assertRefused(await push("receiver", ".", [`-M--log-file=${outside}/log`]), "--log-file");
        assertRefused(await push("receiver", ".", ["--protect-args"]), '"-s"');
        assertRefused(await push("receiver", ".", ["--inplace"]), "--inplace");
        const removed = await pull("sender", "./", `${dir}/pulled-remove`, ["--remove-source-files"]);
        assertRefused(removed, "--remove-source-files");
        assert.equal(await exists(`${outside}/log`), false);
        assert.equal(await exists(`${outside}/batch`), false);
        await assertUntouched("outside", "receiver", "sender");
      },
    );

    await t.step("agent refuses a sender key trying to receive (write)", async () => {
      assertRefused(await push("sender", "."), "may only send");
      assertRefused(await push("sender", "new-folder/"), "may only send");
      await assertUntouched("sender");
    });

    await t.step("agent refuses a receiver key trying to send (read)", async () => {
      assertRefused(await pull("receiver", "./", `${dir}/pulled-by-receiver`), "may only receive");
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/pulled-by-receiver`)).catch(() => []), []);
    });

    await t.step("agent refuses a receiver key used for another volume", async () => {
      assertRefused(await push("receiver", `${otherVolume}/`), "outside the volume");
      assertRefused(await push("receiver", `${senderVolume}/`), "outside the volume");
      assertRefused(await push("ghost", "."), "is not on this node");
      await assertUntouched("other", "sender", "receiver");
      // Control: the same absolute form naming its own volume is accepted.
      const own = await push("receiver", `${receiverVolume}/own/`);
      assert.equal(own.code, 0, own.stderr);
      assert.equal(await Deno.readTextFile(`${receiverVolume}/own/pushed.txt`), "pushed\n");
    });
  } finally {
    await agent?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
