import {
  ClusterCredentialsError,
  ClusterUnreachableError,
  kubeApiErrorFromResponse,
  normaliseKubeError,
} from "./kube_api_error.ts";
import type { ClusterAccess } from "./cluster_access.ts";
import { InvalidInputError } from "../errors.ts";
import { redactSecrets } from "../log/redact_secrets.ts";

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
  readonly signal?: AbortSignal | undefined;
  /** Per-request timeout; default 30 s. */
  readonly timeoutMs?: number | undefined;
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

/** Computes Authorization headers with @kubernetes/client-node, for exec plugins and auth providers only. */
function pluginAuthorization(
  plugin: NonNullable<ClusterAccess["pluginAuth"]>,
): () => Promise<string | undefined> {
  let kc: Promise<{ applyToFetchOptions(o: object): Promise<{ headers?: unknown }> }> | undefined;
  return async () => {
    kc ??= import("@kubernetes/client-node").then(({ KubeConfig }) => {
      const config = new KubeConfig();
      config.loadFromString(plugin.text);
      config.setCurrentContext(plugin.context);
      (config as unknown as { makePathsAbsolute(root: string): void }).makePathsAbsolute(plugin.dir);
      return config;
    });
    const options = await (await kc).applyToFetchOptions({});
    return (options.headers as Headers | undefined)?.get("authorization") ?? undefined;
  };
}

/** A token file, read again at most once a minute (projected service-account tokens rotate). */
function tokenFileReader(path: string): () => Promise<string> {
  let cached: { token: string; at: number } | undefined;
  return async () => {
    if (!cached || Date.now() - cached.at > 60_000) {
      cached = { token: (await Deno.readTextFile(path)).trim(), at: Date.now() };
    }
    return cached.token;
  };
}

/**
 * One request's signal: the caller's, and a deadline of `timeoutMs` over the whole exchange (the
 * answer's body included). A timer cleared when the request ends, not `AbortSignal.timeout`: those
 * live for their whole timeout, each request's signals with them, so a stage's thousands of writes
 * filled the old generation with signals long done with (and V8 grew the heap for them).
 */
function requestDeadline(
  outer: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal | undefined; clear: () => void } {
  if (!timeoutMs) return { signal: outer, clear: () => {} };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("The request timed out.", "TimeoutError")),
    timeoutMs,
  );
  const forward = () => controller.abort(outer!.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener("abort", forward, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", forward);
    },
  };
}

/** Creates a client for one resolved kubeconfig context; requests go through Deno's native fetch. */
export function createKubeClient(access: ClusterAccess, options: CreateKubeClientOptions = {}): KubeClient {
  const name = options.name ?? access.contextName;
  if (access.skipTlsVerify) {
    throw new InvalidInputError(
      `Cluster "${name}" sets insecure-skip-tls-verify, which dr-syncer refuses: give the cluster's CA certificate instead`,
    );
  }
  const server = access.server;
  const staticHeaders = new Headers({ accept: "application/json" });
  try {
    if (access.token) staticHeaders.set("authorization", `Bearer ${access.token}`);
    else if (access.basicAuth) {
      const pair = new TextEncoder().encode(`${access.basicAuth.username}:${access.basicAuth.password}`);
      staticHeaders.set("authorization", `Basic ${btoa(String.fromCharCode(...pair))}`);
    }
    if (access.impersonate) staticHeaders.set("impersonate-user", access.impersonate);
  } catch (error) {
    // the header's value is the credential: say nothing of it
    throw new InvalidInputError(
      `Cannot use the credentials of cluster "${name}": they cannot be sent as an HTTP header ` +
        "(a line break or another control character?)",
      { cause: error },
    );
  }
  let httpClient: Deno.HttpClient;
  try {
    httpClient = Deno.createHttpClient({
      ...(access.caPem ? { caCerts: [access.caPem] } : {}),
      ...(access.certPem && access.keyPem ? { cert: access.certPem, key: access.keyPem } : {}),
      poolMaxIdlePerHost: 64,
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(
      `Cannot use the certificates or key of cluster "${name}": ${redactSecrets(detail).slice(0, 300)}`,
      { cause: error },
    );
  }
  const plugin = access.pluginAuth ? pluginAuthorization(access.pluginAuth) : undefined;
  const tokenFile = !access.token && access.tokenFile ? tokenFileReader(access.tokenFile) : undefined;
  const contextNamespace = access.namespace;
  const stats = newRequestStats();
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const where = { cluster: name, server };

  async function headersFor(req: KubeRequest): Promise<Headers> {
    const headers = new Headers(staticHeaders);
    const auth = plugin ? await plugin() : tokenFile ? `Bearer ${await tokenFile()}` : undefined;
    if (auth) headers.set("authorization", auth);
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

  async function send(req: KubeRequest, signal: AbortSignal | undefined): Promise<Response> {
    stats.total++;
    stats.byMethod[req.method]++;
    if (req.method !== "GET") stats.writes++;
    let headers: Headers;
    try {
      headers = await headersFor(req); // a failing credential plugin is not "unreachable"
    } catch (error) {
      const detail = error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
      throw new ClusterCredentialsError(name, detail, { cause: error });
    }
    let response: Response;
    try {
      response = await fetch(urlFor(req), {
        method: req.method,
        headers,
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        ...(signal ? { signal } : {}),
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
      const deadline = requestDeadline(req.signal, req.timeoutMs ?? defaultTimeoutMs);
      try {
        const response = await send(req, deadline.signal);
        try {
          const text = await response.text();
          return (text === "" ? undefined : JSON.parse(text)) as T;
        } catch (error) {
          throw normaliseKubeError(error, where);
        }
      } finally {
        deadline.clear();
      }
    },
    async stream(req: KubeRequest): Promise<ReadableStream<string>> {
      // a stream's deadline (when it has one) lasts as long as the stream: nothing clears it
      const signals = [req.signal, req.timeoutMs ? AbortSignal.timeout(req.timeoutMs) : undefined].filter(
        (s): s is AbortSignal => s !== undefined,
      );
      const response = await send(
        req,
        signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      );
      if (!response.body) throw new ClusterUnreachableError(name, server, "the response has no body");
      let buffered = "";
      const lines = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
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
      const signal = req.signal;
      if (!signal) return lines;
      // once the headers are in, aborting the request does not end a read of the body: end it here
      const reader = lines.getReader();
      return new ReadableStream<string>({
        start(controller) {
          const stop = () => {
            reader.cancel(signal.reason).catch(() => {});
            try {
              controller.error(signal.reason);
            } catch {
              // already closed
            }
          };
          if (signal.aborted) stop();
          else signal.addEventListener("abort", stop, { once: true });
        },
        async pull(controller) {
          const { value, done } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
    },
    close() {
      httpClient.close();
    },
  };
}
