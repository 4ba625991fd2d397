/**
 * The runtime's CronJob form (`runtime.cronJobs: true`) on the two test clusters, with Jobs run by the
 * controllers: the rendered objects applied to both clusters (the source cluster's kubeconfig read from a
 * Secret, a token of the runtime's ServiceAccount there), a Job created from each CronJob as
 * `kubectl create job --from=cronjob/...` creates it (the real kubectl), the pod the Job controller made read
 * back, and, since KWOK runs no container, that pod's container run here exactly as the pod says
 * (`pod_emulation.ts`: its command, args and env, its mounted config, a token of its ServiceAccount): the stage
 * job and the pvc-sync job exit 0 and keep their run records in the DR namespace, with only the rights render
 * gives the runtime.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parse } from "yaml";
import { loadConfig } from "../../shared/config/mod.ts";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { renderConfig, tokenKubeconfig } from "../../infra/render.ts";
import { RUNTIME_TOKEN_SECRET } from "../../infra/names.ts";
import { scheduledJobs } from "../../functions/cron/scheduled_jobs.ts";
import { forbidden, removeClusterRights } from "./runtime_rights.ts";
import { kubectl } from "./kubectl_harness.ts";
import { type Pod, runPodContainer } from "./pod_emulation.ts";
import { until } from "./until.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  fixtures,
  names,
  seed,
  testClusters,
  uniqueName,
} from "../_clusters.ts";

/** Applies rendered objects with the admin's client: namespaces created first. */
async function install(admin: KubeClient, objects: readonly KubeObject[]) {
  for (const o of objects.filter((o) => o.kind === "Namespace")) {
    await createNamespace(admin, o.metadata.name, o.metadata.labels ?? {});
  }
  await seed(admin, objects.filter((o) => o.kind !== "Namespace"));
}

const server = (kubeconfig: string) =>
  (parse(Deno.readTextFileSync(kubeconfig)) as { clusters: { cluster: { server: string } }[] }).clusters[0]!
    .cluster.server;

Deno.test("CronJob form: Jobs made from the rendered CronJobs run run-job as their pods say, with the runtime's rights; run records kept", async (t) => {
  await using clusters = await testClusters();
  const id = uniqueName("cjf").slice(0, 26);
  const runtimeNs = `${id}-rt`, agentNs = `${id}-ag`, appNs = `${id}-app`;
  const port = 20000 + Math.floor(Math.random() * 10000);
  const input = {
    clusters: [
      {
        name: "source",
        kubeconfig: { secret: { namespace: runtimeNs, name: "source-kubeconfig", key: "kubeconfig" } },
      },
      { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
    ],
    replications: [{
      name: "app",
      source: { cluster: "source", namespace: appNs },
      destination: { cluster: "dr" },
      schedule: "*/5 * * * *",
      pvc: { enabled: true, schedule: "0 * * * *" },
    }, {
      name: "live",
      source: { cluster: "source", namespace: `${appNs}-live` },
      destination: { cluster: "dr" },
      mode: "continuous",
    }],
    agent: { namespace: agentNs, port, healthPort: port + 1, image: "dr-syncer-agent:test" },
    runtime: { namespace: runtimeNs, image: "dr-syncer-runtime:test", cronJobs: true },
  };
  const config = loadConfig(JSON.stringify(input), "test config");
  const root = await Deno.makeTempDir({ prefix: "dr-syncer-cronjob-" });
  const cache = `${root}/kubectl-cache`;
  try {
    const rendered = renderConfig(config);
    const objectsOf = (cluster: string) => rendered.find((r) => r.cluster === cluster)!.objects;
    const cronJobs = objectsOf("dr").filter((o) => o.kind === "CronJob");

    await t.step("a CronJob per schedule job, named as run-job knows them", () => {
      const jobs = scheduledJobs(config.replications);
      assert.deepEqual(
        cronJobs.map((c) => c.metadata.annotations?.["dr-syncer.io/job"]).sort(),
        jobs.map((j) => j.name).sort(),
      );
      assert.deepEqual(jobs.map((j) => j.name), ["stage-app", "pvc-sync-app", "stage-live"]);
    });

    await t.step(
      "installed: the source's objects, its runtime token in a Secret the config reads, DR's objects",
      async () => {
        await install(clusters.source, objectsOf("source"));
        // the runtime's token in the source cluster, as deploy and the chart make it (a Secret the cluster fills)
        const token = await until("the runtime's token on the source", async () => {
          const secret = await clusters.source.request<{ data?: Record<string, string> }>({
            method: "GET",
            path: `/api/v1/namespaces/${runtimeNs}/secrets/${RUNTIME_TOKEN_SECRET}`,
          });
          return secret.data?.token && secret.data["ca.crt"] ? secret.data : undefined;
        });
        await install(clusters.dr, objectsOf("dr"));
        await seed(clusters.dr, [{
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "source-kubeconfig", namespace: runtimeNs },
          stringData: {
            kubeconfig: tokenKubeconfig(
              "source",
              clusters.source.server,
              token["ca.crt"]!,
              Buffer.from(token.token!, "base64").toString(),
            ),
          },
        } as KubeObject]);
        await seed(clusters.source, [
          fixtures.configMap(appNs, "settings"),
          fixtures.deployment(appNs, "web", 2),
        ]);
      },
    );

    for (const job of ["stage-app", "pvc-sync-app"]) {
      await t.step(`${job}: a Job from its CronJob, its pod's container run as the pod says`, async () => {
        const cronJob = cronJobs.find((c) => c.metadata.annotations?.["dr-syncer.io/job"] === job)!;
        const jobName = `${job}-manual`;
        const created = await kubectl(DR_KUBECONFIG, cache, [
          "create",
          "job",
          `--from=cronjob/${cronJob.metadata.name}`,
          jobName,
          "-n",
          runtimeNs,
        ]);
        assert.equal(created.code, 0, created.stderr);
        const pod = await until(`the pod of Job ${jobName}`, async () => {
          const list = await clusters.dr.request<{ items: Pod[] }>({
            method: "GET",
            path: `/api/v1/namespaces/${runtimeNs}/pods`,
            query: { labelSelector: `batch.kubernetes.io/job-name=${jobName}` },
          });
          return list.items[0];
        });
        // the pod the controller made: the CronJob's template, restricted pod security
        const [container] = pod.spec.containers;
        assert.deepEqual(container!.args, [
          "run-job",
          "--config",
          "/etc/dr-syncer/config/config.yaml",
          "--job",
          job,
        ]);
        assert.equal(pod.spec.serviceAccountName, "dr-syncer-runtime");
        assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
        assert.equal(container!.securityContext?.readOnlyRootFilesystem, true);
        assert.equal(container!.securityContext?.allowPrivilegeEscalation, false);

        const run = await runPodContainer(clusters.dr, pod, server(DR_KUBECONFIG), {
          root: `${root}/${job}`,
        });
        assert.equal(run.code, 0, `${run.argv.join(" ")}\n${run.stdout}\n${run.stderr}`);
        const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as {
          runId: string;
          job: string;
          status: string;
        };
        assert.equal(result.job, job);
        assert.equal(result.status, "succeeded");
        // the run record, in the DR namespace, written by the runtime's ServiceAccount
        const record = await clusters.dr.request<KubeObject & { data: Record<string, string> }>({
          method: "GET",
          path: `/api/v1/namespaces/${appNs}/configmaps/dr-syncer-run-${result.runId}`,
        });
        assert.equal(record.metadata.labels?.["dr-syncer.io/run-of"], "app");
        assert.equal(record.metadata.labels?.["app.kubernetes.io/component"], "run-record");
        const summary = JSON.parse(record.metadata.annotations!["dr-syncer.io/run-summary"]!) as Record<
          string,
          unknown
        >;
        assert.equal(summary.status, "succeeded", JSON.stringify(summary));
        assert.equal(summary.operation, job.startsWith("stage") ? "stage" : "pvc-sync");
        assert.equal(summary.replica, pod.metadata.name);
      });
    }

    await t.step("stage copied the source; the runtime's ServiceAccount reads no other Secret", async () => {
      assert.ok((await names(clusters.dr, "v1", "ConfigMap", appNs)).includes("settings"));
      assert.ok((await names(clusters.dr, "apps/v1", "Deployment", appNs)).includes("web"));
      const token = await clusters.dr.request<{ status: { token: string } }>({
        method: "POST",
        path: `/api/v1/namespaces/${runtimeNs}/serviceaccounts/dr-syncer-runtime/token`,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      });
      const rootCa = await clusters.dr.request<{ data: Record<string, string> }>({
        method: "GET",
        path: `/api/v1/namespaces/${runtimeNs}/configmaps/kube-root-ca.crt`,
      });
      const runtime = await connectCluster("dr", {
        inline: tokenKubeconfig(
          "dr",
          clusters.dr.server,
          Buffer.from(rootCa.data["ca.crt"]!).toString("base64"),
          token.status.token,
        ),
      });
      try {
        await runtime.request({
          method: "GET",
          path: `/api/v1/namespaces/${runtimeNs}/secrets/source-kubeconfig`,
        });
        await assert.rejects(
          runtime.request({
            method: "GET",
            path: `/api/v1/namespaces/${runtimeNs}/secrets/${RUNTIME_TOKEN_SECRET}`,
          }),
          forbidden,
        );
        await assert.rejects(
          runtime.request({ method: "GET", path: `/api/v1/namespaces/${runtimeNs}/secrets` }),
          forbidden,
        );
      } finally {
        runtime.close();
      }
    });
  } finally {
    for (const client of [clusters.source, clusters.dr]) {
      for (const ns of [runtimeNs, agentNs, appNs, `${appNs}-live`]) await deleteNamespace(client, ns);
      await removeClusterRights(client, runtimeNs);
    }
    await Deno.remove(root, { recursive: true });
  }
});
