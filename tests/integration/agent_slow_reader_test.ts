/**
 * A client that opens a huge SSH window and then stops reading cannot make the agent hold the volume in
 * memory. A real rsync client pulls a 256 MiB file from a real agent process through `stalling_ssh.ts`,
 * which after the first 4 MiB opens the channel's window by a gigabyte and stops reading its TCP
 * connection (it stops itself with SIGSTOP): the agent's memory must stay within a few MiB of what it was, because it stops reading
 * rsync's stdout while its socket holds more than `OUTPUT_SOCKET_HIGH_WATER`. Then the client gets SIGCONT,
 * reads again, and the file arrives whole (the allowed case: the same transfer, finished).
 */
import assert from "node:assert/strict";
import { OUTPUT_SOCKET_HIGH_WATER } from "../../agent/run_rsync.ts";
import {
  generateKeyPair,
  makeVolume,
  pseudoRandomBytes,
  run,
  startAgentProcess,
  writeAuthorizedKeys,
} from "../support/agent/mod.ts";

const FILE_BYTES = 256 * 1024 * 1024;
const STALL_AFTER = 4 * 1024 * 1024;
/** How long the agent gets to read ahead while the client reads nothing. */
const STALL_MS = 4000;
const TRANSPORT = new URL("../support/agent/stalling_ssh.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** A process's resident memory in MiB, from /proc. */
async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+) kB/m);
  assert.ok(match, `no VmRSS for ${pid}`);
  return Number(match[1]) / 1024;
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Deno.stat(path).then(() => true, () => false))) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("agent: a client that opens a huge window and stops reading gets bounded memory, then its file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-slow-reader-" });
  const agent = await (async () => {
    const root = `${dir}/kubelet`;
    const volume = await makeVolume(root, "pod-a", "kubernetes.io~csi", "pvc-a");
    const file = await Deno.open(`${volume}/big`, { write: true, create: true });
    for (let offset = 0; offset < FILE_BYTES; offset += 8 * 1024 * 1024) {
      await file.write(pseudoRandomBytes(8 * 1024 * 1024, offset));
    }
    file.close();
    const [host, reader] = await Promise.all([generateKeyPair(dir, "host"), generateKeyPair(dir, "reader")]);
    await writeAuthorizedKeys(`${dir}/authorized-keys.json`, [{
      name: "slow",
      publicKey: reader.publicKey,
      volume: { podUid: "pod-a", volumeName: "pvc-a" },
      mode: "sender",
      expiresAt: "2099-01-01T00:00:00Z",
    }]);
    await Deno.writeTextFile(`${dir}/host.pub`, host.publicKey);
    const process = await startAgentProcess({
      root,
      hostKey: host.privateKey,
      authorizedKeys: `${dir}/authorized-keys.json`,
    });
    return { process, volume, identity: reader.privateKey };
  })();
  try {
    const control = `${dir}/control`;
    await Deno.mkdir(control);
    await Deno.mkdir(`${dir}/target`);
    const before = await rssMiB(agent.process.pid);
    const transport = [
      Deno.execPath(),
      "run",
      "-A",
      "--config",
      CONFIG,
      TRANSPORT,
      "--port",
      String(agent.process.port),
      "--identity",
      agent.identity,
      "--host-key",
      `${dir}/host.pub`,
      "--control",
      control,
      "--stall-after",
      String(STALL_AFTER),
    ].join(" ");
    // --blocking-io: the transport gets a blocking stdout (Deno waits on a non-blocking one forever)
    const pulling = run("rsync", [
      "-a",
      "--blocking-io",
      "-e",
      transport,
      "agent@127.0.0.1:./big",
      `${dir}/target/`,
    ], {
      timeoutMs: 180_000,
    });

    await Promise.race([
      waitForFile(`${control}/stalled`, 60_000),
      pulling.then((r) => {
        throw new Error(`the pull ended before the client stalled (code ${r.code}): ${r.stderr}`);
      }),
    ]);
    let peak = before;
    for (const until = Date.now() + STALL_MS; Date.now() < until;) {
      peak = Math.max(peak, await rssMiB(agent.process.pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    Deno.kill(Number(await Deno.readTextFile(`${control}/stalled`)), "SIGCONT");
    const result = await pulling;
    assert.equal(result.code, 0, `the pull failed after the stall: ${result.stderr}`);

    // kept: the socket's backlog (4 MiB), the channel's buffer and a read or two, as encrypted packets too
    const allowed = (4 * OUTPUT_SOCKET_HIGH_WATER) / (1024 * 1024) + 16;
    assert.ok(
      peak - before <= allowed,
      `the agent grew by ${
        (peak - before).toFixed(0)
      } MiB while the client read nothing (allowed ${allowed})`,
    );
    const [sent, received] = await Promise.all([
      Deno.readFile(`${agent.volume}/big`),
      Deno.readFile(`${dir}/target/big`),
    ]);
    assert.equal(received.length, FILE_BYTES);
    const digest = async (data: Uint8Array) =>
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)))
        .join();
    assert.equal(await digest(received), await digest(sent), "the file arrived whole after the stall");
  } finally {
    await agent.process.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
