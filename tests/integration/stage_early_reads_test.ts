/**
 * A stage reads and plans beside the taking of its lock, and keeps those reads only when the lock
 * was taken over the very Lease it read before them (nothing wrote the Lease in between, so no run
 * held the lock while it read). Both cases against the real clusters.
 */
import assert from "node:assert/strict";
import type { KubeClient, KubeRequest } from "../../shared/kube/mod.ts";
import { stage } from "../../functions/stage.ts";
import { acquireReplicationLock } from "../../shared/state/mod.ts";
import { deps, fixtures, names, seed, testClusters, withNamespaces } from "../_clusters.ts";

const LEASE = /\/apis\/coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases\/dr-syncer$/;

/** The DR client, with a hook before the first write of the replication's Lease and a log of requests. */
function watched(dr: KubeClient, beforeLockWrite: (log: readonly string[]) => Promise<void>) {
  const log: string[] = [];
  let hooked = false;
  const client: KubeClient = {
    ...dr,
    async request<T>(req: KubeRequest): Promise<T> {
      const what = `${req.method} ${req.path}`;
      const lockWrite = req.method !== "GET" && (LEASE.test(req.path) || req.path.endsWith("/leases"));
      if (lockWrite && !hooked) {
        hooked = true;
        await beforeLockWrite(log);
      }
      log.push(`sent ${what}`);
      try {
        return await dr.request<T>(req);
      } finally {
        log.push(`answered ${what}`);
      }
    },
  };
  return { client, log };
}

/** Waits (up to 5 s) until DR's ConfigMaps of `namespace` were listed; whether they were. */
async function listingAnswered(log: readonly string[], namespace: string): Promise<boolean> {
  const listed = `answered GET /api/v1/namespaces/${namespace}/configmaps`;
  for (let i = 0; i < 100 && !log.includes(listed); i++) await new Promise((r) => setTimeout(r, 50));
  return log.includes(listed);
}

Deno.test("stage: its reads go beside the taking of the lock when the Lease it read is free, and are kept", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "earlyreads", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.configMap(ns.source, "b")]);
    assert.equal((await stage(deps(c), { replication: ns.spec() })).status, "succeeded");
    await seed(c.source, [fixtures.configMap(ns.source, "c")]);
    // the lock's write is held back until DR's ConfigMaps were listed: read beside it, not after it
    let listedFirst = false;
    const { client, log } = watched(c.dr, async (seen) => {
      listedFirst = await listingAnswered(seen, ns.dest);
    });
    const report = await stage(deps({ source: c.source, dr: client }), { replication: ns.spec() });
    assert.equal(report.status, "succeeded");
    assert.equal(report.objects.find((o) => o.name === "c")?.action, "created");
    assert.ok(listedFirst, `DR was listed before the lock was written:\n${log.join("\n")}`);
    const listings = log.filter((l) =>
      l.startsWith("sent GET") && l.endsWith(`/namespaces/${ns.dest}/configmaps`)
    );
    assert.equal(listings.length, 1, `and not listed again under the lock:\n${log.join("\n")}`);
  });
});

Deno.test("stage: a run that took and released the lock after the stage read the Lease makes it read again under the lock", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "earlyreread", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.configMap(ns.source, "b")]);
    assert.equal((await stage(deps(c), { replication: ns.spec() })).status, "succeeded");
    // between the stage's read of the Lease and its write, another run takes the lock and deletes the
    // copy of b (once the stage's early listing has seen it): the early reads are stale
    let listedFirst = false;
    const { client, log } = watched(c.dr, async (seen) => {
      listedFirst = await listingAnswered(seen, ns.dest);
      const other = await acquireReplicationLock(c.dr, {
        namespace: ns.dest,
        replication: "r",
        holder: "other",
      });
      await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns.dest}/configmaps/b` });
      await other.release(other.state);
    });
    const report = await stage(deps({ source: c.source, dr: client }), { replication: ns.spec() });
    assert.equal(report.status, "succeeded");
    assert.ok(listedFirst, `the early listing saw b's copy:\n${log.join("\n")}`);
    assert.equal(
      report.objects.find((o) => o.name === "b")?.action,
      "created",
      "b's copy, deleted while the stage waited for the lock, is seen missing and written again",
    );
    assert.deepEqual(await names(c.dr, "v1", "ConfigMap", ns.dest), ["a", "b", "kube-root-ca.crt"]);
    const listings = log.filter((l) =>
      l.startsWith("sent GET") && l.endsWith(`/namespaces/${ns.dest}/configmaps`)
    );
    assert.equal(listings.length, 2, `listed beside the lock, then again under it:\n${log.join("\n")}`);
  });
});
