/** The replication lock as a fence: expiry judged by what the taker observes, never by comparing clocks. */
import assert from "node:assert/strict";
import { type KubeObject, LEASES, replaceObject } from "../../shared/kube/mod.ts";
import { acquireReplicationLock, LockHeldError } from "../../shared/state/mod.ts";
import { createNamespace, testClusters, uniqueName } from "../_clusters.ts";

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
