import { InvalidInputError } from "../errors.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import type { SecretKeyRef } from "../kube/load_kube_config.ts";
import { type KubeObject, SECRETS } from "../kube/types.ts";
import { getObject } from "../kube/verbs.ts";

/** Where a credential (an API token) comes from: an environment variable, a file, or a Secret. */
export type CredentialSource =
  | { readonly env: string }
  | { readonly path: string }
  | { readonly secret: SecretKeyRef };

export interface ReadCredentialDeps {
  readonly readEnv?: ((name: string) => string | undefined) | undefined;
  /** A client of the cluster that holds the Secrets (in a pod: its own, with its ServiceAccount). */
  readonly secretClient?: KubeClient | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** A credential cannot be read; the message names where from, never the value. */
export class CredentialError extends InvalidInputError {
  override readonly name = "CredentialError";
}

/** Where a credential comes from, in words (no value). */
export function describeCredentialSource(source: CredentialSource): string {
  if ("env" in source) return `environment variable "${source.env}"`;
  if ("path" in source) return `file "${source.path}"`;
  return `Secret "${source.secret.name}" key "${source.secret.key}" in namespace "${source.secret.namespace}"`;
}

function decodeBase64(data: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(data.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
}

/** Reads a credential's current value, trimmed; an empty value is an error. */
export async function readCredential(
  source: CredentialSource,
  deps: ReadCredentialDeps = {},
): Promise<string> {
  const where = describeCredentialSource(source);
  let value: string | undefined;
  if ("env" in source) value = deps.readEnv?.(source.env);
  else if ("path" in source) {
    try {
      value = await Deno.readTextFile(source.path);
    } catch (error) {
      const detail = error instanceof Deno.errors.NotFound ? "no such file" : String(error);
      throw new CredentialError(`Cannot read the credential in ${where}: ${detail}`, { cause: error });
    }
  } else {
    if (!deps.secretClient) {
      throw new CredentialError(
        `Cannot read the credential in ${where}: no cluster client is available to read Secrets`,
      );
    }
    const { name, namespace, key } = source.secret;
    const secret = await getObject<KubeObject & { data?: Record<string, string> }>(
      deps.secretClient,
      SECRETS,
      namespace,
      name,
      { signal: deps.signal },
    );
    if (!secret) {
      throw new CredentialError(`Cannot read the credential in ${where}: the Secret does not exist`);
    }
    const data = secret.data?.[key];
    if (data === undefined) {
      throw new CredentialError(`Cannot read the credential in ${where}: the Secret has no key "${key}"`);
    }
    value = decodeBase64(data);
  }
  const trimmed = value?.trim() ?? "";
  if (trimmed === "") {
    throw new CredentialError(`Cannot read the credential in ${where}: it is empty or not set`);
  }
  return trimmed;
}
