/**
 * Bearer-token authorization of the HTTP routes: `Authorization: Bearer <token>` (or, for the
 * page in a browser, Basic with the token as the password), checked in constant time against the
 * configured tokens; a token must list the operation a route runs (`read` for the GET routes).
 * Missing or unknown: 401; known but not allowed: 403. Answered here, before any handler runs.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Principal, TokenVerifier } from "../../shared/credentials/mod.ts";

export interface AuthVariables {
  principal: Principal;
}

/** The token of an Authorization header, or `undefined` when there is none or it is malformed. */
export function presentedToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(Bearer|Basic)[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) return undefined;
  const [, scheme, value] = match;
  if (scheme!.toLowerCase() === "bearer") return value;
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

/** The 403 answer for a principal that may not do `scope`. */
export function forbidden(c: Context, principal: Principal, scope: string): Response {
  return c.json({
    error: `Token "${principal.name}" may not ${scope === "read" ? "read" : `run ${scope}`} (it may: ${
      [...principal.operations].join(", ")
    })`,
    code: "forbidden",
  }, 403);
}

export interface AuthorizeOptions {
  /** Ask a browser for the token (Basic) on 401, for the HTML pages. */
  readonly browser?: boolean;
}

/**
 * Lets a request through when it presents a token allowed `scope` (read from the request, e.g. the
 * operation in the path; `undefined`: any known token, the handler decides).
 */
export function authorize<E extends { Variables: AuthVariables }>(
  tokens: TokenVerifier,
  scope: string | ((c: Context<E>) => string | undefined) | undefined,
  options: AuthorizeOptions = {},
): MiddlewareHandler<E> {
  return async (c, next) => {
    const token = presentedToken(c.req.header("authorization"));
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
    if (needed !== undefined && !principal.operations.has(needed)) return forbidden(c, principal, needed);
    c.set("principal", principal);
    await next();
  };
}
