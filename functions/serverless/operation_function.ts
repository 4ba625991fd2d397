/**
 * One operation deployed alone, as a function for a serverless Deno host (or `deno serve`): `{ fetch }`
 * as the module's default export, configured by the environment only. The runtime is built on the first
 * request or schedule tick from `DR_SYNCER_CONFIG` (a file) or `DR_SYNCER_CONFIG_YAML` (the config's text)
 * and the environment, as `serve` builds it; the app mounts the operation's trigger route,
 * `GET /v1/runs/{id}`, `/healthz` and `/readyz`. A runtime that cannot be built answers 503 (why is logged,
 * not served), and is tried again at the next request.
 *
 * The schedules: `operationFunction` registers the one Deno.cron tick (`dr-syncer-tick`) when the module
 * is evaluated (at its top level, where a host collects cron registrations), and the tick runs the due
 * jobs of this operation (the stage module the stage schedules, the pvc-sync module the PVC schedules).
 */
import { createJsonLogger } from "../../shared/log/mod.ts";
import { registerScheduleTick, runDueJobs, setScheduleHandler } from "../cron/schedule_tick.ts";
import { createApp } from "../http/create_app.ts";
import { type Runtime, runtimeFromEnv } from "../runtime/mod.ts";

/** One operation's module for `deno serve`: its default export. */
export interface FunctionModule {
  fetch(request: Request): Promise<Response>;
}

/** The operations whose jobs run on a schedule. */
const SCHEDULED = new Set(["stage", "pvc-sync"]);

export function operationFunction(
  operation: string,
  readEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): FunctionModule {
  const logger = createJsonLogger({
    write: (line) => Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`)),
  }).child({ function: operation });
  let runtime: Promise<Runtime> | undefined;
  const runtimeNow = () => {
    runtime ??= runtimeFromEnv({ readEnv, logger }).then(({ runtime }) => runtime);
    runtime.catch(() => runtime = undefined); // tried again next time
    return runtime;
  };
  let app: Promise<{ fetch(request: Request): Response | Promise<Response> }> | undefined;
  const build = async () => createApp(await runtimeNow(), { operations: [operation], statusRoutes: false });

  if (SCHEDULED.has(operation)) {
    registerScheduleTick({ stopOnSignals: true });
    let last: Date | undefined;
    setScheduleHandler(async (at) => {
      const previous = last;
      last = at;
      try {
        await runDueJobs(await runtimeNow(), at, previous, (job) => job.operation === operation);
      } catch (error) {
        logger.error("the schedule tick could not run", { error });
      }
    });
  }

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
