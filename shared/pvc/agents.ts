/**
 * The agents pvc-sync talks to: the agent pod on a node (its address and SSH port), the cluster's agent
 * host key (pinned), and the per-transfer keys it authorizes in the authorized-keys Secret the agents
 * mount (one data key per transfer, added and removed with JSON merge patches, so transfers never
 * overwrite each other's keys).
 */
import { Buffer } from "node:buffer";
import { InvalidInputError } from "../errors.ts";
import { isForbidden, isNotFound } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { CONFIG_MAPS, type KubeObject, PODS, SECRETS } from "../kube/types.ts";
import { getObject, listObjects, patchObject } from "../kube/verbs.ts";
import {
  AGENT_NAME,
  AGENT_POD_SELECTOR,
  AGENT_SSH_PORT_NAME,
  AUTHORIZED_KEYS_SECRET,
  HOST_KEY_PUBLIC,
  HOST_KEY_SECRET,
  HOST_PUBLIC_KEY_CONFIG_MAP,
} from "./agent_names.ts";

/** The agents are missing or not usable in a cluster (not deployed, no agent on the node, no host key). */
export class AgentUnavailableError extends InvalidInputError {
  override readonly name = "AgentUnavailableError";
}

export interface AgentEndpoint {
  readonly host: string;
  readonly port: number;
  /** The pinned public host key line (`ssh-ed25519 AAAA...`). */
  readonly hostKey: string;
}

interface AgentPod extends KubeObject {
  spec?: { nodeName?: string; containers?: { ports?: { name?: string; containerPort: number }[] }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/**
 * The cluster's agent host key (public line): from the ConfigMap deploy publishes it in; a cluster deployed
 * before there was one still has it in the host-key Secret, read if the ConfigMap is missing and the Secret
 * may be read (the runtime's rights no longer allow it: deploying again publishes the ConfigMap).
 */
export async function agentHostKey(
  client: KubeClient,
  namespace: string,
  signal?: AbortSignal,
): Promise<string> {
  const published = await getObject<KubeObject & { data?: Record<string, string> }>(
    client,
    CONFIG_MAPS,
    namespace,
    HOST_PUBLIC_KEY_CONFIG_MAP,
    { signal },
  );
  let line = published?.data?.[HOST_KEY_PUBLIC];
  if (line === undefined) {
    const secret = await getObject<Secret>(client, SECRETS, namespace, HOST_KEY_SECRET, { signal })
      .catch((error) => {
        if (isForbidden(error)) return undefined;
        throw error;
      });
    const encoded = secret?.data?.[HOST_KEY_PUBLIC];
    if (encoded !== undefined) line = Buffer.from(encoded, "base64").toString("utf8");
  }
  if (line === undefined || line.trim() === "") {
    throw new AgentUnavailableError(
      `Cluster "${client.name}" has no agent host key (ConfigMap "${namespace}/${HOST_PUBLIC_KEY_CONFIG_MAP}", key "${HOST_KEY_PUBLIC}"): run "dr-syncer deploy" to install the agents`,
    );
  }
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** The agent on `node`: its pod's IP (the node's, on the host network) and its `ssh` container port. */
export async function agentOnNode(
  client: KubeClient,
  namespace: string,
  node: string,
  signal?: AbortSignal,
): Promise<{ host: string; port: number }> {
  const pods = await listObjects<AgentPod>(client, PODS, namespace, {
    labelSelector: AGENT_POD_SELECTOR,
    signal,
  });
  const onNode = pods.filter((pod) =>
    pod.spec?.nodeName === node && pod.metadata.deletionTimestamp === undefined
  );
  const ready = onNode.find((pod) =>
    pod.status?.phase === "Running" && pod.status.podIP &&
    (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
  if (ready === undefined) {
    throw new AgentUnavailableError(
      onNode.length === 0
        ? `No agent runs on node "${node}" of cluster "${client.name}" (no pod "${AGENT_POD_SELECTOR}" in namespace "${namespace}"): is the ${AGENT_NAME} DaemonSet deployed, and does it tolerate that node?`
        : `The agent on node "${node}" of cluster "${client.name}" is not ready (pod ${
          onNode[0]!.metadata.name
        })`,
    );
  }
  const port = (ready.spec?.containers ?? []).flatMap((c) => c.ports ?? [])
    .find((p) => p.name === AGENT_SSH_PORT_NAME)?.containerPort;
  if (port === undefined) {
    throw new AgentUnavailableError(
      `The agent pod ${ready.metadata.name} on node "${node}" of cluster "${client.name}" has no port named "${AGENT_SSH_PORT_NAME}"`,
    );
  }
  return { host: ready.status!.podIP!, port };
}

export interface TransferGrant {
  readonly name: string;
  readonly publicKey: string;
  readonly volume: { readonly podUid: string; readonly volumeName: string };
  readonly mode: "sender" | "receiver";
  readonly expiresAt: Date;
}

/** The authorized-keys Secret's data key of a transfer. */
export function grantKey(transferId: string): string {
  return `${transferId}.json`;
}

/** Adds a transfer's key to the agents' authorized keys (the Secret's data key `<transferId>.json`). */
export async function authorizeTransferKey(
  client: KubeClient,
  namespace: string,
  transferId: string,
  grant: TransferGrant,
  signal?: AbortSignal,
): Promise<void> {
  const document = {
    keys: [{
      name: grant.name,
      publicKey: grant.publicKey,
      volume: grant.volume,
      mode: grant.mode,
      expiresAt: grant.expiresAt.toISOString(),
    }],
  };
  try {
    await patchObject(client, SECRETS, namespace, AUTHORIZED_KEYS_SECRET, {
      data: { [grantKey(transferId)]: Buffer.from(JSON.stringify(document)).toString("base64") },
    }, { signal });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new AgentUnavailableError(
      `Cluster "${client.name}" has no Secret "${namespace}/${AUTHORIZED_KEYS_SECRET}" for the agents' keys: run "dr-syncer deploy" to install the agents`,
    );
  }
}

/** Removes a transfer's key (a missing Secret or key is fine). */
export async function revokeTransferKey(
  client: KubeClient,
  namespace: string,
  transferId: string,
): Promise<void> {
  try {
    await patchObject(client, SECRETS, namespace, AUTHORIZED_KEYS_SECRET, {
      data: { [grantKey(transferId)]: null },
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Removes transfer keys left by runs that crashed: every entry whose keys have all expired. */
export async function revokeExpiredKeys(client: KubeClient, namespace: string, now: Date): Promise<number> {
  const secret = await getObject<Secret>(client, SECRETS, namespace, AUTHORIZED_KEYS_SECRET);
  const expired = Object.entries(secret?.data ?? {}).filter(([, value]) => {
    try {
      const doc = JSON.parse(Buffer.from(value, "base64").toString("utf8")) as {
        keys?: { expiresAt?: string }[];
      };
      return (doc.keys ?? []).every((k) => !(Date.parse(k.expiresAt ?? "") > now.getTime()));
    } catch {
      return false; // not ours to judge
    }
  }).map(([key]) => key);
  if (expired.length === 0) return 0;
  await patchObject(client, SECRETS, namespace, AUTHORIZED_KEYS_SECRET, {
    data: Object.fromEntries(expired.map((key) => [key, null])),
  });
  return expired.length;
}
