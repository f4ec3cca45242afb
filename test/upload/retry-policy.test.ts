import { describe, expect, it } from "vitest";
import { AbortedError } from "../../src/errors.js";
import { apiError, ConnectionError } from "../../src/providers/errors.js";
import { retryAfterMs, serverMessage } from "../../src/providers/http.js";
import { DEFAULT_RETRY_POLICY, isRetryable, retryDelay } from "../../src/upload/retry-policy.js";

const req = { method: "POST", url: "http://127.0.0.1/v1/files" };
const status = (s: number, retryAfter?: number) => apiError(s, req, "msg", undefined, retryAfter);

describe("retry policy", () => {
  it("retries 408, 409, 429, 5xx, connection failures; never 400, 401, 403, 404, 413, 422 or a cancellation", () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504]) expect(isRetryable(status(s))).toBe(true);
    for (const s of [400, 401, 403, 404, 410, 413, 422]) expect(isRetryable(status(s))).toBe(false);
    expect(isRetryable(new ConnectionError(req, new Error("ECONNRESET")))).toBe(true);
    expect(isRetryable(new AbortedError())).toBe(false);
    expect(isRetryable(new Error("bug"))).toBe(false);
  });

  it("backs off exponentially, capped per wait, with up to 25% jitter subtracted", () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, status(503), 0, DEFAULT_RETRY_POLICY, none))).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(retryDelay(5, status(503), 0, { ...DEFAULT_RETRY_POLICY, maxAttempts: 10 }, none)).toBe(8000);
    expect(retryDelay(6, status(503), 0, { ...DEFAULT_RETRY_POLICY, maxAttempts: 10 }, none)).toBe(8000);
    expect(retryDelay(1, status(503), 0, DEFAULT_RETRY_POLICY, () => 0.999)).toBe(375);
  });

  it("honours the server's Retry-After, up to a cap", () => {
    expect(retryDelay(1, status(429, 2500), 0)).toBe(2500);
    expect(retryDelay(1, status(429, 120_000), 0)).toBeUndefined();
  });

  it("stops after the last attempt and when the total time would pass its cap", () => {
    expect(retryDelay(DEFAULT_RETRY_POLICY.maxAttempts, status(503), 0)).toBeUndefined();
    expect(retryDelay(1, status(503), DEFAULT_RETRY_POLICY.maxTotalMs - 10, DEFAULT_RETRY_POLICY, () => 0)).toBeUndefined();
  });

  it("reads retry-after-ms first, then retry-after as seconds or an HTTP date", () => {
    expect(retryAfterMs({ "retry-after-ms": "150", "retry-after": "9" })).toBe(150);
    expect(retryAfterMs({ "retry-after": "2" })).toBe(2000);
    expect(retryAfterMs({ "retry-after": new Date(10_000).toUTCString() }, 4000)).toBe(6000);
    expect(retryAfterMs({})).toBeUndefined();
  });
});

describe("provider errors", () => {
  it("pick the class by status and keep status, message, request id, method and URL", () => {
    const error = apiError(429, req, "slow down", "req-1", 1000);
    expect(error.constructor.name).toBe("RateLimitError");
    expect(error.code).toBe("ERR_HTTP_429");
    expect(error.message).toBe("429 slow down (POST http://127.0.0.1/v1/files, request id req-1)");
    expect(apiError(503, req, "x", undefined, undefined).constructor.name).toBe("InternalServerError");
    expect(apiError(410, req, "x", undefined, undefined).constructor.name).toBe("GoneError");
  });

  it("read the server's message from either API's error body", () => {
    expect(serverMessage('{"error":{"message":"bad purpose","type":"x"}}', 400)).toBe("bad purpose");
    expect(serverMessage('{"detail":"No file"}', 404)).toBe("No file");
    expect(serverMessage('{"detail":[{"loc":["body","model"],"msg":"Field required"}]}', 422)).toBe("body.model: Field required");
    expect(serverMessage("", 502)).toBe("HTTP 502");
  });
});
