/**
 * The runtime's objects, one typed template function per object (pure): `dr-syncer serve` as a Deployment
 * and Service (or one CronJob per schedule job running `dr-syncer run-job`), its ServiceAccount in
 * every cluster it reaches, its RBAC, and its config. Every pod runs under the restricted pod security
 * standard: non-root, seccomp RuntimeDefault, all capabilities dropped, read-only root file system.
 */
import type { KubeObject } from "../shared/kube/types.ts";
import type { RuntimeSettings } from "../shared/config/config_schema.ts";
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "../shared/plan/names.ts";
import type { PolicyRule } from "./runtime_rbac.ts";
import {
  CLUSTERS_DIR,
  commonLabels,
  CONFIG_DIR,
  CONFIG_FILE,
  cronJobName,
  kubeconfigSecretName,
  replicatedNamespaceLabels,
  RUNTIME_CONFIG_MAP,
  RUNTIME_NAME,
  RUNTIME_TOKEN_SECRET,
  RUNTIME_TOKENS_SECRET,
  runtimeRbacName,
  TOKENS_DIR,
} from "./names.ts";
import { base64Values } from "./names.ts";
import type { ScheduleJob } from "./schedule_jobs.ts";

/** The uid and gid of the `deno` user of the denoland/deno images. */
export const RUNTIME_UID = 1993;
/** `dr-syncer serve --drain-seconds`: how long running runs may finish on SIGTERM. */
export const RUNTIME_DRAIN_SECONDS = 20;

export function runtimeLabels(): Record<string, string> {
  return { "app.kubernetes.io/name": RUNTIME_NAME, ...commonLabels("runtime") };
}

/**
 * A namespace deploy needs (the runtime's, or a replicated one the runtime's Role lives in). Deploy creates
 * it only when it is missing and never changes an existing one; a DR namespace is created bare with
 * dr-syncer's label, as stage itself would.
 */
export function namespace(name: string, kind: "runtime" | "source" | "destination"): KubeObject {
  const labels = kind === "runtime"
    ? { "app.kubernetes.io/part-of": "dr-syncer" }
    : kind === "destination"
    ? { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE }
    : undefined;
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, ...(labels ? { labels } : {}) } };
}

/**
 * The runtime's ServiceAccount. In the cluster it runs in, its pod uses the mounted token; in the others,
 * deploy gives the runtime a kubeconfig with a token of this account (`runtimeTokenSecret`).
 */
export function runtimeServiceAccount(settings: RuntimeSettings, local: boolean): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: RUNTIME_NAME, namespace: settings.namespace, labels: runtimeLabels() },
    automountServiceAccountToken: local,
  };
}

/** In a cluster the runtime does not run in: a long-lived token of its ServiceAccount there (filled by the cluster). */
export function runtimeTokenSecret(settings: RuntimeSettings): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: RUNTIME_TOKEN_SECRET,
      namespace: settings.namespace,
      labels: runtimeLabels(),
      annotations: { "kubernetes.io/service-account.name": RUNTIME_NAME },
    },
    type: "kubernetes.io/service-account-token",
  };
}

/** In the runtime's cluster: the kubeconfig of another cluster, written by deploy. */
export function runtimeKubeconfigSecret(
  settings: RuntimeSettings,
  cluster: string,
  kubeconfig: string,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: kubeconfigSecretName(cluster), namespace: settings.namespace, labels: runtimeLabels() },
    type: "Opaque",
    data: base64Values({ kubeconfig }),
  };
}

/** In the runtime's cluster: the API tokens deploy copied from its environment and files (key: token name). */
export function runtimeTokensSecret(settings: RuntimeSettings, tokens: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: RUNTIME_TOKENS_SECRET, namespace: settings.namespace, labels: runtimeLabels() },
    type: "Opaque",
    data: base64Values(tokens),
  };
}

/** The runtime's cluster-scoped rights in one cluster. */
export function runtimeClusterRole(settings: RuntimeSettings, rules: PolicyRule[]): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: runtimeRbacName(settings.namespace), labels: runtimeLabels() },
    rules,
  };
}

function subjects(settings: RuntimeSettings) {
  return [{ kind: "ServiceAccount", name: RUNTIME_NAME, namespace: settings.namespace }];
}

export function runtimeClusterRoleBinding(settings: RuntimeSettings): KubeObject {
  const name = runtimeRbacName(settings.namespace);
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name, labels: runtimeLabels() },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: subjects(settings),
  };
}

/** The runtime's rights in one namespace (labelled so that stage never copies it). */
export function runtimeRole(settings: RuntimeSettings, namespace: string, rules: PolicyRule[]): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: runtimeRbacName(settings.namespace), namespace, labels: replicatedNamespaceLabels() },
    rules,
  };
}

export function runtimeRoleBinding(settings: RuntimeSettings, namespace: string): KubeObject {
  const name = runtimeRbacName(settings.namespace);
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace, labels: replicatedNamespaceLabels() },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: subjects(settings),
  };
}

/** The config file the runtime reads and the kubeconfig of its own cluster. */
export function runtimeConfigMap(settings: RuntimeSettings, files: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: RUNTIME_CONFIG_MAP, namespace: settings.namespace, labels: runtimeLabels() },
    data: files,
  };
}

/** What the runtime's pods mount: the config, the other clusters' kubeconfigs, the tokens. */
export interface RuntimeMounts {
  /** The clusters whose kubeconfig Secret deploy writes (mounted at `CLUSTERS_DIR/<cluster>`). */
  readonly remoteClusters: readonly string[];
  /** Whether the tokens Secret is mounted (some token comes from the deploying machine). */
  readonly tokens: boolean;
}

/** The restricted pod security standard, the pod's part (every runtime pod). */
export const RESTRICTED_POD = {
  runAsNonRoot: true,
  runAsUser: RUNTIME_UID,
  runAsGroup: RUNTIME_UID,
  fsGroup: RUNTIME_UID,
  seccompProfile: { type: "RuntimeDefault" },
};

/** The restricted pod security standard, the container's part. */
export const RESTRICTED_CONTAINER = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

function podVolumes(mounts: RuntimeMounts) {
  const volumes: Record<string, unknown>[] = [
    { name: "config", configMap: { name: RUNTIME_CONFIG_MAP, defaultMode: 0o440 } },
  ];
  const volumeMounts: Record<string, unknown>[] = [{ name: "config", mountPath: CONFIG_DIR, readOnly: true }];
  for (const cluster of mounts.remoteClusters) {
    volumes.push({
      name: `cluster-${cluster}`.slice(0, 63).replace(/-+$/, ""),
      secret: { secretName: kubeconfigSecretName(cluster), defaultMode: 0o440 },
    });
    volumeMounts.push({
      name: `cluster-${cluster}`.slice(0, 63).replace(/-+$/, ""),
      mountPath: `${CLUSTERS_DIR}/${cluster}`,
      readOnly: true,
    });
  }
  if (mounts.tokens) {
    volumes.push({ name: "tokens", secret: { secretName: RUNTIME_TOKENS_SECRET, defaultMode: 0o440 } });
    volumeMounts.push({ name: "tokens", mountPath: TOKENS_DIR, readOnly: true });
  }
  volumes.push({ name: "tmp", emptyDir: { sizeLimit: "64Mi" } });
  volumeMounts.push({ name: "tmp", mountPath: "/tmp" });
  return { volumes, volumeMounts };
}

/**
 * How the image runs the CLI; `--optimize-for-size` as in every launcher (deno.json's tasks, the
 * Dockerfile): V8 grows its heap less eagerly, which keeps a 20,000-object stage under 200 MB
 * (docs/benchmarks.md, "Where the memory of a large stage goes").
 */
export const RUNTIME_COMMAND = [
  "deno",
  "run",
  "-A",
  "--v8-flags=--optimize-for-size",
  "--cached-only",
  "--no-code-cache",
  "functions/cli/main.ts",
];
/** The runtime container's environment. */
export const RUNTIME_ENV = [{ name: "HOME", value: "/tmp" }, { name: "DENO_NO_UPDATE_CHECK", value: "1" }];

/** `dr-syncer serve` with the deployed config. */
export function runtimeDeployment(settings: RuntimeSettings, mounts: RuntimeMounts): KubeObject {
  const { volumes, volumeMounts } = podVolumes(mounts);
  const selector = { "app.kubernetes.io/name": RUNTIME_NAME };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: RUNTIME_NAME, namespace: settings.namespace, labels: runtimeLabels() },
    spec: {
      replicas: settings.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: runtimeLabels() },
        spec: {
          serviceAccountName: RUNTIME_NAME,
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: RUNTIME_DRAIN_SECONDS + 10,
          securityContext: RESTRICTED_POD,
          containers: [{
            name: "runtime",
            image: settings.image,
            imagePullPolicy: "IfNotPresent",
            workingDir: "/app",
            command: RUNTIME_COMMAND,
            args: [
              "serve",
              "--config",
              CONFIG_FILE,
              "--host",
              "0.0.0.0",
              "--port",
              String(settings.port),
              "--drain-seconds",
              String(RUNTIME_DRAIN_SECONDS),
            ],
            env: RUNTIME_ENV,
            ports: [{ name: "http", containerPort: settings.port, protocol: "TCP" }],
            livenessProbe: {
              httpGet: { path: "/healthz", port: "http" },
              periodSeconds: 20,
              failureThreshold: 3,
            },
            readinessProbe: {
              httpGet: { path: "/readyz", port: "http" },
              periodSeconds: 10,
              failureThreshold: 3,
            },
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
            securityContext: RESTRICTED_CONTAINER,
            volumeMounts,
          }],
          volumes,
        },
      },
    },
  };
}

/** The runtime's HTTP API inside the cluster. */
export function runtimeService(settings: RuntimeSettings): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: RUNTIME_NAME, namespace: settings.namespace, labels: runtimeLabels() },
    spec: {
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": RUNTIME_NAME },
      ports: [{ name: "http", port: settings.port, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/**
 * The CronJob form: one schedule job (`schedule_jobs.ts`) on its schedule (UTC, as Deno.cron), each Job
 * running `dr-syncer run-job`: the job's slot run once through the runtime's runs, its run record kept in the
 * DR namespace. No two Jobs of a CronJob at once (`Forbid`), and no retry: a Job started again in the same
 * slot would only find that slot's record; the next slot runs again.
 */
export function runtimeCronJob(
  settings: RuntimeSettings,
  job: ScheduleJob,
  mounts: RuntimeMounts,
): KubeObject {
  const { volumes, volumeMounts } = podVolumes(mounts);
  const labels = {
    ...runtimeLabels(),
    "dr-syncer.io/replication": job.replication,
    "dr-syncer.io/operation": job.operation,
  };
  const annotations = { "dr-syncer.io/job": job.name };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: cronJobName(job.name), namespace: settings.namespace, labels, annotations },
    spec: {
      schedule: job.schedule,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels, annotations },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels, annotations },
            spec: {
              serviceAccountName: RUNTIME_NAME,
              automountServiceAccountToken: true,
              restartPolicy: "Never",
              securityContext: RESTRICTED_POD,
              containers: [{
                name: job.operation,
                image: settings.image,
                imagePullPolicy: "IfNotPresent",
                workingDir: "/app",
                command: RUNTIME_COMMAND,
                args: ["run-job", "--config", CONFIG_FILE, "--job", job.name],
                env: RUNTIME_ENV,
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                securityContext: RESTRICTED_CONTAINER,
                volumeMounts,
              }],
              volumes,
            },
          },
        },
      },
    },
  };
}
