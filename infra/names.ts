/**
 * The names and labels of what `dr-syncer deploy` installs. The agent's names are shared with pvc-sync
 * (`shared/pvc/agent_names.ts`); the runtime's are only the templates'. Pure.
 */
import { LABEL_IGNORE } from "../shared/plan/names.ts";
import { derivedRunId } from "../shared/runs/derived_run_id.ts";

/** The field manager of every object deploy applies (server-side apply, forced). */
export const DEPLOY_FIELD_MANAGER = "dr-syncer-deploy";

/** The runtime's Deployment, Service, ServiceAccount (in every cluster it reaches) and pod label. */
export const RUNTIME_NAME = "dr-syncer-runtime";
/** The ConfigMap with the config file the runtime reads and the kubeconfig of its own cluster. */
export const RUNTIME_CONFIG_MAP = "dr-syncer-config";
/** The Secret with the API tokens deploy copied from the deploying machine (`env` and `path` sources). */
export const RUNTIME_TOKENS_SECRET = "dr-syncer-tokens";
/** In every other cluster: the long-lived token Secret of the runtime's ServiceAccount there. */
export const RUNTIME_TOKEN_SECRET = "dr-syncer-runtime-token";
/**
 * The continuous watcher's Lease in a DR namespace (`functions/watch/watch_lease.ts` names it; the runtime's
 * Role grants it by name, and infra cannot import the edges: a test checks the two are the same).
 */
export const WATCH_LEASE_NAME = "dr-syncer-watch";

/** In the runtime's namespace: the kubeconfig deploy wrote for another cluster (data key `kubeconfig`). */
export function kubeconfigSecretName(cluster: string): string {
  return `dr-syncer-kubeconfig-${cluster}`.slice(0, 253);
}

/** Where the runtime's pod finds its files. */
export const CONFIG_DIR = "/etc/dr-syncer/config";
export const CONFIG_FILE = `${CONFIG_DIR}/config.yaml`;
export const CLUSTERS_DIR = "/etc/dr-syncer/clusters";
export const TOKENS_DIR = "/etc/dr-syncer/tokens";
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Labels on everything deploy installs (not `app.kubernetes.io/managed-by: dr-syncer`: that marks copies). */
export function commonLabels(component: "agent" | "runtime"): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "dr-syncer",
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/managed-by": DEPLOY_FIELD_MANAGER,
  };
}

/**
 * Labels of the runtime's Roles and RoleBindings inside replicated namespaces: ignored by stage, so the
 * source's are never copied onto the DR namespace's own.
 */
export function replicatedNamespaceLabels(): Record<string, string> {
  return { ...commonLabels("runtime"), [LABEL_IGNORE]: "true" };
}

/** The name of the runtime's ClusterRole, ClusterRoleBinding, Roles and RoleBindings. */
export function runtimeRbacName(runtimeNamespace: string): string {
  return `${RUNTIME_NAME}-${runtimeNamespace}`;
}

/**
 * The CronJob of a schedule job (`stage-<replication>`, `pvc-sync-<replication>`): `dr-syncer-<job>`, at most
 * 52 characters (the controller adds 11 to name each Job), shortened with a hash of the whole name.
 */
export function cronJobName(job: string): string {
  const name = `dr-syncer-${job}`;
  if (name.length <= 52) return name;
  return `${name.slice(0, 43).replace(/-+$/, "")}-${derivedRunId(name).slice(0, 8)}`;
}

/** A Secret's `data`: each value base64-encoded (UTF-8). */
export function base64Values(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    let binary = "";
    for (const byte of new TextEncoder().encode(value)) binary += String.fromCharCode(byte);
    out[key] = btoa(binary);
  }
  return out;
}
