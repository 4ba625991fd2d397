/**
 * The agent as the DaemonSet runs it: health endpoint, keys picked up and dropped without a restart, the
 * session limit, graceful shutdown on SIGTERM, and refusing to start with unusable files.
 */
import assert from "node:assert/strict";
import {
  type AgentProcess,
  generateKeyPair,
  type KeyPair,
  makeVolume,
  pseudoRandomBytes,
  rsyncVia,
  run,
  sshArgs,
  type SshOptions,
  startAgentProcess,
  writeAuthorizedKeys,
  writeKnownHosts,
} from "../support/agent/mod.ts";

const FOREVER = "2099-01-01T00:00:00Z";

interface World {
  readonly dir: string;
  readonly root: string;
  readonly volume: string;
  readonly host: KeyPair;
  readonly client: KeyPair;
  readonly keysFile: string;
  readonly entry: (expiresAt?: string) => Record<string, unknown>;
}

/** A temp folder with a kubelet root, one volume, a host key and a client key; removed after `body`. */
async function withWorld(body: (world: World) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agent-lifecycle-" });
  try {
    const root = `${dir}/kubelet`;
    const volume = await makeVolume(root, "pod-1", "kubernetes.io~csi", "pvc-1");
    const [host, client] = await Promise.all([generateKeyPair(dir, "host"), generateKeyPair(dir, "client")]);
    await writeKnownHosts(`${dir}/known_hosts`, host.publicKey);
    await body({
      dir,
      root,
      volume,
      host,
      client,
      keysFile: `${dir}/authorized-keys.json`,
      entry: (expiresAt = FOREVER) => ({
        publicKey: client.publicKey,
        volume: { podUid: "pod-1", volumeName: "pvc-1" },
        mode: "receiver",
        expiresAt,
      }),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sshFor(world: World, agent: AgentProcess): SshOptions {
  return { port: agent.port, identity: world.client.privateKey, knownHosts: `${world.dir}/known_hosts` };
}

async function push(world: World, agent: AgentProcess, extra: readonly string[] = [], source = "source") {
  return await rsyncVia(sshFor(world, agent), [
    "-a",
    ...extra,
    `${world.dir}/${source}/`,
    "agent@127.0.0.1:.",
  ]);
}

async function get(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await response.text();
  return { status: response.status, body: text === "" ? {} : JSON.parse(text) };
}

async function withAgent(
  world: World,
  args: readonly string[],
  body: (agent: AgentProcess) => Promise<void>,
): Promise<void> {
  const agent = await startAgentProcess({
    root: world.root,
    hostKey: world.host.privateKey,
    authorizedKeys: world.keysFile,
    args,
  });
  try {
    await body(agent);
  } finally {
    await agent.stop("SIGKILL");
  }
}

Deno.test("agent reports health and readiness on its own port", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, []);
    await withAgent(world, [], async (agent) => {
      const health = await get(agent.healthPort, "/healthz");
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, {
        status: "ok",
        draining: false,
        connections: 0,
        unauthenticated: 0,
        sessions: 0,
        transfers: 0,
      });
      const ready = await get(agent.healthPort, "/readyz");
      assert.equal(ready.status, 200);
      assert.equal((await get(agent.healthPort, "/other")).status, 404);
      assert.notEqual(agent.healthPort, agent.port);
    });
  });
});

Deno.test("agent writes JSON logs, one object per line", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, [world.entry()]);
    await Deno.mkdir(`${world.dir}/source`);
    await withAgent(world, [], async (agent) => {
      assert.equal((await push(world, agent)).code, 0);
      await agent.waitForLog((e) => e.msg === "transfer finished");
      for (const entry of agent.logs) {
        assert.notEqual(entry.msg, "(not JSON)", String(entry.line));
        assert.equal(typeof entry.time, "string");
        assert.equal(typeof entry.level, "string");
      }
    });
  });
});

Deno.test("agent picks up a key added after it started, and drops an expired one, without a restart", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, []);
    await Deno.mkdir(`${world.dir}/source`);
    await Deno.writeTextFile(`${world.dir}/source/file.txt`, "data\n");
    await withAgent(world, [], async (agent) => {
      const before = await push(world, agent);
      assert.notEqual(before.code, 0);
      assert.match(before.stderr, /Permission denied/);

      const expiresAt = new Date(Date.now() + 4000);
      await writeAuthorizedKeys(world.keysFile, [world.entry(expiresAt.toISOString())]);
      const added = await push(world, agent);
      assert.equal(added.code, 0, added.stderr);
      assert.equal(await Deno.readTextFile(`${world.volume}/file.txt`), "data\n");

      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, expiresAt.getTime() - Date.now() + 200))
      );
      const expired = await push(world, agent);
      assert.notEqual(expired.code, 0);
      assert.match(expired.stderr, /Permission denied/);
    });
  });
});

Deno.test("agent reads a folder of authorized-keys files (a mounted Secret) and skips bad entries", async () => {
  await withWorld(async (world) => {
    const folder = `${world.dir}/keys.d`;
    await Deno.mkdir(folder);
    await writeAuthorizedKeys(`${folder}/other-transfer.json`, [{ publicKey: "not a key" }]);
    await Deno.writeTextFile(`${folder}/broken.json`, "{ not json");
    await Deno.mkdir(`${world.dir}/source`);
    await Deno.writeTextFile(`${world.dir}/source/file.txt`, "data\n");
    const agent = await startAgentProcess({
      root: world.root,
      hostKey: world.host.privateKey,
      authorizedKeys: folder,
    });
    try {
      assert.notEqual((await push(world, agent)).code, 0);
      await writeAuthorizedKeys(`${folder}/this-transfer.json`, [world.entry()]);
      const result = await push(world, agent);
      assert.equal(result.code, 0, result.stderr);
      await agent.waitForLog((e) =>
        e.msg === "authorized keys invalid" && String(e.file).endsWith("broken.json")
      );
      await agent.waitForLog((e) =>
        e.msg === "authorized key left out" && String(e.problem).startsWith("keys[0]")
      );
    } finally {
      await agent.stop("SIGKILL");
    }
  });
});

Deno.test("agent limits concurrent sessions", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, [world.entry()]);
    await Deno.mkdir(`${world.dir}/source`);
    await withAgent(world, ["--max-sessions", "1"], async (agent) => {
      // Holds the one session: an rsync server that waits for its client on stdin.
      const holder = new Deno.Command("ssh", {
        args: [...sshArgs(sshFor(world, agent)), "agent@127.0.0.1", "rsync --server -logDtpre.iLsfxCIvu . ."],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        await agent.waitForLog((e) => e.msg === "transfer started");
        const health = await get(agent.healthPort, "/healthz");
        assert.equal(health.body.connections, 1);
        assert.equal(health.body.transfers, 1);
        const second = await push(world, agent);
        assert.notEqual(second.code, 0, "a second session got in");
        await agent.waitForLog((e) => e.msg === "connection refused");
      } finally {
        await holder.stdin.close();
        holder.kill("SIGTERM");
        await holder.status;
      }
      await agent.waitForLog((e) => e.msg === "transfer failed" || e.msg === "transfer finished");
      // The slot is free again.
      let again = await push(world, agent);
      for (let i = 0; i < 20 && again.code !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        again = await push(world, agent);
      }
      assert.equal(again.code, 0, again.stderr);
    });
  });
});

Deno.test("agent closes a connection that does not log in or send a command in time", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, [world.entry()]);
    await withAgent(world, ["--login-timeout", "1"], async (agent) => {
      const started = Date.now();
      // -N: log in, then send no command.
      const idle = await run("ssh", [...sshArgs(sshFor(world, agent)), "-N", "agent@127.0.0.1"], {
        timeoutMs: 15_000,
      });
      assert.equal(idle.timedOut, false, "the agent kept an idle connection open");
      assert.ok(Date.now() - started < 10_000);
      await agent.waitForLog((e) => e.msg === "closing connection" && e.reason === "no command in time");
      // A bare TCP connection that never speaks SSH is closed too.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: agent.port });
      const buffer = new Uint8Array(1024);
      let read: number | null = 0;
      while (read !== null) read = await conn.read(buffer);
      conn.close();
      await agent.waitForLog((e) => e.msg === "closing connection" && e.reason === "not logged in in time");
    });
  });
});

Deno.test("agent lets a running transfer finish on SIGTERM, refuses new ones, then exits 0", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, [world.entry()]);
    await Deno.mkdir(`${world.dir}/source`);
    await Deno.writeFile(`${world.dir}/source/slow.bin`, pseudoRandomBytes(3 * 1024 * 1024, 3));
    const agent = await startAgentProcess({
      root: world.root,
      hostKey: world.host.privateKey,
      authorizedKeys: world.keysFile,
      args: ["--grace-period", "30"],
    });
    try {
      // --bwlimit makes the transfer take about 3 s.
      const transfer = push(world, agent, ["--bwlimit=1000"]);
      await agent.waitForLog((e) => e.msg === "transfer started");
      await new Promise((resolve) => setTimeout(resolve, 500));
      agent.kill("SIGTERM");
      await agent.waitForLog((e) => e.msg === "agent stopping");
      const ready = await get(agent.healthPort, "/readyz").catch(() => ({ status: 0, body: {} }));
      assert.equal(ready.status, 503);
      await Deno.mkdir(`${world.dir}/late`);
      const late = await push(world, agent, [], "late");
      assert.notEqual(late.code, 0, "a new connection was accepted while stopping");
      const result = await transfer;
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        await Deno.readFile(`${world.volume}/slow.bin`),
        await Deno.readFile(`${world.dir}/source/slow.bin`),
      );
      const status = await agent.status;
      assert.equal(status.code, 0);
      await agent.waitForLog((e) => e.msg === "agent stopped");
    } finally {
      await agent.stop("SIGKILL");
    }
  });
});

Deno.test("agent stops a transfer that outlasts the grace period", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, [world.entry()]);
    await Deno.mkdir(`${world.dir}/source`);
    await Deno.writeFile(`${world.dir}/source/slow.bin`, pseudoRandomBytes(8 * 1024 * 1024, 4));
    const agent = await startAgentProcess({
      root: world.root,
      hostKey: world.host.privateKey,
      authorizedKeys: world.keysFile,
      args: ["--grace-period", "1"],
    });
    try {
      const transfer = push(world, agent, ["--bwlimit=500"]);
      await agent.waitForLog((e) => e.msg === "transfer started");
      const started = Date.now();
      agent.kill("SIGTERM");
      const status = await agent.status;
      assert.equal(status.code, 0);
      assert.ok(Date.now() - started < 8000, "the agent waited past its grace period");
      await agent.waitForLog((e) => e.msg === "grace period over, stopping transfers");
      const result = await transfer;
      assert.notEqual(result.code, 0);
    } finally {
      await agent.stop("SIGKILL");
    }
  });
});

Deno.test("agent refuses to start without a usable host key or root", async () => {
  await withWorld(async (world) => {
    await writeAuthorizedKeys(world.keysFile, []);
    const main = new URL("../../agent/main.ts", import.meta.url).pathname;
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const start = (args: readonly string[]) =>
      run(Deno.execPath(), [
        "run",
        "-A",
        "--config",
        config,
        main,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--health-port",
        "0",
        ...args,
      ], {
        timeoutMs: 30_000,
      });
    const missingKey = await start(["--root", world.root, "--authorized-keys", world.keysFile]);
    assert.equal(missingKey.code, 2);
    assert.match(missingKey.stderr, /Missing --host-key/);
    const badKey = await start([
      "--root",
      world.root,
      "--host-key",
      `${world.host.privateKey}.pub`,
      "--authorized-keys",
      world.keysFile,
    ]);
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /Cannot use host key/);
    const badRoot = await start([
      "--root",
      `${world.dir}/nope`,
      "--host-key",
      world.host.privateKey,
      "--authorized-keys",
      world.keysFile,
    ]);
    assert.equal(badRoot.code, 2);
    assert.match(badRoot.stderr, /Cannot use root/);
  });
});
