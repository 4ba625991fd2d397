/**
 * The HTTP app (Hono) over the runtime: the trigger routes of the operations, the runs, the
 * replications' status, health, readiness, metrics and the status page. Handlers are written
 * inline after their route; errors reach the one `onError`, which answers from `errorOutcome`.
 *
 * `createApp(runtime, { operations: ["stage"] })` is the app of one function (the per-operation
 * modules `*_function.ts`); the combined runtime mounts them all.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorMessage, errorOutcome, InvalidInputError, NotFoundError } from "../../shared/errors.ts";
import { RUN_ID } from "../../shared/runs/mod.ts";
import { OPERATIONS, READ_SCOPE, scopesNeeded } from "../operations/mod.ts";
import type { Runtime } from "../runtime/mod.ts";
import {
  authorize,
  type AuthorizeOptions,
  type AuthVariables,
  forbidden,
  missingScopes,
} from "./authorize.ts";
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
  /**
   * A request that writes must come from the same origin (a browser names it in Origin and
   * Sec-Fetch-Site), never cross-site, and its body must be JSON: with Bearer tokens only (Basic is
   * for reading the page), no cross-site form or text/plain request can trigger anything.
   */
  const sameOriginJson: MiddlewareHandler<Env> = async (c, next) => {
    const origin = c.req.header("origin");
    const own = new URL(c.req.url).origin;
    const site = c.req.header("sec-fetch-site");
    if (
      (origin !== undefined && origin !== own) ||
      (site !== undefined && site !== "same-origin" && site !== "none")
    ) {
      return c.json({
        error: `Cross-origin request refused (Origin ${
          JSON.stringify((origin ?? site ?? "").slice(0, 100))
        })`,
        code: "forbidden",
      }, 403);
    }
    const type = c.req.header("content-type");
    const length = c.req.header("content-length");
    const hasBody = (length !== undefined && length !== "0") ||
      c.req.header("transfer-encoding") !== undefined;
    if ((hasBody || type !== undefined) && !/^application\/json\s*(;|$)/i.test(type ?? "")) {
      return c.json(
        {
          error: "A request body must be JSON (Content-Type: application/json)",
          code: "unsupported-media-type",
        },
        415,
      );
    }
    await next();
  };

  /** A route's replication is its `:name`. */
  const byName: AuthorizeOptions = { replication: (c) => c.req.param("name") };

  app.use("*", async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    c.header("cache-control", c.res.headers.get("cache-control") ?? "no-store");
    if ((c.res.headers.get("content-type") ?? "").startsWith("text/html")) {
      c.header(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      c.header("x-frame-options", "DENY");
    }
  });

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
    app.post(
      `/v1/replications/:name/${operation.name}`,
      authorize(tokens, operation.name, byName),
      sameOriginJson,
      async (c) => {
        const replication = runtime.replication(c.req.param("name"));
        const request = parseTriggerRequest(operation, await c.req.text(), c.req.header("idempotency-key"));
        const principal = c.get("principal");
        const missing = missingScopes(principal, scopesNeeded(operation, request.options));
        if (missing.length > 0) {
          return forbidden(
            c,
            principal,
            missing,
            `send ${
              Object.keys(request.options).filter((key) => request.options[key] !== false).join(", ")
            }: it needs the scope${missing.length > 1 ? "s" : ""} ${missing.map((s) => `"${s}"`).join(", ")}`,
          );
        }
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
          principal: principal.name,
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
      },
    );
  }

  app.get("/v1/runs/:id", authorize(tokens, undefined), async (c) => {
    const id = c.req.param("id");
    if (!RUN_ID.test(id)) throw new InvalidInputError(`"${id.slice(0, 80)}" is not a run id (a UUID)`);
    const record = await runtime.runs.find(id);
    if (!record) {
      throw new NotFoundError(`No run "${id}" (run records are kept for the last runs of each replication)`);
    }
    const principal = c.get("principal");
    if (!principal.covers(record.replication)) {
      throw new NotFoundError(`No run "${id}" (run records are kept for the last runs of each replication)`);
    }
    if (!principal.operations.has(READ_SCOPE) && !principal.operations.has(record.operation)) {
      return forbidden(c, principal, [READ_SCOPE]);
    }
    return c.json(record);
  });

  if (options.statusRoutes ?? true) {
    const metricsAuth = runtime.config.runtime.protectMetrics
      ? authorize<Env>(tokens, READ_SCOPE)
      : (async (_c, next) => await next()) satisfies MiddlewareHandler<Env>;
    app.get("/metrics", metricsAuth, async (c) => {
      const now = Date.now();
      const [statuses, agents] = await Promise.all([runtime.status.all(), runtime.agentPods()]);
      for (const s of statuses) {
        const lock = s.lock;
        const alive = lock?.renewedAt !== undefined &&
          Date.parse(lock.renewedAt) + lock.leaseSeconds * 1000 > now;
        const since = lock?.acquiredAt === undefined ? NaN : Date.parse(lock.acquiredAt);
        runtime.metrics.setReplication({
          replication: s.name,
          lastSuccess: s.lastSuccess,
          rpoRatio: s.rpo.ratio,
          rpoSeconds: s.rpo.ageSeconds,
          activeSide: s.activeSide ?? undefined,
          lockHeldSeconds: alive && !Number.isNaN(since) ? Math.max(0, (now - since) / 1000) : 0,
        });
      }
      for (const [cluster, pods] of agents) runtime.metrics.setAgentPods(cluster, pods.ready, pods.notReady);
      return c.text(await runtime.metrics.metrics(), 200, { "content-type": runtime.metrics.contentType });
    });

    const covered = async (principal: AuthVariables["principal"]) =>
      (await runtime.status.all()).filter((s) => principal.covers(s.name));

    app.get("/v1/replications", authorize(tokens, READ_SCOPE), async (c) => {
      return c.json({ replications: await covered(c.get("principal")), config: runtime.configState.status });
    });

    app.get("/v1/replications/:name", authorize(tokens, READ_SCOPE, byName), async (c) => {
      return c.json(await runtime.status.of(runtime.replication(c.req.param("name"))));
    });

    app.get("/", authorize(tokens, READ_SCOPE, { browser: true }), async (c) => {
      const statuses = await covered(c.get("principal"));
      return c.html(
        statusPage({
          statuses,
          now: new Date(),
          refreshSeconds: options.pageRefreshSeconds ?? 10,
          configError: runtime.configState.status.error,
        }),
      );
    });

    app.get("/runs/:id", authorize(tokens, READ_SCOPE, { browser: true }), async (c) => {
      const id = c.req.param("id");
      const record = RUN_ID.test(id) ? await runtime.runs.find(id) : undefined;
      if (!record || !c.get("principal").covers(record.replication)) {
        throw new NotFoundError(`No run "${id.slice(0, 80)}"`);
      }
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
