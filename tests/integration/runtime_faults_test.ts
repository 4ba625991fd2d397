/**
 * Faults around the runtime (`dr-syncer serve` as real processes, or the runtime in-process over a network
 * path this file can cut), each with the promise it checks:
 * - etcd restarted under a running continuous sync: the next source change still reaches DR;
 * - two replicas triggered for the same replication at once: one runs, the other answers 409;
 * - the runtime killed with SIGKILL in the middle of a cutover, then started again: the repeated trigger
 *   finishes the cutover (every workload up on exactly one side, at its count); retried every 5 s without
 *   waiting for the lock, it gets 200 within the lease plus 10 s (the lock's expiry is judged on the API
 *   server's clock, not watched for a whole lease within one attempt);
 * - a replica cut off from the DR cluster while it holds the lock: its run stops (lock lost), another replica
 *   takes the lock once it expires and finishes, and nothing the cut-off replica had in flight lands later.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { connectCluster, type KubeClient, type KubeObject, listObjects } from "../../shared/kube/mod.ts";
import { DEPLOYMENTS } from "../../shared/kube/types.ts";
import { readReplicationState } from "../../shared/state/mod.ts";
import {
  DR_KUBECONFIG,
  extraCluster,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import { json, replication, testConfig, testConfigInput, testRuntime, TOKENS } from "./http_harness.ts";
import { serveProcess, writeConfig } from "./serve_harness.ts";

type Workload = KubeObject & { spec: { replicas?: number } };

const CONFIG_MAPS = { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true };

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function replicas(client: KubeClient, ns: string): Promise<Record<string, number | undefined>> {
  return Object.fromEntries(
    (await listObjects<Workload>(client, DEPLOYMENTS, ns)).map((w) => [w.metadata.name, w.spec.replicas]),
  );
}

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKENS.ops}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

Deno.test("fault: etcd restarted under a running continuous sync; the next change still reaches DR", async () => {
  await using c = await testClusters();
  await using restarted = await extraCluster("etcdrestart");
  const source = await connectCluster("source", { path: restarted.kubeconfig });
  try {
    await withNamespaces({ source, dr: c.dr }, "etcdrestart", async (ns) => {
      await seed(source, [fixtures.configMap(ns.source, "first")]);
      const config = testConfig([replication("live", ns.source, ns.dest, { mode: "continuous" })], {
        clusters: [
          { name: "source", kubeconfig: { path: restarted.kubeconfig } },
          { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
        ],
      });
      await using rt = await testRuntime(config, { watchDebounceMs: 50, watchLeaseSeconds: 4 });
      rt.watches.start();
      await until("the first stage", () => read(c.dr, "v1", "ConfigMap", ns.dest, "first"));
      await until("the watch", () => Promise.resolve(rt.watches.states.live === "watching"));
      await restarted.restartEtcd();
      // the API server reconnects to etcd by itself; the write waits until it can
      await until(
        "the source to accept writes again",
        () =>
          seed(source, [fixtures.configMap(ns.source, "after-etcd-restart", { k: "1" })]).then(
            () => true,
            () => false,
          ),
      );
      await until(
        "the change after the etcd restart on DR",
        () => read(c.dr, "v1", "ConfigMap", ns.dest, "after-etcd-restart"),
        60_000,
      );
      await seed(source, [fixtures.configMap(ns.source, "first", { changed: "yes" })]);
      await until("an update after the restart", async () => {
        const copy = await read<KubeObject & { data?: Record<string, string> }>(
          c.dr,
          "v1",
          "ConfigMap",
          ns.dest,
          "first",
        );
        return copy?.data?.changed === "yes" ? true : undefined;
      });
    });
  } finally {
    source.close();
  }
});

Deno.test("fault: two replicas triggered for the same replication at once; one runs, the other answers 409", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "twotriggers", async (ns) => {
    await seed(c.source, Array.from({ length: 40 }, (_, i) => fixtures.configMap(ns.source, `cm-${i}`)));
    const config = await writeConfig(testConfigInput([replication("shop", ns.source, ns.dest)]));
    await using a = await serveProcess(["--config", config]);
    await using b = await serveProcess(["--config", config]);
    const [ra, rb] = await Promise.all([
      json(post(`${a.url}/v1/replications/shop/stage`, { wait: 60 })),
      json(post(`${b.url}/v1/replications/shop/stage`, { wait: 60 })),
    ]);
    const statuses = [ra.status, rb.status].sort();
    assert.deepEqual(statuses, [200, 409], `${JSON.stringify(ra.body)} ${JSON.stringify(rb.body)}`);
    const refused = ra.status === 409 ? ra : rb;
    assert.match(String(refused.body.error), /locked by run|in progress/);
    assert.equal(
      (await listObjects(c.dr, CONFIG_MAPS, ns.dest)).filter((o) => o.metadata.name.startsWith("cm-")).length,
      40,
    );
  }, { destSuffix: "-dr" });
});

/**
 * 30 Deployments staged by `serve` (a real process, `env` its environment), then a cutover triggered
 * and the process killed with SIGKILL as soon as the source starts going down: in the middle of it.
 */
async function killMidCutover(
  c: { source: KubeClient; dr: KubeClient },
  ns: { source: string; dest: string },
  env: Record<string, string>,
) {
  const names = Array.from({ length: 30 }, (_, i) => `web-${i}`);
  await seed(c.source, names.map((name, i) => fixtures.deployment(ns.source, name, 1 + (i % 3))));
  const serveArgs = [
    "--config",
    await writeConfig(testConfigInput([replication("shop", ns.source, ns.dest)])),
  ];
  const first = await serveProcess(serveArgs, env);
  const staged = await json(post(`${first.url}/v1/replications/shop/stage`, { wait: 60 }));
  assert.equal(staged.status, 200, JSON.stringify(staged.body));
  const started = await json(post(`${first.url}/v1/replications/shop/cutover`, { wait: 0 }));
  assert.equal(started.status, 202, JSON.stringify(started.body));
  await until(
    "the source scaling down",
    async () => Object.values(await replicas(c.source, ns.source)).some((n) => n === 0) ? true : undefined,
    60_000,
  );
  await first.stop("SIGKILL");
  return { names, serveArgs, killedAt: performance.now() };
}

/** Every workload down on the source and up on DR at its count, DR the active side. */
async function assertCutOver(
  c: { source: KubeClient; dr: KubeClient },
  ns: { source: string; dest: string },
  names: readonly string[],
) {
  const [source, dr] = [await replicas(c.source, ns.source), await replicas(c.dr, ns.dest)];
  for (const [i, name] of names.entries()) {
    assert.equal(source[name], 0, `${name} down on the source`);
    assert.equal(dr[name], 1 + (i % 3), `${name} up on DR at its count`);
  }
  assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");
}

Deno.test("fault: the runtime killed (SIGKILL) during a cutover; started again, the repeated trigger finishes it", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "servekill", async (ns) => {
    const env = { DR_SYNCER_LEASE_SECONDS: "3" };
    const { names, serveArgs } = await killMidCutover(c, ns, env);
    const atKill = { source: await replicas(c.source, ns.source), dr: await replicas(c.dr, ns.dest) };

    await using second = await serveProcess(serveArgs, env);
    const finished = await json(
      post(`${second.url}/v1/replications/shop/cutover`, { wait: 60, waitForLock: 30 }),
    );
    assert.equal(finished.status, 200, JSON.stringify(finished.body));
    assert.equal(finished.body.status, "succeeded", JSON.stringify(finished.body.steps));
    await assertCutOver(c, ns, names);
    assert.ok(
      Object.values(atKill.source).some((n) => n === 0),
      "the kill came after the source began going down",
    );
  }, { destSuffix: "-dr" });
});

Deno.test("fault: the runtime SIGKILLed mid-cutover and started again; a client retrying every 5 s without waitForLock gets 200 within the lease plus 10 s", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "killretry", async (ns) => {
    const leaseSeconds = 15;
    const env = { DR_SYNCER_LEASE_SECONDS: String(leaseSeconds) };
    const { names, serveArgs, killedAt } = await killMidCutover(c, ns, env);
    await using second = await serveProcess(serveArgs, env);
    const restartedAt = performance.now();

    // what automation does: the same trigger every 5 s, no waitForLock
    const answers: { status: number; at: number; error?: string }[] = [];
    let finished: { status: number; body: Record<string, unknown> } | undefined;
    while (performance.now() - restartedAt < (leaseSeconds + 40) * 1000) {
      const sentAt = performance.now();
      const answer = await json(post(`${second.url}/v1/replications/shop/cutover`, { wait: 60 }));
      answers.push({ status: answer.status, at: performance.now(), error: String(answer.body.error ?? "") });
      if (answer.status === 200) {
        finished = answer;
        break;
      }
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.match(String(answer.body.error), /locked by run/);
      await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (performance.now() - sentAt))));
    }
    assert.ok(finished, `no 200 in ${leaseSeconds + 40} s: ${JSON.stringify(answers)}`);
    const fromRestart = answers.at(-1)!.at - restartedAt;
    const fromKill = answers.at(-1)!.at - killedAt;
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `measured: lease ${leaseSeconds} s; 200 after ${
          (fromRestart / 1000).toFixed(1)
        } s from the restart, ${(fromKill / 1000).toFixed(1)} s from the kill; answers ${
          answers.map((a) => a.status).join(",")
        }\n`,
      ),
    );
    assert.ok(
      fromRestart <= (leaseSeconds + 10) * 1000,
      `200 within the lease plus 10 s of the restart (${Math.round(fromRestart)} ms)`,
    );
    assert.equal(answers[0]?.status, 409, "within its lease, the killed run's lock still holds");
    assert.equal(finished.body.status, "succeeded", JSON.stringify(finished.body.steps));
    await assertCutOver(c, ns, names);
  }, { destSuffix: "-dr" });
});

/** A TCP proxy to `target` that can cut every connection and hold new ones (a network partition). */
async function partitionableProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let partitioned = false;
  const held = new Set<Socket>();
  const server = createServer((client) => {
    client.on("error", () => {});
    if (partitioned) {
      held.add(client); // a black hole: nothing answers
      return;
    }
    const upstream = connect(target.port, target.host);
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    sockets.add(client);
    sockets.add(upstream);
    client.on("close", () => sockets.delete(client));
    upstream.on("close", () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    /** Drops every connection (nothing in flight is delivered) and black-holes new ones. */
    cut() {
      partitioned = true;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      partitioned = false;
      for (const socket of held) socket.destroy();
      held.clear();
    },
    close() {
      for (const socket of [...sockets, ...held]) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

Deno.test("fault: a replica cut off from DR while it holds the lock; another replica takes over and finishes", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "partition", async (ns) => {
    await seed(c.source, Array.from({ length: 300 }, (_, i) => fixtures.configMap(ns.source, `cm-${i}`)));
    // replica A reaches DR through a path this test can cut; replica B directly
    const drUrl = new URL(c.dr.server);
    const proxy = await partitionableProxy({ host: drUrl.hostname, port: Number(drUrl.port) });
    const drText = await Deno.readTextFile(DR_KUBECONFIG);
    const dir = await Deno.makeTempDir({ prefix: "partition-" });
    const proxied = `${dir}/dr-via-proxy.kubeconfig`;
    await Deno.writeTextFile(proxied, drText.replaceAll(c.dr.server, `https://127.0.0.1:${proxy.port}`), {
      mode: 0o600,
    });
    const configFor = (drKubeconfig: string) =>
      testConfig([replication("shop", ns.source, ns.dest)], {
        clusters: [
          { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
          { name: "dr", kubeconfig: { path: drKubeconfig } },
        ],
      });
    try {
      await using a = await testRuntime(configFor(proxied), { leaseSeconds: 3 });
      await using b = await testRuntime(configFor(DR_KUBECONFIG), { leaseSeconds: 3 });
      const started = await json(
        a.request("/v1/replications/shop/stage", { token: TOKENS.ops, body: { wait: 0 } }),
      );
      assert.equal(started.status, 202, JSON.stringify(started.body));
      await until("A's run to hold the lock and write", async () => {
        const copies = await listObjects(c.dr, CONFIG_MAPS, ns.dest).catch(() => []);
        return copies.length > 20 ? true : undefined;
      });
      proxy.cut();
      const cutAt = Date.now();
      const taken = await json(b.request("/v1/replications/shop/stage", {
        token: TOKENS.ops,
        body: { wait: 60, waitForLock: 30 },
      }));
      assert.equal(taken.status, 200, JSON.stringify(taken.body));
      assert.equal((taken.body as { status?: string }).status, "succeeded");
      assert.ok(Date.now() - cutAt >= 2_000, "B waited for A's lock to expire");
      const runA = String(started.body.runId);
      const recordA = await until("A's run to end", async () => {
        const r = (await json(a.request(`/v1/runs/${runA}`, { token: TOKENS.read }))).body;
        return r.status !== "running" ? r : undefined;
      }, 60_000);
      assert.equal(recordA.status, "failed", "the cut-off replica's run does not claim success");
      // nothing A had in flight lands after B finished: DR stays exactly what B left
      const snapshot = async () =>
        (await listObjects(c.dr, CONFIG_MAPS, ns.dest))
          .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort().join(",");
      const afterB = await snapshot();
      proxy.heal();
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal(await snapshot(), afterB, "no late write from the cut-off replica");
    } finally {
      await proxy.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, { destSuffix: "-dr" });
});
