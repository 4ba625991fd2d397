/**
 * The main job with no configuration: the local pair of real clusters, a sample app in the source,
 * and stage, cutover and failback through the same code the CLI runs, showing what each step did.
 */
import { connectCluster } from "../../shared/kube/connect_cluster.ts";
import { discoverResources } from "../../shared/kube/discover_resources.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { withRetry } from "../../shared/kube/retry.ts";
import {
  apiVersionOf,
  DEPLOYMENTS,
  NAMESPACES,
  type ResourceType,
  STATEFULSETS,
} from "../../shared/kube/types.ts";
import { applyObject, createObject, getObject, listObjects } from "../../shared/kube/verbs.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { recordedReplicas } from "../../shared/plan/replica_count.ts";
import { replicationSpec } from "../../shared/plan/replication_spec.ts";
import { replicasOf, type Workload } from "../../shared/plan/scale_decisions.ts";
import { readReplicationState } from "../../shared/state/replication_lock.ts";
import type { OperationDeps } from "../operation_deps.ts";
import { operationNamed } from "../operations/mod.ts";
import { type CliIo, progressPrinter } from "./cli_io.ts";
import { formatReport } from "./print_report.ts";
import { sampleApp } from "./sample_app.ts";

const NAMESPACE = "demo-shop";
export const REPO = new URL("../../", import.meta.url).pathname;

export async function startClusters(io: CliIo): Promise<void> {
  io.stderr("Starting the local clusters (the first run compiles Kubernetes: 15-30 minutes, once)...\n");
  const { code } = await new Deno.Command("bash", {
    args: [`${REPO}tests/testenv/testenv.sh`, "up"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`The local clusters did not start (testenv exited with ${code})`);
}

export async function seed(
  source: KubeClient,
  io: CliIo,
  namespace = NAMESPACE,
  objects = sampleApp(namespace),
): Promise<void> {
  const served = await discoverResources(source);
  if (!await getObject(source, NAMESPACES, undefined, namespace)) {
    await createObject(source, NAMESPACES, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { team: "shop" } },
    });
  }
  for (const object of objects) {
    const type = served.find((t) =>
      t.kind === object.kind && apiVersionOf(t) === object.apiVersion && t.namespaced
    );
    if (!type) throw new Error(`The source cluster does not serve ${object.apiVersion} ${object.kind}`);
    await withRetry(() => applyObject(source, type, object));
  }
  io.stdout(
    `Seeded the sample app in namespace "${namespace}" of the source cluster: ${objects.length} objects\n`,
  );
}

async function replicaTable(source: KubeClient, dr: KubeClient): Promise<string> {
  const rows: string[] = ["    workload                source  dr   (dr-syncer.io/original-replicas on dr)"];
  for (const type of [DEPLOYMENTS, STATEFULSETS] satisfies ResourceType[]) {
    const read = (c: KubeClient) => listObjects<Workload>(c, type, NAMESPACE);
    const [src, drItems] = await Promise.all([read(source), read(dr)]);
    for (const s of src) {
      const d = drItems.find((o) => o.metadata.name === s.metadata.name);
      const name = `${type.kind}/${s.metadata.name}`;
      const drReplicas = d ? String(replicasOf(d)) : "-";
      const recorded = d ? String(recordedReplicas(d) ?? "-") : "-";
      rows.push(
        `    ${name.padEnd(24)}${String(replicasOf(s)).padEnd(8)}${drReplicas.padEnd(5)}(${recorded})`,
      );
    }
  }
  return rows.join("\n");
}

/** The local clusters' kubeconfig folder, the clusters started when they are not running. */
export async function ensureLocalClusters(io: CliIo): Promise<string> {
  const testenv = io.env("DR_SYNCER_TESTENV_DIR") ?? `${REPO}.testenv`;
  const status = await new Deno.Command("bash", {
    args: [`${REPO}tests/testenv/testenv.sh`, "status"],
    stdout: "null",
    stderr: "null",
  }).output();
  if (status.code !== 0) await startClusters(io);
  return testenv;
}

export async function runDemo(io: CliIo, logger: Logger): Promise<number> {
  const testenv = await ensureLocalClusters(io);
  const source = await connectCluster("source", { path: `${testenv}/source.kubeconfig` });
  const dr = await connectCluster("dr", { path: `${testenv}/dr.kubeconfig` });
  try {
    await seed(source, io);
    const spec = replicationSpec({
      name: "demo-shop",
      sourceNamespace: NAMESPACE,
      destNamespace: NAMESPACE,
      prune: true,
    });
    const progress = progressPrinter(io);
    const deps: OperationDeps = { source, dr, logger, onProgress: progress.update };
    const state = await readReplicationState(dr, NAMESPACE);
    const plan: ("stage" | "cutover" | "failback")[] = state.activeSide === "dr" || state.progress
      ? ["failback", "stage", "cutover", "failback"]
      : ["stage", "cutover", "failback"];
    if (plan.length === 4) io.stdout("An earlier demo left the replication cut over: failing back first\n");
    const explain = {
      stage: "copy the namespace to DR with workloads at zero replicas",
      cutover: "scale the source to zero and DR to the recorded counts",
      failback: "scale DR to zero and restore the source counts",
    };
    for (const step of plan) {
      io.stdout(`\n== ${step}: ${explain[step]}\n`);
      const report = await operationNamed(step).run(deps, spec, {});
      progress.end();
      io.stdout(`${formatReport(report)}\n\n${await replicaTable(source, dr)}\n`);
      if (report.status !== "succeeded") return 1;
    }
    io.stdout(`
Done. Where to look:
  kubeconfigs:  ${testenv}/source.kubeconfig and ${testenv}/dr.kubeconfig (namespace "${NAMESPACE}" in both)
  state:        deno task cli status --source-kubeconfig ${testenv}/source.kubeconfig --dest-kubeconfig ${testenv}/dr.kubeconfig --source-namespace ${NAMESPACE} --replication ${spec.name}
  try a plan:   deno task cli stage --dry-run --source-kubeconfig ${testenv}/source.kubeconfig --dest-kubeconfig ${testenv}/dr.kubeconfig --source-namespace ${NAMESPACE} --replication ${spec.name}
  stop:         deno task testenv down
`);
    return 0;
  } finally {
    source.close();
    dr.close();
  }
}
