/**
 * The HTTP app served with `Deno.serve`, as a runnable of the runtime: it starts listening when the
 * runtime starts, and stops after the runs drained (it answers, with 503 for new runs, meanwhile).
 */
import type { Runnable, Runtime } from "../runtime/mod.ts";
import { type AppOptions, createApp } from "./create_app.ts";

export interface HttpServerOptions extends AppOptions {
  readonly hostname: string;
  readonly port: number;
  readonly onListen?: (address: { hostname: string; port: number }) => void;
}

export interface HttpServer extends Runnable {
  /** Settles when the server has closed (also when it closes on its own). */
  readonly finished: Promise<void>;
}

export function httpServer(runtime: Runtime, options: HttpServerOptions): HttpServer {
  const app = createApp(runtime, options);
  let server: Deno.HttpServer | undefined;
  const finished = Promise.withResolvers<void>();
  return {
    name: "http",
    stopsAfterRuns: true,
    finished: finished.promise,
    start() {
      server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        onListen: (address) => options.onListen?.(address),
      }, app.fetch);
      server.finished.then(() => finished.resolve());
    },
    async stop() {
      await server?.shutdown();
    },
  };
}
