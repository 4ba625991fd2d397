import { isRetryable, KubeApiError } from "../kube/kube_api_error.ts";

export interface RetryOptions {
  /** Total tries, the first included (default 6). */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly retryable?: (error: unknown) => boolean;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Called before each pause with the try that failed (1-based) and the pause. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, retrying errors that `retryable` accepts (default: 409 Conflict,
 * 429 and 5xx) with exponential backoff and full jitter; a server's Retry-After is a floor.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  const retryable = options.retryable ?? isRetryable;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !retryable(error)) throw error;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      const floor = error instanceof KubeApiError && error.retryAfterSeconds
        ? Math.min(max, error.retryAfterSeconds * 1000)
        : 0;
      const delay = Math.max(floor, Math.round(random() * ceiling));
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
