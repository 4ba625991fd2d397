/**
 * The replication lock as a fence: expiry judged on the API server's clock (the server-stamped time
 * of the Lease's last write against the server's current time), never by comparing two machines'
 * clocks; a holder stops writing at its renew deadline, well before its lease can pass.
 */
import assert from "node:assert/strict";
import {
  connectCluster,
  type KubeClient,
  type KubeObject,
  type KubeRequest,
  LEASES,
  replaceObject,
} from "../../shared/kube/mod.ts";
import { RUNTIME_NAME } from "../../infra/names.ts";
import {
  acquireReplicationLock,
  lastServerWrite,
  LockHeldError,
  LockLostError,
  readLockHolder,
  RENEW_DEADLINE_FRACTION,
} from "../../shared/state/mod.ts";
import { createNamespace, extraCluster, seed, testClusters, uniqueName } from "../_clusters.ts";
import { runtimeKubeconfig } from "./runtime_rights.ts";

type Lease = KubeObject & { spec: Record<string, unknown> };
const micro = (d: Date) => d.toISOString().replace("Z", "000Z");

async function leaseHeldBy(client: Parameters<typeof createNamespace>[0], ns: string, renewTime: Date) {
  const lock = await acquireReplicationLock(client, { namespace: ns, replication: "r", holder: "seed" });
  await lock.release(lock.state);
  const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/dr-syncer`;
  const lease = await client.request<Lease>({ method: "GET", path });
  const held: Lease = {
    ...lease,
    spec: {
      ...lease.spec,
      holderIdentity: "other-run",
      leaseDurationSeconds: 2,
      renewTime: micro(renewTime),
    },
  };
  return await replaceObject<Lease>(client, LEASES, held);
}

Deno.test("lock: a lease stamped in the future by a skewed clock is taken over once seen unrenewed for its duration", async () => {
  await using c = await testClusters();
  const ns = uniqueName("lockskew");
  await createNamespace(c.dr, ns);
  try {
    await leaseHeldBy(c.dr, ns, new Date(Date.now() + 3_600_000)); // the holder's clock runs an hour ahead
    const t0 = performance.now();
    const lock = await acquireReplicationLock(c.dr, {
      namespace: ns,
      replication: "r",
      holder: "me",
      waitMs: 10_000,
    });
    const waited = performance.now() - t0;
    assert.ok(
      waited >= 1_900 && waited < 6_000,
      `taken after about the 2 s lease, not an hour (${waited} ms)`,
    );
    await lock.release(lock.state);
  } finally {
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => {});
  }
});

Deno.test("lock: a lease its holder keeps renewing is never taken, however old its timestamps look", async () => {
  await using c = await testClusters();
  const ns = uniqueName("lockalive");
  await createNamespace(c.dr, ns);
  let held = await leaseHeldBy(c.dr, ns, new Date(Date.now() - 3_600_000)); // the holder's clock runs an hour behind
  let renewing = true;
  const renewals = (async () => {
    for (let behind = 3_600_000; renewing; behind -= 400) {
      held = await replaceObject<Lease>(c.dr, LEASES, {
        ...held,
        spec: { ...held.spec, renewTime: micro(new Date(Date.now() - behind)) },
      });
      await new Promise((r) => setTimeout(r, 400));
    }
  })();
  try {
    await assert.rejects(
      acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "me", waitMs: 4_000 }),
      (e: unknown) =>
        e instanceof LockHeldError && e.holder === "other-run" && /--wait-for-lock 7/.test(e.message),
    );
  } finally {
    renewing = false;
    await renewals;
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => {});
  }
});

Deno.test("lock: a crashed holder's lock is free to a single attempt once its lease has passed on the API server's clock, not before", async () => {
  await using c = await testClusters();
  const ns = uniqueName("lockserver");
  await createNamespace(c.dr, ns);
  try {
    // the holder crashed right after this write; its clock ran an hour behind (its renewTime looks ancient)
    const written = await leaseHeldBy(c.dr, ns, new Date(Date.now() - 3_600_000));
    const writtenAt = performance.now();
    assert.ok(lastServerWrite(written) !== undefined, "the API server stamped the write");
    await assert.rejects(
      acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "early" }),
      (e: unknown) => e instanceof LockHeldError && e.holder === "other-run",
      "within its lease the lock is held, however old its renewTime",
    );
    assert.equal((await readLockHolder(c.dr, ns))?.holder, "other-run", "the runtime's pre-check agrees");
    // its 2 s lease plus the API server's one-second rounding, and a little more: no attempt watched it
    await new Promise((r) => setTimeout(r, Math.max(0, 3_300 - (performance.now() - writtenAt))));
    assert.equal(await readLockHolder(c.dr, ns), undefined, "the pre-check sees it free");
    const t0 = performance.now();
    const lock = await acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "late" });
    assert.ok(performance.now() - t0 < 1_500, "taken at once, by one attempt that waits for nothing");
    assert.equal(lock.signal.aborted, false);
    await lock.release(lock.state);
  } finally {
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => {});
  }
});

Deno.test("lock: a holder whose API server stalls stops writing by its renew deadline, well before its lease can pass; a healthy holder keeps it", async () => {
  await using stalled = await extraCluster("lockstall");
  const client = await connectCluster("dr", { path: stalled.kubeconfig });
  const observer = await connectCluster("dr", { path: stalled.kubeconfig });
  const ns = uniqueName("lockstall");
  try {
    await createNamespace(client, ns);
    const leaseSeconds = 6;
    const lock = await acquireReplicationLock(client, {
      namespace: ns,
      replication: "r",
      holder: "me",
      leaseSeconds,
    });
    // the allowed case: with the API server answering, the lock is held across several leases
    await new Promise((r) => setTimeout(r, 2 * leaseSeconds * 1000));
    assert.equal(lock.signal.aborted, false, "a holder that renews keeps its lock");

    // freeze the API server right after a renewal was accepted: the holder cannot renew any more
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/dr-syncer`;
    const version = async () =>
      (await observer.request<Lease>({ method: "GET", path, timeoutMs: 2_000 })).metadata.resourceVersion;
    const before = await version();
    while (await version() === before) await new Promise((r) => setTimeout(r, 20));
    await stalled.freeze();
    const frozenAt = performance.now();
    while (!lock.signal.aborted && performance.now() - frozenAt < 3 * leaseSeconds * 1000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const stoppedAfter = performance.now() - frozenAt;
    await stalled.thaw();
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `measured: the holder stopped ${Math.round(stoppedAfter)} ms after the freeze\n`,
      ),
    );
    assert.ok(lock.signal.aborted, "the holder gave its lock up");
    assert.ok(lock.signal.reason instanceof LockLostError, String(lock.signal.reason));
    // the last accepted renewal came just before the freeze: the lease (server clock) runs out at the
    // earliest 6 s after it; the holder must have stopped a good margin before (2/3 of it: 4 s)
    assert.ok(
      stoppedAfter <= leaseSeconds * 1000 * RENEW_DEADLINE_FRACTION + 500,
      `stopped ${Math.round(stoppedAfter)} ms after the last renewal, by the 4 s deadline`,
    );
    assert.match(String(lock.signal.reason.message), /renew deadline/);
    await assert.rejects(lock.update(lock.state), LockLostError, "no write after the deadline");
    // once the lease has passed, another run takes the lock
    const next = await acquireReplicationLock(observer, {
      namespace: ns,
      replication: "r",
      holder: "next",
      waitMs: 30_000,
    });
    await next.release(next.state);
  } finally {
    await stalled.thaw().catch(() => {});
    client.close();
    observer.close();
  }
});

Deno.test("lock: taken over the Lease the caller read (`known`) only when nothing wrote it in between", async () => {
  await using c = await testClusters();
  const ns = uniqueName("lockknown");
  await createNamespace(c.dr, ns);
  const take = (known?: Lease | null) =>
    acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "me", known });
  const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/dr-syncer`;
  try {
    // none yet, and none created in between: created over it
    let lock = await take(null);
    assert.equal(lock.overKnown, true);
    await lock.release(lock.state);
    // read, then untouched: taken over it
    let read = await c.dr.request<Lease>({ method: "GET", path });
    lock = await take(read);
    assert.equal(lock.overKnown, true);
    await lock.release(lock.state);
    // read, then another run took and released it: taken, after a conflict, over a Lease read again
    read = await c.dr.request<Lease>({ method: "GET", path });
    const other = await acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "other" });
    await other.release(other.state);
    lock = await take(read);
    assert.equal(lock.overKnown, false);
    await lock.release(lock.state);
    // "none" read while another run created it meanwhile
    await c.dr.request({ method: "DELETE", path });
    const creator = await acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "other" });
    await creator.release(creator.state);
    lock = await take(null);
    assert.equal(lock.overKnown, false);
    await lock.release(lock.state);
    // nothing known: read first
    lock = await take();
    assert.equal(lock.overKnown, false);
    await lock.release(lock.state);
  } finally {
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => {});
  }
});

/** `client` with a count of its reads of the lock's Lease in `ns` and of the streams (watches) it opens. */
function countingLeaseRequests(client: KubeClient, ns: string) {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/dr-syncer`;
  const counts = { leaseReads: 0, watches: 0 };
  const counted: KubeClient = {
    name: client.name,
    server: client.server,
    contextNamespace: client.contextNamespace,
    stats: client.stats,
    request: <T>(req: KubeRequest) => {
      if (req.method === "GET" && req.path === path) counts.leaseReads++;
      return client.request<T>(req);
    },
    stream: (req: KubeRequest) => {
      counts.watches++;
      return client.stream(req);
    },
    close: () => client.close(),
  };
  return { client: counted, counts };
}

Deno.test("lock: a run waiting for a held lock watches its Lease and takes it as it is released; where it may not watch, it reads the Lease again", async (t) => {
  await using c = await testClusters();
  const ns = uniqueName("lockwatch");
  await createNamespace(c.dr, ns);
  const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/dr-syncer`;
  /** Another run holds the lock for 2 s, then releases it; `client` waits for it meanwhile and takes it. */
  const waitBehindHolder = async (client: KubeClient) => {
    const holder = await acquireReplicationLock(c.dr, { namespace: ns, replication: "r", holder: "holder" });
    const waiting = acquireReplicationLock(client, {
      namespace: ns,
      replication: "r",
      holder: "waiter",
      waitMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal((await c.dr.request<Lease>({ method: "GET", path })).spec.holderIdentity, "holder");
    await holder.release(holder.state);
    const lock = await waiting;
    assert.equal((await c.dr.request<Lease>({ method: "GET", path })).spec.holderIdentity, "waiter");
    await lock.release(lock.state);
  };
  try {
    await t.step(
      "with the right to watch the Lease: one read, then the watch tells it of the release",
      async () => {
        const { client, counts } = countingLeaseRequests(c.dr, ns);
        await waitBehindHolder(client);
        assert.ok(counts.watches >= 1, `watches: ${counts.watches}`);
        // reading it again every 0.25 s would have read it about 8 times in the 2 s
        assert.ok(counts.leaseReads <= 2, `reads of the Lease: ${counts.leaseReads}`);
      },
    );
    await t.step(
      "rights without watch (as granted before): the refused watch is not tried again, the Lease is read again",
      async () => {
        // an account that may read, create and write Leases there, as the runtime's rights allowed before
        await seed(c.dr, [
          { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: RUNTIME_NAME, namespace: ns } },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: "lock-without-watch", namespace: ns },
            rules: [{
              apiGroups: ["coordination.k8s.io"],
              resources: ["leases"],
              verbs: ["get", "create", "update"],
            }],
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "lock-without-watch", namespace: ns },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "lock-without-watch" },
            subjects: [{ kind: "ServiceAccount", name: RUNTIME_NAME, namespace: ns }],
          },
        ]);
        const account = await connectCluster("dr", { inline: await runtimeKubeconfig(c.dr, "dr", ns) });
        try {
          const { client, counts } = countingLeaseRequests(account, ns);
          await waitBehindHolder(client);
          assert.equal(counts.watches, 1, "one watch, refused, not tried again");
          assert.ok(counts.leaseReads >= 4, `reads of the Lease: ${counts.leaseReads}`);
        } finally {
          account.close();
        }
      },
    );
  } finally {
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => {});
  }
});
