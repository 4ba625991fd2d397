/**
 * Where a claim's volume is mounted: the node and pod whose volume folder the agent on that node reads or
 * writes. A running pod that mounts the claim is used as it is; otherwise pvc-sync starts a short-lived
 * mounter pod (it only sleeps: the kubelet mounting the volume for it is the point) and deletes it after.
 *
 * A mounter pod is used only when this run created it: its UID comes from the create call's answer and is
 * checked on every read after, and it carries this run's id. A pod that already has the mounter's name is
 * never used: when it is exactly a mounter pvc-sync would make (labels, claim, image, one volume: the claim)
 * it is a leftover of a stopped run and is deleted (by UID) before a new one is created; anything else is
 * refused by name. The mounter label alone makes no pod harmless: any other pod that mounts the claim
 * counts as a user of it.
 */
import { delay } from "../async/delay.ts";
import { RefusedError } from "../errors.ts";
import { isAlreadyExists, isConflict } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type KubeObject, PERSISTENT_VOLUME_CLAIMS, PODS } from "../kube/types.ts";
import { createObject, deleteObject, getObject, listObjects } from "../kube/verbs.ts";
import { MOUNTER_LABEL } from "./agent_names.ts";

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[];
    containers?: { name?: string; image?: string; command?: string[]; args?: string[] }[];
    initContainers?: unknown[];
    ephemeralContainers?: unknown[];
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
const ANNOTATION_CLAIM = "dr-syncer.io/claim";
/** The id of the run that created a mounter pod. */
export const ANNOTATION_MOUNTER_RUN = "dr-syncer.io/mounter-run";

function mountsClaim(pod: Pod, claim: string): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim);
}

/**
 * True when `pod` is exactly a mounter pod pvc-sync makes for `claim` with `image` (of any run): its name,
 * labels and claim annotation, one container of that image running its own entry point, no other container,
 * and one volume, the claim. Such a pod only sleeps with the claim mounted: it cannot write into it.
 */
export function isMounterShaped(pod: Pod, claim: string, image: string): boolean {
  const labels = pod.metadata.labels ?? {};
  const containers = pod.spec?.containers ?? [];
  const volumes = pod.spec?.volumes ?? [];
  return pod.metadata.name === mounterName(claim) &&
    labels[MOUNTER_LABEL] === "true" && labels[LABEL_MANAGED_BY] === "dr-syncer" &&
    pod.metadata.annotations?.[ANNOTATION_CLAIM] === claim &&
    containers.length === 1 && containers[0]!.image === image &&
    containers[0]!.command === undefined && containers[0]!.args === undefined &&
    (pod.spec?.initContainers ?? []).length === 0 && (pod.spec?.ephemeralContainers ?? []).length === 0 &&
    volumes.length === 1 && volumes[0]!.persistentVolumeClaim?.claimName === claim;
}

const isGoing = (pod: Pod) =>
  pod.metadata.deletionTimestamp !== undefined || ["Succeeded", "Failed"].includes(pod.status?.phase ?? "");

/**
 * The pods that mount `claim` and have not ended, but a mounter pod as pvc-sync makes them with
 * `mounterImage` (which only sleeps): a label does not make a pod a mounter.
 */
export async function appPodsMounting(
  client: KubeClient,
  namespace: string,
  claim: string,
  mounterImage: string,
  signal?: AbortSignal,
): Promise<Pod[]> {
  const pods = await listObjects<Pod>(client, PODS, namespace, { signal });
  return pods.filter((pod) =>
    mountsClaim(pod, claim) && !isMounterShaped(pod, claim, mounterImage) &&
    pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed"
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
  /** This run's id, recorded on the mounter pod it creates. */
  readonly run: string;
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
      annotations: { [ANNOTATION_CLAIM]: claim, [ANNOTATION_MOUNTER_RUN]: options.run },
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

/**
 * Waits until the mounter pod `uid` runs on a node; throws when it ends, disappears, is replaced by another
 * pod of its name, or the time is up.
 */
async function waitRunning(
  client: KubeClient,
  namespace: string,
  name: string,
  uid: string,
  options: MountOptions,
): Promise<Pod> {
  const deadline = performance.now() + (options.timeoutMs ?? 180_000);
  for (let pause = 100;; pause = Math.min(pause * 2, 2000)) {
    const pod = await getObject<Pod>(client, PODS, namespace, name, { signal: options.signal });
    if (pod === undefined) throw new ClaimMountError(`Mounter pod "${namespace}/${name}" disappeared`);
    if (pod.metadata.uid !== uid) {
      throw new ClaimMountError(
        `Mounter pod "${namespace}/${name}" was replaced by another pod of that name (uid ${pod.metadata.uid}): refused`,
      );
    }
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

/** Deletes the pod `name` only if it is still the pod `uid` (a precondition the API server checks). */
async function deletePod(client: KubeClient, namespace: string, name: string, uid: string): Promise<void> {
  try {
    await deleteObject(client, PODS, namespace, name, { propagationPolicy: "Background", uid });
  } catch (error) {
    if (!isConflict(error)) throw error; // another pod has the name now: not ours to delete
  }
}

/**
 * Creates this run's mounter pod and returns its UID. A pod of that name already there is deleted first
 * when it is a mounter pvc-sync made (a stopped run's leftover), and refused by name otherwise.
 */
async function createMounter(
  client: KubeClient,
  namespace: string,
  claim: string,
  options: MountOptions,
): Promise<string> {
  const name = mounterName(claim);
  for (let attempt = 0;; attempt++) {
    try {
      const created = await createObject<Pod>(client, PODS, mounterPod(namespace, claim, options), {
        signal: options.signal,
      });
      if (created.metadata.uid === undefined) throw new Error(`The API server gave pod ${name} no uid`);
      return created.metadata.uid;
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    const found = await getObject<Pod>(client, PODS, namespace, name, { signal: options.signal });
    if (found === undefined) continue; // gone meanwhile
    if (!isMounterShaped(found, claim, options.image)) {
      throw new ClaimMountError(
        `Pod "${namespace}/${name}" in cluster "${client.name}" has the name of pvc-sync's mounter pod but was not made by pvc-sync (its labels, image or volumes differ): pvc-sync neither uses nor deletes it; remove or rename it`,
      );
    }
    if (attempt >= 3) {
      throw new ClaimMountError(
        `Mounter pod "${namespace}/${name}" left by an earlier run is not going away`,
      );
    }
    // a stopped run's mounter: remove it, wait until it is gone, make ours
    await deletePod(client, namespace, name, found.metadata.uid!);
    for (let pause = 100; await getObject<Pod>(client, PODS, namespace, name, { signal: options.signal });) {
      await delay(pause, { signal: options.signal });
      pause = Math.min(pause * 2, 2000);
    }
  }
}

/**
 * Mounts `claim` for reading (`readOnly`) or writing: the running pod that already mounts it when reading,
 * else a mounter pod this run creates, once it runs. Any pod that mounts the claim, however it is labelled,
 * is a user of it (a writer refuses to copy into a claim in use).
 */
export async function mountClaim(
  client: KubeClient,
  namespace: string,
  claim: string,
  options: MountOptions,
): Promise<ClaimMount> {
  const pods = await listObjects<Pod>(client, PODS, namespace, { signal: options.signal });
  const users = pods.filter((pod) =>
    mountsClaim(pod, claim) && !isGoing(pod) && !isMounterShaped(pod, claim, options.image)
  );
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
  const uid = await createMounter(client, namespace, claim, options);
  try {
    const pod = await waitRunning(client, namespace, name, uid, options);
    const volumeName = await boundVolume(client, namespace, claim, options.signal);
    if (volumeName === undefined) {
      throw new ClaimMountError(`Claim "${namespace}/${claim}" in cluster "${client.name}" is not bound`);
    }
    return { node: pod.spec!.nodeName!, podUid: uid, podName: name, volumeName, mounter: true };
  } catch (error) {
    await deletePod(client, namespace, name, uid).catch(() => {});
    throw error;
  }
}

/** Deletes the mounter pod of `mount` if this run created it (by UID: never another pod of its name). */
export async function unmountClaim(client: KubeClient, namespace: string, mount: ClaimMount): Promise<void> {
  if (mount.mounter) await deletePod(client, namespace, mount.podName, mount.podUid);
}
