/**
 * One operation deployed alone, as a function: `{ fetch }` for `deno serve`. The runtime is built
 * on the first request from `DR_SYNCER_CONFIG` and the environment (as `serve` builds it), and the
 * app mounts the operation's trigger route, `GET /v1/runs/{id}`, `/healthz` and `/readyz`. A
 * runtime that cannot be built answers 503 (why is logged, not served), and is tried again at the
 * next request.
 */
import { createJsonLogger } from "../../shared/log/mod.ts";
import { runtimeFromEnv } from "../runtime/mod.ts";
import { createApp } from "./create_app.ts";

/** One operation's module for `deno serve`: its default export. */
export interface FunctionModule {
  fetch(request: Request): Promise<Response>;
}

export function operationFunction(
  operation: string,
  readEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): FunctionModule {
  let app: Promise<{ fetch(request: Request): Response | Promise<Response> }> | undefined;
  const logger = createJsonLogger({
    write: (line) => Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`)),
  }).child({ function: operation });
  const build = async () => {
    const { runtime } = await runtimeFromEnv({ readEnv, logger });
    return createApp(runtime, { operations: [operation], statusRoutes: false });
  };
  return {
    async fetch(request) {
      app ??= build();
      try {
        return await (await app).fetch(request);
      } catch (error) {
        app = undefined;
        // the reason goes to the log: the answer goes to anyone who asks
        logger.error("the function could not start", { error });
        return Response.json(
          { error: "The function could not start; its log says why", code: "unavailable" },
          { status: 503, headers: { "retry-after": "5" } },
        );
      }
    },
  };
}
