import { KubeConfig } from "@kubernetes/client-node";
import type { KubeClient } from "./kube_client.ts";
import { isNotFound } from "./kube_api_error.ts";

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
export class KubeconfigError extends Error {
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

async function readText(source: KubeconfigSource, deps: LoadKubeConfigDeps, where: string): Promise<string> {
  if ("inline" in source) return source.inline;
  if ("path" in source) {
    try {
      return await Deno.readTextFile(source.path);
    } catch (error) {
      const detail = error instanceof Deno.errors.NotFound
        ? "no such file"
        : error instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new KubeconfigError(where, detail, { cause: error });
    }
  }
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
  let secret: { data?: Record<string, string> };
  try {
    secret = await client.request({
      method: "GET",
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
    });
  } catch (error) {
    if (isNotFound(error)) throw new KubeconfigError(where, "the Secret does not exist", { cause: error });
    throw error;
  }
  const data = secret.data?.[key];
  if (data === undefined) {
    const keys = Object.keys(secret.data ?? {});
    throw new KubeconfigError(where, `the Secret has no key "${key}" (keys: ${keys.join(", ") || "none"})`);
  }
  return new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
}

/**
 * Loads and checks a kubeconfig: it must parse, and the chosen context (or its current-context)
 * must exist and name a known cluster and user.
 */
export async function loadKubeConfig(
  source: KubeconfigSource,
  deps: LoadKubeConfigDeps = {},
): Promise<KubeConfig> {
  const where = describeKubeconfigSource(source);
  const text = await readText(source, deps, where);
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
    throw new KubeconfigError(where, `not a valid kubeconfig: ${detail}`, { cause: error });
  }
  if ("path" in source) {
    // relative certificate paths are relative to the kubeconfig's folder, as kubectl reads them
    const dir = source.path.includes("/") ? source.path.slice(0, source.path.lastIndexOf("/")) || "/" : ".";
    (kc as unknown as { makePathsAbsolute(root: string): void }).makePathsAbsolute(dir);
  }
  const names = kc.contexts.map((c) => c.name);
  if (names.length === 0) throw new KubeconfigError(where, "it defines no contexts");
  const wanted = source.context ?? (kc.getCurrentContext() || undefined);
  if (!wanted) {
    throw new KubeconfigError(
      where,
      `no context given and no current-context set (contexts: ${names.join(", ")})`,
    );
  }
  const context = kc.contexts.find((c) => c.name === wanted);
  if (!context) throw new KubeconfigError(where, `no context "${wanted}" (contexts: ${names.join(", ")})`);
  kc.setCurrentContext(wanted);
  if (!kc.getCluster(context.cluster)) {
    throw new KubeconfigError(
      where,
      `context "${wanted}" names cluster "${context.cluster}", which is not defined`,
    );
  }
  if (!kc.getUser(context.user)) {
    throw new KubeconfigError(
      where,
      `context "${wanted}" names user "${context.user}", which is not defined`,
    );
  }
  return kc;
}
