/**
 * Cutover on the worst day: a source that half-answers, a token without rights, a crashed run whose
 * re-run fails, DR lost half-way. Never down on both sides, never up on both, the real cause named.
 */
import assert from "node:assert/strict";
import { cutover, CutoverInterruptedError } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { fence } from "../../functions/fence.ts";
import { stage } from "../../functions/stage.ts";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { readReplicationState } from "../../shared/state/mod.ts";
import {
  deps,
  extraCluster,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";

type Workload = KubeObject & { spec: { replicas?: number } };
const replicas = async (client: KubeClient, ns: string, name: string) =>
  (await read<Workload>(client, "apps/v1", "Deployment", ns, name))?.spec.replicas;

/** The source kubeconfig with its user replaced: a bad token (401), or an exec plugin that fails. */
async function brokenSource(user: Record<string, unknown>): Promise<KubeClient> {
  const { parse, stringify } = await import("yaml");
  const kc = parse(await Deno.readTextFile(SOURCE_KUBECONFIG)) as {
    users: { name: string; user: Record<string, unknown> }[];
  };
  kc.users = kc.users.map((u) => ({ ...u, user }));
  return await connectCluster("source", { inline: stringify(kc), context: "source" });
}

Deno.test("cutover with a source that answers but cannot be listed treats it as unavailable when allowed", async () => {
  await using c = await testClusters();
  const sources: [string, KubeClient][] = [
    [
      "no rights (403)",
      await connectCluster("source", { path: SOURCE_KUBECONFIG, context: "source-norights" }),
    ],
    ["a bad token (401)", await brokenSource({ token: "not-a-token" })],
    [
      "a failing exec plugin",
      await brokenSource({
        exec: { apiVersion: "client.authentication.k8s.io/v1", command: "false", interactiveMode: "Never" },
      }),
    ],
  ];
  try {
    for (const [what, source] of sources) {
      await withNamespaces(c, "halfdead", async (ns) => {
        await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
        await stage(deps(c), { replication: ns.spec() });
        const half = { source, dr: c.dr };
        const refused = await cutover(deps(half), { replication: ns.spec() }).catch((e) => e);
        assert.ok(
          refused instanceof Error || refused.status === "failed",
          `${what}: without the flag the cutover does not pretend the source is fine`,
        );
        assert.equal(await replicas(c.dr, ns.dest, "web"), 0, `${what}: DR untouched without the flag`);
        const report = await cutover(deps(half), { replication: ns.spec(), allowSourceUnavailable: true });
        assert.equal(report.status, "succeeded", `${what}: ${JSON.stringify(report.steps)}`);
        assert.equal(report.steps.find((s) => s.step === "scale-source-down")?.status, "skipped");
        assert.equal(await replicas(c.dr, ns.dest, "web"), 3, `${what}: DR up from its recorded count`);
      });
    }
  } finally {
    for (const [, source] of sources) source.close();
  }
});

Deno.test("cutover with a source token without rights names the real cause and touches nothing", async () => {
  await using c = await testClusters();
  const norights = await connectCluster("source", { path: SOURCE_KUBECONFIG, context: "source-norights" });
  try {
    await withNamespaces(c, "realcause", async (ns) => {
      await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
      await stage(deps(c), { replication: ns.spec() });
      const report = await cutover(deps({ source: norights, dr: c.dr }), { replication: ns.spec() });
      assert.equal(report.status, "failed");
      const failed = report.steps.filter((s) => s.status === "failed");
      assert.equal(failed.length, 1, JSON.stringify(report.steps));
      assert.equal(failed[0]!.step, "final-stage");
      assert.match(failed[0]!.detail!, /forbidden/i);
      assert.ok(
        !report.steps.some((s) => s.step.startsWith("undo")),
        "nothing to undo: the source was not touched",
      );
      assert.equal(await replicas(c.source, ns.source, "web"), 3);
      assert.equal(await replicas(c.dr, ns.dest, "web"), 0);
    });
  } finally {
    norights.close();
  }
});

Deno.test("a re-run cutover whose final stage fails does not undo the source while DR already runs", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "noundo", async (ns) => {
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 3),
      fixtures.deployment(ns.source, "api", 2),
    ]);
    await stage(deps(c), { replication: ns.spec() });
    // a cutover that crashed half-way through scaling DR up: the source is down, "web" is up on DR
    await cutover(
      deps(c, {
        afterStep: (step) => {
          if (step === "scale-source-down") throw new Error("crash");
        },
      }),
      {
        replication: ns.spec(),
      },
    ).catch(() => {});
    await c.dr.request({ // as the crashed run's scale-dr-up did it
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/web`,
      query: { fieldManager: "dr-syncer" },
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: 3 } },
    });
    // meanwhile an object appears on the source that cannot be copied
    await seed(c.source, [{
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "bad", namespace: ns.source, labels: { "dr-syncer.io/access-mode": "sideways" } },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }]);
    const report = await cutover(deps(c), { replication: ns.spec() });
    assert.equal(report.status, "failed");
    const undo = report.steps.find((s) => s.step === "undo-scale-source-down");
    assert.match(undo?.detail ?? "", /not undone: DR already runs 1 workload\(s\) \(Deployment\/web\)/);
    const both = [await replicas(c.source, ns.source, "web"), await replicas(c.source, ns.source, "api")];
    assert.deepEqual(both, [0, 0], "the source stays down: never up on both sides");
    const finished = await cutover(deps(c), { replication: ns.spec(), acceptStale: true });
    assert.equal(finished.status, "succeeded", JSON.stringify(finished.steps));
    assert.match(finished.objects.find((o) => o.name === "bad")?.reason ?? "", /^stale on DR \(accepted\)/);
    assert.deepEqual([await replicas(c.dr, ns.dest, "web"), await replicas(c.dr, ns.dest, "api")], [3, 2]);
  });
});

Deno.test("a cutover that loses DR half-way says loudly that both sides may be down, and a re-run finishes it", async () => {
  await using c = await testClusters();
  await using frozen = await extraCluster("frozen");
  const dr = await connectCluster("dr", { path: frozen.kubeconfig });
  try {
    await withNamespaces({ source: c.source, dr }, "drlost", async (ns) => {
      await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
      const clusters = { source: c.source, dr };
      await stage(deps(clusters), { replication: ns.spec() });
      const freezeAfterSourceDown = async (step: string) => {
        if (step !== "scale-source-down") return;
        await frozen.freeze();
        setTimeout(() => frozen.thaw(), 6_000); // past the lock's 3 s lease
      };
      await assert.rejects(
        cutover(deps(clusters, { lock: { leaseSeconds: 3 }, afterStep: freezeAfterSourceDown }), {
          replication: ns.spec(),
        }),
        (e: unknown) =>
          e instanceof CutoverInterruptedError &&
          /stopped after the source was scaled down, before DR was up .*down on both sides; run cutover again/
            .test(
              e.message,
            ),
      );
      await new Promise((r) => setTimeout(r, 6_500));
      const report = await cutover(deps(clusters, { lock: { leaseSeconds: 3, waitMs: 10_000 } }), {
        replication: ns.spec(),
      });
      assert.equal(report.status, "succeeded", JSON.stringify(report.steps));
      assert.equal(await replicas(dr, ns.dest, "web"), 3);
      assert.equal(await replicas(c.source, ns.source, "web"), 0);
      assert.equal((await readReplicationState(dr, ns.dest)).activeSide, "dr");
      assert.equal((await failback(deps(clusters), { replication: ns.spec() })).status, "succeeded");
    });
  } finally {
    dr.close();
  }
});

Deno.test("a cutover that skipped the source fences it at the next run that reaches it", async () => {
  await using c = await testClusters();
  const norights = await connectCluster("source", { path: SOURCE_KUBECONFIG, context: "source-norights" });
  try {
    await withNamespaces(c, "fence", async (ns) => {
      await seed(c.source, [fixtures.deployment(ns.source, "web", 3)]);
      await stage(deps(c), { replication: ns.spec() });
      const report = await cutover(deps({ source: norights, dr: c.dr }), {
        replication: ns.spec(),
        allowSourceUnavailable: true,
      });
      assert.equal(report.status, "succeeded");
      assert.equal(
        await replicas(c.source, ns.source, "web"),
        3,
        "the source was out of reach: still running",
      );
      assert.equal((await readReplicationState(c.dr, ns.dest)).fenceSource, true);
      // the next stage reaches the source: it fences it, then refuses as DR is live
      await assert.rejects(
        stage(deps(c), { replication: ns.spec() }),
        (e: unknown) =>
          e instanceof Error && /cut over to DR.*was fenced first: scale-source-down done/.test(e.message),
      );
      assert.equal(await replicas(c.source, ns.source, "web"), 0, "fenced: down on the source");
      const web = await read<Workload>(c.source, "apps/v1", "Deployment", ns.source, "web");
      assert.equal(web?.metadata.annotations?.["dr-syncer.io/original-replicas"], "3", "its count recorded");
      assert.equal((await readReplicationState(c.dr, ns.dest)).fenceSource, undefined);
      assert.equal(await replicas(c.dr, ns.dest, "web"), 3, "DR still serves");
      assert.equal((await failback(deps(c), { replication: ns.spec() })).status, "succeeded");
      assert.equal(await replicas(c.source, ns.source, "web"), 3, "failback restores the fenced source");
    });
  } finally {
    norights.close();
  }
});

Deno.test("fence scales the source down only when a cutover skipped it, unless forced", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "fencecmd", async (ns) => {
    await seed(c.source, [fixtures.deployment(ns.source, "web", 2)]);
    await stage(deps(c), { replication: ns.spec() });
    await assert.rejects(fence(deps(c), { replication: ns.spec() }), /has no source to fence/);
    assert.equal(await replicas(c.source, ns.source, "web"), 2);
    const report = await fence(deps(c), { replication: ns.spec(), force: true });
    assert.equal(report.status, "succeeded");
    assert.equal(await replicas(c.source, ns.source, "web"), 0);
  });
});
