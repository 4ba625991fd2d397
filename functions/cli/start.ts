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
import { claimSummary, ensureLocalClusters, seed, settle } from "./demo.ts";
import { UsageError } from "./parse_cli_args.ts";

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

export const START_HELP = `Usage: dr-syncer start [--port N]

The main job with no configuration: starts (or reuses) the local pair of real test clusters, seeds
the sample apps "${SHOP}" and "${BLOG}" on the source, stages both to DR, and serves them with the
function runtime (one scheduled, one continuous replication). It prints the status page's address,
its token file and the curl commands that cut over and fail back. Ctrl-C stops the runtime; the
clusters keep running ("deno task testenv down" stops them).

Options:
  --port N      the runtime's port on 127.0.0.1 (default 8080; 0: any free port, printed)
  --help, -h    this text
`;

/** The flags of `start`: a port, or help. Anything else is a usage error (exit code 2). */
export function parseStartArgs(argv: readonly string[]): { help: boolean; port: number } {
  let port = 8080, help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--port" || arg.startsWith("--port=")) {
      const value = arg === "--port" ? argv[++i] : arg.slice("--port=".length);
      const n = Number(value);
      if (value === undefined || !/^[0-9]+$/.test(value) || n > 65535) {
        throw new UsageError(
          `--port: expected a port number from 0 (any free port) to 65535, got ${
            value === undefined ? "nothing" : JSON.stringify(value.slice(0, 40))
          } (dr-syncer start --help)`,
        );
      }
      port = n;
    } else {
      throw new UsageError(
        `start: unknown argument ${JSON.stringify(arg.slice(0, 40))} (dr-syncer start --help)`,
      );
    }
  }
  return { help, port };
}

export async function runStart(argv: readonly string[], io: CliIo, logger: Logger): Promise<number> {
  const args = parseStartArgs(argv);
  if (args.help) {
    io.stdout(START_HELP);
    return 0;
  }
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
    // the shop's claims get volumes once their pods are scheduled (the default StorageClass waits for them)
    await settle(source, SHOP, 30_000);
    const [onSource, onDr] = [await claimSummary(source, SHOP), await claimSummary(dr, SHOP)];
    io.stdout(
      `Claims of "${SHOP}" (a claim gets its volume once the first pod that mounts it is scheduled):\n` +
        `  source: ${onSource}\n  dr:     ${onDr}\n`,
    );
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
  const { runServe } = await import("../serve/main.ts");
  return await runServe(["--config", configFile, "--port", String(args.port), "--log-level", "warn"], {
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
