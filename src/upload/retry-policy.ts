import { FtprepError } from "../errors.js";
import { ApiError } from "../providers/errors.js";

/** How failed requests are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 6). */
  maxAttempts: number;
  /** The first wait; each later one doubles (default 500 ms)… */
  baseDelayMs: number;
  /** …up to this (default 8 s). */
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this (default 60 s); a longer one ends the retries. */
  maxRetryAfterMs: number;
  /** No retry starts once this much time has passed since the first attempt (default 5 min). */
  maxTotalMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 60_000,
  maxTotalMs: 5 * 60_000,
};

/** Statuses worth another attempt: timeouts, conflicts (a concurrent change), rate limits, server errors. */
const RETRY_STATUSES = new Set([408, 409, 429]);

/**
 * Whether a failure may pass on its own: 408, 409, 429, 5xx, connection failures and timeouts. Never 400, 401,
 * 403, 404, 413, 422 (the request itself is wrong; sending it again cannot help) nor a cancellation.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ApiError) return RETRY_STATUSES.has(error.status) || error.status >= 500;
  return error instanceof FtprepError && (error.code === "ERR_CONNECTION" || error.code === "ERR_TIMEOUT");
}

/**
 * The wait before attempt `attempt + 1`, after `attempt` failed attempts, or undefined when there must be no
 * further attempt. A pure function: the server's Retry-After wins when it gives one (up to `maxRetryAfterMs`);
 * otherwise exponential backoff from `baseDelayMs`, capped at `maxDelayMs`, less up to 25% jitter (`random` in
 * [0, 1)) so that concurrent clients do not retry in step. `elapsedMs` is the time since the first attempt.
 */
export function retryDelay(attempt: number, error: unknown, elapsedMs: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random: () => number = Math.random): number | undefined {
  if (!isRetryable(error) || attempt >= policy.maxAttempts) return undefined;
  let delay: number;
  const asked = error instanceof ApiError ? error.retryAfterMs : undefined;
  if (asked !== undefined) {
    if (asked > policy.maxRetryAfterMs) return undefined;
    delay = asked;
  } else {
    const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    delay = backoff * (1 - 0.25 * random());
  }
  if (elapsedMs + delay > policy.maxTotalMs) return undefined;
  return Math.round(delay);
}
