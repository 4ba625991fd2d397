/**
 * Soak: continuous replication (`dr-syncer serve` as a real process) while a generator creates, changes and
 * deletes ConfigMaps, Secrets and Deployments in the source namespace at random, for
 * `DR_SYNCER_SOAK_SECONDS` (default 600: ten minutes; CI runs it whole). At the end an independent checker
 * (not the engine's planner) diffs both namespaces: DR must equal the transformed source exactly (the same
 * names; the same data; each Deployment at zero on DR with the source's count recorded), and the runtime's
 * memory must have stayed flat while the namespace stays near a steady size (its resident size, sampled every 5 s, no higher at the end than after the
 * warm-up, within a margin).
 */
import assert from "node:assert/strict";
import { type KubeClient, type KubeObject, listObjects } from "../../shared/kube/mod.ts";
import { DEPLOYMENTS, SECRETS } from "../../shared/kube/types.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
} from "../_clusters.ts";
import { testConfigInput } from "./http_harness.ts";
import { serveProcess, writeConfig } from "./serve_harness.ts";

const SECONDS = Number(Deno.env.get("DR_SYNCER_SOAK_SECONDS") ?? "600");
/** Objects of each kind the generator keeps the namespace near. */
const POPULATION = 150;
const CONFIG_MAPS = { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true };
const KINDS = ["configmaps", "secrets", "deployments"] as const;
type Kind = (typeof KINDS)[number];

/** A small seeded random generator, so a failing run can be replayed (the seed is in the message). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function object(kind: Kind, ns: string, name: string, n: number): KubeObject {
  const labels = { app: "soak", gen: String(n % 7) };
  if (kind === "configmaps") {
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns, labels },
      data: { n: String(n), text: "x".repeat(n % 500) },
    };
  }
  if (kind === "secrets") {
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: ns, labels },
      stringData: { n: String(n) },
    };
  }
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 1 + (n % 4),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "app", image: `app:${n % 9}`, env: [{ name: "N", value: String(n) }] }],
        },
      },
    },
  };
}

const PATHS: Record<Kind, (ns: string) => string> = {
  configmaps: (ns) => `/api/v1/namespaces/${ns}/configmaps`,
  secrets: (ns) => `/api/v1/namespaces/${ns}/secrets`,
  deployments: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
};

/** Random creates, changes and deletes until `until`; returns how many of each it made. */
async function generate(client: KubeClient, ns: string, until: number, seed: number) {
  const next = random(seed);
  const live: Record<Kind, Set<string>> = {
    configmaps: new Set(),
    secrets: new Set(),
    deployments: new Set(),
  };
  const done = { created: 0, changed: 0, deleted: 0 };
  let counter = 0;
  while (Date.now() < until) {
    const kind = KINDS[Math.floor(next() * KINDS.length)]!;
    const names = [...live[kind]];
    const roll = next();
    const n = ++counter;
    try {
      // the namespace stays around POPULATION objects of each kind, so the runtime's memory has no reason to grow
      const createShare = names.length < POPULATION ? 0.5 : 0.25;
      const deleteShare = names.length < POPULATION ? 0.15 : 0.4;
      if (names.length < 5 || roll < createShare) {
        const name = `${kind.slice(0, 3)}-${n}`;
        await client.request({ method: "POST", path: PATHS[kind](ns), body: object(kind, ns, name, n) });
        live[kind].add(name);
        done.created++;
      } else if (roll < 1 - deleteShare) {
        const name = names[Math.floor(next() * names.length)]!;
        await client.request({
          method: "PUT",
          path: `${PATHS[kind](ns)}/${name}`,
          body: object(kind, ns, name, n),
        }).catch(async () => {
          // PUT needs the resourceVersion: read it, then write the change
          const current = await client.request<KubeObject>({
            method: "GET",
            path: `${PATHS[kind](ns)}/${name}`,
          });
          const body = object(kind, ns, name, n);
          if (current.metadata.resourceVersion) {
            body.metadata.resourceVersion = current.metadata.resourceVersion;
          }
          await client.request({ method: "PUT", path: `${PATHS[kind](ns)}/${name}`, body });
        });
        done.changed++;
      } else {
        const name = names[Math.floor(next() * names.length)]!;
        await client.request({ method: "DELETE", path: `${PATHS[kind](ns)}/${name}` });
        live[kind].delete(name);
        done.deleted++;
      }
    } catch (error) {
      throw new Error(`generator (seed ${seed}) failed: ${error}`);
    }
    await new Promise((r) => setTimeout(r, 40 + next() * 120));
  }
  return done;
}

type Data = KubeObject & { data?: Record<string, string>; type?: string };
type Deployment = KubeObject & {
  spec: { replicas?: number; template: { spec: { containers: { image: string; env?: unknown[] }[] } } };
};

/** The differences between the source and its DR copy, by an independent reading of the copy rules. */
async function diff(source: KubeClient, dr: KubeClient, ns: string, dest: string): Promise<string[]> {
  const problems: string[] = [];
  const userData = (items: Data[]) =>
    new Map(
      items.filter((o) =>
        o.metadata.name !== "kube-root-ca.crt" && o.type !== "kubernetes.io/service-account-token" &&
        !o.metadata.name.startsWith("dr-syncer-run-") // the runtime's own run records, kept on DR
      )
        .map((o) => [o.metadata.name, JSON.stringify(o.data ?? {})]),
    );
  for (const type of [CONFIG_MAPS, SECRETS]) {
    const [s, d] = await Promise.all([
      listObjects<Data>(source, type, ns).then(userData),
      listObjects<Data>(dr, type, dest).then(userData),
    ]);
    for (const [name, data] of s) {
      if (!d.has(name)) problems.push(`${type.kind} ${name} missing on DR`);
      else if (d.get(name) !== data) problems.push(`${type.kind} ${name} differs`);
    }
    for (const name of d.keys()) {
      if (!s.has(name)) problems.push(`${type.kind} ${name} on DR but not on the source`);
    }
  }
  const [s, d] = await Promise.all([
    listObjects<Deployment>(source, DEPLOYMENTS, ns),
    listObjects<Deployment>(dr, DEPLOYMENTS, dest),
  ]);
  const drByName = new Map(d.map((o) => [o.metadata.name, o]));
  for (const o of s) {
    const copy = drByName.get(o.metadata.name);
    if (copy === undefined) {
      problems.push(`Deployment ${o.metadata.name} missing on DR`);
      continue;
    }
    if (copy.spec.replicas !== 0) {
      problems.push(`Deployment ${o.metadata.name} runs on DR (${copy.spec.replicas})`);
    }
    const recorded = copy.metadata.annotations?.["dr-syncer.io/original-replicas"];
    if (recorded !== String(o.spec.replicas ?? 1)) {
      problems.push(
        `Deployment ${o.metadata.name}: DR records ${recorded}, the source has ${o.spec.replicas}`,
      );
    }
    const template = (x: Deployment) =>
      JSON.stringify(x.spec.template.spec.containers.map((c) => [c.image, c.env]));
    if (template(copy) !== template(o)) problems.push(`Deployment ${o.metadata.name}: template differs`);
  }
  for (const name of drByName.keys()) {
    if (!s.some((o) => o.metadata.name === name)) {
      problems.push(`Deployment ${name} on DR but not on the source`);
    }
  }
  return problems;
}

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

Deno.test(`soak: ${SECONDS} s of random changes under continuous replication; DR equals the source, memory flat`, async () => {
  await using c = await testClusters();
  const ns = uniqueName("soak");
  const dest = `${ns}-dr`;
  await createNamespace(c.source, ns);
  try {
    const config = await writeConfig(testConfigInput([{
      name: "soak",
      source: { cluster: "source", namespace: ns },
      destination: { cluster: "dr", namespace: dest },
      mode: "continuous",
      prune: true,
      maxPrune: 10_000,
      resourceTypes: ["configmaps", "secrets", "deployments"],
    }], {
      clusters: [
        { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
        { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
      ],
    }));
    await using serve = await serveProcess(["--config", config]);
    const samples: { at: number; mb: number }[] = [];
    const started = Date.now();
    const sampler = setInterval(() => {
      rssMb(serve.child.pid).then((mb) => samples.push({ at: Date.now() - started, mb }), () => {});
    }, 5_000);
    const seed = Math.floor(Math.random() * 1e9);
    let made;
    try {
      made = await generate(c.source, ns, started + SECONDS * 1000, seed);
    } finally {
      clearInterval(sampler);
    }
    // the last changes are debounced and staged within moments; give it a minute to settle
    let problems: string[] = [];
    const deadline = Date.now() + 60_000;
    do {
      await new Promise((r) => setTimeout(r, 2_000));
      problems = await diff(c.source, c.dr, ns, dest);
    } while (problems.length > 0 && Date.now() < deadline);
    assert.deepEqual(
      problems.slice(0, 20),
      [],
      `seed ${seed}; generator ${JSON.stringify(made)}; ${serve.stderr().slice(-2000)}`,
    );
    assert.ok(made.created > 50 && made.changed > 20 && made.deleted > 10, JSON.stringify(made));
    // memory: after a warm-up of a fifth of the run, the last fifth's median within 25% + 20 MB of the second fifth's
    const fifth = (i: number) =>
      median(
        samples.filter((s) => s.at >= (i * SECONDS * 1000) / 5 && s.at < ((i + 1) * SECONDS * 1000) / 5).map((
          s,
        ) => s.mb),
      );
    const early = fifth(1);
    const late = fifth(4);
    assert.ok(samples.length >= 5, `${samples.length} memory samples`);
    assert.ok(
      late <= early * 1.25 + 20,
      `memory grew: ${early.toFixed(0)} MB after warm-up, ${late.toFixed(0)} MB at the end`,
    );
    Deno.stderr.writeSync(new TextEncoder().encode(
      `soak: ${JSON.stringify(made)} in ${SECONDS} s; runtime RSS ${early.toFixed(0)} MB after warm-up, ${
        late.toFixed(0)
      } MB at the end (peak ${Math.max(...samples.map((s) => s.mb)).toFixed(0)} MB)\n`,
    ));
  } finally {
    await deleteNamespace(c.source, ns);
    await deleteNamespace(c.dr, dest);
  }
});
