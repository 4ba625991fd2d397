/**
 * Kubeconfig loading: from a file, an environment variable, a Secret or text; parsed with `yaml`,
 * checked with zod (every error names its path), the chosen context resolved to what a client
 * needs. Exec plugins and auth providers are left to @kubernetes/client-node, loaded only for them.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { KubeClient } from "./kube_client.ts";
import { InvalidInputError } from "../errors.ts";
import type { ClusterAccess } from "./cluster_access.ts";
import { getObject } from "./verbs.ts";
import { type KubeObject, SECRETS } from "./types.ts";

export type { ClusterAccess } from "./cluster_access.ts";

export interface SecretKeyRef {
  readonly name: string;
  readonly namespace: string;
  readonly key: string;
}

/** Where a kubeconfig comes from: a file, an environment variable holding its text, a Secret, or text. */
export type KubeconfigSource =
  | { readonly path: string; readonly context?: string | undefined }
  | { readonly env: string; readonly context?: string | undefined }
  | { readonly secret: SecretKeyRef; readonly context?: string | undefined }
  | { readonly inline: string; readonly context?: string | undefined };

export interface LoadKubeConfigDeps {
  /** Reads an environment variable (the edge hands in `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /** A client of the cluster that holds kubeconfig Secrets. */
  readonly secretClient?: KubeClient;
}

/** The kubeconfig cannot be read, parsed, or lacks the named context. Bad input: do not retry. */
export class KubeconfigError extends InvalidInputError {
  override readonly name = "KubeconfigError";
  readonly source: string;
  constructor(source: string, detail: string, options?: ErrorOptions) {
    super(`Cannot load kubeconfig from ${source}: ${detail}`, options);
    this.source = source;
  }
}

/** A human description of a source, without any secret content. */
export function describeKubeconfigSource(source: KubeconfigSource): string {
  if ("path" in source) return `file "${source.path}"`;
  if ("env" in source) return `environment variable "${source.env}"`;
  if ("secret" in source) {
    return `Secret "${source.secret.name}" key "${source.secret.key}" in namespace "${source.secret.namespace}"`;
  }
  return "inline text";
}

const text = z.string();
const kubeconfigSchema = z.looseObject({
  clusters: z.array(z.looseObject({
    name: text.min(1),
    cluster: z.looseObject({
      server: z.url(),
      "certificate-authority-data": text.optional(),
      "certificate-authority": text.optional(),
      "insecure-skip-tls-verify": z.boolean().optional(),
    }),
  })).nullish(),
  users: z.array(z.looseObject({
    name: text.min(1),
    user: z.looseObject({
      "client-certificate-data": text.optional(),
      "client-certificate": text.optional(),
      "client-key-data": text.optional(),
      "client-key": text.optional(),
      token: text.optional(),
      tokenFile: text.optional(),
      username: text.optional(),
      password: text.optional(),
      as: text.optional(),
      exec: z.record(z.string(), z.unknown()).optional(),
      "auth-provider": z.record(z.string(), z.unknown()).optional(),
    }).nullish(),
  })).nullish(),
  contexts: z.array(z.looseObject({
    name: text.min(1),
    context: z.looseObject({ cluster: text.min(1), user: text.min(1), namespace: text.optional() }),
  })).nullish(),
  "current-context": text.nullish(),
});

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`).join(
    "",
  );
}

async function readText(source: KubeconfigSource, deps: LoadKubeConfigDeps, where: string): Promise<string> {
  if ("inline" in source) return source.inline;
  if ("path" in source) return await readFile(source.path, where, false);
  if ("env" in source) {
    const value = deps.readEnv?.(source.env);
    if (value === undefined || value.trim() === "") {
      throw new KubeconfigError(where, "the variable is not set");
    }
    return value;
  }
  const client = deps.secretClient;
  if (!client) throw new KubeconfigError(where, "no cluster client is available to read Secrets");
  const { name, namespace, key } = source.secret;
  const secret = await getObject<KubeObject & { data?: Record<string, string> }>(
    client,
    SECRETS,
    namespace,
    name,
  );
  if (!secret) throw new KubeconfigError(where, "the Secret does not exist");
  const data = secret.data?.[key];
  if (data === undefined) {
    const keys = Object.keys(secret.data ?? {});
    throw new KubeconfigError(where, `the Secret has no key "${key}" (keys: ${keys.join(", ") || "none"})`);
  }
  return decodeBase64(data);
}

/** Reads a file; `nameIt`: say which file in the message (a certificate, not the kubeconfig itself). */
async function readFile(path: string, where: string, nameIt: boolean): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const detail = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new KubeconfigError(where, nameIt ? `${detail}: "${path}"` : detail, { cause: error });
  }
}

function decodeBase64(data: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(data.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
}

/**
 * Loads and checks a kubeconfig and resolves its chosen context (or its current-context): the
 * context must exist and name a defined cluster and user. Certificate files are read now,
 * relative to the kubeconfig's folder as kubectl reads them.
 */
export async function loadKubeConfig(
  source: KubeconfigSource,
  deps: LoadKubeConfigDeps = {},
): Promise<ClusterAccess> {
  const where = describeKubeconfigSource(source);
  const raw = await readText(source, deps, where);
  let doc: unknown;
  try {
    doc = parseYaml(raw);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
    throw new KubeconfigError(where, `not a valid kubeconfig: ${detail}`, { cause: error });
  }
  const parsed = kubeconfigSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new KubeconfigError(
      where,
      `not a valid kubeconfig: ${issuePath(first.path) || "top level"}: ${first.message}`,
    );
  }
  const kc = parsed.data;
  const contexts = kc.contexts ?? [];
  const names = contexts.map((c) => c.name);
  if (names.length === 0) throw new KubeconfigError(where, "it defines no contexts");
  const wanted = source.context ?? (kc["current-context"] || undefined);
  if (!wanted) {
    throw new KubeconfigError(
      where,
      `no context given and no current-context set (contexts: ${names.join(", ")})`,
    );
  }
  const context = contexts.find((c) => c.name === wanted)?.context;
  if (!context) throw new KubeconfigError(where, `no context "${wanted}" (contexts: ${names.join(", ")})`);
  const cluster = kc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) {
    throw new KubeconfigError(
      where,
      `context "${wanted}" names cluster "${context.cluster}", which is not defined`,
    );
  }
  const userEntry = kc.users?.find((u) => u.name === context.user);
  if (!userEntry) {
    throw new KubeconfigError(
      where,
      `context "${wanted}" names user "${context.user}", which is not defined`,
    );
  }
  const user = userEntry.user ?? {};
  const dir = "path" in source && source.path.includes("/")
    ? source.path.slice(0, source.path.lastIndexOf("/")) || "/"
    : ".";
  const file = (p: string) => p.startsWith("/") ? p : `${dir}/${p}`;
  const pem = async (data: string | undefined, path: string | undefined) =>
    data ? decodeBase64(data) : path ? await readFile(file(path), where, true) : undefined;
  const plugin = user.exec !== undefined || user["auth-provider"] !== undefined;
  return {
    contextName: wanted,
    server: cluster.server.replace(/\/+$/, ""),
    namespace: context.namespace,
    caPem: await pem(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    certPem: await pem(user["client-certificate-data"], user["client-certificate"]),
    keyPem: await pem(user["client-key-data"], user["client-key"]),
    skipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    token: user.token,
    tokenFile: user.tokenFile ? file(user.tokenFile) : undefined,
    basicAuth: user.username !== undefined && user.password !== undefined
      ? { username: user.username, password: user.password }
      : undefined,
    impersonate: user.as,
    pluginAuth: plugin ? { text: raw, context: wanted, dir } : undefined,
  };
}
