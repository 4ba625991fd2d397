/**
 * `dr-syncer deploy`: applies what `dr-syncer render` prints to every cluster of the config, plus what only a
 * deploy can make: each cluster's agent host key (generated here, once, when its Secret is missing) and the
 * ConfigMap that publishes its public half (the only part the runtime may read), the kubeconfigs the runtime
 * uses to reach the other clusters (a token of its ServiceAccount there), and the API tokens copied from
 * this machine. The custom types the runtime's rights name where the config leaves that to the cluster
 * (`includeCustomResources: true`, bare custom names) come from the discovery of each replication's source
 * cluster, read here, and are listed in the report.
 *
 * Objects are written with server-side apply (field manager `dr-syncer-deploy`, forced); namespaces are
 * created when missing and never changed; the host key is never replaced. In the runtime's cluster the CRDs
 * of the original DR-Syncer's API come first, and deploy waits until the API server serves them before it
 * applies the rest (the runtime watches their objects from its start). A second deploy of the same config
 * changes nothing: every object comes back with the resourceVersion it had. `dryRun` sends every write with
 * `dryRun=All`, so the API server validates and admits it and stores nothing.
 *
 * `deployCredentials` (`dr-syncer deploy --keys-only`) makes only what a deploy makes imperatively, for
 * installs that apply the rest another way (the Helm chart, `infra/chart/`, or render's output by hand): the
 * agents' host keys and their published public keys in every cluster, and in the runtime's cluster the
 * kubeconfigs of the other clusters and the tokens Secret (their namespaces created when missing).
 */
import { Buffer } from "node:buffer";
import { utils } from "ssh2";
import type { Config, Replication } from "../shared/config/config_schema.ts";
import { readCredential } from "../shared/credentials/read_credential.ts";
import { delay } from "../shared/async/delay.ts";
import { discoverResources } from "../shared/kube/discover_resources.ts";
import type { KubeClient } from "../shared/kube/kube_client.ts";
import { type KubeObject, resourcePath, type ResourceType } from "../shared/kube/types.ts";
import { getObject } from "../shared/kube/verbs.ts";
import { managedFieldsOf } from "../shared/plan/field_owners.ts";
import type { Logger } from "../shared/log/logger.ts";
import { HOST_KEY_PRIVATE, HOST_KEY_PUBLIC } from "../shared/pvc/agent_names.ts";
import { generateEd25519KeyPair } from "../shared/pvc/ed25519_key.ts";
import { agentPublicKeyConfigMap, publicKeyLine } from "../infra/agent_public_key.ts";
import { agentHostKeySecret, agentNamespace } from "../infra/agent_templates.ts";
import { DEPLOY_FIELD_MANAGER, RUNTIME_TOKEN_SECRET } from "../infra/names.ts";
import {
  copiedTokens,
  remoteClusters,
  renderCluster,
  type RenderedCluster,
  renderNotes,
  runtimeClusterOf,
  sortObjects,
  tokenKubeconfig,
} from "../infra/render.ts";
import { clustersToDiscover, isBuiltInType, replicatedTypes } from "../infra/runtime_rbac.ts";
import { namespace, runtimeKubeconfigSecret, runtimeTokensSecret } from "../infra/runtime_templates.ts";
import { type LiveObject, type LiveReplicationsRead, readLiveReplications } from "./live_replications.ts";

/** The REST types of what the templates make. */
const TYPES: Record<string, Pick<ResourceType, "group" | "version" | "resource" | "namespaced">> = {
  CustomResourceDefinition: {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
    namespaced: false,
  },
  Namespace: { group: "", version: "v1", resource: "namespaces", namespaced: false },
  ServiceAccount: { group: "", version: "v1", resource: "serviceaccounts", namespaced: true },
  Secret: { group: "", version: "v1", resource: "secrets", namespaced: true },
  ConfigMap: { group: "", version: "v1", resource: "configmaps", namespaced: true },
  Service: { group: "", version: "v1", resource: "services", namespaced: true },
  ClusterRole: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterroles",
    namespaced: false,
  },
  ClusterRoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
    namespaced: false,
  },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", resource: "roles", namespaced: true },
  RoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "rolebindings",
    namespaced: true,
  },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets", namespaced: true },
  Deployment: { group: "apps", version: "v1", resource: "deployments", namespaced: true },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs", namespaced: true },
};

export function typeOfObject(object: KubeObject) {
  const type = TYPES[object.kind];
  if (!type) throw new TypeError(`deploy has no type for kind ${object.kind}`);
  return type;
}

export type DeployAction = "created" | "configured" | "unchanged" | "kept" | "replaced" | "skipped";

export interface DeployedObject {
  readonly cluster: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly action: DeployAction;
  readonly resourceVersion?: string;
  readonly reason?: string;
}

/** The custom types a replication's rights name, as its source cluster's discovery placed them. */
export interface DiscoveredTypes {
  readonly replication: string;
  readonly cluster: string;
  /** `resource.group` names. */
  readonly types: string[];
}

export interface DeployReport {
  readonly dryRun: boolean;
  readonly runtimeCluster: string;
  readonly objects: DeployedObject[];
  readonly counts: Record<DeployAction, number>;
  /** The replications whose custom types were read from discovery (none when the config names them all). */
  readonly discovered: DiscoveredTypes[];
  /** What the user should know besides the objects (`renderNotes`: the CronJob form's limits). */
  readonly notes: string[];
  /**
   * The original DR-Syncer's objects in the runtime's namespace, whose replications got rights like the
   * config's (`readLiveReplications`); those with a `problem` got none.
   */
  readonly live: LiveObject[];
}

export interface DeployOptions {
  /** A connected client per cluster of the config (by name). */
  readonly clients: ReadonlyMap<string, KubeClient>;
  readonly dryRun?: boolean;
  readonly readEnv?: (name: string) => string | undefined;
  readonly logger?: Logger;
  /** How long to wait for a cluster to fill the runtime's token Secret (default 60 s). */
  readonly tokenWaitMs?: number;
  /** How long to wait for the API server to serve the CRDs deploy applied (default 60 s). */
  readonly crdWaitMs?: number;
}

interface Crd extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** An ed25519 host key in OpenSSH format (private key file, public key line). */
export function generateHostKey(cluster: string): { privateKey: string; publicKey: string } {
  const pair = generateEd25519KeyPair(`dr-syncer-agent@${cluster}`);
  return { privateKey: pair.private, publicKey: `${pair.public.trim()}\n` };
}

const decode = (value: string | undefined) => value === undefined ? undefined : atob(value);

/**
 * What a host-key Secret gives the agents: the public key line to publish (its `.pub` key, else derived from
 * its private key: a Secret made by hand with the private key only), or why the agents cannot use it: its
 * private key missing or unreadable the way the agent reads it, or its `.pub` key not that key's (pvc-sync
 * would pin another key). Before 2026-12-07, about one key in 256 that deploy made was unreadable.
 */
export function hostKeyOf(
  secret: { data?: Record<string, string> },
): { readonly publicKey: string } | { readonly problem: string } {
  const encoded = secret.data?.[HOST_KEY_PRIVATE];
  if (encoded === undefined) return { problem: `it has no private key "${HOST_KEY_PRIVATE}"` };
  const parsed = utils.parseKey(Buffer.from(encoded, "base64")); // the bytes the agent reads from its mount
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error || !key.isPrivateKey()) {
    const why = key instanceof Error ? key.message : "not a private key";
    return { problem: `its private key "${HOST_KEY_PRIVATE}" cannot be read (${why})` };
  }
  const derived = `${key.type} ${key.getPublicSSH().toString("base64")}`;
  const published = decode(secret.data?.[HOST_KEY_PUBLIC]);
  if (published === undefined) return { publicKey: derived };
  const line = publicKeyLine(published);
  if (line === undefined) {
    return { problem: `its public key "${HOST_KEY_PUBLIC}" is not an OpenSSH public key line` };
  }
  if (line.split(" ").slice(0, 2).join(" ") !== derived) {
    return { problem: `its public key "${HOST_KEY_PUBLIC}" is not its private key's` };
  }
  return { publicKey: line };
}

/** Whether deploy made the object and nothing else wrote it (its managed fields are deploy's alone). */
function madeByDeploy(object: KubeObject): boolean {
  const fields = managedFieldsOf(object);
  return fields.length > 0 && fields.every((f) => f.manager === DEPLOY_FIELD_MANAGER);
}

class ClusterDeployer {
  readonly results: DeployedObject[] = [];
  /** Namespaces that exist only in this dry run (objects in them cannot be checked by the server). */
  readonly #pendingNamespaces = new Set<string>();

  constructor(
    readonly client: KubeClient,
    readonly dryRun: boolean,
    readonly logger: Logger | undefined,
    readonly crdWaitMs = 60_000,
  ) {}

  #record(
    object: KubeObject,
    action: DeployAction,
    extra: { resourceVersion?: string; reason?: string } = {},
  ) {
    const entry: DeployedObject = {
      cluster: this.client.name,
      kind: object.kind,
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      name: object.metadata.name,
      action,
      ...(extra.resourceVersion ? { resourceVersion: extra.resourceVersion } : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
    };
    this.results.push(entry);
    this.logger?.info(
      `${this.client.name}: ${object.kind} ${
        entry.namespace ? `${entry.namespace}/` : ""
      }${entry.name} ${action}`,
    );
  }

  #query(extra: Record<string, string | boolean> = {}) {
    return { ...extra, ...(this.dryRun ? { dryRun: "All" } : {}) };
  }

  async #get(object: KubeObject): Promise<KubeObject | undefined> {
    return await getObject(
      this.client,
      typeOfObject(object),
      object.metadata.namespace,
      object.metadata.name,
    );
  }

  async #create(object: KubeObject): Promise<KubeObject> {
    return await this.client.request<KubeObject>({
      method: "POST",
      path: resourcePath(typeOfObject(object), object.metadata.namespace),
      query: this.#query({ fieldManager: DEPLOY_FIELD_MANAGER }),
      body: object,
    });
  }

  /** A namespace: created when missing, never changed. */
  async namespace(object: KubeObject): Promise<void> {
    const before = await this.#get(object);
    if (before) {
      return this.#record(object, "kept", { resourceVersion: before.metadata.resourceVersion ?? "" });
    }
    const created = await this.#create(object);
    if (this.dryRun) this.#pendingNamespaces.add(object.metadata.name);
    this.#record(object, "created", { resourceVersion: created.metadata.resourceVersion ?? "" });
  }

  /** Server-side apply of one object; the action from its resourceVersion before and after. */
  async apply(object: KubeObject): Promise<void> {
    const namespace = object.metadata.namespace;
    if (namespace !== undefined && this.#pendingNamespaces.has(namespace)) {
      return this.#record(object, "skipped", { reason: `namespace "${namespace}" would be created first` });
    }
    const type = typeOfObject(object);
    const before = await this.#get(object);
    const after = await this.client.request<KubeObject>({
      method: "PATCH",
      path: resourcePath(type, namespace, object.metadata.name),
      query: this.#query({ fieldManager: DEPLOY_FIELD_MANAGER, force: true }),
      contentType: "application/apply-patch+yaml",
      body: object,
    });
    const rv = after.metadata.resourceVersion ?? "";
    const action: DeployAction = !before
      ? "created"
      : before.metadata.resourceVersion === rv
      ? "unchanged"
      : "configured";
    this.#record(object, action, { resourceVersion: rv });
  }

  /**
   * The agent's host key: generated and created only when its Secret is missing; then its public key
   * published in its own ConfigMap (applied every time: unchanged while the key is).
   */
  async hostKey(settings: Config["agent"]): Promise<void> {
    const placeholder = agentHostKeySecret(settings, { privateKey: "", publicKey: "" });
    if (this.#pendingNamespaces.has(settings.namespace)) {
      const reason = `namespace "${settings.namespace}" would be created first`;
      this.#record(placeholder, "skipped", { reason });
      return this.#record(agentPublicKeyConfigMap(settings, ""), "skipped", { reason });
    }
    const existing = await this.#get(placeholder) as Secret | undefined;
    const found = existing ? hostKeyOf(existing) : undefined;
    if (existing && found && "publicKey" in found) {
      this.#record(placeholder, "kept", { resourceVersion: existing.metadata.resourceVersion ?? "" });
      return await this.apply(agentPublicKeyConfigMap(settings, found.publicKey));
    }
    let reason: string | undefined;
    if (existing && found && "problem" in found) {
      const where =
        `Secret "${settings.namespace}/${existing.metadata.name}" in cluster "${this.client.name}"`;
      if (!madeByDeploy(existing)) {
        throw new Error(
          `${where} holds a host key the agents cannot use: ${found.problem}. deploy replaces only a key it made and nothing else changed: put a working key in it (docs/deploy.md#the-agent, "Host key") or delete it and deploy again to make a new one`,
        );
      }
      // a key deploy made that never worked (no agent started with it, nothing pinned it): made again
      reason = `${found.problem}: a new key ${this.dryRun ? "would be" : "was"} made`;
      this.logger?.warn(`${where}: ${reason}`);
    }
    const key = generateHostKey(this.client.name);
    const secret = agentHostKeySecret(settings, key);
    const written = existing
      ? await this.client.request<KubeObject>({
        method: "PUT",
        path: resourcePath(typeOfObject(secret), settings.namespace, secret.metadata.name),
        query: this.#query({ fieldManager: DEPLOY_FIELD_MANAGER }),
        // replaced only as it was read: a write in between fails the PUT (409)
        body: {
          ...secret,
          metadata: { ...secret.metadata, resourceVersion: existing.metadata.resourceVersion },
        },
      })
      : await this.#create(secret);
    this.#record(placeholder, existing ? "replaced" : "created", {
      resourceVersion: written.metadata.resourceVersion ?? "",
      ...(reason ? { reason } : {}),
    });
    await this.apply(agentPublicKeyConfigMap(settings, key.publicKey));
  }

  /**
   * Waits until the API server serves each CRD (its condition Established); a CRD whose names it refused
   * (NamesAccepted false: another CRD has them) fails with the API server's reason.
   */
  async established(crds: readonly KubeObject[]): Promise<void> {
    const deadline = Date.now() + this.crdWaitMs;
    for (const crd of crds) {
      for (let pause = 100;; pause = Math.min(pause * 2, 1000)) {
        const live = await this.#get(crd) as Crd | undefined;
        const condition = (type: string) => live?.status?.conditions?.find((c) => c.type === type);
        if (condition("Established")?.status === "True") break;
        const names = condition("NamesAccepted");
        if (names?.status === "False") {
          throw new Error(
            `CustomResourceDefinition "${crd.metadata.name}": the API server refused its names: ${
              names.message ?? names.reason
            }`,
          );
        }
        if (Date.now() > deadline) {
          throw new Error(
            `CustomResourceDefinition "${crd.metadata.name}" was not served (condition Established) within ${
              Math.round(this.crdWaitMs / 1000)
            } s`,
          );
        }
        await delay(pause);
      }
    }
  }

  async objects(objects: readonly KubeObject[], settings: Config["agent"]): Promise<void> {
    const sorted = sortObjects(objects);
    // the CRDs first, served before the runtime that watches their objects starts
    const crds = sorted.filter((o) => o.kind === "CustomResourceDefinition");
    for (const crd of crds) await this.apply(crd);
    if (crds.length > 0 && !this.dryRun) await this.established(crds);
    for (const object of sorted) {
      if (object.kind === "Namespace") await this.namespace(object);
    }
    await this.hostKey(settings);
    for (const object of sorted) {
      if (object.kind !== "Namespace" && object.kind !== "CustomResourceDefinition") await this.apply(object);
    }
  }
}

/** The token and CA of the runtime's ServiceAccount in a cluster, once the cluster has filled its Secret. */
async function runtimeToken(
  client: KubeClient,
  namespace: string,
  waitMs: number,
): Promise<{ token: string; caData: string } | undefined> {
  const deadline = Date.now() + waitMs;
  for (let pause = 100;; pause = Math.min(pause * 2, 1000)) {
    const secret = await getObject<Secret>(client, TYPES.Secret!, namespace, RUNTIME_TOKEN_SECRET);
    const token = secret?.data?.token, caData = secret?.data?.["ca.crt"];
    if (token && caData) return { token: atob(token), caData };
    if (Date.now() > deadline) return undefined;
    await delay(pause);
  }
}

/**
 * What the discovery of each cluster in `clustersToDiscover` reports, and per replication that needed it the
 * custom types its rights will name.
 */
export async function discoverTypes(
  config: Config,
  clientOf: (cluster: string) => KubeClient,
  live: readonly Replication[] = [],
): Promise<{ served: Map<string, ResourceType[]>; discovered: DiscoveredTypes[] }> {
  // the live objects' replications too, where their source is a cluster of the config (deploy reaches it)
  const configured = new Set(config.clusters.map((c) => c.name));
  const all = [...config.replications, ...live];
  const clusters = clustersToDiscover({ ...config, replications: all }).filter((c) => configured.has(c));
  const served = new Map(
    await Promise.all(clusters.map(async (c) => [c, await discoverResources(clientOf(c))] as const)),
  );
  const discovered = all.filter((r) => served.has(r.source.cluster)).map((r) => ({
    replication: r.name,
    cluster: r.source.cluster,
    types: replicatedTypes(r, served.get(r.source.cluster)).filter((t) => !isBuiltInType(t))
      .map((t) => `${t.resource}.${t.group}`),
  })).filter((d) => d.types.length > 0);
  return { served, discovered };
}

/** The values of the tokens deploy copies (read first: a missing one fails before anything is written). */
async function copiedTokenValues(config: Config, options: DeployOptions): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const token of config.tokens) {
    if (!copiedTokens(config).includes(token.name)) continue;
    tokens[token.name] = await readCredential(token.value as { env: string } | { path: string }, {
      readEnv: options.readEnv,
    });
  }
  return tokens;
}

/**
 * The Secrets of the runtime's cluster that hold credentials: a kubeconfig per other cluster (a token of the
 * runtime's ServiceAccount there, which that cluster fills in once the account's token Secret exists) and the
 * copied tokens. In a dry run, a kubeconfig whose token does not exist yet is reported as skipped.
 */
async function runtimeSecrets(
  config: Config,
  tokens: Record<string, string>,
  clientOf: (cluster: string) => KubeClient,
  options: DeployOptions,
): Promise<{ objects: KubeObject[]; skipped: DeployedObject[] }> {
  const dryRun = options.dryRun ?? false;
  const local = runtimeClusterOf(config);
  const objects: KubeObject[] = [], skipped: DeployedObject[] = [];
  for (const cluster of remoteClusters(config)) {
    const client = clientOf(cluster);
    const found = await runtimeToken(
      client,
      config.runtime.namespace,
      dryRun ? 0 : options.tokenWaitMs ?? 60_000,
    );
    if (!found) {
      if (dryRun) {
        skipped.push({
          cluster: local,
          kind: "Secret",
          namespace: config.runtime.namespace,
          name: runtimeKubeconfigSecret(config.runtime, cluster, "").metadata.name,
          action: "skipped",
          reason:
            `the token of the runtime's ServiceAccount in cluster "${cluster}" exists only after a real deploy`,
        });
        continue;
      }
      throw new Error(
        `Cluster "${cluster}" did not fill Secret "${config.runtime.namespace}/${RUNTIME_TOKEN_SECRET}" with a token in time: is its token controller running (and the runtime's objects installed there)?`,
      );
    }
    objects.push(
      runtimeKubeconfigSecret(
        config.runtime,
        cluster,
        tokenKubeconfig(cluster, client.server, found.caData, found.token),
      ),
    );
  }
  if (Object.keys(tokens).length > 0) objects.push(runtimeTokensSecret(config.runtime, tokens));
  return { objects, skipped };
}

function clientsOf(options: DeployOptions): (name: string) => KubeClient {
  return (name) => {
    const client = options.clients.get(name);
    if (!client) throw new TypeError(`deploy has no client for cluster "${name}"`);
    return client;
  };
}

function report(
  config: Config,
  dryRun: boolean,
  results: DeployedObject[],
  discovered: DiscoveredTypes[],
  live: { objects: readonly LiveObject[]; notes: readonly string[] } = { objects: [], notes: [] },
): DeployReport {
  const counts: Record<DeployAction, number> = {
    created: 0,
    configured: 0,
    unchanged: 0,
    kept: 0,
    replaced: 0,
    skipped: 0,
  };
  for (const r of results) counts[r.action]++;
  return {
    dryRun,
    runtimeCluster: runtimeClusterOf(config),
    objects: results,
    counts,
    discovered,
    notes: [...renderNotes(config), ...live.notes],
    live: [...live.objects],
  };
}

/** Deploys the config: the agents everywhere, the runtime's accounts wherever it reaches, the runtime in its cluster. */
export async function deployConfig(config: Config, options: DeployOptions): Promise<DeployReport> {
  const dryRun = options.dryRun ?? false;
  const local = runtimeClusterOf(config);
  const clientOf = clientsOf(options);
  // the original API's objects the runtime will run, granted rights too; then the custom types only
  // discovery can name: read before anything is written
  const live = liveWithinReach(config, await readLiveReplications(config, clientOf(local)));
  const { served, discovered } = await discoverTypes(config, clientOf, live.replications);
  const tokens = await copiedTokenValues(config, options);
  const rendered = new Map<string, RenderedCluster>(
    config.clusters.map((c) => [c.name, renderCluster(config, c.name, { served, live })]),
  );
  const results: DeployedObject[] = [];
  // the other clusters first: the runtime's kubeconfigs need their tokens
  for (const cluster of config.clusters.map((c) => c.name).filter((c) => c !== local)) {
    const deployer = new ClusterDeployer(clientOf(cluster), dryRun, options.logger);
    await deployer.objects(rendered.get(cluster)!.objects, config.agent);
    results.push(...deployer.results);
  }
  const deployer = new ClusterDeployer(clientOf(local), dryRun, options.logger, options.crdWaitMs);
  const secrets = await runtimeSecrets(config, tokens, clientOf, options);
  results.push(...secrets.skipped);
  await deployer.objects([...rendered.get(local)!.objects, ...secrets.objects], config.agent);
  results.push(...deployer.results);
  return report(config, dryRun, results, discovered, live);
}

/**
 * The live replications deploy can grant rights for: one whose custom types only its source's discovery can
 * name is left out when that source is a RemoteCluster (deploy has no kubeconfig of it), with a note.
 */
function liveWithinReach(config: Config, read: LiveReplicationsRead): LiveReplicationsRead {
  const configured = new Set(config.clusters.map((c) => c.name));
  const out = new Set<string>();
  const notes = [...read.notes];
  for (const r of read.replications) {
    if (configured.has(r.source.cluster)) continue;
    if (clustersToDiscover({ ...config, replications: [r] }).length === 0) continue;
    out.add(r.name);
    notes.push(
      `replication "${r.name}": its custom types are named by the discovery of cluster "${r.source.cluster}", a RemoteCluster deploy cannot reach: no rights granted (name its types, or define the cluster in the config)`,
    );
  }
  if (out.size === 0) return read;
  return {
    ...read,
    replications: read.replications.filter((r) => !out.has(r.name)),
    objects: read.objects.map((o) =>
      o.replication !== undefined && out.has(o.replication)
        ? { kind: o.kind, namespace: o.namespace, name: o.name, problem: "no rights granted (see the note)" }
        : o
    ),
    notes,
  };
}

/**
 * Only what deploy makes imperatively (`dr-syncer deploy --keys-only`), for an install that applies the
 * rest another way (the Helm chart): in every cluster the agents' namespace (when missing) and their host
 * key (generated once, never replaced) with its published public key; in the runtime's cluster its
 * namespace (when missing), the kubeconfigs of the other clusters (once the runtime's objects are installed
 * there: their token Secret) and the tokens Secret. Written the way deploy writes them, so a later deploy
 * finds them unchanged.
 */
export async function deployCredentials(config: Config, options: DeployOptions): Promise<DeployReport> {
  const dryRun = options.dryRun ?? false;
  const local = runtimeClusterOf(config);
  const clientOf = clientsOf(options);
  const tokens = await copiedTokenValues(config, options);
  const results: DeployedObject[] = [];
  for (const cluster of [...config.clusters.map((c) => c.name).filter((c) => c !== local), local]) {
    const deployer = new ClusterDeployer(clientOf(cluster), dryRun, options.logger);
    const namespaces = [agentNamespace(config.agent)];
    if (cluster === local && config.runtime.namespace !== config.agent.namespace) {
      namespaces.push(namespace(config.runtime.namespace, "runtime"));
    }
    for (const ns of namespaces) await deployer.namespace(ns);
    await deployer.hostKey(config.agent);
    if (cluster === local) {
      const secrets = await runtimeSecrets(config, tokens, clientOf, options);
      results.push(...secrets.skipped);
      for (const secret of secrets.objects) await deployer.apply(secret);
    }
    results.push(...deployer.results);
  }
  return report(config, dryRun, results, []);
}

/** One line per object and a summary. */
export function formatDeployReport(report: DeployReport): string {
  const lines = report.objects.map((o) =>
    `${o.cluster}: ${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name} ${o.action}${
      o.reason ? ` (${o.reason})` : ""
    }`
  );
  for (const o of report.live) {
    lines.push(
      `${report.runtimeCluster}: ${o.kind} ${o.namespace}/${o.name} read: ${
        o.problem !== undefined
          ? `left out (${o.problem})`
          : o.replication !== undefined
          ? `replication "${o.replication}" granted rights`
          : "in use"
      }`,
    );
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  for (const d of report.discovered) {
    lines.push(
      `replication "${d.replication}": the runtime's rights name the custom types cluster "${d.cluster}" serves: ${
        d.types.join(", ")
      }`,
    );
  }
  const c = report.counts;
  lines.push(
    `${
      report.dryRun ? "dry run (nothing written): " : ""
    }${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged, ${c.kept} kept, ${
      c.replaced ? `${c.replaced} replaced, ` : ""
    }${c.skipped} skipped; the runtime runs in cluster "${report.runtimeCluster}"`,
  );
  return lines.join("\n");
}
