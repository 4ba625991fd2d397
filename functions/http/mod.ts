/** The HTTP edge: the Hono app over the runtime, its request checks, its pages, and the per-operation functions. */
export * from "./create_app.ts";
export * from "./authorize.ts";
export * from "./trigger_request.ts";
