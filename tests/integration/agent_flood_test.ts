/**
 * The agent under a connection flood from one address (127.0.0.2, a loopback address of its own): idle
 * sockets that never speak, half-open ones that send the SSH banner and stop, ones that close their side at
 * once, and reconnect loops, each put back as soon as the agent closes it, for 20 s at both agents of a pull.
 * Meanwhile a real pull with valid keys (from 127.0.0.1, pvc-sync's client to the receiving agent, which
 * pulls from the sending agent) succeeds, and the agents' logs stay bounded: refusals are logged once per
 * interval and summed up.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { type PullPair, sampleTree, snapshotTree, startPullPair } from "../support/agent/mod.ts";

const FLOOD_MS = 20_000;
const FLOOD_FROM = "127.0.0.2";

/** A flood at `port` until `until`: every socket is opened again as soon as it closes. */
function flood(port: number, until: number): { connections: () => number; done: Promise<void> } {
  let opened = 0;
  const live = new Set<Socket>();
  const kinds: [number, (socket: Socket) => void][] = [
    [30, () => {}], // idle: connects, says nothing
    [10, (socket) => socket.write("SSH-2.0-flood\r\n")], // half-open: the banner, then nothing
    [10, (socket) => socket.end()], // closes its side at once
    [2, (socket) => socket.destroy()], // reconnect loop
  ];
  const open = (behave: (socket: Socket) => void) => {
    if (Date.now() >= until) return;
    opened++;
    const socket = connect({ host: "127.0.0.1", port, localAddress: FLOOD_FROM });
    live.add(socket);
    socket.on("connect", () => behave(socket));
    socket.on("error", () => {});
    socket.on("close", () => {
      live.delete(socket);
      setTimeout(() => open(behave), 0);
    });
  };
  for (const [count, behave] of kinds) for (let i = 0; i < count; i++) open(behave);
  const done = new Promise<void>((resolve) =>
    setTimeout(() => {
      for (const socket of live) socket.destroy();
      resolve();
    }, until - Date.now())
  );
  return { connections: () => opened, done };
}

Deno.test("agent under a flood from one address: a real pull succeeds, the log stays bounded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-flood-" });
  let pair: PullPair | undefined;
  try {
    pair = await startPullPair(dir);
    await sampleTree(pair.sourceVolume, { bigFileBytes: 1024 * 1024 });
    const agents = [pair.sending, pair.receiving];
    const logsBefore = agents.map((agent) => agent.logs.length);
    const until = Date.now() + FLOOD_MS;
    const floods = agents.map((agent) => flood(agent.port, until));
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the flood in full swing first

    const started = Date.now();
    const outcome = await pair.pull({}, { readyTimeoutMs: 30_000 });
    const pullSeconds = (Date.now() - started) / 1000;
    assert.equal(outcome.exitCode, 0, outcome.stderr);
    assert.ok(pullSeconds < 30, `the pull took ${pullSeconds} s`);
    assert.deepEqual(
      (await snapshotTree(pair.drVolume)).entries,
      (await snapshotTree(pair.sourceVolume)).entries,
    );
    assert.ok(Date.now() < until, "the pull finished while the flood went on");

    await Promise.all(floods.map((f) => f.done));
    for (const [index, agent] of agents.entries()) {
      const during = agent.logs.slice(logsBefore[index]);
      const opened = floods[index]!.connections();
      assert.ok(opened > 500, `only ${opened} flood connections`);
      const refusedLines = during.filter((entry) => entry.msg === "connection refused").length;
      const summaries = during.filter((entry) => entry.msg === "connections refused");
      // one line per 10 s interval as it happens, one summary per interval after: bounded, whatever the flood
      assert.ok(refusedLines <= FLOOD_MS / 10_000 + 2, `${refusedLines} "connection refused" lines`);
      assert.ok(summaries.length >= 1, "the refusals are summed up");
      const summed = summaries.reduce((n, entry) => n + Number(entry.count), 0);
      assert.ok(summed > 100, `only ${summed} refusals summed up`);
      assert.ok(
        during.length < 60,
        `${during.length} log lines during the flood:\n${
          during.slice(0, 20).map((entry) => JSON.stringify(entry)).join("\n")
        }`,
      );
    }
  } finally {
    await pair?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
