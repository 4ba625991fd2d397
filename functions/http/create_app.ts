/**
 * The HTTP app (Hono) over the runtime: the trigger routes of the operations, the runs, the
 * replications' status, health, readiness, metrics and the status page. Handlers are written
 * inline after their route; errors reach the one `onError`, which answers from `errorOutcome`.
 *
 * `createApp(runtime, { operations: ["stage"] })` is the app of one function (the per-operation
 * modules `*_function.ts`); the combined runtime mounts them all.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorMessage, errorOutcome, InvalidInputError, NotFoundError } from "../../shared/errors.ts";
import { RUN_ID } from "../../shared/runs/mod.ts";
import { OPERATIONS, READ_SCOPE } from "../operations/mod.ts";
import type { Runtime } from "../runtime/mod.ts";
import { authorize, type AuthVariables, forbidden } from "./authorize.ts";
import { runPage } from "./run_page.tsx";
import { statusPage } from "./status_page.tsx";
import { InvalidRequestError, parseTriggerRequest } from "./trigger_request.ts";

export interface AppOptions {
  /** The names of the operations whose trigger route is mounted (default: all). */
  readonly operations?: readonly string[];
  /** Mount the status routes, the page and the metrics (default true). */
  readonly statusRoutes?: boolean;
  /** The largest request body accepted, in bytes (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** The page's refresh period (default 10 s). */
  readonly pageRefreshSeconds?: number;
}

type Env = { Variables: AuthVariables & { runId?: string } };

export function createApp(runtime: Runtime, options: AppOptions = {}): Hono<Env> {
  const app = new Hono<Env>();
  const operations = OPERATIONS.filter((o) => options.operations?.includes(o.name) ?? true);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const tokens = runtime.tokens;

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        c.json({ error: `Request body larger than ${maxBodyBytes} bytes`, code: "too-large" }, 413),
    }),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const readiness = await runtime.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });

  for (const operation of operations) {
    app.post(`/v1/replications/:name/${operation.name}`, authorize(tokens, operation.name), async (c) => {
      const replication = runtime.replication(c.req.param("name"));
      const request = parseTriggerRequest(operation, await c.req.text(), c.req.header("idempotency-key"));
      if (runtime.draining) {
        return c.json(
          { error: "The runtime is shutting down: send the request to another replica", code: "draining" },
          503,
          {
            "retry-after": "5",
          },
        );
      }
      const started = await runtime.runs.start({
        replication: replication.name,
        operation: operation.name,
        options: request.options,
        trigger: "http",
        waitForLockMs: request.waitForLockMs,
        idempotencyKey: request.idempotencyKey,
      });
      c.set("runId", started.runId);
      const headers: Record<string, string> = {
        location: `/v1/runs/${started.runId}`,
        ...(started.repeated ? { "idempotent-replayed": "true" } : {}),
      };
      const waited = AbortSignal.timeout(request.waitSeconds * 1000);
      let outcome;
      try {
        outcome = await started.finished(waited);
      } catch (error) {
        if (!waited.aborted) throw error;
        return c.json({ runId: started.runId, status: "running" }, 202, headers);
      }
      runtime.status.invalidate(replication.name);
      if (outcome.error !== undefined) throw outcome.error; // the one table answers
      const { record } = outcome;
      if (record.report) return c.json(record.report, 200, headers);
      // a repeat of a run that ended with an error: the same answer again
      return c.json(
        {
          error: record.error?.message ?? "The run failed",
          code: record.error?.code ?? "internal",
          runId: record.runId,
        },
        (record.httpStatus ?? 500) as ContentfulStatusCode,
        headers,
      );
    });
  }

  app.get("/v1/runs/:id", authorize(tokens, undefined), async (c) => {
    const id = c.req.param("id");
    if (!RUN_ID.test(id)) throw new InvalidInputError(`"${id.slice(0, 80)}" is not a run id (a UUID)`);
    const record = await runtime.runs.find(id);
    if (!record) {
      throw new NotFoundError(`No run "${id}" (run records are kept for the last runs of each replication)`);
    }
    const principal = c.get("principal");
    if (!principal.operations.has(READ_SCOPE) && !principal.operations.has(record.operation)) {
      return forbidden(c, principal, READ_SCOPE);
    }
    return c.json(record);
  });

  if (options.statusRoutes ?? true) {
    app.get("/metrics", async (c) => {
      for (const s of await runtime.status.all()) {
        runtime.metrics.setReplication({
          replication: s.name,
          lastSuccess: s.lastSuccess,
          rpoRatio: s.rpo.ratio,
          rpoSeconds: s.rpo.ageSeconds,
          activeSide: s.activeSide ?? undefined,
        });
      }
      return c.text(await runtime.metrics.metrics(), 200, { "content-type": runtime.metrics.contentType });
    });

    app.get("/v1/replications", authorize(tokens, READ_SCOPE), async (c) => {
      return c.json({ replications: await runtime.status.all() });
    });

    app.get("/v1/replications/:name", authorize(tokens, READ_SCOPE), async (c) => {
      return c.json(await runtime.status.of(runtime.replication(c.req.param("name"))));
    });

    app.get("/", authorize(tokens, READ_SCOPE, { browser: true }), async (c) => {
      const statuses = await runtime.status.all();
      return c.html(
        statusPage({ statuses, now: new Date(), refreshSeconds: options.pageRefreshSeconds ?? 10 }),
      );
    });

    app.get("/runs/:id", authorize(tokens, READ_SCOPE, { browser: true }), async (c) => {
      const id = c.req.param("id");
      const record = RUN_ID.test(id) ? await runtime.runs.find(id) : undefined;
      if (!record) throw new NotFoundError(`No run "${id.slice(0, 80)}"`);
      return c.html(runPage(record));
    });
  }

  app.notFound((c) =>
    c.json({ error: `No route for ${c.req.method} ${c.req.path.slice(0, 200)}`, code: "not-found" }, 404)
  );

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse(); // Hono's own (a malformed request)
    const { httpStatus, code } = errorOutcome(error);
    const runId = c.get("runId");
    if (httpStatus >= 500) runtime.logger.error("request failed", { path: c.req.path, code, error });
    return c.json({
      error: errorMessage(error),
      code,
      ...(runId ? { runId } : {}),
      ...(error instanceof InvalidRequestError ? { issues: error.issues } : {}),
    }, httpStatus as ContentfulStatusCode);
  });

  return app;
}
