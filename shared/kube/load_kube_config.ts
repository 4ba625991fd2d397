/**
 * Kubeconfig loading: from a file, an environment variable, a Secret or text (at most 2 MiB);
 * parsed with `yaml` in linear time, checked with zod (every error names its path), the chosen
 * context resolved to what a client needs, its certificates, key and token checked (a bad one is
 * an error naming its field). Exec plugins and auth providers are left to @kubernetes/client-node,
 * loaded only for them.
 *
 * A kubeconfig from a Secret or an environment variable is not the operator's own file: it may not
 * run commands in the process that loads it (an exec plugin, an auth provider) nor name files that
 * process would read and send to the server it names (`tokenFile`, `client-certificate`,
 * `client-key`, `certificate-authority`), unless the cluster's config opts in (`allowExec`,
 * `allowFileReferences`; see `KubeconfigTrust`). One from a file (`path`) or from text the caller
 * built (`inline`) is trusted.
 */
import { LineCounter } from "yaml";
import { z } from "zod";
import {
  checkTextSize,
  MAX_INPUT_BYTES,
  parseYamlInput,
  readTextInput,
  TextInputError,
  yamlInputToJs,
} from "../input/mod.ts";
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

/**
 * What a kubeconfig read from a Secret or an environment variable may do (the config's
 * `clusters[].allowExec` and `clusters[].allowFileReferences`; both off by default). A kubeconfig
 * from a file or inline text may do both.
 */
export interface KubeconfigTrust {
  /** The configured cluster's name, for messages. */
  readonly cluster?: string | undefined;
  /** May run a command in this process: an exec plugin or an auth provider. */
  readonly allowExec?: boolean | undefined;
  /** May name files this process reads and sends on: a token file, certificate or key paths. */
  readonly allowFileReferences?: boolean | undefined;
}

export interface LoadKubeConfigDeps {
  /** Reads an environment variable (the edge hands in `Deno.env.get`). */
  readonly readEnv?: (name: string) => string | undefined;
  /** A client of the cluster that holds kubeconfig Secrets. */
  readonly secretClient?: KubeClient;
  /** What a kubeconfig from a Secret or an environment variable may do (default: neither). */
  readonly trust?: KubeconfigTrust | undefined;
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

/** `text`, unless it is over the size limit. */
function sized(text: string, where: string): string {
  try {
    checkTextSize(text, MAX_INPUT_BYTES);
  } catch (error) {
    if (error instanceof TextInputError) throw new KubeconfigError(where, error.detail, { cause: error });
    throw error;
  }
  return text;
}

async function readText(source: KubeconfigSource, deps: LoadKubeConfigDeps, where: string): Promise<string> {
  if ("inline" in source) return sized(source.inline, where);
  if ("path" in source) return await readFile(source.path, where);
  if ("env" in source) {
    const value = deps.readEnv?.(source.env);
    if (value === undefined || value.trim() === "") {
      throw new KubeconfigError(where, "the variable is not set");
    }
    return sized(value, where);
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
  const text = decodeBase64(data);
  if (text === undefined) throw new KubeconfigError(where, "the Secret's value is not valid base64");
  return sized(text, where);
}

/**
 * Reads a file of at most 2 MiB; `field`: the kubeconfig field that names it (a certificate, not
 * the kubeconfig itself), said in the message with the file.
 */
async function readFile(path: string, where: string, field?: string): Promise<string> {
  try {
    return await readTextInput(path, MAX_INPUT_BYTES);
  } catch (error) {
    const detail = error instanceof TextInputError ? error.detail : String(error);
    throw new KubeconfigError(where, field ? `${field}: file "${path}": ${detail}` : detail, {
      cause: error,
    });
  }
}

/** Standard base64 (padding required, white space ignored) as UTF-8 text; `undefined` when it is not. */
function decodeBase64(data: string): string | undefined {
  const compact = data.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  try {
    const bytes = Uint8Array.from(atob(compact), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

type PemKind = "certificate" | "private key";

/** Why `text` is not PEM holding a `kind` (every block's body valid base64), or `undefined` when it is. */
function pemProblem(text: string, kind: PemKind): string | undefined {
  const labels: string[] = [];
  for (
    const [, label = "", body = ""] of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g)
  ) {
    const compact = body.replace(/\s+/g, "");
    if (compact === "" || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
      return `its PEM block "${label}" is not valid base64`;
    }
    labels.push(label);
  }
  const wanted = kind === "certificate"
    ? labels.includes("CERTIFICATE")
    : labels.some((l) => l.endsWith("PRIVATE KEY"));
  if (wanted) return undefined;
  return labels.length === 0
    ? `not a PEM ${kind}`
    : `no PEM ${kind} in it (found: ${labels.slice(0, 5).join(", ")})`;
}

/** A name from the kubeconfig as a message shows it: at most 100 characters. */
function short(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}...` : name;
}

/** At most ten names (each cut to 100 characters) for a message: `a, b and 3 more`. */
function listNames(names: readonly string[]): string {
  const listed = names.slice(0, 10).map(short).join(", ");
  return names.length > 10 ? `${listed} and ${names.length - 10} more` : listed;
}

/**
 * A YAML parser's message without the source text some of its messages quote after a colon ("Not
 * a YAML token: <text>", "Unresolved alias ...: <name>"): that text may be a credential. The line
 * and column say where to look.
 */
function yamlMessage(message: string): string {
  const first = message.split("\n")[0] ?? "";
  const colon = first.indexOf(": ");
  return (colon < 0 ? first : first.slice(0, colon)).slice(0, 200);
}

/** Parses kubeconfig text (one YAML or JSON document) to plain data. */
function parseKubeconfigText(raw: string, where: string): unknown {
  const lineCounter = new LineCounter();
  let doc;
  try {
    const docs = parseYamlInput(raw, { lineCounter, prettyErrors: false });
    if (docs.length > 1) {
      throw new KubeconfigError(where, `not a valid kubeconfig: ${docs.length} YAML documents, expected one`);
    }
    doc = docs[0];
    const error = doc?.errors[0];
    if (error !== undefined) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      const message = yamlMessage(error.message);
      throw new KubeconfigError(where, `not a valid kubeconfig: ${message} (line ${line}, column ${col})`);
    }
    return doc === undefined ? {} : yamlInputToJs(doc);
  } catch (error) {
    if (error instanceof KubeconfigError) throw error;
    const detail = error instanceof Error ? yamlMessage(error.message) : "unreadable";
    throw new KubeconfigError(where, `not a valid kubeconfig: ${detail}`, { cause: error });
  }
}

/** A control character (a line break, a tab...) cannot be sent in an HTTP header. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

type KubeconfigData = z.output<typeof kubeconfigSchema>;
type ClusterEntry = NonNullable<KubeconfigData["clusters"]>[number]["cluster"];
type UserEntry = NonNullable<NonNullable<KubeconfigData["users"]>[number]["user"]>;

/** The file fields of a kubeconfig's chosen cluster and user, with the inline field to use instead. */
const FILE_FIELDS = [
  ["cluster", "certificate-authority", "certificate-authority-data"],
  ["user", "client-certificate", "client-certificate-data"],
  ["user", "client-key", "client-key-data"],
  ["user", "tokenFile", "token"],
] as const;

/**
 * Refuses what a kubeconfig from a Secret or an environment variable may not do unless its cluster
 * opts in (see `KubeconfigTrust`): run a command (`exec`, `auth-provider`), name a file. A file's
 * or inline text is trusted. The message names the field, the cluster and the option to set.
 */
function checkTrust(
  source: KubeconfigSource,
  where: string,
  trust: KubeconfigTrust | undefined,
  chosen: { clusterField: string; cluster: ClusterEntry; userField: string; user: UserEntry },
): void {
  if ("path" in source || "inline" in source) return;
  const from = "secret" in source
    ? "a kubeconfig from a Secret"
    : "a kubeconfig from an environment variable";
  const cluster = trust?.cluster === undefined ? "its cluster" : `cluster "${trust.cluster}"`;
  if (!trust?.allowExec) {
    for (const field of ["exec", "auth-provider"] as const) {
      if (chosen.user[field] === undefined) continue;
      throw new KubeconfigError(
        where,
        `${chosen.userField}.${field}: ${from} may not run a command in dr-syncer (${
          field === "exec" ? "an exec plugin" : "an auth provider"
        }); set allowExec: true on ${cluster} (clusters[].allowExec) to allow it`,
      );
    }
  }
  if (!trust?.allowFileReferences) {
    for (const [entry, field, inline] of FILE_FIELDS) {
      const value = entry === "cluster"
        ? chosen.cluster[field as "certificate-authority"]
        : chosen.user[field];
      if (value === undefined || value === "") continue;
      const at = entry === "cluster" ? chosen.clusterField : chosen.userField;
      throw new KubeconfigError(
        where,
        `${at}.${field}: ${from} may not name a file ("${
          short(value)
        }"), which dr-syncer would read and send to the server it names; put its content in ${inline}, or set allowFileReferences: true on ${cluster} (clusters[].allowFileReferences) to allow it`,
      );
    }
  }
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
  const doc = parseKubeconfigText(raw, where);
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
      `no context given and no current-context set (contexts: ${listNames(names)})`,
    );
  }
  const context = contexts.find((c) => c.name === wanted)?.context;
  if (!context) {
    throw new KubeconfigError(where, `no context "${short(wanted)}" (contexts: ${listNames(names)})`);
  }
  const clusterIndex = kc.clusters?.findIndex((c) => c.name === context.cluster) ?? -1;
  const cluster = kc.clusters?.[clusterIndex]?.cluster;
  if (!cluster) {
    throw new KubeconfigError(
      where,
      `context "${short(wanted)}" names cluster "${short(context.cluster)}", which is not defined`,
    );
  }
  const userIndex = kc.users?.findIndex((u) => u.name === context.user) ?? -1;
  const userEntry = kc.users?.[userIndex];
  if (!userEntry) {
    throw new KubeconfigError(
      where,
      `context "${short(wanted)}" names user "${short(context.user)}", which is not defined`,
    );
  }
  const user = userEntry.user ?? {};
  const dir = "path" in source && source.path.includes("/")
    ? source.path.slice(0, source.path.lastIndexOf("/")) || "/"
    : ".";
  const file = (p: string) => p.startsWith("/") ? p : `${dir}/${p}`;
  /** A certificate or key, inline (`field` + `-data`) or from a file (`field`), checked to be PEM. */
  const pem = async (
    field: string,
    data: string | undefined,
    path: string | undefined,
    kind: PemKind,
  ): Promise<string | undefined> => {
    let text: string | undefined;
    let at: string;
    if (data) {
      at = `${field}-data`;
      text = decodeBase64(data);
      if (text === undefined) throw new KubeconfigError(where, `${at}: not valid base64`);
    } else if (path) {
      at = `${field}: file "${file(path)}"`;
      text = await readFile(file(path), where, field);
    } else return undefined;
    const problem = pemProblem(text, kind);
    if (problem !== undefined) throw new KubeconfigError(where, `${at}: ${problem}`);
    return text;
  };
  const clusterField = `clusters[${clusterIndex}].cluster`;
  const userField = `users[${userIndex}].user`;
  checkTrust(source, where, deps.trust, { clusterField, cluster, userField, user });
  for (const [key, value] of [["token", user.token], ["as", user.as]] as const) {
    if (value !== undefined && hasControlCharacter(value)) {
      throw new KubeconfigError(
        where,
        `${userField}.${key}: contains a line break or another control character, which cannot be sent`,
      );
    }
  }
  const plugin = user.exec !== undefined || user["auth-provider"] !== undefined;
  return {
    contextName: wanted,
    server: cluster.server.replace(/\/+$/, ""),
    namespace: context.namespace,
    caPem: await pem(
      `${clusterField}.certificate-authority`,
      cluster["certificate-authority-data"],
      cluster["certificate-authority"],
      "certificate",
    ),
    certPem: await pem(
      `${userField}.client-certificate`,
      user["client-certificate-data"],
      user["client-certificate"],
      "certificate",
    ),
    keyPem: await pem(`${userField}.client-key`, user["client-key-data"], user["client-key"], "private key"),
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
