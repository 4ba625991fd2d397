/**
 * The names the PVC data agents are found by, shared by pvc-sync (which finds the agent on a node, pins its
 * host key and authorizes per-transfer keys) and by the infra templates (which create them). Pure.
 */

/** The agent DaemonSet, and the `app.kubernetes.io/name` label of its pods. */
export const AGENT_NAME = "dr-syncer-agent";
/** The label selector of the agent's pods. */
export const AGENT_POD_SELECTOR = `app.kubernetes.io/name=${AGENT_NAME}`;
/** The name of the agent container's SSH port (the agent runs on the host network: the node's port). */
export const AGENT_SSH_PORT_NAME = "ssh";
/** The name of the agent container's health port. */
export const AGENT_HEALTH_PORT_NAME = "health";
/** The health port the templates give the agent (on the node's network). */
export const AGENT_HEALTH_PORT = 9222;

/** The Secret with the agent's SSH host key (one per cluster, never shared between clusters). */
export const HOST_KEY_SECRET = "dr-syncer-agent-host-key";
/** The private host key's data key in `HOST_KEY_SECRET`. */
export const HOST_KEY_PRIVATE = "ssh_host_ed25519_key";
/** The public host key's data key in `HOST_KEY_SECRET` and `HOST_PUBLIC_KEY_CONFIG_MAP` (one OpenSSH line). */
export const HOST_KEY_PUBLIC = "ssh_host_ed25519_key.pub";
/**
 * The ConfigMap with the cluster's agent host public key (data key `HOST_KEY_PUBLIC`), which deploy publishes
 * apart from `HOST_KEY_SECRET`: what pvc-sync pins. The runtime may read it, and not the Secret, whose private
 * key only the agents mount.
 */
export const HOST_PUBLIC_KEY_CONFIG_MAP = "dr-syncer-agent-host-public-key";

/**
 * The Secret the agents read their authorized keys from (mounted as a folder): pvc-sync adds one data key
 * per transfer (`<transfer-id>.json`, an authorized-keys document) and removes it when the transfer ends.
 */
export const AUTHORIZED_KEYS_SECRET = "dr-syncer-agent-authorized-keys";

/** Where the agent container mounts its Secrets. */
export const AGENT_HOST_KEY_DIR = "/etc/dr-syncer/host-key";
export const AGENT_AUTHORIZED_KEYS_DIR = "/etc/dr-syncer/authorized-keys";
/** The node folder the agent reads volumes from (the kubelet root), mounted at the same path. */
export const KUBELET_ROOT = "/var/lib/kubelet";

/** The label on pvc-sync's short-lived mounter pods (value: "true"). */
export const MOUNTER_LABEL = "dr-syncer.io/mounter";
