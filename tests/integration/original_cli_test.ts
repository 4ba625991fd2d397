/**
 * The original DR-Syncer's documented CLI line, run as a real `dr-syncer` process against the two test
 * clusters, with the simulated node parts and real agents of `pvc_harness.ts` for the PVC data. Its README
 * (commit e783fa0b, "Additional CLI Options") shows:
 *
 *     bin/dr-syncer-cli \
 *       --source-kubeconfig=/path/to/source/kubeconfig \
 *       --dest-kubeconfig=/path/to/destination/kubeconfig \
 *       --source-namespace=my-namespace \
 *       --dest-namespace=my-namespace-dr \
 *       --mode=Stage \
 *       --include-custom-resources=true \
 *       --migrate-pvc-data=true \
 *       --resource-types=configmaps,secrets,deployments
 *
 * The same words, given to `dr-syncer`, stage the namespace limited to those types with the namespace's
 * custom resources added, then copy the claims' data to DR in the same run; with `=false` neither happens.
 * The only words added are where this machine's agents are (`--agent-namespace`, `--mounter-image`: the
 * harness's, not the defaults a deploy installs).
 */
import assert from "node:assert/strict";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import { ANNOTATION_PVC_SYNC } from "../../shared/pvc/pvc_pass.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { stage } from "../../functions/stage.ts";
import {
  deps,
  DR_KUBECONFIG,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import {
  appObjects,
  assertSameTree,
  eventually,
  runningPods,
  startPvcHarness,
  storageClasses,
} from "./pvc_harness.ts";

const ENTRY = new URL("../../functions/cli/main.ts", import.meta.url).pathname;

/** `deno run -A functions/cli/main.ts ...args`, as a process of its own. */
async function cliProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ENTRY, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** The original README's line, with this test's kubeconfigs and namespaces, and its two yes/no flags. */
function originalLine(
  ns: { source: string; dest: string },
  flags: { includeCustomResources: boolean; migratePvcData: boolean },
): string[] {
  return [
    `--source-kubeconfig=${SOURCE_KUBECONFIG}`,
    `--dest-kubeconfig=${DR_KUBECONFIG}`,
    `--source-namespace=${ns.source}`,
    `--dest-namespace=${ns.dest}`,
    "--mode=Stage",
    `--include-custom-resources=${flags.includeCustomResources}`,
    `--migrate-pvc-data=${flags.migratePvcData}`,
    "--resource-types=configmaps,secrets,deployments",
  ];
}

/** A namespaced CRD of a group of this test's own. */
function widgetCrd(group: string): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      }],
    },
  };
}

async function getWidget(client: KubeClient, group: string, namespace: string, name: string) {
  return await client.request<KubeObject & { spec: { size: number } }>({
    method: "GET",
    path: `/apis/${group}/v1/namespaces/${namespace}/widgets/${name}`,
  }).catch(() => undefined);
}

Deno.test("the original DR-Syncer README's CLI line: a stage of configmaps, secrets and deployments with the custom resources, then the claims' data, in one run; =false turns both off", async (t) => {
  await using clusters = await testClusters();
  const group = `o${crypto.randomUUID().slice(0, 8)}.example.com`;
  // the type exists on both sides (the line has no --sync-crds)
  await seed(clusters.source, [widgetCrd(group)]);
  await seed(clusters.dr, [widgetCrd(group)]);
  try {
    for (const client of [clusters.source, clusters.dr]) {
      await eventually(
        `widgets served by ${client.name}`,
        () =>
          client.request({ method: "GET", path: `/apis/${group}/v1/widgets` }).then(
            () => true,
            () => undefined,
          ),
      );
    }
    await using harness = await startPvcHarness(clusters);
    await storageClasses([clusters.source, clusters.dr]);
    await withNamespaces(clusters, "origcli", async (ns) => {
      harness.manage(ns.source, ns.dest);
      const withAgents = ["--agent-namespace", harness.agentNamespace, "--mounter-image", "pause:test"];
      await seed(clusters.source, [
        fixtures.configMap(ns.source, "settings"),
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "creds", namespace: ns.source },
          stringData: { k: "v" },
        },
        ...appObjects(ns.source, "data", 1),
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "web", namespace: ns.source },
          spec: { selector: { app: "app-data" }, ports: [{ port: 80 }] },
        },
      ]);
      await clusters.source.request({
        method: "POST",
        path: `/apis/${group}/v1/namespaces/${ns.source}/widgets`,
        body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } },
      });
      const sourceData = await harness.source.claimStorage(ns.source, "data");
      await eventually(
        "the source app running",
        async () =>
          (await runningPods(clusters.source, ns.source, "app-data")).length === 1 ? true : undefined,
      );
      // the line copies no claims (persistentvolumeclaims is not in its list): the claim's copy on DR is
      // there from an earlier stage of the same replication, as its schedule would have made it
      const claimsOnly = await stage(deps(clusters), {
        replication: ns.spec({ name: ns.source, resourceTypes: ["persistentvolumeclaims"] }),
      });
      assert.equal(claimsOnly.status, "succeeded", JSON.stringify(claimsOnly.objects));
      const drData = await harness.dr.claimStorage(ns.dest, "data");
      await Deno.writeTextFile(`${sourceData}/orders.db`, "order 1\norder 2\n");
      await Deno.mkdir(`${sourceData}/logs`);
      await Deno.writeTextFile(`${sourceData}/logs/app.log`, "started\n");

      await t.step(
        "--include-custom-resources=true --migrate-pvc-data=true: those types and the custom resources, then the data",
        async () => {
          const run = await cliProcess([
            ...originalLine(ns, { includeCustomResources: true, migratePvcData: true }),
            ...withAgents,
          ]);
          assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
          assert.match(run.stdout, new RegExp(`^stage "${ns.source}" succeeded in`));
          assert.match(run.stdout, /^ {2}step pvc-sync-to-dr\s+done( \([^)]*\))?: 1 claim\(s\) copied/m);
          assert.match(run.stdout, /^ {2}PVC data: 1 claim\(s\), [1-9]\d* file\(s\)/m);
          for (const kind of ["ConfigMap", "Secret", "Deployment.apps", `Widget.${group}`]) {
            assert.match(
              run.stdout,
              new RegExp(`^ {2}created\\s+${kind.replaceAll(".", "\\.")} ${ns.dest}/`, "m"),
              kind,
            );
          }
          assert.doesNotMatch(run.stdout, /Service|ServiceAccount/, "types outside the list are not copied");

          assert.ok(await read(clusters.dr, "v1", "ConfigMap", ns.dest, "settings"));
          assert.ok(await read(clusters.dr, "v1", "Secret", ns.dest, "creds"));
          const app = await read<KubeObject & { spec: { replicas: number } }>(
            clusters.dr,
            "apps/v1",
            "Deployment",
            ns.dest,
            "app-data",
          );
          assert.equal(app?.spec.replicas, 0, "the Deployment stands by at zero");
          assert.equal(
            (await getWidget(clusters.dr, group, ns.dest, "w1"))?.spec.size,
            3,
            "the custom resource",
          );
          assert.equal(await read(clusters.dr, "v1", "Service", ns.dest, "web"), undefined, "no Service");

          await assertSameTree(drData, sourceData);
          assert.equal(await Deno.readTextFile(`${drData}/orders.db`), "order 1\norder 2\n");
          const claim = await read(clusters.dr, "v1", "PersistentVolumeClaim", ns.dest, "data");
          assert.match(claim?.metadata.annotations?.[ANNOTATION_PVC_SYNC] ?? "", /"pass":"pvc-sync:/);
        },
      );

      await t.step(
        "--include-custom-resources=false --migrate-pvc-data=false: accepted, and neither happens",
        async () => {
          await clusters.source.request({
            method: "POST",
            path: `/apis/${group}/v1/namespaces/${ns.source}/widgets`,
            body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w2" }, spec: { size: 5 } },
          });
          await seed(clusters.source, [fixtures.configMap(ns.source, "more")]);
          await Deno.writeTextFile(`${sourceData}/orders.db`, "order 1\norder 2\norder 3\n");
          const before = (await read(clusters.dr, "v1", "PersistentVolumeClaim", ns.dest, "data"))?.metadata
            .annotations?.[ANNOTATION_PVC_SYNC];
          const run = await cliProcess([
            ...originalLine(ns, { includeCustomResources: false, migratePvcData: false }),
            ...withAgents,
            "--output=json",
          ]);
          assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
          const report = JSON.parse(run.stdout) as RunReport;
          assert.equal(report.status, "succeeded");
          assert.deepEqual(report.steps.map((s) => s.step), ["namespace"], "no data pass");
          assert.equal(report.pvcData, undefined);
          assert.deepEqual(
            [...new Set(report.objects.map((o) => o.kind))].sort(),
            ["ConfigMap", "Deployment", "Secret"],
            "the listed types only: no custom resource",
          );
          assert.equal(
            report.objects.find((o) => o.kind === "ConfigMap" && o.name === "more")?.action,
            "created",
            "the stage ran",
          );
          assert.equal(await getWidget(clusters.dr, group, ns.dest, "w2"), undefined, "w2 not copied");
          assert.equal(
            await Deno.readTextFile(`${drData}/orders.db`),
            "order 1\norder 2\n",
            "no data copied",
          );
          assert.equal(
            (await read(clusters.dr, "v1", "PersistentVolumeClaim", ns.dest, "data"))?.metadata.annotations
              ?.[ANNOTATION_PVC_SYNC],
            before,
          );
        },
      );
    }, { destSuffix: "-dr" });
  } finally {
    for (const client of [clusters.source, clusters.dr]) {
      await client.request({
        method: "DELETE",
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`,
      }).catch(() => {});
    }
  }
});
