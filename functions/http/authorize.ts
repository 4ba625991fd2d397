/**
 * Authorization of the HTTP routes. A token is presented as `Authorization: Bearer <token>`; a
 * browser reading the page may present it as the password of Basic authentication, on GET only (a
 * browser sends cached Basic credentials with a cross-site request by itself; it never adds a Bearer
 * header). Tokens are checked in constant time against the configured ones; a token must hold the
 * scope the route needs (`read` for the GET routes, the operation for a trigger, and the scope of each
 * option that lifts a safety refusal) and cover the replication it names. Missing or unknown: 401;
 * known but not allowed: 403 naming the missing scope or the replication. Answered here, before any
 * handler runs; the option scopes once the body is parsed (`missingScopes`).
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Principal, TokenVerifier } from "../../shared/credentials/mod.ts";
import { OPERATION_NAMES, READ_SCOPE } from "../operations/mod.ts";

export interface AuthVariables {
  principal: Principal;
}

/** The token of an Authorization header, or `undefined` when there is none, it is malformed, or Basic is not allowed. */
export function presentedToken(header: string | undefined, allowBasic = true): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(Bearer|Basic)[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) return undefined;
  const [, scheme, value] = match;
  if (scheme!.toLowerCase() === "bearer") return value;
  if (!allowBasic) return undefined;
  try {
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(value!), (c) => c.charCodeAt(0)),
    );
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  } catch {
    return undefined;
  }
}

/** The 403 answer for a principal that lacks `scopes` (named in the message and the body). */
export function forbidden(
  c: Context,
  principal: Principal,
  scopes: readonly string[],
  why?: string,
): Response {
  const what = why ??
    (scopes.length === 1 && scopes[0] === READ_SCOPE
      ? "read"
      : scopes.length === 1 && OPERATION_NAMES.includes(scopes[0]!)
      ? `run ${scopes[0]}`
      : `use the scope${scopes.length > 1 ? "s" : ""} ${scopes.map((s) => `"${s}"`).join(", ")}`);
  return c.json({
    error: `Token "${principal.name}" may not ${what} (it may: ${[...principal.operations].join(", ")})`,
    code: "forbidden",
  }, 403);
}

/** The 403 answer for a principal whose token does not cover the replication `name`. */
export function notCovered(c: Context, principal: Principal, name: string): Response {
  return c.json({
    error: `Token "${principal.name}" does not cover replication "${name.slice(0, 80)}" (it covers: ${
      principal.replications.join(", ")
    })`,
    code: "forbidden",
  }, 403);
}

export interface AuthorizeOptions {
  /** Ask a browser for the token (Basic) on 401, for the HTML pages. */
  readonly browser?: boolean;
  /** The route's replication (from its path): the token must cover it. */
  readonly replication?: (c: Context) => string | undefined;
}

/**
 * Lets a request through when it presents a token with `scope` (read from the request, e.g. the
 * operation in the path; `undefined`: any known token, the handler decides) that covers the route's
 * replication.
 */
export function authorize<E extends { Variables: AuthVariables }>(
  tokens: TokenVerifier,
  scope: string | ((c: Context<E>) => string | undefined) | undefined,
  options: AuthorizeOptions = {},
): MiddlewareHandler<E> {
  return async (c, next) => {
    const method = c.req.method;
    const token = presentedToken(c.req.header("authorization"), method === "GET" || method === "HEAD");
    const principal = token === undefined ? undefined : await tokens.verify(token);
    if (!principal) {
      const challenge = options.browser
        ? 'Basic realm="dr-syncer", charset="UTF-8"'
        : 'Bearer realm="dr-syncer"';
      return c.json(
        {
          error: token === undefined
            ? "Missing bearer token (Authorization: Bearer <token>)"
            : "Unknown token",
          code: "unauthorized",
        },
        401,
        { "www-authenticate": challenge },
      );
    }
    const needed = typeof scope === "function" ? scope(c) : scope;
    if (needed !== undefined && !principal.operations.has(needed)) return forbidden(c, principal, [needed]);
    const replication = options.replication?.(c);
    if (replication !== undefined && !principal.covers(replication)) {
      return notCovered(c, principal, replication);
    }
    c.set("principal", principal);
    await next();
  };
}

/** The scopes of `needed` a principal lacks. */
export function missingScopes(principal: Principal, needed: readonly string[]): string[] {
  return needed.filter((scope) => !principal.operations.has(scope));
}
