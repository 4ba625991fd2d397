/**
 * The command line's flags that are not an operation's options, in groups, each with its help line:
 * the parser and `--help` both read this table (the operations' own options come from the registry).
 */

export interface CliFlag {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** The value's placeholder in the help (`FILE`). */
  readonly placeholder?: string;
  readonly help: string;
}

export type CliFlagGroup =
  | "connection"
  | "copy"
  | "pvc"
  | "lock"
  | "output"
  | "render"
  | "deploy";

export const FLAG_GROUPS: Readonly<Record<CliFlagGroup, { title: string; flags: Record<string, CliFlag> }>> =
  {
    connection: {
      title: "Clusters and namespaces (or --config FILE --replication NAME)",
      flags: {
        "source-kubeconfig": {
          type: "string",
          placeholder: "FILE",
          help: "kubeconfig of the source (production) cluster",
        },
        "dest-kubeconfig": { type: "string", placeholder: "FILE", help: "kubeconfig of the DR cluster" },
        "source-context": {
          type: "string",
          placeholder: "NAME",
          help: "context in the source kubeconfig (default: its current-context)",
        },
        "dest-context": {
          type: "string",
          placeholder: "NAME",
          help: "context in the DR kubeconfig (default: its current-context)",
        },
        "source-namespace": { type: "string", placeholder: "NAME", help: "the namespace to protect" },
        "dest-namespace": {
          type: "string",
          placeholder: "NAME",
          help: "its copy on DR (default: the source namespace's name)",
        },
        "config": {
          type: "string",
          placeholder: "FILE",
          help: "a dr-syncer config file (YAML); with --replication NAME",
        },
        "replication": {
          type: "string",
          placeholder: "NAME",
          help: "the configured replication to run (with flags only: its name, default the namespace)",
        },
      },
    },
    copy: {
      title: "Copying (the replication's settings; they override a configured replication's)",
      flags: {
        "resource-types": {
          type: "string",
          placeholder: "LIST",
          help:
            "comma-separated types to copy, replacing the defaults (cm, deploy, ingresses.networking.k8s.io...)",
        },
        "exclude-resource-types": {
          type: "string",
          placeholder: "LIST",
          help: "types to leave out (wins over --resource-types)",
        },
        "include-custom-resources": {
          type: "boolean",
          help: "also copy namespaced custom resources (their CRDs must exist on DR)",
        },
        "sync-crds": {
          type: "boolean",
          help: "with --include-custom-resources: copy missing CRDs to DR first",
        },
        "storage-class-map": { type: "string", placeholder: "A=B,...", help: "rewrite PVC storage classes" },
        "access-mode-map": {
          type: "string",
          placeholder: "A=B,...",
          help: "rewrite PVC access modes (ReadWriteMany=ReadWriteOnce)",
        },
        "ingress-host-map": { type: "string", placeholder: "A=B,...", help: "rewrite Ingress hosts" },
        "no-scale-to-zero": {
          type: "boolean",
          help: "keep the source replica counts on DR (default: 0, the count kept in an annotation)",
        },
        "immutable": {
          type: "string",
          placeholder: "report|recreate",
          help: "an object whose immutable field changed: report it (default) or delete and recreate it",
        },
        "prune-claims": {
          type: "boolean",
          help: "with prune, delete PVCs (and their data) too (default: kept, with a warning)",
        },
        "max-prune": {
          type: "string",
          placeholder: "N",
          help: "the most objects one run may prune (default 50); more is refused",
        },
        "adopt": {
          type: "boolean",
          help: "take over DR objects dr-syncer did not create (default: reported, left alone)",
        },
        "concurrency": {
          type: "string",
          placeholder: "N",
          help:
            "writes in flight at once (default 16; the scale writes of cutover, failback and fence: three times that)",
        },
      },
    },
    pvc: {
      title: 'PVC data (rsync over SSH between the agents on the nodes; "dr-syncer deploy" installs them)',
      flags: {
        "agent-namespace": {
          type: "string",
          placeholder: "NAME",
          help: "where the agents and their Secrets are, in both clusters (default dr-syncer-system)",
        },
        "mounter-image": {
          type: "string",
          placeholder: "IMAGE",
          help:
            "image of the pods that mount a claim no running pod mounts (default registry.k8s.io/pause:3.10)",
        },
        "bandwidth-limit": {
          type: "string",
          placeholder: "RATE",
          help: "rsync's limit per claim: 50M, 10k, 1G (per second) or a number of KiB/s",
        },
        "verify": {
          type: "string",
          placeholder: "none|sample|full",
          help: "after the copy, compare nothing (default), 64 random files, or every file by checksum",
        },
      },
    },
    lock: {
      title: "Lock (one run at a time per replication, a Lease in the DR namespace)",
      flags: {
        "wait-for-lock": {
          type: "string",
          placeholder: "SECONDS",
          help:
            "wait this long for another run's lock (default 0: refuse at once); a crashed run's lock is free once its lease has passed",
        },
        "lease-seconds": {
          type: "string",
          placeholder: "SECONDS",
          help: "this run's lease (default 60): how long its lock outlives a crash",
        },
      },
    },
    output: {
      title: "Output",
      flags: {
        "output": {
          type: "string",
          short: "o",
          placeholder: "text|json",
          help: "text (default) or JSON on stdout",
        },
        "log-level": {
          type: "string",
          placeholder: "LEVEL",
          help: "debug, info (default), warn, error; logs go to stderr",
        },
        "help": { type: "boolean", short: "h", help: "this help" },
        "version": { type: "boolean", help: "print the version" },
      },
    },
    render: {
      title: "render",
      flags: {
        "cluster": {
          type: "string",
          placeholder: "NAME",
          help: "only this cluster's objects (default: every cluster of the config)",
        },
      },
    },
    deploy: {
      title: "deploy",
      flags: {
        "dry-run": {
          type: "boolean",
          help: "send every write with dryRun=All: the API servers check it, nothing is stored",
        },
        "keys-only": {
          type: "boolean",
          help:
            "only the agents' host keys, the kubeconfigs of the other clusters and the tokens Secret (what the Helm chart leaves to you)",
        },
      },
    },
  };

/** The older form's `--mode=Stage|Cutover|Failback`. */
export const MODE_FLAG: CliFlag = {
  type: "string",
  placeholder: "Stage|Cutover|Failback",
  help: "the original DR-Syncer CLI's form of the command",
};
