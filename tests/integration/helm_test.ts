/**
 * Helm keeps working on both sides, with the real Helm (v4, server-side apply by default) and a small
 * chart of the tests' own (tests/fixtures/charts/tinyinfo): installed on the source, staged, cut
 * over; upgraded (a field the source's revision set is dropped) and rolled back on DR; failed back
 * (what DR ran comes back to the source, with Helm's history); staged again: the standby equals the
 * source, and Helm's history is the same on both sides. Then the same walk with a hand edit on DR
 * instead of Helm, a new object made on DR and one deleted there.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/kube/mod.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import {
  deps,
  DR_KUBECONFIG,
  fixtures,
  helm,
  names,
  read,
  seed,
  SOURCE_KUBECONFIG,
  syncedView,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";

const CHART = new URL("../fixtures/charts/tinyinfo", import.meta.url).pathname;

type Deployment = KubeObject & {
  spec: {
    replicas: number;
    template: {
      spec: {
        containers: {
          image: string;
          env?: { name: string; value: string }[];
          ports?: { name?: string; containerPort: number }[];
        }[];
      };
    };
  };
};

function failures(report: RunReport): string {
  return JSON.stringify({
    steps: report.steps,
    failed: report.objects.filter((o) => o.action === "failed" || o.warnings),
  });
}

const env = (d: Deployment | undefined) =>
  Object.fromEntries((d?.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
const ports = (d: Deployment | undefined) =>
  (d?.spec.template.spec.containers[0]?.ports ?? []).map((p) => p.containerPort);

/** `helm history` of a release as JSON, without the times (each side's clock): revision, status, chart, description. */
async function history(kubeconfig: string, namespace: string, release: string) {
  const rows = JSON.parse(await helm(kubeconfig, "history", release, "-n", namespace, "-o", "json")) as {
    revision: number;
    status: string;
    chart: string;
    description: string;
  }[];
  return rows.map(({ revision, status, chart, description }) => ({ revision, status, chart, description }));
}

/** Every object of the listed kinds in a namespace, by `Kind/name`, in its synced view (Secrets of Kubernetes left out). */
async function namespaceView(client: Parameters<typeof names>[0], namespace: string) {
  const out: Record<string, unknown> = {};
  for (
    const [apiVersion, kind] of [["v1", "ConfigMap"], ["v1", "Secret"], ["v1", "Service"], [
      "apps/v1",
      "Deployment",
    ]]
  ) {
    for (const name of await names(client, apiVersion!, kind!, namespace)) {
      if (name === "kube-root-ca.crt") continue;
      out[`${kind}/${name}`] = syncedView((await read(client, apiVersion!, kind!, namespace, name))!);
    }
  }
  return out;
}

Deno.test("Helm on both sides: install on the source, upgrade and rollback on DR, failback, stage: the source runs what DR ran, with the same history", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "helm", async (ns) => {
    const spec = ns.spec();
    const helmOn = (kubeconfig: string, ...args: string[]) => helm(kubeconfig, ...args, "-n", ns.source);
    // revision 1, on the source: with the debug env var and port
    await helmOn(SOURCE_KUBECONFIG, "install", "pi", CHART, "--set", "ui.debug=true", "--wait=false");
    const staged = await stage(deps(c), { replication: spec });
    assert.equal(staged.status, "succeeded", failures(staged));
    assert.equal(staged.counts.failed, 0);
    const cut = await cutover(deps(c), { replication: spec });
    assert.equal(cut.status, "succeeded", failures(cut));

    // Helm on DR: the release is there, upgrades (dropping what revision 1 set) and rolls back
    assert.match(await helmOn(DR_KUBECONFIG, "list"), /pi\s+\S+\s+1\s+.*deployed/);
    await helmOn(
      DR_KUBECONFIG,
      "upgrade",
      "pi",
      CHART,
      "--reuse-values",
      "--set",
      "ui.message=dr-live",
      "--set",
      "ui.debug=false",
    );
    let live = await read<Deployment>(c.dr, "apps/v1", "Deployment", ns.dest, "pi");
    assert.deepEqual(env(live), { UI_MESSAGE: "dr-live" }, "Helm on DR removes what revision 1 set");
    assert.deepEqual(ports(live), [9898]);
    await helmOn(DR_KUBECONFIG, "upgrade", "pi", CHART, "--reuse-values", "--set", "ui.message=dr-live-2");
    await helmOn(DR_KUBECONFIG, "rollback", "pi", "2");
    live = await read<Deployment>(c.dr, "apps/v1", "Deployment", ns.dest, "pi");
    assert.deepEqual(env(live), { UI_MESSAGE: "dr-live" }, "rolled back to revision 2");
    assert.equal(live!.spec.replicas, 2);
    const drHistory = await history(DR_KUBECONFIG, ns.dest, "pi");
    assert.deepEqual(drHistory.map((r) => r.revision), [1, 2, 3, 4]);

    // failback: what DR ran comes back first, then the source starts
    const back = await failback(deps(c), { replication: spec });
    assert.equal(back.status, "succeeded", failures(back));
    assert.equal(back.counts.failed, 0);
    const copied = back.objects.filter((o) =>
      o.namespace === ns.source && o.reason?.startsWith("copied back")
    );
    const names_ = copied.map((o) => `${o.action} ${o.kind}/${o.name}`).sort();
    for (
      const expected of [
        "updated Deployment/pi",
        "updated ConfigMap/pi-settings",
        "updated Secret/sh.helm.release.v1.pi.v1",
        "created Secret/sh.helm.release.v1.pi.v2",
        "created Secret/sh.helm.release.v1.pi.v3",
        "created Secret/sh.helm.release.v1.pi.v4",
      ]
    ) assert.ok(names_.includes(expected), `${expected} in ${JSON.stringify(names_)}`);
    assert.equal(back.steps[0]?.step, "copy-back");
    const source = await read<Deployment>(c.source, "apps/v1", "Deployment", ns.source, "pi");
    assert.deepEqual(env(source), { UI_MESSAGE: "dr-live" }, "the source runs what DR ran");
    assert.deepEqual(ports(source), [9898]);
    assert.equal(source!.spec.replicas, 2, "at its recorded count");
    assert.deepEqual(await history(SOURCE_KUBECONFIG, ns.source, "pi"), drHistory, "the same history");

    // the next stages: nothing fails, the standby equals the source, then nothing is written
    const again = await stage(deps(c), { replication: spec });
    assert.equal(again.status, "succeeded", failures(again));
    assert.equal(again.counts.failed, 0);
    assert.deepEqual(await namespaceView(c.dr, ns.dest), await namespaceView(c.source, ns.source));
    assert.deepEqual(await history(DR_KUBECONFIG, ns.dest, "pi"), drHistory);
    const writes = c.dr.stats.writes;
    const quiet = await stage(deps(c), { replication: spec });
    assert.equal(quiet.counts.updated + quiet.counts.created + quiet.counts.failed, 0, failures(quiet));
    assert.equal(c.dr.stats.writes - writes, 2, "only the lock's two writes");

    // and Helm keeps working on the source, whose next revision reaches DR
    await helmOn(
      SOURCE_KUBECONFIG,
      "upgrade",
      "pi",
      CHART,
      "--reuse-values",
      "--set",
      "ui.message=home-again",
    );
    const after = await stage(deps(c), { replication: spec });
    assert.equal(after.status, "succeeded", failures(after));
    assert.deepEqual(
      await history(DR_KUBECONFIG, ns.dest, "pi"),
      await history(SOURCE_KUBECONFIG, ns.source, "pi"),
    );
    assert.deepEqual(await namespaceView(c.dr, ns.dest), await namespaceView(c.source, ns.source));
  });
});

Deno.test("a hand edit, a new object and a deletion on DR while it served come back at failback; the standby then equals the source", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "handback", async (ns) => {
    const spec = ns.spec({ prune: true });
    await seed(c.source, [
      fixtures.deployment(ns.source, "web", 2),
      fixtures.configMap(ns.source, "settings", { mode: "source" }),
      fixtures.configMap(ns.source, "retired", { old: "yes" }),
    ]);
    assert.equal((await stage(deps(c), { replication: spec })).status, "succeeded");
    const cut = await cutover(deps(c), { replication: spec });
    assert.equal(cut.status, "succeeded", failures(cut));

    // while DR serves: a hand edit (the issue's), a new ConfigMap, one deleted
    await c.dr.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns.dest}/deployments/web`,
      query: { fieldManager: "node-fetch" },
      contentType: "application/strategic-merge-patch+json",
      body: {
        metadata: { labels: { extra: "x" } },
        spec: {
          template: {
            spec: {
              containers: [{ name: "c", image: "nginx:1.28", env: [{ name: "B", value: "dr-only" }] }],
            },
          },
        },
      },
    });
    await seed(c.dr, [fixtures.configMap(ns.dest, "made-on-dr", { hot: "fix" })]);
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns.dest}/configmaps/retired` });

    const dry = await failback(deps(c), { replication: spec, dryRun: true });
    const planned = dry.objects.filter((o) => o.action !== "unchanged").map((o) =>
      `${o.action} ${o.kind}/${o.name}`
    )
      .sort();
    assert.deepEqual(planned, [
      "created ConfigMap/made-on-dr",
      "pruned ConfigMap/retired",
      "updated Deployment/web",
    ]);
    assert.match(dry.steps[0]?.detail ?? "", /1 would be created, 1 would be updated, 1 would be deleted/);

    const back = await failback(deps(c), { replication: spec });
    assert.equal(back.status, "succeeded", failures(back));
    assert.match(
      back.objects.find((o) =>
        o.kind === "Deployment" && o.namespace === ns.source && o.reason?.startsWith("copied")
      )
        ?.reason ?? "",
      /^copied back from DR: changed on DR while it served \(added metadata\.labels\.extra, spec\.template\.spec\.containers\[c\]\.env; changed spec\.template\.spec\.containers\[c\]\.image\)$/,
    );
    const web = await read<Deployment>(c.source, "apps/v1", "Deployment", ns.source, "web");
    assert.equal(web!.spec.template.spec.containers[0]!.image, "nginx:1.28", "the source runs what DR ran");
    assert.deepEqual(env(web), { B: "dr-only" });
    assert.equal(web!.metadata.labels?.extra, "x");
    assert.equal(web!.spec.replicas, 2);
    assert.ok(
      await read(c.source, "v1", "ConfigMap", ns.source, "made-on-dr"),
      "made on DR: now on the source",
    );
    assert.equal(
      await read(c.source, "v1", "ConfigMap", ns.source, "retired"),
      undefined,
      "deleted on DR: gone",
    );

    const again = await stage(deps(c), { replication: spec });
    assert.equal(again.status, "succeeded", failures(again));
    assert.equal(again.counts.failed, 0);
    for (
      const [apiVersion, kind, name] of [["apps/v1", "Deployment", "web"], ["v1", "ConfigMap", "settings"], [
        "v1",
        "ConfigMap",
        "made-on-dr",
      ]]
    ) {
      const s = await read(c.source, apiVersion!, kind!, ns.source, name!);
      const d = await read(c.dr, apiVersion!, kind!, ns.dest, name!);
      assert.deepEqual(syncedView(d!), syncedView(s!), `${kind} ${name}: the standby equals the source`);
    }
    const writes = c.dr.stats.writes;
    const quiet = await stage(deps(c), { replication: spec });
    assert.equal(quiet.counts.updated + quiet.counts.created, 0, failures(quiet));
    assert.equal(c.dr.stats.writes - writes, 2, "only the lock's two writes");
  });
});

Deno.test("failback with discardDrChanges leaves the source as it was, and says what it did not copy back", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "discard", async (ns) => {
    const spec = ns.spec();
    await seed(c.source, [fixtures.configMap(ns.source, "settings", { mode: "source" })]);
    await seed(c.source, [fixtures.deployment(ns.source, "web", 1)]);
    await stage(deps(c), { replication: spec });
    assert.equal((await cutover(deps(c), { replication: spec })).status, "succeeded");
    await c.dr.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${ns.dest}/configmaps/settings`,
      query: { fieldManager: "kubectl-edit" },
      contentType: "application/merge-patch+json",
      body: { data: { mode: "dr" } },
    });
    const back = await failback(deps(c), { replication: spec, discardDrChanges: true });
    assert.equal(back.status, "succeeded", failures(back));
    const step = back.steps.find((s) => s.step === "copy-back");
    assert.equal(step?.status, "skipped");
    assert.match(step?.detail ?? "", /--discard-dr-changes/);
    const settings = await read<KubeObject & { data: Record<string, string> }>(
      c.source,
      "v1",
      "ConfigMap",
      ns.source,
      "settings",
    );
    assert.deepEqual(settings!.data, { mode: "source" });
    // and the next stage puts DR's change back: the standby equals the source again
    const again = await stage(deps(c), { replication: spec });
    assert.match(
      again.objects.find((o) => o.name === "settings")?.reason ?? "",
      /^drift: changed on DR by kubectl-edit; put back \(changed data\.mode\)$/,
    );
  });
});

Deno.test("a release record Helm rewrote on DR is recognised: the next stage puts it back instead of failing", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "helmrw", async (ns) => {
    const spec = ns.spec();
    const helmOn = (kubeconfig: string, ...args: string[]) => helm(kubeconfig, ...args, "-n", ns.source);
    await helmOn(SOURCE_KUBECONFIG, "install", "pi", CHART, "--wait=false");
    assert.equal((await stage(deps(c), { replication: spec })).status, "succeeded");
    assert.equal((await cutover(deps(c), { replication: spec })).status, "succeeded");
    // Helm on DR rewrites revision 1's record whole (superseded), without dr-syncer's provenance
    await helmOn(DR_KUBECONFIG, "upgrade", "pi", CHART, "--reuse-values", "--set", "ui.message=dr-live");
    const rewritten = await read(c.dr, "v1", "Secret", ns.dest, "sh.helm.release.v1.pi.v1");
    assert.equal(rewritten!.metadata.annotations?.["dr-syncer.io/source-cluster"], undefined);
    // failback without the copy-back: the source stays at revision 1
    const back = await failback(deps(c), { replication: spec, discardDrChanges: true });
    assert.equal(back.status, "succeeded", failures(back));
    const again = await stage(deps(c), { replication: spec });
    assert.equal(again.status, "succeeded", failures(again));
    assert.equal(again.counts.failed, 0);
    assert.match(
      again.objects.find((o) => o.name === "sh.helm.release.v1.pi.v1")?.reason ?? "",
      /^Helm rewrote this release record on DR/,
    );
    const record = await read(c.dr, "v1", "Secret", ns.dest, "sh.helm.release.v1.pi.v1");
    assert.deepEqual(
      syncedView(record!),
      syncedView((await read(c.source, "v1", "Secret", ns.source, "sh.helm.release.v1.pi.v1"))!),
    );
    const live = await read<Deployment>(c.dr, "apps/v1", "Deployment", ns.dest, "pi");
    assert.deepEqual(env(live), { UI_MESSAGE: "hello" }, "DR's Helm upgrade is put back to the source's");
  });
});
