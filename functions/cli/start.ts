/**
 * The main job as users run it, with no configuration: the local pair of real clusters, the sample
 * app, and the function runtime serving it with one scheduled and one continuous replication. It
 * prints the status page's address and the exact curl that cuts over.
 */
import { connectCluster } from "../../shared/kube/connect_cluster.ts";
import type { KubeObject } from "../../shared/kube/types.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { replicationSpec } from "../../shared/plan/replication_spec.ts";
import { readReplicationState } from "../../shared/state/replication_lock.ts";
import { failback } from "../failback.ts";
import { stage } from "../stage.ts";
import type { CliIo } from "./cli_io.ts";
import { ensureLocalClusters, seed } from "./demo.ts";

const SHOP = "demo-shop";
const BLOG = "demo-blog";

function blogApp(namespace: string): KubeObject[] {
  const labels = { app: "blog" };
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "blog-settings", namespace },
      data: { theme: "light" },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "blog", namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: "blog", image: "ghost:5" }] } },
      },
    },
  ];
}

function config(testenv: string, tokenFile: string): string {
  return `# Written by "deno task start": the local clusters, the sample apps, one scheduled and one continuous replication.
clusters:
  - name: source
    kubeconfig: { path: ${testenv}/source.kubeconfig }
  - name: dr
    kubeconfig: { path: ${testenv}/dr.kubeconfig }
tokens:
  - name: demo
    value: { path: ${tokenFile} }
    operations: [read, stage, cutover, failback, pvc-sync]
replications:
  - name: ${SHOP}
    source: { cluster: source, namespace: ${SHOP} }
    destination: { cluster: dr, namespace: ${SHOP} }
    mode: scheduled
    schedule: "* * * * *"
    prune: true
  - name: ${BLOG}
    source: { cluster: source, namespace: ${BLOG} }
    destination: { cluster: dr, namespace: ${BLOG} }
    mode: continuous
`;
}

/** Writes a file only its owner can read. */
async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}

export async function runStart(argv: readonly string[], io: CliIo, logger: Logger): Promise<number> {
  const testenv = await ensureLocalClusters(io);
  const source = await connectCluster("source", { path: `${testenv}/source.kubeconfig` });
  const dr = await connectCluster("dr", { path: `${testenv}/dr.kubeconfig` });
  try {
    await seed(source, io, SHOP);
    await seed(source, io, BLOG, blogApp(BLOG));
    for (const name of [SHOP, BLOG]) {
      // an earlier run left it cut over: back to the source first, so the walk-through starts clean
      const state = await readReplicationState(dr, name);
      if (state.activeSide === "dr" || state.progress) {
        io.stdout(`An earlier run left "${name}" cut over: failing back first\n`);
        await failback({ source, dr, logger }, {
          replication: replicationSpec({ name, sourceNamespace: name, destNamespace: name }),
          force: true,
        });
      }
      // a first stage now, so that a cutover can be asked for at once
      const report = await stage({ source, dr, logger }, {
        replication: replicationSpec({ name, sourceNamespace: name, destNamespace: name }),
      });
      io.stdout(`Staged "${name}" to the DR cluster: ${report.status} (${report.counts.created} created)\n`);
    }
  } finally {
    source.close();
    dr.close();
  }
  const tokenFile = `${testenv}/demo-token`;
  let token: string;
  try {
    token = (await Deno.readTextFile(tokenFile)).trim();
    await Deno.chmod(tokenFile, 0o600); // an older run may have left it readable by others
  } catch {
    token = crypto.randomUUID().replaceAll("-", "");
    await writePrivate(tokenFile, `${token}\n`);
  }
  const configFile = `${testenv}/dr-syncer.yaml`;
  await writePrivate(configFile, config(testenv, tokenFile));
  const port = argv.includes("--port") ? argv[argv.indexOf("--port") + 1] ?? "8080" : "8080";
  const { runServe } = await import("../serve/main.ts");
  return await runServe(["--config", configFile, "--port", port, "--log-level", "warn"], {
    ...io,
    stopRequested: io.stopRequested?.() ?? new Promise<string>(() => {}),
    onListen: ({ hostname, port }) => {
      const base = `http://${hostname}:${port}`;
      io.stdout(`
The runtime serves two replications of the local clusters (config: ${configFile}):
  ${SHOP}  scheduled: a stage every minute
  ${BLOG}  continuous: each change on the source reaches DR within a second

  status page:  ${base}/   (user: anything, password: the token in ${tokenFile})
  replications: curl -s -H "Authorization: Bearer $(cat ${tokenFile})" ${base}/v1/replications
  cut over:     curl -s -X POST -H "Authorization: Bearer $(cat ${tokenFile})" -H "Content-Type: application/json" -d '{}' ${base}/v1/replications/${SHOP}/cutover
  fail back:    curl -s -X POST -H "Authorization: Bearer $(cat ${tokenFile})" -H "Content-Type: application/json" -d '{}' ${base}/v1/replications/${SHOP}/failback

Ctrl-C stops the runtime (the clusters keep running: "deno task testenv down" stops them).
The one-shot walk-through of stage, cutover and failback is "deno task demo".
`);
    },
  });
}
