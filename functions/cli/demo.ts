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
  type KubeObject,
  NAMESPACES,
  PERSISTENT_VOLUME_CLAIMS,
  PODS,
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
  io.stderr(
    "Starting the local clusters (the first run compiles Kubernetes and its tools: about 18 minutes on 2 cores, once)...\n",
  );
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

type Selected = Workload & { spec?: { selector?: { matchLabels?: Record<string, string> } } };
type Phased = KubeObject & { status?: { phase?: string } };

/** The running pods of a workload (those its selector's matchLabels select). */
async function runningPods(client: KubeClient, namespace: string, workload: Selected): Promise<number> {
  const labels = Object.entries(workload.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (labels.length === 0) return 0;
  const pods = await listObjects<Phased>(client, PODS, namespace, { labelSelector: labels.join(",") });
  return pods.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp).length;
}

/** Each workload's replicas and running pods: "3 (3 running)". */
async function workloadStates(client: KubeClient, namespace: string): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  for (const type of [DEPLOYMENTS, STATEFULSETS] satisfies ResourceType[]) {
    for (const w of await listObjects<Selected>(client, type, namespace)) {
      states.set(
        `${type.kind}/${w.metadata.name}`,
        `${replicasOf(w)} (${await runningPods(client, namespace, w)} running)`,
      );
    }
  }
  return states;
}

/**
 * Waits (at most `timeoutMs`) until every workload of the side that serves runs all its pods: a pod whose
 * claim is not bound yet is not scheduled, and the claim of the default class gets its volume only then.
 */
export async function settle(client: KubeClient, namespace: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = [...(await workloadStates(client, namespace)).values()];
    if (states.every((s) => /^(\d+) \(\1 running\)$/.test(s))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The claims of a namespace with their phase and class: "data-db-0 Bound (standard), ...". */
export async function claimSummary(client: KubeClient, namespace: string): Promise<string> {
  type Claim = Phased & { spec?: { storageClassName?: string } };
  const claims = await listObjects<Claim>(client, PERSISTENT_VOLUME_CLAIMS, namespace);
  if (claims.length === 0) return "none";
  return claims.map((c) =>
    `${c.metadata.name} ${c.status?.phase ?? "-"} (StorageClass ${c.spec?.storageClassName ?? "none"})`
  ).sort().join(", ");
}

async function replicaTable(source: KubeClient, dr: KubeClient): Promise<string> {
  const rows: string[] = [
    "    workload                source           dr               (dr-syncer.io/original-replicas on dr)",
  ];
  const [srcStates, drStates] = await Promise.all([
    workloadStates(source, NAMESPACE),
    workloadStates(dr, NAMESPACE),
  ]);
  for (const type of [DEPLOYMENTS, STATEFULSETS] satisfies ResourceType[]) {
    const drItems = await listObjects<Workload>(dr, type, NAMESPACE);
    for (const s of await listObjects<Workload>(source, type, NAMESPACE)) {
      const name = `${type.kind}/${s.metadata.name}`;
      const d = drItems.find((o) => o.metadata.name === s.metadata.name);
      const recorded = d ? String(recordedReplicas(d) ?? "-") : "-";
      rows.push(
        `    ${name.padEnd(24)}${(srcStates.get(name) ?? "-").padEnd(17)}${
          (drStates.get(name) ?? "-").padEnd(17)
        }(${recorded})`,
      );
    }
  }
  const claims = async (client: KubeClient) =>
    new Map(
      (await listObjects<Phased>(client, PERSISTENT_VOLUME_CLAIMS, NAMESPACE)).map((c) => [
        c.metadata.name,
        c.status?.phase ?? "-",
      ]),
    );
  const [srcClaims, drClaims] = await Promise.all([claims(source), claims(dr)]);
  rows.push("    claim                   source           dr");
  for (const name of [...new Set([...srcClaims.keys(), ...drClaims.keys()])].sort()) {
    rows.push(
      `    ${name.padEnd(24)}${(srcClaims.get(name) ?? "-").padEnd(17)}${drClaims.get(name) ?? "-"}`,
    );
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
      // the side that now serves: its pods are scheduled once their claims have volumes
      const settled = report.status !== "succeeded" ||
        await settle(step === "cutover" ? dr : source, NAMESPACE);
      io.stdout(`${formatReport(report)}\n\n${await replicaTable(source, dr)}\n`);
      if (!settled) {
        io.stdout(
          `    (not every pod of the ${step === "cutover" ? "DR" : "source"} side ran within 60 s)\n`,
        );
      }
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
