import { delay } from "../async/delay.ts";
import { isRetryable, KubeApiError } from "./kube_api_error.ts";

export interface RetryOptions {
  /** Total tries, the first included (default 6; a whole number >= 1). */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly retryable?: (error: unknown) => boolean;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Called before each pause with the try that failed (1-based) and the pause. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops the retries: a pause ends at once and the signal's reason is thrown. */
  readonly signal?: AbortSignal | undefined;
  /**
   * A server that throttles (429) is asking to slow down, not failing: those tries do not count against
   * `attempts`, until their pauses add up to this (default 300 s).
   */
  readonly throttleBudgetMs?: number;
}

function checkOptions(attempts: number, base: number, max: number): void {
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`Retry attempts must be a whole number >= 1, not ${attempts}`);
  }
  if (!(base >= 0) || !(max >= 0)) throw new RangeError(`Retry delays must be >= 0, not ${base} and ${max}`);
}

/**
 * Runs `fn` until it succeeds, retrying errors that `retryable` accepts (default: 409 Conflict,
 * 429 and 5xx) with exponential backoff and full jitter; a server's Retry-After is a floor. When
 * the tries run out, the last error is thrown as it is (callers branch on its type). An aborted
 * `signal` ends the pauses at once and throws its reason.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  checkOptions(attempts, base, max);
  const retryable = options.retryable ?? isRetryable;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, { signal }));
  const random = options.random ?? Math.random;
  const signal = options.signal;
  let throttledMs = 0;
  let counted = 0;
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const throttled = error instanceof KubeApiError && error.status === 429 &&
        throttledMs < (options.throttleBudgetMs ?? 300_000);
      if (!throttled) counted++;
      if (counted >= attempts || !retryable(error)) throw error;
      const ceiling = Math.min(max, base * 2 ** (Math.min(attempt, 16) - 1));
      const floor = error instanceof KubeApiError && error.retryAfterSeconds
        ? Math.min(max, error.retryAfterSeconds * 1000)
        : 0;
      const pause = Math.max(floor, Math.round(random() * ceiling));
      if (throttled) throttledMs += pause;
      options.onRetry?.(error, attempt, pause);
      await sleep(pause, signal);
    }
  }
}
