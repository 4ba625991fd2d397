import type { Command } from "./parse_cli_args.ts";

const CONNECTION = `Clusters and namespaces (or --config FILE --replication NAME):
  --source-kubeconfig FILE      kubeconfig of the source (production) cluster
  --dest-kubeconfig FILE        kubeconfig of the DR cluster
  --source-context NAME         context in the source kubeconfig (default: its current-context)
  --dest-context NAME           context in the DR kubeconfig (default: its current-context)
  --source-namespace NAME       the namespace to protect
  --dest-namespace NAME         its copy on DR (default: the source namespace's name)
  --config FILE                 a dr-syncer config file (YAML); with --replication NAME
  --replication NAME            the configured replication to run (with flags only: its name, default the namespace)`;

const LOCK = `Lock (one run at a time per replication, a Lease in the DR namespace):
  --wait-for-lock SECONDS       wait this long for another run's lock (default 0: refuse at once). A run that
                                crashed leaves its lock, free once unrenewed for its lease
  --lease-seconds SECONDS       this run's lease (default 60): how long its lock outlives a crash`;

const OUTPUT = `Output:
  --output, -o text|json        text (default) or the run report as JSON on stdout
  --log-level LEVEL             debug, info (default), warn, error; logs go to stderr
  --help, -h                    this help
  --version                     print the version`;

const STAGE = `Copying (stage, and the final stage of cutover):
  --resource-types LIST         comma-separated types to copy, replacing the defaults (cm, deploy, ingresses.networking.k8s.io...)
  --exclude-resource-types LIST types to leave out (wins over --resource-types)
  --include-custom-resources    also copy namespaced custom resources (their CRDs must exist on DR)
  --sync-crds                   with --include-custom-resources: copy missing CRDs to DR first
  --storage-class-map A=B,...   rewrite PVC storage classes
  --access-mode-map A=B,...     rewrite PVC access modes (ReadWriteMany=ReadWriteOnce)
  --ingress-host-map A=B,...    rewrite Ingress hosts
  --no-scale-to-zero            keep the source replica counts on DR (default: 0, the count kept in an annotation)
  --immutable report|recreate   an object whose immutable field changed: report it (default) or delete and recreate it
  --prune, --no-prune           delete DR objects dr-syncer copied whose source is gone (only those; never
                                while the source namespace is being deleted)
  --prune-claims                with --prune, delete PVCs (and their data) too (default: kept, with a warning)
  --max-prune N                 the most objects one run may prune (default 50); more is refused
  --adopt                       take over DR objects dr-syncer did not create (default: reported, left alone)
  --concurrency N               writes in flight at once (default 16)
  --dry-run                     print the plan; write nothing`;

const PVC = `PVC data (rsync over SSH between the agents on the nodes; "dr-syncer deploy" installs them):
  --agent-namespace NAME        where the agents and their Secrets are, in both clusters (default dr-syncer-system)
  --mounter-image IMAGE         image of the pods that mount a claim no running pod mounts (default
                                registry.k8s.io/pause:3.10)
  --bandwidth-limit RATE        rsync's limit per claim: 50M, 10k, 1G (per second) or a number of KiB/s
  --verify none|sample|full     after the copy, compare nothing (default), 64 random files, or every file by
                                checksum`;

const HELP: Record<Command | "main", string> = {
  main: `dr-syncer: disaster recovery for Kubernetes namespaces

Usage:
  dr-syncer stage    [flags]   copy the source namespace to DR, workloads at zero replicas
  dr-syncer cutover  [flags]   source to zero, DR to the recorded replica counts
  dr-syncer failback [flags]   DR to zero, the source back to its recorded counts
  dr-syncer fence    [flags]   scale the source down after a cutover that could not reach it
  dr-syncer pvc-sync [flags]   copy the claims' data to DR (rsync over SSH between the node agents)
  dr-syncer status   [flags]   the replication's state: active side, last runs
  dr-syncer serve    [--config FILE] [--host H] [--port P]   the function runtime: HTTP API, schedules,
                               continuous sync, status page and metrics ("dr-syncer serve --help")
  dr-syncer validate --config FILE   check a config file
  dr-syncer render   --config FILE   print the manifests of the agents and the runtime, per cluster
  dr-syncer deploy   --config FILE   install the agents and the runtime in the config's clusters
  dr-syncer demo               the whole cycle on the local test clusters with a sample app
  dr-syncer --mode=Stage|Cutover|Failback [flags]   the older form of the first three

Run "dr-syncer COMMAND --help" for the flags of a command.
Exit codes: 0 success, 1 failure (partial failure included), 2 bad usage.`,
  stage: `dr-syncer stage: copy the source namespace to the DR cluster with workloads at zero replicas.
Only objects whose copy changed are written; a second run over an unchanged namespace writes no object.
Refuses while the replication is cut over (it would scale the live side to zero) unless --force.

${CONNECTION}

${STAGE}
  --force                       stage even while the replication is cut over (scales the live DR side to zero)

${LOCK}

${OUTPUT}`,
  cutover: `dr-syncer cutover: move the replication's capacity to DR.
Steps: lock, final stage, scale the source to zero (each count recorded in the annotation
dr-syncer.io/original-replicas in the same write), with PVC data: once the source's pods are gone a final
data pass (the source is quiet, so the copy is consistent), scale DR to the recorded counts, record the state.
Safe to re-run after a crash.

${CONNECTION}

Cutover:
  --allow-source-unavailable    the source cluster is down (or answers but cannot be listed): skip its steps,
                                use the counts recorded on DR
  --accept-stale                scale DR up even when the final stage could not copy some objects (they are
                                reported stale)
  --force                       cut over although the state says DR is already the active side
  --migrate-pvc-data            copy the claims' data once the source's pods are gone, before DR is scaled up
                                (always done when the replication has pvc.enabled)
  --dry-run                     list the steps; write nothing

${STAGE.split("\n").slice(1, 9).join("\n")}

${PVC}

${LOCK}

${OUTPUT}`,
  failback: `dr-syncer failback: return to the source after a cutover.
Steps: lock, (reverse PVC data pass), scale DR back to standby, wait until DR's pods are gone, (final
reverse pass), restore the source's recorded counts (and clear the records), record the state. A failure
after DR went down is undone (DR up, the source down).

${CONNECTION}

Failback:
  --reverse-migrate-pvc-data    copy the claims' data back from DR: a pass while DR still serves, then after
                                DR's pods are gone a final pass of the changes, before the source starts
  --use-dr-counts               restore the source to the counts DR runs at now (it may have scaled since the
                                cutover), not the counts recorded at cutover
  --allow-dr-unavailable        DR does not answer: restore the source from its own records, without DR's lock
                                or state (run failback again once DR answers)
  --force                       fail back although the state says nothing was cut over
  --dry-run                     list the steps; write nothing

${PVC}

${LOCK}

${OUTPUT}`,
  fence: `dr-syncer fence: scale the source down after a cutover that skipped it (it was unavailable).
Once the source answers again its workloads may still run, on both sides: fence scales them to zero,
recording each count (as cutover does) so a failback restores them. A stage does this by itself when it
finds the source reachable while the replication is cut over. "dr-syncer status" says when it is needed.

${CONNECTION}

Fence:
  --force                       scale the source down although no cutover skipped it
  --dry-run                     say what would be scaled down; write nothing

${LOCK}

${OUTPUT}`,
  "pvc-sync": `dr-syncer pvc-sync: copy the data of the replication's PersistentVolumeClaims to DR.
For each claim of the source namespace: mount it where it is (the running pod that mounts it, else a
short-lived mounter pod), mount its DR copy with a mounter pod (refused when a DR application mounts it),
authorize one key pair per transfer in the agents' Secrets, and have the DR node's agent pull from the source
node's agent with rsync over SSH (host keys pinned; deltas only; --delete; partial files kept for a retry).
Each claim runs under its own lock (a Lease in the DR namespace), so it runs beside stage. Mounter pods and
keys are removed afterwards. Per claim: files, bytes, duration. Refuses to copy over the side that serves.

${CONNECTION}

pvc-sync:
  --to-source                   copy back from DR to the source (after a cutover, before a failback)
  --force                       copy although the data would overwrite the side that serves
  --dry-run                     check the replication and the direction; copy nothing

${PVC}

${OUTPUT}`,
  status: `dr-syncer status: show a replication's state (active side, unfinished steps, last runs).

${CONNECTION}

${OUTPUT}`,
  validate: `dr-syncer validate --config FILE: check a config file and list its replications.
Every error names the path of the bad field.`,
  render: `dr-syncer render --config FILE [--cluster NAME] [--output yaml|json]: print the manifests
"dr-syncer deploy" applies, one object per YAML document, in a stable order, each headed by a comment naming
its cluster: in every cluster the PVC data agent (namespace agent.namespace: DaemonSet, ServiceAccount,
authorized-keys Secret) and the runtime's ServiceAccount and RBAC; in runtime.cluster (default: the
replications' destination cluster) the runtime's config and Deployment + Service (or, with
runtime.cronJobs: true, one CronJob per scheduled replication). Reads no cluster and no credential.
Left out (deploy makes them): the agent host-key Secret, the kubeconfig Secrets of the other clusters, the
tokens Secret.

  --config FILE                 the dr-syncer config file (required)
  --cluster NAME                only this cluster's objects (default: every cluster of the config)
  --output, -o yaml|json        multi-document YAML (default), or one JSON document {clusters: [...]}
  --help, -h                    this help`,
  deploy: `dr-syncer deploy --config FILE [--dry-run]: install the agents and the runtime.
Applies what "dr-syncer render" prints to every cluster of the config with server-side apply (field manager
dr-syncer-deploy, forced), creates missing namespaces (an existing one is never changed), creates each
cluster's agent host key (ed25519, generated here) only when its Secret is missing, and writes in the
runtime's namespace a kubeconfig per other cluster (a token of the runtime's ServiceAccount there) and the
API tokens the config reads from this machine's environment or files. Running it again changes nothing.
Each cluster's kubeconfig must reach it from this machine with the rights to install RBAC.

  --config FILE                 the dr-syncer config file (required)
  --dry-run                     send every write with dryRun=All: the API servers check it, nothing is stored
  --output, -o text|json        one line per object (created, configured, unchanged, kept, skipped) or JSON
  --log-level LEVEL             debug, info (default), warn, error; logs go to stderr
  --help, -h                    this help`,
  demo: `dr-syncer demo: the main job on the local test clusters, with no configuration.
Starts the two local clusters (deno task testenv up) when they are not running, seeds a sample app in
namespace "demo-shop" of the source, then runs stage, cutover and failback, showing what each step did.`,
};

export function helpText(command?: Command): string {
  return HELP[command ?? "main"];
}
