/**
 * The CustomResourceDefinitions of the original DR-Syncer operator's API, `dr-syncer.io/v1alpha1`, as
 * dr-syncer serves it in the runtime's cluster (pure): RemoteCluster, ClusterMapping and NamespaceMapping,
 * namespaced as in the original, so that its users' objects apply unchanged and the runtime acts on them.
 *
 * - **spec**: every field of the original's types, with the same names, types and constraints (enums,
 *   minimums, required fields), plus `RemoteCluster.spec.kubeconfigSecret: NAME` (the original README's
 *   form) and `NamespaceMapping.spec.excludeResourceTypes` (and its other spelling `excludedResources`),
 *   which the config's reading of operator manifests also takes. Two constraints are looser: a schedule is any
 *   5-field cron expression (the original's pattern refused lists and ranges such as `0 9 * * 1-5`), and
 *   `kubeconfigSecretRef.namespace` may be left out (it defaults to the RemoteCluster's namespace). Every
 *   field says what dr-syncer does with it; those it does not use are accepted and say why they are not used.
 * - **status**: what the runtime writes through the `status` subresource (`STATUS_CONTRACT` below).
 * - **strict**: no `x-kubernetes-preserve-unknown-fields` anywhere, so kubectl's default strict field
 *   validation refuses an unknown field by its path (`unknown field "spec.sheduler"`).
 * - **printer columns**: `kubectl get namespacemappings` shows where from and to, the mode, the active side,
 *   the phase, the last and next sync and the RPO.
 * - **names**: no short names of the original are kept: its `rc` and `cm` are kubectl's ReplicationControllers
 *   and ConfigMaps, which win, so they never reached these kinds; `drrc`, `drcm` and `drnm` do, and the
 *   category `dr-syncer` lists all three (`kubectl get dr-syncer`).
 *
 * These are OpenAPI v3 schemas written for dr-syncer (the descriptions say what dr-syncer does), not the
 * original's generated ones.
 */
import type { KubeObject } from "../shared/kube/types.ts";
import {
  ANNOTATION_CUTOVER,
  ANNOTATION_FAILBACK,
  ANNOTATION_SYNC_NOW,
  CLUSTER_MAPPING,
  NAMESPACE_MAPPING,
  OPERATOR_GROUP,
  OPERATOR_VERSION,
  type OperatorKind,
  REMOTE_CLUSTER,
} from "../shared/config/operator_names.ts";
import { commonLabels } from "./names.ts";

/** An OpenAPI v3 schema node. */
export type Schema = Record<string, unknown>;

/** The category every kind is in: `kubectl get dr-syncer -n NS` lists the three. */
export const OPERATOR_CATEGORY = "dr-syncer";

/** Short names (the original's `rc` and `cm` are kubectl's ReplicationControllers and ConfigMaps). */
export const SHORT_NAMES: Readonly<Record<string, readonly string[]>> = {
  [REMOTE_CLUSTER.kind]: ["drrc"],
  [CLUSTER_MAPPING.kind]: ["drcm"],
  [NAMESPACE_MAPPING.kind]: ["drnm"],
};

/**
 * What the runtime writes in `status`, per kind (the schemas below enforce it: a write outside it is refused
 * with 422). Times are RFC 3339 (`2025-03-08T18:00:00Z`).
 */
export const NAMESPACE_MAPPING_PHASES = [
  "Pending",
  "Syncing",
  "Synced",
  "Failed",
  "CutOver",
  "Paused",
  "Invalid",
] as const;
export const NAMESPACE_MAPPING_CONDITIONS = ["Ready", "Synced", "CutOver"] as const;
export const CLUSTER_CONDITIONS = ["Ready"] as const;
export const ACTIVE_SIDES = ["source", "dr"] as const;
export const RPO_LEVELS = ["ok", "warning", "critical", "none"] as const;
export const RUN_RESULTS = ["succeeded", "failed"] as const;

// ---- schema helpers ----

const string = (description: string, extra: Schema = {}): Schema => ({
  type: "string",
  description,
  ...extra,
});
const boolean = (description: string): Schema => ({ type: "boolean", description });
const int32 = (description: string, extra: Schema = {}): Schema => ({
  type: "integer",
  format: "int32",
  description,
  ...extra,
});
const int64 = (description: string, extra: Schema = {}): Schema => ({
  type: "integer",
  format: "int64",
  description,
  ...extra,
});
const number = (description: string): Schema => ({ type: "number", description });
const dateTime = (description: string): Schema => ({ type: "string", format: "date-time", description });
const strings = (description: string): Schema => ({ type: "array", description, items: { type: "string" } });
const stringMap = (description: string): Schema => ({
  type: "object",
  description,
  additionalProperties: { type: "string" },
});
const object = (description: string, properties: Record<string, Schema>, required?: string[]): Schema => ({
  type: "object",
  description,
  properties,
  ...(required ? { required } : {}),
});
const array = (description: string, items: Schema): Schema => ({ type: "array", description, items });

/** A field dr-syncer accepts (so the original's objects apply) and does not use, and why. */
const unused = (what: string, why: string) =>
  `${what} Accepted so that the original DR-Syncer's objects apply unchanged; not used by dr-syncer: ${why}.`;

/** A duration as the original wrote it (`1h`, `5m30s`). */
const DURATION = { pattern: "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" };
/** Five whitespace-separated fields; the runtime checks the rest (a bad expression: phase Invalid). */
const CRON = { pattern: "^\\s*\\S+(\\s+\\S+){4}\\s*$" };

// ---- status ----

/** A standard condition (metav1.Condition). */
function conditions(types: readonly string[]): Schema {
  return {
    type: "array",
    description: `The latest observations, one per type (${types.join(", ")}), as Kubernetes conditions.`,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    items: object(
      "One aspect of the object's state.",
      {
        type: string(`What the condition is about: ${types.join(", ")}.`, { enum: [...types] }),
        status: string("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
        observedGeneration: int64("The metadata.generation the condition was set from.", { minimum: 0 }),
        lastTransitionTime: dateTime("When the status last changed."),
        reason: string("A CamelCase word for the programs that read it (SyncSucceeded).", {
          minLength: 1,
          maxLength: 1024,
          pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        }),
        message: string("A sentence for the people who read it (may be empty).", { maxLength: 32768 }),
      },
      ["type", "status", "lastTransitionTime", "reason", "message"],
    ),
  };
}

function clusterStatus(what: string): Schema {
  return object(`What the runtime last found of this ${what} (written by dr-syncer; read-only).`, {
    observedGeneration: int64("The metadata.generation the runtime last acted on.", { minimum: 0 }),
    phase: string("In a word: whether the runtime can use it (Ready, Invalid, Failed...)."),
    message: string("Why, in a sentence (what is wrong and what to do)."),
    conditions: conditions(CLUSTER_CONDITIONS),
    lastChecked: dateTime("When the runtime last checked it."),
  });
}

const namespaceMappingStatus = object(
  "What the runtime last did for this mapping (written by dr-syncer through the status subresource; read-only).",
  {
    observedGeneration: int64("The metadata.generation the runtime last acted on (a spec change is seen).", {
      minimum: 0,
    }),
    phase: string(`In a word: ${NAMESPACE_MAPPING_PHASES.join(", ")}.`, {
      enum: [...NAMESPACE_MAPPING_PHASES],
    }),
    conditions: conditions(NAMESPACE_MAPPING_CONDITIONS),
    source: string('Where it copies from, as "cluster/namespace".'),
    destination: string('Where it copies to, as "cluster/namespace".'),
    mode: string(
      "How the runtime runs it: Scheduled, Continuous or Manual (as spec.replicationMode), or Paused.",
    ),
    activeSide: string("The side that serves: source, or dr after a cutover.", { enum: [...ACTIVE_SIDES] }),
    lastSyncTime: dateTime("When the last successful stage finished."),
    nextSyncTime: dateTime("When the schedule runs the next stage (scheduled and continuous modes)."),
    rpo: object("The recovery point: how old DR's copy is.", {
      age: string('The copy\'s age, for people ("3m12s").'),
      seconds: number("The copy's age in seconds."),
      ratio: number("The age divided by the schedule's interval (over 1: a run was missed)."),
      level: string(`${RPO_LEVELS.join(", ")} (none: no copy yet, or no schedule to compare with).`, {
        enum: [...RPO_LEVELS],
      }),
    }),
    lastRun: object("The last finished run of any operation.", {
      id: string("The run's id (GET /runs/ID on the runtime's HTTP API)."),
      operation: string("stage, cutover, failback, pvc-sync or fence."),
      result: string(`${RUN_RESULTS.join(" or ")}.`, { enum: [...RUN_RESULTS] }),
      startedAt: dateTime("When it started."),
      finishedAt: dateTime("When it finished."),
      trigger: string("What started it (schedule, watch, annotation, http, cli...)."),
      counts: {
        type: "object",
        description: "Objects per outcome (created, updated, unchanged, pruned, failed...).",
        additionalProperties: { type: "integer", format: "int64" },
      },
    }),
    pvcData: object("The last PVC data pass.", {
      claims: int64("Claims copied.", { minimum: 0 }),
      files: int64("Files sent.", { minimum: 0 }),
      bytes: int64("Bytes of the files sent.", { minimum: 0 }),
      wireBytes: int64("Bytes on the wire (rsync sends deltas).", { minimum: 0 }),
    }),
    syncStats: object("The last stage in the original's terms.", {
      totalResources: int64("Objects the last stage handled.", { minimum: 0 }),
      successfulSyncs: int64("Of those, copied or already up to date.", { minimum: 0 }),
      failedSyncs: int64("Of those, failed.", { minimum: 0 }),
      lastSyncDuration: string('How long it took ("1m3s").'),
    }),
    lastError: object("The last failure, kept until a run succeeds.", {
      message: string("What failed."),
      time: dateTime("When."),
    }),
    message: string("The state in a sentence (what to do when it needs something)."),
  },
);

// ---- RemoteCluster ----

const secretRef = (description: string, required: string[]) =>
  object(description, {
    name: string("The Secret's name."),
    namespace: string("The Secret's namespace."),
  }, required);

const remoteClusterSpec = object(
  "A cluster dr-syncer reaches, and the Secret with its kubeconfig. Its name is the cluster's name in sourceCluster, destinationCluster and ClusterMappings. Give exactly one of kubeconfigSecretRef and kubeconfigSecret.",
  {
    kubeconfigSecretRef: object(
      "The Secret holding this cluster's kubeconfig. The runtime reads it with its ServiceAccount, by name: name it in the config you deploy (dr-syncer deploy grants get on that Secret only).",
      {
        name: string("The Secret's name."),
        namespace: string("The Secret's namespace; default: this RemoteCluster's namespace."),
        key: string("The key of the Secret's data holding the kubeconfig; default: kubeconfig."),
      },
      ["name"],
    ),
    kubeconfigSecret: string(
      "The name of a Secret in the runtime's namespace (where dr-syncer reads these objects) whose key \"kubeconfig\" holds the kubeconfig: the short form of kubeconfigSecretRef (the original DR-Syncer README's form).",
    ),
    defaultSchedule: string(
      "The schedule (a 5-field cron expression, UTC) of the NamespaceMappings from this cluster that set none.",
      CRON,
    ),
    defaultResourceTypes: strings(
      'The resource types of the NamespaceMappings from this cluster that list none (["*"]: the default types plus every namespaced custom type).',
    ),
    pvcSync: object(
      "PVC data settings of the original's agent. dr-syncer's agents are installed in every cluster of the config by dr-syncer deploy; PVC data is turned on per NamespaceMapping (pvcConfig.syncData).",
      {
        enabled: boolean(
          unused("Whether the original deployed its agent here.", "dr-syncer deploy installs the agents"),
        ),
        image: object(unused("The original agent's image.", "the config's agent.image names dr-syncer's"), {
          repository: string("The image repository."),
          tag: string("The image tag."),
          pullPolicy: string("The image pull policy."),
        }),
        ssh: object(unused("The original agent's SSH service.", "the config's agent.port sets dr-syncer's"), {
          port: int32("The SSH port."),
          keySecretRef: secretRef("A Secret with SSH keys.", ["name", "namespace"]),
        }),
        concurrency: int32(
          unused("Concurrent PVC syncs per mapping.", "pvc-sync copies claims one after the other"),
        ),
        globalConcurrencyLimit: int32(
          unused("Concurrent PVC syncs across mappings.", "each claim has its own lock, a Lease"),
          { minimum: 1, maximum: 256 },
        ),
        retryConfig: object(
          unused("Retries of failed syncs.", "a failed claim is copied again at the next run"),
          {
            maxRetries: int32("Most retries."),
            initialDelay: string("First delay."),
            maxDelay: string("Longest delay."),
          },
        ),
        deployment: object(
          unused(
            "How the original's agent pods ran.",
            "dr-syncer's agent DaemonSet is fixed by dr-syncer deploy (host network, every node, no privileges beyond a few capabilities)",
          ),
          {
            hostNetwork: boolean("Host network."),
            nodeSelector: stringMap("Node selector."),
            tolerations: array("Tolerations.", { type: "object", additionalProperties: { type: "string" } }),
            resources: object("Resource requests and limits.", {
              limits: {
                type: "object",
                description: "Limits.",
                additionalProperties: { "x-kubernetes-int-or-string": true },
              },
              requests: {
                type: "object",
                description: "Requests.",
                additionalProperties: { "x-kubernetes-int-or-string": true },
              },
            }),
            annotations: stringMap("Pod annotations."),
            labels: stringMap("Pod labels."),
            priorityClassName: string("Priority class."),
            privileged: boolean("Privileged containers."),
            extraEnv: array(
              "Extra environment variables.",
              object("A variable.", {
                name: string("Its name."),
                value: string("Its value."),
                valueFrom: object("Where its value comes from.", {
                  fieldRef: object("A field of the pod.", { fieldPath: string("The field's path.") }, [
                    "fieldPath",
                  ]),
                }),
              }, ["name"]),
            ),
          },
        ),
        healthCheck: object(
          unused("The original agent's health checks.", "the agents have probes of their own"),
          {
            interval: string("Between checks."),
            sshTimeout: string("SSH connection timeout."),
            retryAttempts: int32("Retries."),
            retryInterval: string("Between retries."),
          },
        ),
        defaultVerificationMode: string(
          "How the claims' copies from this cluster are verified when their NamespaceMapping does not say: none, sample (64 random files compared by checksum) or full (every file).",
          { enum: ["none", "sample", "full"] },
        ),
        defaultSamplePercent: int32(
          unused("The share of files sample verifies.", "sample compares 64 random files"),
          {
            minimum: 1,
            maximum: 100,
          },
        ),
        rsyncDaemonSet: object(
          unused("The original's pool of rsync pods.", "the agents themselves pull, node to node"),
          {
            enabled: boolean("Whether the pool runs."),
            image: string("Its image."),
            namespace: string("Its namespace."),
            sshSecretName: string("Its SSH keys' Secret."),
          },
        ),
      },
    ),
  },
);

// ---- ClusterMapping ----

const clusterMappingSpec = object(
  "A source cluster and a target cluster (RemoteCluster names), for the NamespaceMappings that reference this ClusterMapping (spec.clusterMappingRef).",
  {
    sourceCluster: string("The RemoteCluster copied from (the production side)."),
    targetCluster: string("The RemoteCluster copied to (the DR side)."),
    paused: boolean(
      "true: the NamespaceMappings that reference it run only on demand (as with replicationMode: Manual).",
    ),
    sshKeySecretRef: object(
      unused("SSH keys between the original's agents.", "pvc-sync makes a key pair per transfer"),
      {
        name: string("The Secret's name."),
        namespace: string("The Secret's namespace."),
        publicKeyKey: string("The key of the public key."),
        privateKeyKey: string("The key of the private key."),
      },
      ["name"],
    ),
    verifyConnectivity: boolean(
      unused(
        "Whether the original checked SSH between the agents.",
        "pvc-sync pins each agent's host key at every transfer",
      ),
    ),
    connectivityTimeoutSeconds: int32(unused("That check's timeout.", "there is no such check")),
  },
  ["sourceCluster", "targetCluster"],
);

// ---- NamespaceMapping ----

const fromTo = (what: string) =>
  array(
    `${what} mappings, source to DR.`,
    object(`A ${what} mapping.`, {
      from: string(`The ${what} on the source.`),
      to: string(`The ${what} on DR.`),
    }, ["from", "to"]),
  );

const IMMUTABLE_HANDLING = ["NoChange", "Recreate", "RecreateWithPodDrain", "PartialUpdate", "ForceUpdate"];
const FAILURE_MODES = ["RetryAndWait", "RetryOnly", "WaitForNextSync", "FailFast"];
const failureMode = (what: string) => string(`${what}.`, { enum: FAILURE_MODES });

const namespaceMappingSpec = object(
  "A replication: a namespace of a source cluster copied to a namespace of a destination cluster, workloads held at zero replicas until cutover. The clusters come from clusterMappingRef, or from sourceCluster and destinationCluster.",
  {
    paused: boolean("true: it runs only on demand (as with replicationMode: Manual)."),
    replicationMode: string(
      `When the runtime runs stage: Scheduled (on schedule, else the source RemoteCluster's defaultSchedule), Continuous (on every change of the source namespace; a full stage on the schedule, else every 10 minutes), Manual (only on demand: the annotation ${ANNOTATION_SYNC_NOW} or the HTTP API). Default: Scheduled when a schedule applies, else Manual.`,
      { enum: ["Scheduled", "Continuous", "Manual"] },
    ),
    clusterMappingRef: object(
      "The ClusterMapping giving the source and destination clusters (then sourceCluster and destinationCluster, if given, must agree with it).",
      {
        name: string("The ClusterMapping's name."),
        namespace: string("Its namespace; default: this NamespaceMapping's."),
      },
      ["name"],
    ),
    sourceCluster: string(
      "The RemoteCluster copied from, without clusterMappingRef; default: the cluster the runtime runs in (as the original's controller).",
    ),
    destinationCluster: string("The RemoteCluster copied to, without clusterMappingRef."),
    sourceNamespace: string("The namespace to protect, in the source cluster."),
    destinationNamespace: string(
      "Its copy in the destination cluster; default: the source namespace's name.",
    ),
    schedule: string(
      'When stage runs: a 5-field cron expression (minute hour day-of-month month day-of-week, UTC), e.g. "*/15 * * * *". Also the schedule of the PVC data when pvcConfig.syncData is true.',
      CRON,
    ),
    resourceTypes: strings(
      'The types to copy, replacing the default types: plural, singular, kind or short name, or resource.group (ConfigMap, deployments, ingresses.networking.k8s.io); case does not matter. ["*"]: the default types plus every namespaced custom type. Empty: the defaults (or the source RemoteCluster\'s defaultResourceTypes).',
    ),
    namespaceScopedResources: strings(
      "Custom types to copy as well, as resource.group (widgets.example.com).",
    ),
    excludeResourceTypes: strings(
      "dr-syncer's own: types never copied, whatever the other lists say (same names as resourceTypes).",
    ),
    excludedResources: strings("Another spelling of excludeResourceTypes, read the same way."),
    scaleToZero: boolean(
      "true (default): DR copies of Deployments and StatefulSets are held at zero replicas (the source's count kept in an annotation), CronJobs suspended; false: a warm standby with the source's counts.",
    ),
    syncCRDs: boolean(
      "true: the CRDs of the copied custom types are copied to DR first when DR lacks them (default false).",
    ),
    immutableResourceConfig: object(
      "What happens when a copied object's immutable field changed on the source.",
      {
        defaultHandling: string(
          "NoChange or PartialUpdate: reported, the DR object left as it is; Recreate, RecreateWithPodDrain or ForceUpdate: the DR object is deleted and created again (never a PersistentVolumeClaim).",
          { enum: IMMUTABLE_HANDLING },
        ),
        resourceOverrides: {
          type: "object",
          description: unused("Handling per resource.group.", "one handling applies to every type"),
          additionalProperties: { type: "string", enum: IMMUTABLE_HANDLING },
        },
        drainTimeout: string(
          unused("How long RecreateWithPodDrain waited for pods.", "DR workloads run no pods before cutover"),
        ),
        forceDeleteTimeout: string(
          unused("How long ForceUpdate waited.", "a delete is followed by the create at once"),
        ),
      },
    ),
    pvcConfig: object(
      "PersistentVolumeClaims: how their copies are made, and whether their data is copied.",
      {
        syncData: boolean(
          "true: the claims' data is copied too, with rsync over SSH between the agents of the two nodes, on the mapping's schedule, on demand and at cutover (dr-syncer deploy installs the agents).",
        ),
        storageClassMappings: fromTo("storage class"),
        accessModeMappings: fromTo("access mode"),
        syncPersistentVolumes: boolean(
          unused(
            "Whether PersistentVolumes were copied.",
            "a DR claim gets its own volume from DR's provisioner",
          ),
        ),
        preserveVolumeAttributes: boolean(
          unused("Whether volume attributes were kept.", "no PersistentVolume is copied"),
        ),
        dataSyncConfig: object("How the data is copied.", {
          bandwidthLimit: int32("rsync's limit per claim in KiB/s; 0: none.", { minimum: 0 }),
          verificationMode: string(
            "After each claim's copy: none, sample (64 random files compared by checksum) or full (every file).",
            { enum: ["none", "sample", "full"] },
          ),
          concurrentSyncs: int32(unused("Claims copied at once.", "claims are copied one after the other")),
          excludePaths: strings(unused("Paths left out.", "a claim's copy is whole")),
          rsyncOptions: strings(unused("Extra rsync options.", "the agents run a fixed, confined rsync")),
          timeout: string(unused("A copy's time limit.", "a copy runs until it ends or its run is stopped")),
          samplePercent: int32(
            unused("The share of files sample verifies.", "sample compares 64 random files"),
            {
              minimum: 1,
              maximum: 100,
            },
          ),
        }),
      },
    ),
    namespaceConfig: object(
      unused(
        "How the original handled the DR namespace.",
        "stage always creates a missing DR namespace and gives it the source namespace's labels and annotations",
      ),
      {
        createNamespace: boolean("Create it."),
        preserveLabels: boolean("Keep its labels."),
        preserveAnnotations: boolean("Keep its annotations."),
      },
    ),
    continuous: object(
      unused(
        "The original's continuous settings.",
        "Continuous always watches, and runs a full stage on the schedule, else every 10 minutes",
      ),
      {
        watchResources: boolean("Watch."),
        backgroundSyncInterval: string("Between full syncs.", DURATION),
      },
    ),
    retryConfig: object(
      unused(
        "Retries of failed runs.",
        "API calls are retried with backoff on conflicts, throttling and server errors, and a failed run is run again at its next trigger",
      ),
      {
        maxRetries: int32("Most retries."),
        initialBackoff: string("First backoff.", DURATION),
        maxBackoff: string("Longest backoff.", DURATION),
        backoffMultiplier: int32("Backoff growth, in percent.", { minimum: 100, maximum: 1000 }),
      },
    ),
    failureHandling: object(unused("What the original did on each kind of failure.", "see retryConfig"), {
      defaultMode: failureMode("By default"),
      storageClassNotFound: failureMode("A storage class DR lacks"),
      resourceNotFound: failureMode("A type the cluster does not serve"),
      validationFailure: failureMode("An object the API server refuses"),
      networkError: failureMode("A cluster that does not answer"),
    }),
    ingressConfig: object(
      unused("How Ingresses were changed.", "Ingresses are copied whole: annotations, TLS and backends kept"),
      {
        preserveAnnotations: boolean("Keep annotations."),
        preserveTLS: boolean("Keep TLS."),
        preserveBackends: boolean("Keep backends."),
      },
    ),
    tempPodKeySecretRef: secretRef(
      unused(
        "A Secret with SSH keys for the original's temporary pods.",
        "pvc-sync makes a key pair per transfer",
      ),
      ["name", "namespace"],
    ),
  },
);

// ---- the CRDs ----

/** A printer column. */
interface Column {
  readonly name: string;
  readonly type: "string" | "date" | "integer" | "number" | "boolean";
  readonly jsonPath: string;
  readonly description: string;
  readonly priority?: number;
}

const AGE: Column = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "How long ago it was created.",
};
const READY: Column = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: "The Ready condition.",
};

const LAST_CHECKED: Column = {
  name: "Last Checked",
  type: "date",
  jsonPath: ".status.lastChecked",
  description: "How long ago the runtime checked it.",
};
const MESSAGE: Column = {
  name: "Message",
  type: "string",
  jsonPath: ".status.message",
  description: "The state in a sentence.",
  priority: 1,
};
const PHASE: Column = {
  name: "Phase",
  type: "string",
  jsonPath: ".status.phase",
  description: "The state in a word.",
};

/**
 * `kubectl get namespacemappings`. Next Sync is a string column: kubectl shows a date column as the time
 * since, and a time to come as `<invalid>`.
 */
export const NAMESPACE_MAPPING_COLUMNS: readonly Column[] = [
  {
    name: "Source",
    type: "string",
    jsonPath: ".status.source",
    description: "cluster/namespace copied from.",
  },
  {
    name: "Destination",
    type: "string",
    jsonPath: ".status.destination",
    description: "cluster/namespace copied to.",
  },
  {
    name: "Mode",
    type: "string",
    jsonPath: ".status.mode",
    description: "Scheduled, Continuous, Manual or Paused.",
  },
  { name: "Active", type: "string", jsonPath: ".status.activeSide", description: "The side that serves." },
  PHASE,
  {
    name: "Last Sync",
    type: "date",
    jsonPath: ".status.lastSyncTime",
    description: "How long ago the last successful stage finished.",
  },
  {
    name: "Next Sync",
    type: "string",
    jsonPath: ".status.nextSyncTime",
    description: "When the schedule runs the next stage.",
  },
  { name: "RPO", type: "string", jsonPath: ".status.rpo.age", description: "How old DR's copy is." },
  AGE,
  {
    name: "RPO Level",
    type: "string",
    jsonPath: ".status.rpo.level",
    description: "ok, warning, critical or none.",
    priority: 1,
  },
  {
    name: "Last Run",
    type: "string",
    jsonPath: ".status.lastRun.result",
    description: "The last run's result.",
    priority: 1,
  },
  MESSAGE,
];

export const CLUSTER_MAPPING_COLUMNS: readonly Column[] = [
  {
    name: "Source",
    type: "string",
    jsonPath: ".spec.sourceCluster",
    description: "The source RemoteCluster.",
  },
  {
    name: "Target",
    type: "string",
    jsonPath: ".spec.targetCluster",
    description: "The target RemoteCluster.",
  },
  PHASE,
  READY,
  LAST_CHECKED,
  AGE,
  { name: "Paused", type: "boolean", jsonPath: ".spec.paused", description: "Paused.", priority: 1 },
  MESSAGE,
];

export const REMOTE_CLUSTER_COLUMNS: readonly Column[] = [
  PHASE,
  READY,
  LAST_CHECKED,
  AGE,
  MESSAGE,
];

function crd(
  names: OperatorKind,
  description: string,
  spec: Schema,
  status: Schema,
  columns: readonly Column[],
  validations: readonly { rule: string; message: string }[] = [],
): KubeObject {
  const specSchema = validations.length > 0 ? { ...spec, "x-kubernetes-validations": validations } : spec;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${OPERATOR_GROUP}`, labels: commonLabels("runtime") },
    spec: {
      group: OPERATOR_GROUP,
      scope: "Namespaced",
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...SHORT_NAMES[names.kind]!],
        categories: [OPERATOR_CATEGORY],
      },
      versions: [{
        name: OPERATOR_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: columns.map((c) => ({ ...c })),
        schema: {
          openAPIV3Schema: object(description, {
            apiVersion: string(`The API version: ${OPERATOR_GROUP}/${OPERATOR_VERSION}.`),
            kind: string(`The kind: ${names.kind}.`),
            // the API server allows nothing else on metadata
            metadata: { type: "object" },
            spec: specSchema,
            status,
          }, ["spec"]),
        },
      }],
    },
  };
}

/** The three CRDs, in the order they are applied. */
export function operatorCrds(): KubeObject[] {
  return [
    crd(
      REMOTE_CLUSTER,
      "RemoteCluster (the original DR-Syncer's API, served by dr-syncer): a cluster and the Secret with its kubeconfig.",
      remoteClusterSpec,
      clusterStatus("cluster"),
      REMOTE_CLUSTER_COLUMNS,
      [{
        rule: "has(self.kubeconfigSecretRef) != has(self.kubeconfigSecret)",
        message:
          "give exactly one of kubeconfigSecretRef ({name, namespace, key}) and kubeconfigSecret (a Secret name)",
      }],
    ),
    crd(
      CLUSTER_MAPPING,
      "ClusterMapping (the original DR-Syncer's API, served by dr-syncer): a source and a target cluster for NamespaceMappings.",
      clusterMappingSpec,
      clusterStatus("mapping"),
      CLUSTER_MAPPING_COLUMNS,
    ),
    crd(
      NAMESPACE_MAPPING,
      `NamespaceMapping (the original DR-Syncer's API, served by dr-syncer): a replication of one namespace to DR. Annotate it to act now: ${ANNOTATION_SYNC_NOW} (stage), ${ANNOTATION_CUTOVER}, ${ANNOTATION_FAILBACK}.`,
      namespaceMappingSpec,
      namespaceMappingStatus,
      NAMESPACE_MAPPING_COLUMNS,
    ),
  ];
}
