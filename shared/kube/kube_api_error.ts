/**
 * The one place where the shapes of failed Kubernetes API calls are normalised: HTTP error
 * responses with a `Status` body, `ApiException`s of @kubernetes/client-node, and network
 * failures of `fetch`. Callers branch on the classes and helpers here, never on messages. Every
 * message made here has its credentials redacted (`redactSecrets`): a library may quote a header
 * value it refused, token included.
 */

/** A cause inside a `Status` (for `Invalid`: which field and why). */
export interface KubeStatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

export interface KubeApiErrorInit {
  readonly status: number;
  readonly reason: string;
  readonly message: string;
  readonly kind?: string | undefined;
  readonly name?: string | undefined;
  readonly group?: string | undefined;
  readonly causes?: readonly KubeStatusCause[] | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly cluster?: string | undefined;
}

import { ClusterError, ClusterUnavailableError } from "../errors.ts";
import { redactSecrets } from "../log/redact_secrets.ts";

/** The API server answered with an error status. */
export class KubeApiError extends ClusterError {
  override readonly name = "KubeApiError";
  readonly status: number;
  readonly reason: string;
  readonly kind: string | undefined;
  readonly objectName: string | undefined;
  readonly group: string | undefined;
  readonly causes: readonly KubeStatusCause[];
  readonly retryAfterSeconds: number | undefined;
  readonly cluster: string | undefined;

  constructor(init: KubeApiErrorInit) {
    super(redactSecrets(init.message));
    this.status = init.status;
    this.reason = init.reason;
    this.kind = init.kind;
    this.objectName = init.name;
    this.group = init.group;
    this.causes = init.causes ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.cluster = init.cluster;
  }
}

/** The API server could not be reached at all (refused, reset, DNS, TLS, timeout). */
export class ClusterUnreachableError extends ClusterUnavailableError {
  override readonly name = "ClusterUnreachableError";
  readonly cluster: string;
  readonly server: string;

  constructor(cluster: string, server: string, detail: string, options?: ErrorOptions) {
    super(`Cannot reach cluster "${cluster}" at ${server}: ${redactSecrets(detail)}`, options);
    this.cluster = cluster;
    this.server = server;
  }
}

/** The credentials of a cluster could not be computed (an exec plugin or auth provider failed). */
export class ClusterCredentialsError extends ClusterError {
  override readonly name = "ClusterCredentialsError";
  constructor(readonly cluster: string, detail: string, options?: ErrorOptions) {
    super(`Cannot get credentials for cluster "${cluster}": ${redactSecrets(detail)}`, options);
  }
}

/** The cluster (dr-syncer's name for it) a client error came from, when the error says. */
export function clusterOf(error: unknown): string | undefined {
  if (error instanceof KubeApiError || error instanceof ClusterUnreachableError) return error.cluster;
  if (error instanceof ClusterCredentialsError) return error.cluster;
  return undefined;
}

const REASON_BY_STATUS: Readonly<Record<number, string>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null ? value as Record<string, unknown> : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function parseBody(body: unknown): Record<string, unknown> | undefined {
  if (typeof body === "string") {
    try {
      return asRecord(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  return asRecord(body);
}

/** Builds a `KubeApiError` from an HTTP status and a response body (a `Status` object or text). */
export function kubeApiErrorFromResponse(
  status: number,
  body: unknown,
  extra: { cluster?: string; retryAfter?: string | null } = {},
): KubeApiError {
  const parsed = parseBody(body);
  const details = asRecord(parsed?.details);
  const causes = Array.isArray(details?.causes)
    ? details.causes.map((c) => {
      const r = asRecord(c) ?? {};
      const cause: { reason?: string; message?: string; field?: string } = {};
      const reason = asString(r.reason), message = asString(r.message), field = asString(r.field);
      if (reason) cause.reason = reason;
      if (message) cause.message = message;
      if (field) cause.field = field;
      return cause;
    })
    : [];
  const text = typeof body === "string" ? body.trim().slice(0, 300) : "";
  const retry = extra.retryAfter ?? undefined;
  const retryFromDetails = typeof details?.retryAfterSeconds === "number"
    ? details.retryAfterSeconds
    : undefined;
  return new KubeApiError({
    status,
    reason: asString(parsed?.reason) ?? REASON_BY_STATUS[status] ?? "Unknown",
    message: asString(parsed?.message) ?? (text || `HTTP ${status}`),
    kind: asString(details?.kind),
    name: asString(details?.name),
    group: asString(details?.group),
    causes,
    retryAfterSeconds: retry && /^\d+$/.test(retry) ? Number(retry) : retryFromDetails,
    cluster: extra.cluster,
  });
}

/**
 * Turns anything thrown by a Kubernetes call into a typed error: `KubeApiError` for an error
 * status (including client-node's `ApiException`), `ClusterUnreachableError` for network
 * failures. Anything else is returned unchanged.
 */
export function normaliseKubeError(error: unknown, where: { cluster: string; server: string }): unknown {
  if (error instanceof KubeApiError || error instanceof ClusterUnreachableError) return error;
  const record = asRecord(error);
  // client-node's ApiException: { code, body, headers }
  if (error instanceof Error && record && typeof record.code === "number" && "body" in record) {
    const headers = asRecord(record.headers);
    return kubeApiErrorFromResponse(record.code, record.body, {
      cluster: where.cluster,
      retryAfter: asString(headers?.["retry-after"]) ?? null,
    });
  }
  if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) {
    const detail = error.name === "TimeoutError" ? "the request timed out" : "the request was aborted";
    return new ClusterUnreachableError(where.cluster, where.server, detail, { cause: error });
  }
  // fetch reports connection failures as TypeError (Deno: "error sending request ...: Connection refused")
  if (
    error instanceof TypeError ||
    (error instanceof Error && /ECONNREFUSED|ECONNRESET|ENOTFOUND/.test(error.message))
  ) {
    return new ClusterUnreachableError(where.cluster, where.server, networkDetail(error.message), {
      cause: error,
    });
  }
  return error;
}

function networkDetail(message: string): string {
  const m =
    /(connection refused|connection reset|certificate[^)]*|dns error[^)]*|timed out|tcp connect error[^)]*)/i
      .exec(message);
  return m?.[1] ?? message.split("\n")[0] ?? message;
}

function hasStatus(error: unknown, status: number): boolean {
  return error instanceof KubeApiError && error.status === status;
}

export const isNotFound = (error: unknown): boolean => hasStatus(error, 404);
export const isConflict = (error: unknown): boolean => hasStatus(error, 409) && !isAlreadyExists(error);
export const isAlreadyExists = (error: unknown): boolean =>
  error instanceof KubeApiError && error.status === 409 && error.reason === "AlreadyExists";
export const isInvalid = (error: unknown): boolean => hasStatus(error, 422);
export const isForbidden = (error: unknown): boolean => hasStatus(error, 403);
export const isUnauthorized = (error: unknown): boolean => hasStatus(error, 401);
export const isUnreachable = (error: unknown): boolean => error instanceof ClusterUnreachableError;

/** 409 Conflict (not AlreadyExists), 429 and 5xx: worth another try after a pause. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof KubeApiError)) return false;
  return isConflict(error) || error.status === 429 || (error.status >= 500 && error.status <= 599);
}

/**
 * A JSON patch whose `test` operation failed: the object changed under the patch (the API server
 * answers a bare 422 without field causes, unlike an admission refusal or a validation error).
 */
export function isPatchTestFailure(error: unknown): boolean {
  return isInvalid(error) && (error as KubeApiError).causes.length === 0 &&
    /rejected our request due to an error in our request/.test((error as KubeApiError).message);
}

/** An Invalid error that says a field is immutable (the apply cannot succeed without recreating). */
export function isImmutableFieldError(error: unknown): boolean {
  if (!isInvalid(error)) return false;
  const e = error as KubeApiError;
  const text = [e.message, ...e.causes.map((c) => c.message ?? "")].join(" ");
  return /immutable|may not be changed|cannot be changed|field is not allowed to change/i.test(text);
}

/** A short human description of what went wrong, for messages and reports. */
export function describeKubeError(error: unknown): string {
  if (error instanceof KubeApiError) {
    const fields = error.causes.filter((c) => c.field).map((c) =>
      `${c.field}: ${c.message ?? c.reason ?? ""}`
    );
    return fields.length > 0 ? fields.join("; ") : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
