/**
 * The agent's health endpoint, on its own port (plain HTTP, no secrets in it):
 * - `GET /healthz`: 200 while the process serves, with the counts as JSON (liveness);
 * - `GET /readyz`: 200 while new transfers are accepted, 503 once the agent is draining (readiness).
 */

/** What the endpoint reports. */
export interface HealthStatus {
  readonly draining: boolean;
  /** Open TCP connections, of which `unauthenticated` have not logged in and `sessions` have. */
  readonly connections: number;
  readonly unauthenticated: number;
  readonly sessions: number;
  readonly transfers: number;
}

export interface HealthServerOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly status: () => HealthStatus;
}

export interface HealthServer {
  /** The port it listens on. */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the health endpoint. */
export function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }),
    }, (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== "GET" && request.method !== "HEAD") return new Response(null, { status: 405 });
      const status = options.status();
      if (path === "/healthz") return Response.json({ status: "ok", ...status });
      if (path === "/readyz") {
        return Response.json({ status: status.draining ? "draining" : "ready", ...status }, {
          status: status.draining ? 503 : 200,
        });
      }
      return new Response(null, { status: 404 });
    });
  });
}
