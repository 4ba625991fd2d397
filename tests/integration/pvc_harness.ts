/**
 * What the PVC tests need beside the test clusters, doing on this machine what the parts of a real node that
 * KWOK does not simulate would do:
 *
 * - a provisioner: a claim without a volume gets a PersistentVolume (CSI, named `pvc-<claim uid>` like real
 *   provisioners name them) pre-bound to it, which the cluster's PV controller then binds;
 * - the kubelet's volume mounts: for every pod on a fake node that mounts a bound claim, the folder
 *   `<node root>/pods/<pod uid>/volumes/kubernetes.io~csi/<pv>/mount` is a bind mount of the volume's storage
 *   folder (one per PV per cluster), with the kubelet's `vol_data.json` beside it, unmounted when the pod is
 *   gone, as CSI's NodePublishVolume does;
 * - the kubelet's Secret volumes: the agents' authorized-keys Secret is written to every agent's keys folder
 *   (one file per data key), as a mounted Secret is;
 * - the agent DaemonSet: one real agent process per fake node (`agent/main.ts`, its own port), and a pod for it
 *   on that node on the host network with the port named `ssh`, so pvc-sync finds it like a deployed agent
 *   (the nodes' address is 127.0.0.1); the host-key Secret holds that cluster's key.
 *
 * The agents' namespace is unique per harness, so tests running side by side never see each other's agents.
 */
import { Buffer } from "node:buffer";
import {
  type AgentProcess,
  generateKeyPair,
  startAgentProcess,
  writeCsiVolumeData,
} from "../support/agent/mod.ts";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import { createObject, deleteObject, getObject, listObjects } from "../../shared/kube/verbs.ts";
import {
  CONFIG_MAPS,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  PODS,
  SECRETS,
} from "../../shared/kube/types.ts";
import {
  AGENT_NAME,
  AUTHORIZED_KEYS_SECRET,
  HOST_KEY_PRIVATE,
  HOST_KEY_PUBLIC,
  HOST_KEY_SECRET,
  HOST_PUBLIC_KEY_CONFIG_MAP,
} from "../../shared/pvc/agent_names.ts";
import type { Claim, Pod } from "../../shared/pvc/claim_mounts.ts";
import assert from "node:assert/strict";
import { snapshotTree } from "../support/agent/mod.ts";
import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import { createNamespace, deleteNamespace, seed, uniqueName } from "../_clusters.ts";

const NODES = ["kwok-node-0", "kwok-node-1"];
const CSI = "kubernetes.io~csi";

interface SimNode {
  readonly name: string;
  readonly root: string;
  readonly keys: string;
  agent: AgentProcess;
}

export interface SimCluster {
  readonly client: KubeClient;
  readonly dir: string;
  readonly nodes: SimNode[];
  /** The storage folder of a PersistentVolume (what every pod mounting it sees). */
  storageOf(pv: string): string;
  /** The storage folder of a claim's volume (waits until the claim is bound). */
  claimStorage(namespace: string, claim: string): Promise<string>;
}

export interface PvcHarness {
  readonly agentNamespace: string;
  readonly source: SimCluster;
  readonly dr: SimCluster;
  /** Provision claims and mount the volumes of pods in these namespaces (of either cluster). */
  manage(...namespaces: string[]): void;
  /** Restarts the agent of a node (after a test killed it). */
  restartAgent(cluster: SimCluster, node: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function sh(program: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

function agentPod(namespace: string, node: string, port: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${AGENT_NAME}-${node}`,
      namespace,
      labels: { "app.kubernetes.io/name": AGENT_NAME },
    },
    spec: {
      nodeName: node,
      hostNetwork: true,
      containers: [{
        name: "agent",
        image: "dr-syncer-agent:test",
        ports: [{ name: "ssh", containerPort: port }],
      }],
    },
  };
}

async function startCluster(client: KubeClient, dir: string, agentNamespace: string): Promise<SimCluster> {
  await Deno.mkdir(`${dir}/storage`, { recursive: true });
  const hostKey = await generateKeyPair(dir, "host-key");
  await createNamespace(client, agentNamespace);
  await createObject(client, SECRETS, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: HOST_KEY_SECRET, namespace: agentNamespace },
    data: {
      [HOST_KEY_PRIVATE]: Buffer.from(await Deno.readTextFile(hostKey.privateKey)).toString("base64"),
      [HOST_KEY_PUBLIC]: Buffer.from(hostKey.publicKey).toString("base64"),
    },
  });
  // the public key published apart, as deploy does (the runtime may read only this one)
  await createObject(client, CONFIG_MAPS, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: HOST_PUBLIC_KEY_CONFIG_MAP, namespace: agentNamespace },
    data: { [HOST_KEY_PUBLIC]: hostKey.publicKey },
  });
  await createObject(client, SECRETS, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: AUTHORIZED_KEYS_SECRET, namespace: agentNamespace },
  });
  const nodes: SimNode[] = [];
  for (const name of NODES) {
    const root = `${dir}/${name}/kubelet`;
    const keys = `${dir}/${name}/authorized-keys`;
    await Deno.mkdir(`${root}/pods`, { recursive: true });
    await Deno.mkdir(keys, { recursive: true });
    const agent = await startAgentProcess({ root, hostKey: hostKey.privateKey, authorizedKeys: keys });
    nodes.push({ name, root, keys, agent });
    await createObject(client, PODS, agentPod(agentNamespace, name, agent.port));
  }
  const storageOf = (pv: string) => `${dir}/storage/${pv}`;
  return {
    client,
    dir,
    nodes,
    storageOf,
    async claimStorage(namespace, claim) {
      for (let i = 0; i < 300; i++) {
        const found = await getObject<Claim>(client, PERSISTENT_VOLUME_CLAIMS, namespace, claim);
        const pv = found?.spec?.volumeName;
        if (pv) {
          await Deno.mkdir(storageOf(pv), { recursive: true });
          return storageOf(pv);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`claim ${namespace}/${claim} in ${client.name} was not bound in 30 s`);
    },
  };
}

/** One round of the simulated node work for a cluster; `mounted` holds the mounts made so far. */
async function reconcile(
  cluster: SimCluster,
  agentNamespace: string,
  mounted: Map<string, string>,
  namespaces: ReadonlySet<string>,
): Promise<void> {
  const { client } = cluster;
  // provisioner
  const claims = (await listObjects<Claim>(client, PERSISTENT_VOLUME_CLAIMS, undefined))
    .filter((c) => namespaces.has(c.metadata.namespace ?? ""));
  for (const claim of claims) {
    if (claim.spec?.volumeName || claim.metadata.deletionTimestamp) continue;
    const size = ((claim.spec as { resources?: { requests?: { storage?: string } } } | undefined)?.resources
      ?.requests?.storage) ?? "1Gi";
    await createObject(client, PERSISTENT_VOLUMES, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `pvc-${claim.metadata.uid}` },
      spec: {
        capacity: { storage: size },
        accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        storageClassName: claim.spec?.storageClassName ?? "",
        claimRef: { namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
        csi: { driver: "sim.csi.dr-syncer.io", volumeHandle: `pvc-${claim.metadata.uid}` },
      },
    }).catch(() => {});
  }
  // volume mounts of the pods on the fake nodes
  const volumeOf = new Map(
    claims.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c.spec?.volumeName]),
  );
  const pods = (await listObjects<Pod>(client, PODS, undefined))
    .filter((p) => namespaces.has(p.metadata.namespace ?? ""));
  const wanted = new Map<string, string>();
  for (const pod of pods) {
    const node = cluster.nodes.find((n) => n.name === pod.spec?.nodeName);
    if (
      node === undefined || pod.metadata.deletionTimestamp ||
      ["Succeeded", "Failed"].includes(pod.status?.phase ?? "")
    ) continue;
    for (const volume of pod.spec?.volumes ?? []) {
      const claim = volume.persistentVolumeClaim?.claimName;
      const pv = claim === undefined ? undefined : volumeOf.get(`${pod.metadata.namespace}/${claim}`);
      if (pv === undefined) continue;
      wanted.set(`${node.root}/pods/${pod.metadata.uid}/volumes/${CSI}/${pv}/mount`, cluster.storageOf(pv));
    }
  }
  for (const [target, storage] of wanted) {
    if (mounted.has(target)) continue;
    await Deno.mkdir(storage, { recursive: true });
    await Deno.mkdir(target, { recursive: true });
    await writeCsiVolumeData(target.replace(/\/mount$/, ""), target.split("/").at(-2)!);
    await sh("mount", ["--bind", storage, target]);
    mounted.set(target, storage);
  }
  for (const target of [...mounted.keys()]) {
    if (wanted.has(target)) continue;
    await sh("umount", ["-l", target]).catch(() => {});
    mounted.delete(target);
    const podDir = target.replace(/\/volumes\/.*$/, "");
    await Deno.remove(podDir, { recursive: true }).catch(() => {});
  }
  // the authorized-keys Secret, as mounted into every agent
  const secret = await getObject<KubeObject & { data?: Record<string, string> }>(
    client,
    SECRETS,
    agentNamespace,
    AUTHORIZED_KEYS_SECRET,
  );
  const data = secret?.data ?? {};
  for (const node of cluster.nodes) {
    const present = new Set<string>();
    for await (const entry of Deno.readDir(node.keys)) present.add(entry.name);
    for (const [key, value] of Object.entries(data)) {
      const text = Buffer.from(value, "base64").toString("utf8");
      const path = `${node.keys}/${key}`;
      const current = present.has(key) ? await Deno.readTextFile(path).catch(() => "") : undefined;
      if (current !== text) {
        await Deno.writeTextFile(`${node.keys}/.${key}.tmp`, text);
        await Deno.rename(`${node.keys}/.${key}.tmp`, path);
      }
    }
    for (const name of present) {
      if (!(name in data)) await Deno.remove(`${node.keys}/${name}`).catch(() => {});
    }
  }
}

/** Starts the simulated node parts for both clusters (see the module comment). */
export async function startPvcHarness(clusters: { source: KubeClient; dr: KubeClient }): Promise<PvcHarness> {
  const dir = await Deno.makeTempDir({ prefix: "pvc-harness-" });
  const agentNamespace = uniqueName("pvc-agents");
  const [source, dr] = await Promise.all([
    startCluster(clusters.source, `${dir}/source`, agentNamespace),
    startCluster(clusters.dr, `${dir}/dr`, agentNamespace),
  ]);
  const mounts = new Map<SimCluster, Map<string, string>>([[source, new Map()], [dr, new Map()]]);
  let stopped = false;
  const namespaces = new Set<string>();
  const errors: string[] = [];
  const loops = [source, dr].map(async (cluster) => {
    while (!stopped) {
      try {
        await reconcile(cluster, agentNamespace, mounts.get(cluster)!, namespaces);
      } catch (error) {
        if (!stopped) errors.push(`${cluster.client.name}: ${error}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  });
  return {
    agentNamespace,
    source,
    dr,
    manage(...names) {
      for (const name of names) namespaces.add(name);
    },
    async restartAgent(cluster, nodeName) {
      const node = cluster.nodes.find((n) => n.name === nodeName)!;
      const hostKey = `${cluster.dir}/host-key`;
      node.agent = await startAgentProcess({ root: node.root, hostKey, authorizedKeys: node.keys });
      await deleteObject(cluster.client, PODS, agentNamespace, `${AGENT_NAME}-${nodeName}`);
      for (let i = 0; i < 100; i++) {
        if (!await getObject(cluster.client, PODS, agentNamespace, `${AGENT_NAME}-${nodeName}`)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await createObject(cluster.client, PODS, agentPod(agentNamespace, nodeName, node.agent.port));
    },
    async [Symbol.asyncDispose]() {
      stopped = true;
      await Promise.all(loops);
      await Promise.all([source, dr].flatMap((c) => c.nodes.map((n) => n.agent.stop().catch(() => {}))));
      for (const map of mounts.values()) {
        for (const target of map.keys()) await sh("umount", ["-l", target]).catch(() => {});
      }
      await Promise.all([
        deleteNamespace(clusters.source, agentNamespace),
        deleteNamespace(clusters.dr, agentNamespace),
      ]);
      // the volumes this harness provisioned (their claims go with the tests' namespaces)
      for (const client of [clusters.source, clusters.dr]) {
        const pvs = await listObjects(client, PERSISTENT_VOLUMES, undefined).catch(() => []);
        for (const pv of pvs) {
          const ref = (pv.spec as { claimRef?: { namespace?: string } } | undefined)?.claimRef;
          if (namespaces.has(ref?.namespace ?? "")) {
            await deleteObject(client, PERSISTENT_VOLUMES, undefined, pv.metadata.name).catch(() => {});
          }
        }
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (errors.length > 0) {
        throw new Error(`the PVC harness failed: ${[...new Set(errors)].slice(0, 5).join("; ")}`);
      }
    },
  };
}

// Fixtures and checks the PVC tests share.

export const STORAGE_CLASS = "dr-syncer-sim";

/** Polls `probe` until it returns a value. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A claim of the simulated class, and (with `replicas`) a Deployment whose pods mount it. */
export function appObjects(ns: string, claim: string, replicas: number): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: claim, namespace: ns },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: STORAGE_CLASS,
        resources: { requests: { storage: "1Gi" } },
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: `app-${claim}`, namespace: ns },
      spec: {
        replicas,
        selector: { matchLabels: { app: `app-${claim}` } },
        template: {
          metadata: { labels: { app: `app-${claim}` } },
          spec: {
            containers: [{
              name: "app",
              image: "app:1",
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            }],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }],
          },
        },
      },
    },
  ];
}

export async function storageClasses(clients: KubeClient[]): Promise<void> {
  for (const client of clients) {
    await seed(client, [{
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: STORAGE_CLASS },
      provisioner: "sim.csi.dr-syncer.io",
      volumeBindingMode: "Immediate",
    }]);
  }
}

export function pvcSpec(spec: ReplicationSpec, harness: PvcHarness): ReplicationSpec {
  return {
    ...spec,
    pvcDataSync: true,
    pvcData: { ...spec.pvcData, agentNamespace: harness.agentNamespace, mounterImage: "pause:test" },
  };
}

export async function runningPods(client: KubeClient, ns: string, app: string): Promise<KubeObject[]> {
  const pods = await listObjects<KubeObject & { status?: { phase?: string } }>(client, PODS, ns, {
    labelSelector: `app=${app}`,
  });
  return pods.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp);
}

export async function assertSameTree(actual: string, expected: string): Promise<void> {
  const [a, e] = await Promise.all([snapshotTree(actual), snapshotTree(expected)]);
  assert.deepEqual(Object.keys(a.entries), Object.keys(e.entries), "the same paths");
  assert.deepEqual(a.entries, e.entries);
  assert.deepEqual(a.hardLinks, e.hardLinks, "the same hard links");
}
