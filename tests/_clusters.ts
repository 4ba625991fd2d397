/** Test helpers: clients for the two real local clusters that `deno task testenv up` starts. */
import { connectCluster, isNotFound, type KubeClient, type KubeObject } from "../shared/kube/mod.ts";
import type { ResourceType } from "../shared/kube/types.ts";
import { apiVersionOf, resourcePath } from "../shared/kube/types.ts";
import { silentLogger } from "../shared/log/mod.ts";
import { discoverResources } from "../shared/kube/discover_resources.ts";
import { type ReplicationSpec, replicationSpec } from "../shared/plan/replication_spec.ts";
import type { OperationDeps } from "../functions/operation_deps.ts";

export const TESTENV_DIR = Deno.env.get("DR_SYNCER_TESTENV_DIR") ??
  new URL("../.testenv/", import.meta.url).pathname.replace(/\/$/, "");
export const SOURCE_KUBECONFIG = `${TESTENV_DIR}/source.kubeconfig`;
export const DR_KUBECONFIG = `${TESTENV_DIR}/dr.kubeconfig`;

export interface TestClusters {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Connects to both clusters; fails with a clear message when they are not running. */
export async function testClusters(): Promise<TestClusters> {
  for (const file of [SOURCE_KUBECONFIG, DR_KUBECONFIG]) {
    try {
      await Deno.stat(file);
    } catch {
      throw new Error(`The test clusters are not running (no ${file}): run "deno task testenv up" first`);
    }
  }
  const source = await connectCluster("source", { path: SOURCE_KUBECONFIG });
  const dr = await connectCluster("dr", { path: DR_KUBECONFIG });
  return {
    source,
    dr,
    [Symbol.asyncDispose]() {
      source.close();
      dr.close();
      return Promise.resolve();
    },
  };
}

let counter = 0;
/** A namespace name no other test uses (tests run in parallel against the same clusters). */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}${Math.floor(Math.random() * 1e4)}`.slice(0, 63);
}

export async function createNamespace(client: KubeClient, name: string, labels: Record<string, string> = {}) {
  return await client.request<KubeObject>({
    method: "POST",
    path: "/api/v1/namespaces",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
  });
}

/** Deletes a namespace without waiting (the namespace controller finishes it). */
export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${name}` });
  } catch {
    // already gone, or the cluster is stopped by the test itself
  }
}

const servedCache = new WeakMap<KubeClient, Promise<ResourceType[]>>();

/** The type of an object, found through the cluster's discovery. */
export async function typeOf(client: KubeClient, apiVersion: string, kind: string): Promise<ResourceType> {
  if (!servedCache.has(client)) servedCache.set(client, discoverResources(client));
  const served = await servedCache.get(client)!;
  const type = served.find((t) => t.kind === kind && apiVersionOf(t) === apiVersion);
  if (!type) throw new Error(`The cluster does not serve ${apiVersion} ${kind}`);
  return type;
}

/** Creates or updates objects (server-side apply with a test field manager). */
export async function seed(client: KubeClient, objects: readonly KubeObject[]): Promise<void> {
  for (const object of objects) {
    const type = await typeOf(client, object.apiVersion, object.kind);
    await client.request({
      method: "PATCH",
      path: resourcePath(type, object.metadata.namespace, object.metadata.name),
      query: { fieldManager: "test-seed", force: true },
      contentType: "application/apply-patch+yaml",
      body: object,
    });
  }
}

/** Reads one object, or undefined when it does not exist. */
export async function read<T extends KubeObject = KubeObject>(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  namespace: string | undefined,
  name: string,
): Promise<T | undefined> {
  const type = await typeOf(client, apiVersion, kind);
  try {
    return await client.request<T>({ method: "GET", path: resourcePath(type, namespace, name) });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The names of all objects of a kind in a namespace. */
export async function names(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  namespace: string,
): Promise<string[]> {
  const type = await typeOf(client, apiVersion, kind);
  const list = await client.request<{ items: KubeObject[] }>({
    method: "GET",
    path: resourcePath(type, namespace),
  });
  return list.items.map((o) => o.metadata.name).sort();
}

export function deps(
  clusters: { source: KubeClient; dr: KubeClient },
  extra: Partial<OperationDeps> = {},
): OperationDeps {
  return {
    source: clusters.source,
    dr: clusters.dr,
    logger: silentLogger,
    lock: { leaseSeconds: 15 },
    ...extra,
  };
}

/** A source namespace with a fresh name, its DR twin, and a replication between them; deleted afterwards. */
export async function withNamespaces(
  clusters: { readonly source: KubeClient; readonly dr: KubeClient },
  prefix: string,
  fn: (
    ns: { source: string; dest: string; spec: (extra?: Partial<ReplicationSpec>) => ReplicationSpec },
  ) => Promise<void>,
  options: { destSuffix?: string; labels?: Record<string, string> } = {},
): Promise<void> {
  const source = uniqueName(prefix);
  const dest = `${source}${options.destSuffix ?? ""}`.slice(0, 63);
  await createNamespace(clusters.source, source, options.labels ?? {});
  try {
    await fn({
      source,
      dest,
      spec: (extra = {}) =>
        replicationSpec({ name: prefix, sourceNamespace: source, destNamespace: dest, ...extra }),
    });
  } finally {
    await deleteNamespace(clusters.source, source);
    await deleteNamespace(clusters.dr, dest);
  }
}

/** Test fixtures: minimal valid objects. */
export const fixtures = {
  configMap: (
    ns: string,
    name: string,
    data: Record<string, string> = { k: "v" },
    labels: Record<string, string> = {},
  ) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ns, labels },
    data,
  }),
  deployment: (ns: string, name: string, replicas: number, labels: Record<string, string> = {}) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "nginx:1.27" }] },
      },
    },
  }),
  statefulSet: (ns: string, name: string, replicas: number) => ({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "postgres:16" }] },
      },
    },
  }),
};

/**
 * Starts an extra cluster of its own (a real etcd, kube-apiserver, controller manager, scheduler, kwok and
 * volume provisioner, as `testenv.sh up` starts them) that a test may stop. `k8sVersion` runs another
 * Kubernetes version than the test environment's (its binaries are built first when not cached).
 */
export async function extraCluster(
  name: string,
  options: { readonly apiserverArgs?: readonly string[]; readonly k8sVersion?: string } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-extra-" });
  const script = new URL("./testenv/testenv.sh", import.meta.url).pathname;
  const versionVariable = `${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_K8S_VERSION`;
  const env: Record<string, string> = {
    DR_SYNCER_TESTENV_DIR: dir,
    DR_SYNCER_TESTENV_CLUSTERS: name,
    DR_SYNCER_TESTENV_APISERVER_ARGS: (options.apiserverArgs ?? []).join(" "),
    // testenv.sh reads a cluster's version from <NAME>_K8S_VERSION, else K8S_VERSION
    [versionVariable]: options.k8sVersion ?? Deno.env.get("K8S_VERSION") ?? "",
  };
  if (env[versionVariable] === "") delete env[versionVariable];
  const run = async (command: string) => {
    const out = await new Deno.Command("bash", {
      args: [script, command],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) throw new Error(`testenv ${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  };
  try {
    await run("up");
  } catch (error) {
    // a start that failed half-way must not leave processes behind
    await run("down").catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  let running = true;
  let killedArgv: string[] | undefined;
  const apiserverPid = async () => Number((await Deno.readTextFile(`${dir}/${name}/apiserver.pid`)).trim());
  return {
    kubeconfig: `${dir}/${name}.kubeconfig`,
    /** Freezes the cluster's API server (SIGSTOP): requests hang, as with a cluster that stopped answering. */
    async freeze() {
      Deno.kill(await apiserverPid(), "SIGSTOP");
    },
    /** Lets a frozen API server go on (SIGCONT). */
    async thaw() {
      Deno.kill(await apiserverPid(), "SIGCONT");
    },
    /**
     * Restarts the cluster's API server: the same command line, same port, certificates and etcd
     * (watches and connections to it drop, as in a rolling restart); resolves once it answers again.
     */
    async restartApiServer() {
      const pid = await apiserverPid();
      const alive = await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
      const argv = alive
        ? (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").filter((a) => a !== "")
        : killedArgv;
      if (argv === undefined) {
        throw new Error(`The API server of cluster "${name}" is gone and its command line unknown`);
      }
      if (alive) Deno.kill(pid, "SIGTERM");
      for (let i = 0; i < 200; i++) {
        try {
          await Deno.stat(`/proc/${pid}`);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      // through bash only to append its output to its log; `exec` keeps the API server's pid
      const child = new Deno.Command("bash", {
        args: ["-c", `exec "$@" >>"${dir}/${name}/apiserver.log" 2>&1`, "apiserver", ...argv],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      child.unref();
      await Deno.writeTextFile(`${dir}/${name}/apiserver.pid`, `${child.pid}\n`);
      const { connectCluster } = await import("../shared/kube/mod.ts");
      const client = await connectCluster(name, { path: `${dir}/${name}.kubeconfig` });
      try {
        for (let i = 0; i < 300; i++) {
          const ready = await client.request({ method: "GET", path: "/version", timeoutMs: 1_000 }).then(
            () => true,
            () => false,
          );
          if (ready) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        const tail = (await Deno.readTextFile(`${dir}/${name}/apiserver.log`).catch(() => "")).split("\n")
          .slice(-8);
        throw new Error(`The API server of cluster "${name}" did not come back:\n${tail.join("\n")}`);
      } finally {
        client.close();
      }
    },
    /** Kills the cluster's API server with SIGKILL (a crashed control plane); `restartApiServer` brings it back. */
    async killApiServer() {
      const pid = await apiserverPid();
      killedArgv = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").filter((a) => a !== "");
      Deno.kill(pid, "SIGKILL");
      for (let i = 0; i < 200; i++) {
        if (!await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    /** Restarts the cluster's etcd (same data, same ports): the API server's connections to it drop. */
    async restartEtcd() {
      const pid = Number((await Deno.readTextFile(`${dir}/${name}/etcd.pid`)).trim());
      const argv = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").filter((a) => a !== "");
      Deno.kill(pid, "SIGTERM");
      for (let i = 0; i < 200; i++) {
        if (!await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const child = new Deno.Command("bash", {
        args: ["-c", `exec "$@" >>"${dir}/${name}/etcd.log" 2>&1`, "etcd", ...argv],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      child.unref();
      await Deno.writeTextFile(`${dir}/${name}/etcd.pid`, `${child.pid}\n`);
    },
    /** Stops the cluster's processes: its API server is gone. */
    async stop() {
      if (!running) return;
      await this.thaw().catch(() => {});
      running = false;
      await run("down");
    },
    async [Symbol.asyncDispose]() {
      await this.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A real ValidatingAdmissionPolicy on `client`: an update of Deployment `name` in `ns` is denied with
 * `message` unless `allowed` (a CEL condition on `object`) holds. Resolves once the policy is in force
 * (a dry-run update to `deniedReplicas` is refused); the returned function lifts it and waits until lifted.
 */
export async function denyDeploymentUpdates(
  client: KubeClient,
  ns: string,
  name: string,
  allowed: string,
  message: string,
  deniedReplicas: number,
): Promise<() => Promise<void>> {
  const policy = uniqueName("deny");
  await seed(client, [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: policy },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [{
            apiGroups: ["apps"],
            apiVersions: ["v1"],
            operations: ["UPDATE"],
            resources: ["deployments"],
          }],
        },
        validations: [{
          expression:
            `object.metadata.namespace != '${ns}' || object.metadata.name != '${name}' || ${allowed}`,
          message,
        }],
      },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: policy },
      spec: { policyName: policy, validationActions: ["Deny"] },
    },
  ]);
  const denied = () =>
    client.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
      query: { dryRun: "All" },
      contentType: "application/merge-patch+json",
      body: { spec: { replicas: deniedReplicas } },
    }).then(() => false, () => true);
  for (let i = 0; i < 100 && !await denied(); i++) await new Promise((r) => setTimeout(r, 100));
  return async () => {
    for (const kind of ["validatingadmissionpolicybindings", "validatingadmissionpolicies"]) {
      await client.request({
        method: "DELETE",
        path: `/apis/admissionregistration.k8s.io/v1/${kind}/${policy}`,
      })
        .catch(() => {});
    }
    for (let i = 0; i < 100 && await denied(); i++) await new Promise((r) => setTimeout(r, 100));
  };
}

/**
 * An object as the sync rules say its copy must equal it (docs/sync-rules.md): its content and its
 * labels and annotations, without what each cluster keeps of its own (uid, versions, managedFields,
 * the status, a Deployment's revision annotation, a Service's allocated addresses and node ports, a
 * claim's binding), without dr-syncer's own marks (the managed-by label, the `dr-syncer.io/`
 * annotations, the last-applied annotation the copy drops) and without the replica count and
 * `suspend` a standby holds. The source object and its DR copy have equal views.
 */
export function syncedView(obj: KubeObject): Record<string, unknown> {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "creationTimestamp" && v === null) continue;
      out[k] = strip(v);
    }
    return out;
  };
  const own = (key: string) =>
    key.startsWith("dr-syncer.io/") || key === "app.kubernetes.io/managed-by" ||
    key === "kubectl.kubernetes.io/last-applied-configuration" ||
    key === "deployment.kubernetes.io/revision" ||
    key.startsWith("pv.kubernetes.io/") || key.startsWith("volume.kubernetes.io/") ||
    key.startsWith("volume.beta.kubernetes.io/");
  const keep = (map: Record<string, string> | undefined) =>
    Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !own(k)));
  const { apiVersion: _a, kind, metadata, status: _s, ...content } = obj;
  const view = strip(content) as Record<string, Record<string, unknown> | undefined>;
  const spec = view.spec;
  if (spec) {
    delete spec.replicas;
    if (kind === "CronJob" || kind === "Job") delete spec.suspend;
    if (kind === "Service") {
      for (const k of ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"]) {
        if (spec.clusterIP !== "None" || !k.startsWith("clusterIP")) delete spec[k];
      }
      for (const port of (spec.ports ?? []) as Record<string, unknown>[]) delete port.nodePort;
    }
    if (kind === "PersistentVolumeClaim") delete spec.volumeName;
  }
  return {
    kind,
    name: metadata.name,
    labels: keep(metadata.labels),
    annotations: keep(metadata.annotations),
    ...view,
  };
}

let skewVersion: Promise<string> | undefined;
/**
 * The Kubernetes version the version-skew test runs its DR cluster at (`SKEW_K8S_VERSION` of
 * tests/testenv/testenv.sh, v1.34.4): its binaries are built first when not cached (`testenv.sh build-skew`).
 */
export function skewK8sVersion(): Promise<string> {
  skewVersion ??= (async () => {
    const script = new URL("./testenv/testenv.sh", import.meta.url).pathname;
    const out = await new Deno.Command("bash", {
      args: [script, "build-skew"],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const version = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (out.code !== 0 || !/^v1\.\d+\.\d+$/.test(version)) {
      throw new Error(`testenv build-skew failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
    }
    return version;
  })();
  return skewVersion;
}

let helmPath: Promise<string> | undefined;
/**
 * The real Helm binary of the test environment (built from the Go module proxy on first use by
 * `testenv.sh build-helm`, cached in the test environment's cache): its path.
 */
export function helmBinary(): Promise<string> {
  helmPath ??= (async () => {
    const script = new URL("./testenv/testenv.sh", import.meta.url).pathname;
    const out = await new Deno.Command("bash", {
      args: [script, "build-helm"],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const path = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (out.code !== 0 || path === "") {
      throw new Error(`testenv build-helm failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
    }
    return path;
  })();
  return helmPath;
}

/** Runs the real Helm against the cluster of `kubeconfig`; its stdout, or an error with its stderr. */
export async function helm(kubeconfig: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(await helmBinary(), {
    args: ["--kubeconfig", kubeconfig, ...args],
    env: {
      HELM_CACHE_HOME: `${TESTENV_DIR}/helm/cache`,
      HELM_CONFIG_HOME: `${TESTENV_DIR}/helm/config`,
      HELM_DATA_HOME: `${TESTENV_DIR}/helm/data`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (out.code !== 0) throw new Error(`helm ${args.join(" ")} failed: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}
