/**
 * Where a claim's volume is mounted: the node and pod whose volume folder the agent on that node reads or
 * writes. A running pod that mounts the claim is used as it is; otherwise pvc-sync starts a short-lived
 * mounter pod (it only sleeps: the kubelet mounting the volume for it is the point) and deletes it after.
 */
import { delay } from "../async/delay.ts";
import { RefusedError } from "../errors.ts";
import { isAlreadyExists } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type KubeObject, PERSISTENT_VOLUME_CLAIMS, PODS } from "../kube/types.ts";
import { createObject, deleteObject, getObject, listObjects } from "../kube/verbs.ts";
import { MOUNTER_LABEL } from "./agent_names.ts";

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[];
  };
  status?: { phase?: string; podIP?: string };
}

export interface Claim extends KubeObject {
  spec?: { volumeName?: string; storageClassName?: string; accessModes?: string[] };
  status?: { phase?: string };
}

/** A claim's volume as mounted on a node: the agent there finds it as `pods/<podUid>/volumes/*\/<pv>`. */
export interface ClaimMount {
  readonly node: string;
  readonly podUid: string;
  readonly podName: string;
  /** The PersistentVolume's name: the volume folder's name under the pod. */
  readonly volumeName: string;
  /** True when pvc-sync created the pod (and must delete it). */
  readonly mounter: boolean;
}

/** The claim is in use where pvc-sync must not write, or its pod cannot be found or started. */
export class ClaimMountError extends RefusedError {
  override readonly name = "ClaimMountError";
}

const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";

function mountsClaim(pod: Pod, claim: string): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim);
}

const isMounter = (pod: Pod) => pod.metadata.labels?.[MOUNTER_LABEL] !== undefined;
const isGoing = (pod: Pod) =>
  pod.metadata.deletionTimestamp !== undefined || ["Succeeded", "Failed"].includes(pod.status?.phase ?? "");

/** The pods (not pvc-sync's mounters) that mount `claim` and have not ended. */
export async function appPodsMounting(
  client: KubeClient,
  namespace: string,
  claim: string,
  signal?: AbortSignal,
): Promise<Pod[]> {
  const pods = await listObjects<Pod>(client, PODS, namespace, { signal });
  return pods.filter((pod) =>
    mountsClaim(pod, claim) && !isMounter(pod) && pod.status?.phase !== "Succeeded" &&
    pod.status?.phase !== "Failed"
  );
}

/** The mounter pod's name for a claim: stable, so a re-run finds (and reuses or removes) its own. */
export function mounterName(claim: string): string {
  const name = `dr-syncer-mount-${claim}`;
  if (name.length <= 63) return name;
  let hash = 0;
  for (const c of claim) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `${name.slice(0, 54).replace(/[-.]+$/, "")}-${hash.toString(36)}`;
}

export interface MountOptions {
  readonly image: string;
  readonly readOnly: boolean;
  /** How long the mounter pod may take to run (default 180 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

function mounterPod(namespace: string, claim: string, options: MountOptions): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: mounterName(claim),
      namespace,
      labels: { [LABEL_MANAGED_BY]: "dr-syncer", [MOUNTER_LABEL]: "true" },
      annotations: { "dr-syncer.io/claim": claim },
    },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{
        name: "mount",
        image: options.image,
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
        resources: { requests: { cpu: "1m", memory: "8Mi" }, limits: { memory: "32Mi" } },
        volumeMounts: [{ name: "data", mountPath: "/data", readOnly: options.readOnly }],
      }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim, readOnly: options.readOnly } }],
    },
  };
}

/** Waits until the pod runs on a node; throws when it ends, disappears, or the time is up. */
async function waitRunning(
  client: KubeClient,
  namespace: string,
  name: string,
  options: MountOptions,
): Promise<Pod> {
  const deadline = performance.now() + (options.timeoutMs ?? 180_000);
  for (let pause = 100;; pause = Math.min(pause * 2, 2000)) {
    const pod = await getObject<Pod>(client, PODS, namespace, name, { signal: options.signal });
    if (pod === undefined) throw new ClaimMountError(`Mounter pod "${namespace}/${name}" disappeared`);
    if (pod.status?.phase === "Running" && pod.spec?.nodeName) return pod;
    if (isGoing(pod)) {
      throw new ClaimMountError(`Mounter pod "${namespace}/${name}" ended (${pod.status?.phase})`);
    }
    if (performance.now() >= deadline) {
      throw new ClaimMountError(
        `Mounter pod "${namespace}/${name}" is not running after ${
          Math.round((options.timeoutMs ?? 180_000) / 1000)
        } s (phase ${pod.status?.phase ?? "unknown"}, node ${
          pod.spec?.nodeName ?? "none"
        }): is the claim bound, and is there a node it can run on?`,
      );
    }
    await delay(pause, { signal: options.signal });
  }
}

async function boundVolume(client: KubeClient, namespace: string, claim: string, signal?: AbortSignal) {
  const found = await getObject<Claim>(client, PERSISTENT_VOLUME_CLAIMS, namespace, claim, { signal });
  return found?.spec?.volumeName;
}

/**
 * Mounts `claim` for reading (`readOnly`) or writing: the running pod that already mounts it when reading,
 * else pvc-sync's mounter pod (created, or reused from a run that crashed), once it runs.
 */
export async function mountClaim(
  client: KubeClient,
  namespace: string,
  claim: string,
  options: MountOptions,
): Promise<ClaimMount> {
  const pods = await listObjects<Pod>(client, PODS, namespace, { signal: options.signal });
  const users = pods.filter((pod) => mountsClaim(pod, claim) && !isMounter(pod) && !isGoing(pod));
  if (options.readOnly) {
    const running = users.find((pod) => pod.status?.phase === "Running" && pod.spec?.nodeName);
    const volumeName = await boundVolume(client, namespace, claim, options.signal);
    if (running !== undefined && volumeName !== undefined) {
      return {
        node: running.spec!.nodeName!,
        podUid: running.metadata.uid!,
        podName: running.metadata.name,
        volumeName,
        mounter: false,
      };
    }
  } else if (users.length > 0) {
    const names = users.map((pod) => pod.metadata.name).slice(0, 3).join(", ");
    throw new ClaimMountError(
      `Claim "${namespace}/${claim}" in cluster "${client.name}" is mounted by pod(s) ${names}: pvc-sync writes only into a claim no application uses; scale the workload down there first`,
    );
  }
  const name = mounterName(claim);
  try {
    await createObject(client, PODS, mounterPod(namespace, claim, options), { signal: options.signal });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const pod = await waitRunning(client, namespace, name, options);
  const volumeName = await boundVolume(client, namespace, claim, options.signal);
  if (volumeName === undefined) {
    throw new ClaimMountError(`Claim "${namespace}/${claim}" in cluster "${client.name}" is not bound`);
  }
  return { node: pod.spec!.nodeName!, podUid: pod.metadata.uid!, podName: name, volumeName, mounter: true };
}

/** Deletes pvc-sync's mounter pod of `claim` (if any); errors are the caller's to log. */
export async function unmountClaim(client: KubeClient, namespace: string, claim: string): Promise<void> {
  await deleteObject(client, PODS, namespace, mounterName(claim), { propagationPolicy: "Background" });
}
