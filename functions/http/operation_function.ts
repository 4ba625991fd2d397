/**
 * One operation deployed alone, as a function: `{ fetch }` for `deno serve`. The runtime is built
 * on the first request from `DR_SYNCER_CONFIG` and the environment (as `serve` builds it), and the
 * app mounts the operation's trigger route, `GET /v1/runs/{id}`, `/healthz` and `/readyz`. A
 * runtime that cannot be built answers 503 with why, and is tried again at the next request.
 */
import { errorMessage } from "../../shared/errors.ts";
import { createJsonLogger } from "../../shared/log/mod.ts";
import type { OperationName } from "../serve/run_operation_request.ts";
import { runtimeFromEnv } from "../serve/runtime_from_env.ts";
import { createApp } from "./create_app.ts";

export interface OperationFunction {
  fetch(request: Request): Promise<Response>;
}

export function operationFunction(
  operation: OperationName,
  readEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): OperationFunction {
  let app: Promise<{ fetch(request: Request): Response | Promise<Response> }> | undefined;
  const build = async () => {
    const logger = createJsonLogger({
      write: (line) => Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`)),
    }).child({ function: operation });
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
        return Response.json({ error: errorMessage(error), code: "unavailable" }, { status: 503 });
      }
    },
  };
}
