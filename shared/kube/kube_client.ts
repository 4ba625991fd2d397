import type { KubeConfig } from "@kubernetes/client-node";
import { ClusterUnreachableError, kubeApiErrorFromResponse, normaliseKubeError } from "./kube_api_error.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface KubeRequest {
  readonly method: HttpMethod;
  /** Absolute API path, e.g. `/api/v1/namespaces/shop/configmaps`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly contentType?: string;
  /** Replaces the default `accept: application/json` (aggregated discovery asks for more). */
  readonly accept?: string;
  readonly signal?: AbortSignal;
  /** Per-request timeout; default 30 s. */
  readonly timeoutMs?: number;
}

/** Requests sent by one client, counted by HTTP method (benchmarks and zero-write checks read it). */
export interface RequestStats {
  total: number;
  writes: number;
  byMethod: Record<HttpMethod, number>;
}

/** A connection to one Kubernetes API server. */
export interface KubeClient {
  /** The name dr-syncer uses for this cluster in messages, reports and provenance. */
  readonly name: string;
  readonly server: string;
  /** The namespace of the kubeconfig context, if it names one. */
  readonly contextNamespace: string | undefined;
  readonly stats: RequestStats;
  /** Sends one request; resolves to the parsed JSON body, rejects with `KubeApiError` or `ClusterUnreachableError`. */
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /** Streams a response line by line (watch); the caller ends it with `req.signal`. */
  stream(req: KubeRequest): Promise<ReadableStream<string>>;
  close(): void;
}

export interface CreateKubeClientOptions {
  /** Display name; default: the kubeconfig's current context. */
  readonly name?: string;
  readonly defaultTimeoutMs?: number;
}

export function newRequestStats(): RequestStats {
  return { total: 0, writes: 0, byMethod: { GET: 0, POST: 0, PUT: 0, PATCH: 0, DELETE: 0 } };
}

function decodeBase64(data: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(data.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
}

async function pem(data: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (data) return decodeBase64(data);
  if (file) return await Deno.readTextFile(file);
  return undefined;
}

/**
 * Creates a client for the current context of `kubeConfig` (client-node parses the kubeconfig and
 * computes exec/auth-provider credentials; requests go through Deno's native fetch).
 */
export async function createKubeClient(
  kubeConfig: KubeConfig,
  options: CreateKubeClientOptions = {},
): Promise<KubeClient> {
  const contextName = kubeConfig.getCurrentContext();
  const cluster = kubeConfig.getCurrentCluster();
  const user = kubeConfig.getCurrentUser();
  const name = options.name ?? contextName;
  if (!cluster) throw new TypeError(`Kubeconfig context "${contextName}" names no cluster`);
  if (!user) throw new TypeError(`Kubeconfig context "${contextName}" names no user`);
  if (cluster.skipTLSVerify) {
    throw new TypeError(
      `Cluster "${name}" sets insecure-skip-tls-verify, which dr-syncer refuses: give the cluster's CA certificate instead`,
    );
  }
  const server = cluster.server.replace(/\/+$/, "");
  const ca = await pem(cluster.caData, cluster.caFile);
  const cert = await pem(user.certData, user.certFile);
  const key = await pem(user.keyData, user.keyFile);
  const httpClient = Deno.createHttpClient({
    ...(ca ? { caCerts: [ca] } : {}),
    ...(cert && key ? { cert, key } : {}),
    poolMaxIdlePerHost: 64,
  });
  const dynamicAuth = Boolean(user.exec || user.authProvider);
  const staticHeaders = new Headers({ accept: "application/json" });
  if (user.token) staticHeaders.set("authorization", `Bearer ${user.token}`);
  else if (user.username && user.password) {
    staticHeaders.set("authorization", `Basic ${btoa(`${user.username}:${user.password}`)}`);
  }
  if (user.impersonateUser) staticHeaders.set("impersonate-user", user.impersonateUser);
  const contextNamespace = kubeConfig.contexts.find((c) => c.name === contextName)?.namespace;
  const stats = newRequestStats();
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const where = { cluster: name, server };

  async function headersFor(req: KubeRequest): Promise<Headers> {
    const headers = new Headers(staticHeaders);
    if (dynamicAuth) {
      const opts = await kubeConfig.applyToFetchOptions({});
      const auth = (opts.headers as Headers | undefined)?.get("authorization");
      if (auth) headers.set("authorization", auth);
    }
    if (req.body !== undefined) headers.set("content-type", req.contentType ?? "application/json");
    if (req.accept) headers.set("accept", req.accept);
    return headers;
  }

  function urlFor(req: KubeRequest): string {
    const url = new URL(server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  async function send(req: KubeRequest, timeoutMs: number | undefined): Promise<Response> {
    stats.total++;
    stats.byMethod[req.method]++;
    if (req.method !== "GET") stats.writes++;
    const signals = [req.signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    let response: Response;
    try {
      response = await fetch(urlFor(req), {
        method: req.method,
        headers: await headersFor(req),
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
        client: httpClient,
      });
    } catch (error) {
      throw normaliseKubeError(error, where);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      throw kubeApiErrorFromResponse(response.status, text, {
        cluster: name,
        retryAfter: response.headers.get("retry-after"),
      });
    }
    return response;
  }

  return {
    name,
    server,
    contextNamespace,
    stats,
    async request<T>(req: KubeRequest): Promise<T> {
      const response = await send(req, req.timeoutMs ?? defaultTimeoutMs);
      try {
        const text = await response.text();
        return (text === "" ? undefined : JSON.parse(text)) as T;
      } catch (error) {
        throw normaliseKubeError(error, where);
      }
    },
    async stream(req: KubeRequest): Promise<ReadableStream<string>> {
      const response = await send(req, req.timeoutMs);
      if (!response.body) throw new ClusterUnreachableError(name, server, "the response has no body");
      let buffered = "";
      return response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
        new TransformStream<string, string>({
          transform(chunk, controller) {
            buffered += chunk;
            let nl: number;
            while ((nl = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line) controller.enqueue(line);
            }
          },
          flush(controller) {
            if (buffered.trim()) controller.enqueue(buffered.trim());
          },
        }),
      );
    },
    close() {
      httpClient.close();
    },
  };
}
