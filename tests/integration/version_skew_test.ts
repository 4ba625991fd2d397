/**
 * Version skew: a DR cluster one Kubernetes minor release behind the source. This test starts its own pair:
 * the source at the test environment's version (K8S_VERSION, v1.36.3) and DR at SKEW_K8S_VERSION (v1.34.4,
 * built by `testenv.sh build-skew`), both with the environment's default StorageClass and provisioner.
 *
 * What the two serve differently, found by comparing their discovery (`/api` and `/apis`, every version):
 * - by default, the only difference is admissionregistration.k8s.io/v1 MutatingAdmissionPolicy(Binding),
 *   GA in 1.36 and absent from 1.34: cluster-scoped, so never part of a namespace's copy;
 * - with every alpha and beta API and feature gate on, the namespaced ones 1.34 lacks are
 *   scheduling.k8s.io/v1alpha2 `workloads` and `podgroups` (gate GenericWorkload), and
 *   certificates.k8s.io `podcertificaterequests` is served as v1beta1 by 1.36 and only as v1alpha1 by 1.34.
 * So the source here serves scheduling.k8s.io/v1alpha2 (its platform team turned the gate on) and DR cannot,
 * and two CRDs are installed differently on each side, as happens when DR's operators lag behind.
 *
 * The rules checked: a namespace of ordinary workloads goes back and forth (the StatefulSet's claim binds
 * and its pod runs on both sides); an object whose type DR serves at another version is copied at a
 * version both serve; one that cannot be copied is refused with a message naming its type and version,
 * and a cutover does not go ahead past it unless stale copies are accepted. Nothing is silently left out:
 * every source object of a copied type is in the report.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import { sampleApp } from "../../functions/cli/sample_app.ts";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { DEFAULT_RESOURCE_TYPES } from "../../shared/plan/default_resource_types.ts";
import { type ReplicationSpec, replicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { createNamespace, deps, extraCluster, skewK8sVersion } from "../_clusters.ts";

const GROUP = "skew.example.com";
type Phased = KubeObject & { status?: { phase?: string }; spec?: Record<string, unknown> };

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const get = <T = KubeObject>(client: KubeClient, path: string) => client.request<T>({ method: "GET", path });
const post = (client: KubeClient, path: string, body: unknown) =>
  client.request({ method: "POST", path, body });
const list = async (client: KubeClient, path: string) => (await get<{ items: Phased[] }>(client, path)).items;

/** Creates objects at their own API path (no discovery cache: CRDs appear during the test). */
async function create(client: KubeClient, objects: readonly KubeObject[]) {
  for (const o of objects) {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    const plural = `${o.kind.toLowerCase()}${o.kind.endsWith("s") ? "es" : "s"}`.replace(/ys$/, "ies");
    const ns = o.metadata.namespace;
    await post(client, `${base}${ns ? `/namespaces/${ns}` : ""}/${plural}`, o);
  }
}

/** A CRD of GROUP whose versions are `served` (the first one stored), and waits until all of them are served. */
async function installCrd(client: KubeClient, plural: string, kind: string, served: readonly string[]) {
  const schema = { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } };
  await post(client, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { plural, singular: kind.toLowerCase(), kind },
      versions: served.map((name, i) => ({ name, served: true, storage: i === 0, schema })),
    },
  });
  for (const version of served) {
    await eventually(
      `${plural}.${GROUP}/${version} served by ${client.name}`,
      () => get(client, `/apis/${GROUP}/${version}/${plural}`).then(() => true),
    );
  }
  // and listed by the aggregated discovery dr-syncer reads (it follows the CRD by a moment)
  await eventually(`${plural}.${GROUP} in ${client.name}'s discovery`, async () => {
    const discovery = await client.request<
      { items?: { metadata?: { name?: string }; versions?: Version[] }[] }
    >({
      method: "GET",
      path: "/apis",
      accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    });
    const versions = discovery.items?.find((g) => g.metadata?.name === GROUP)?.versions ?? [];
    const listed = served.every((v) =>
      versions.some((d) => d.version === v && d.resources?.some((r) => r.resource === plural))
    );
    return listed ? true : undefined;
  });
}
type Version = { version: string; resources?: { resource: string }[] };

/** The versions of `group` a cluster serves, from its discovery. */
async function servedVersions(client: KubeClient, group: string): Promise<string[]> {
  const groups = await get<{ groups: { name: string; versions: { version: string }[] }[] }>(client, "/apis");
  return groups.groups.find((g) => g.name === group)?.versions.map((v) => v.version) ?? [];
}

/** Every pod of the namespace's workloads runs and every claim is bound; "" once so, else what is not. */
async function notRunning(client: KubeClient, ns: string, expected: Record<string, number>): Promise<string> {
  const pods = (await list(client, `/api/v1/namespaces/${ns}/pods`))
    .filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp);
  const claims = await list(client, `/api/v1/namespaces/${ns}/persistentvolumeclaims`);
  const problems = Object.entries(expected).flatMap(([app, n]) => {
    const running = pods.filter((p) => p.metadata.labels?.app === app).length;
    return running === n ? [] : [`${app}: ${running} of ${n} pods running`];
  });
  for (const claim of claims) {
    if (claim.status?.phase !== "Bound") problems.push(`claim ${claim.metadata.name} ${claim.status?.phase}`);
  }
  return problems.join(", ");
}

function entry(report: RunReport, kind: string, name: string) {
  return report.objects.find((o) => o.kind === kind && o.name === name);
}

const failures = (report: RunReport) => JSON.stringify(report.objects.filter((o) => o.action === "failed"));

Deno.test({
  name:
    "version skew: Kubernetes 1.36 to a 1.34 DR, stage, cutover and failback, and the types DR serves differently",
  // the test's own clusters are stopped by it; their processes are not this test's resources
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const drVersion = await skewK8sVersion();
  await using sourceCluster = await extraCluster("skew-source", {
    // the alpha Workload API: a namespaced built-in type that 1.34 does not have at all
    apiserverArgs: [
      "--runtime-config=scheduling.k8s.io/v1alpha2=true",
      "--feature-gates=GenericWorkload=true",
    ],
  });
  await using drCluster = await extraCluster("skew-dr", { k8sVersion: drVersion });
  const source = await connectCluster("source", { path: sourceCluster.kubeconfig });
  const dr = await connectCluster("dr", { path: drCluster.kubeconfig });
  const clusters = { source, dr };
  const spec = (ns: string, extra: Partial<ReplicationSpec> = {}) =>
    replicationSpec({ name: ns, sourceNamespace: ns, destNamespace: ns, ...extra });
  try {
    await t.step(
      "the two clusters run different minor versions and serve scheduling.k8s.io differently",
      async () => {
        const version = async (c: KubeClient) =>
          (await get<{ gitVersion: string }>(c, "/version")).gitVersion;
        assert.equal(await version(dr), drVersion);
        assert.notEqual(
          (await version(source)).split(".")[1],
          drVersion.split(".")[1],
          "another minor version",
        );
        assert.ok((await servedVersions(source, "scheduling.k8s.io")).includes("v1alpha2"));
        assert.deepEqual(await servedVersions(dr, "scheduling.k8s.io"), ["v1"]);
      },
    );

    await t.step(
      "the sample shop: staged to 1.34, cut over (its StatefulSet runs there), failed back",
      async () => {
        const ns = "shop";
        await createNamespace(source, ns);
        await create(source, sampleApp(ns));
        const live = { web: 3, api: 2, db: 1 };
        await eventually(
          "the shop running on the source",
          async () => await notRunning(source, ns, live) === "" ? true : undefined,
        );

        const staged = await stage(deps(clusters), { replication: spec(ns) });
        assert.equal(staged.status, "succeeded", failures(staged));
        for (const o of sampleApp(ns)) {
          assert.ok(entry(staged, o.kind, o.metadata.name), `${o.kind} ${o.metadata.name} is in the report`);
        }

        const cut = await cutover(deps(clusters), { replication: spec(ns) });
        assert.equal(cut.status, "succeeded", JSON.stringify(cut.steps));
        await eventually(
          "the shop running on the 1.34 DR cluster, its claims bound",
          async () => await notRunning(dr, ns, live) === "" ? true : undefined,
        );
        const claim = await get<Phased>(dr, `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-db-0`);
        assert.equal(claim.spec?.storageClassName, "standard", "the DR cluster's default class");
        assert.equal(await notRunning(source, ns, { web: 0, api: 0, db: 0 }), "", "the source is down");

        const back = await failback(deps(clusters), { replication: spec(ns) });
        assert.equal(back.status, "succeeded", JSON.stringify(back.steps));
        await eventually(
          "the shop running on the source again",
          async () => await notRunning(source, ns, live) === "" ? true : undefined,
        );
        await eventually(
          "no shop pod left on DR",
          async () => await notRunning(dr, ns, { web: 0, api: 0, db: 0 }) === "" ? true : undefined,
        );
      },
    );

    await t.step(
      "a CRD that DR serves only at its older version: copied at a version both serve",
      async () => {
        // the source's CRD serves v1 (stored) and v1beta1; DR's operators still install the v1beta1-only one
        await installCrd(source, "widgets", "Widget", ["v1", "v1beta1"]);
        await installCrd(dr, "widgets", "Widget", ["v1beta1"]);
        const ns = "widgets";
        await createNamespace(source, ns);
        await create(source, [{
          apiVersion: `${GROUP}/v1`,
          kind: "Widget",
          metadata: { name: "w1", namespace: ns },
          spec: { size: 3 },
        } as KubeObject]);
        const report = await stage(deps(clusters), {
          replication: spec(ns, { includeCustomResources: [`widgets.${GROUP}`] }),
        });
        const widget = entry(report, "Widget", "w1");
        assert.ok(widget, "the Widget is in the report");
        assert.equal(widget.action, "created", JSON.stringify(widget));
        const copy = await get<Phased>(dr, `/apis/${GROUP}/v1beta1/namespaces/${ns}/widgets/w1`);
        assert.deepEqual(copy.spec, { size: 3 });
        assert.equal(report.status, "succeeded", failures(report));
      },
    );

    await t.step("a CRD with no version both serve: refused, naming the type and the versions", async () => {
      await installCrd(source, "gadgets", "Gadget", ["v1"]);
      await installCrd(dr, "gadgets", "Gadget", ["v1beta1"]);
      const ns = "gadgets";
      await createNamespace(source, ns);
      await create(source, [{
        apiVersion: `${GROUP}/v1`,
        kind: "Gadget",
        metadata: { name: "g1", namespace: ns },
        spec: { size: 1 },
      } as KubeObject]);
      const report = await stage(deps(clusters), {
        replication: spec(ns, { includeCustomResources: [`gadgets.${GROUP}`] }),
      });
      const gadget = entry(report, "Gadget", "g1");
      assert.ok(gadget, "the Gadget is in the report, not silently left out");
      assert.equal(gadget.action, "failed", JSON.stringify(gadget));
      assert.match(gadget.reason ?? "", new RegExp(`gadgets\\.${GROUP.replaceAll(".", "\\.")}`));
      assert.match(gadget.reason ?? "", /\bv1\b/, "the version the source serves");
      assert.match(gadget.reason ?? "", /\bv1beta1\b/, "the version DR serves");
      assert.equal(report.status, "failed");
    });

    await t.step(
      "a custom resource served only at its group's older version: copied with the others",
      async () => {
        // both sides serve sprockets at v1beta1 only; the group's preferred version (v1, from widgets) has none
        await installCrd(source, "sprockets", "Sprocket", ["v1beta1"]);
        await installCrd(dr, "sprockets", "Sprocket", ["v1beta1"]);
        const ns = "sprockets";
        await createNamespace(source, ns);
        await create(source, [{
          apiVersion: `${GROUP}/v1beta1`,
          kind: "Sprocket",
          metadata: { name: "s1", namespace: ns },
          spec: { teeth: 12 },
        } as KubeObject]);
        const report = await stage(deps(clusters), {
          replication: spec(ns, { includeCustomResources: true }),
        });
        const sprocket = entry(report, "Sprocket", "s1");
        assert.ok(
          sprocket,
          `the Sprocket is in the report, not silently left out: ${JSON.stringify(report.objects)}`,
        );
        assert.equal(sprocket.action, "created", JSON.stringify(sprocket));
        const copy = await get<Phased>(dr, `/apis/${GROUP}/v1beta1/namespaces/${ns}/sprockets/s1`);
        assert.deepEqual(copy.spec, { teeth: 12 });
      },
    );

    await t.step(
      "a built-in type DR lacks (scheduling.k8s.io/v1alpha2 Workload): refused, and cutover stops",
      async () => {
        const ns = "gang";
        await createNamespace(source, ns);
        await create(source, [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "settings", namespace: ns },
            data: { k: "v" },
          },
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "trainer", namespace: ns },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: "trainer" } },
              template: {
                metadata: { labels: { app: "trainer" } },
                spec: { containers: [{ name: "t", image: "trainer:1" }] },
              },
            },
          },
          {
            apiVersion: "scheduling.k8s.io/v1alpha2",
            kind: "Workload",
            metadata: { name: "training", namespace: ns },
            spec: { podGroupTemplates: [{ name: "workers", schedulingPolicy: { gang: { minCount: 2 } } }] },
          },
        ] as KubeObject[]);
        const replication = spec(ns, {
          resourceTypes: [...DEFAULT_RESOURCE_TYPES, "workloads.scheduling.k8s.io"],
        });
        const report = await stage(deps(clusters), { replication });
        assert.equal(entry(report, "ConfigMap", "settings")?.action, "created");
        assert.equal(entry(report, "Deployment", "trainer")?.action, "created");
        const workload = entry(report, "Workload", "training");
        assert.ok(workload, "the Workload is in the report, not silently left out");
        assert.equal(workload.action, "failed");
        assert.match(workload.reason ?? "", /workloads\.scheduling\.k8s\.io/, "the type");
        assert.match(workload.reason ?? "", /v1alpha2/, "the version");
        assert.doesNotMatch(
          workload.reason ?? "",
          /CustomResourceDefinition/,
          "a built-in API has no CRD to install",
        );

        const stopped = await cutover(deps(clusters), { replication });
        assert.equal(stopped.status, "failed");
        assert.equal(stopped.steps.find((s) => s.step === "final-stage")?.status, "failed");
        assert.equal(entry(stopped, "Workload", "training")?.action, "failed");
        const trainer = await get<{ spec: { replicas: number } }>(
          source,
          `/apis/apps/v1/namespaces/${ns}/deployments/trainer`,
        );
        assert.equal(trainer.spec.replicas, 2, "the source keeps serving");

        const accepted = await cutover(deps(clusters), { replication, acceptStale: true });
        assert.equal(accepted.status, "succeeded", JSON.stringify(accepted.steps));
        assert.match(entry(accepted, "Workload", "training")?.reason ?? "", /stale on DR \(accepted\)/);
        assert.equal((await failback(deps(clusters), { replication })).status, "succeeded");
      },
    );
  } finally {
    source.close();
    dr.close();
  }
});
