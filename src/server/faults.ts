import { mulberry32 } from "../random.js";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http.js";

/**
 * Fault switches, for tests and rehearsals: they make the local server misbehave the way real APIs do. All are
 * off by default and can be changed while the server runs (`server.faults`).
 */
export interface Faults {
  /** Delay every response by this many milliseconds. */
  latencyMs?: number;
  /** Answer this fraction (0–1) of requests with `failStatus`. */
  failRate?: number;
  /** The status of `failRate` failures: 500 or 503 (default 503). */
  failStatus?: 500 | 503;
  /** Answer 429 to bursts of this many consecutive requests… */
  rateLimitBurst?: number;
  /** …one burst every this many requests (default 10). */
  rateLimitEvery?: number;
  /** Answer this fraction (0–1) of requests with 429. */
  rateLimitRate?: number;
  /** The `Retry-After` of 429 answers, in seconds (default 1; sent as `retry-after-ms` too)… */
  retryAfterSeconds?: number;
  /** …or in milliseconds (`retry-after-ms` exactly, `Retry-After` rounded up to whole seconds). */
  retryAfterMs?: number;
  /** Reset the connection after this many bytes of an upload's body… */
  resetAfterBytes?: number;
  /** …for this many uploads (default 1; each reset counts one down). */
  resetCount?: number;
  /**
   * Answer uploads (`POST /v1/files`, an upload's completion, the `GET /v1/files/{id}` that follows Together's PUT)
   * with a file object that lies, while the file is stored
   * all the same: `empty` answers `{}`, `bytes` another size, `filename` another name, `purpose` another purpose,
   * `id` a number for an id…
   */
  lie?: "empty" | "bytes" | "filename" | "purpose" | "id";
  /** …for this many answers (default: every one; each lie counts one down). */
  lieCount?: number;
  /** Answer 410 Gone on Mistral's fine-tuning job routes, as Mistral's public API does since mid-2026. */
  retireJobs?: boolean;
  /** Seed of the random draws for the fractions (default 1): the same seed, the same failures. */
  seed?: number;
}

/** Decides, per request, which fault applies. */
export class FaultInjector {
  private requests = 0;
  /** Requests whose connection a reset cut. */
  private readonly cut = new WeakSet<IncomingMessage>();
  private random: () => number;
  private seed: number | undefined;

  constructor(readonly faults: Faults) {
    this.random = mulberry32(faults.seed ?? 1);
    this.seed = faults.seed;
  }

  /** The fault to answer this request with, if any (counted per API request). */
  before(): HttpError | undefined {
    const f = this.faults;
    if (f.seed !== this.seed) {
      this.seed = f.seed;
      this.random = mulberry32(f.seed ?? 1);
    }
    const n = this.requests++;
    const retryAfterMs = f.retryAfterMs ?? (f.retryAfterSeconds ?? 1) * 1000;
    const limited = () =>
      new HttpError(429, "Too Many Requests: rate limit exceeded (ftprep fault switch)", {
        type: "rate_limit_error",
        headers: { "retry-after": String(Math.ceil(retryAfterMs / 1000)), "retry-after-ms": String(Math.round(retryAfterMs)) },
      });
    if (f.rateLimitBurst && f.rateLimitBurst > 0) {
      const every = Math.max(1, f.rateLimitEvery ?? 10);
      if (n % (f.rateLimitBurst + every) < f.rateLimitBurst) return limited();
    }
    if (f.rateLimitRate && this.random() < f.rateLimitRate) return limited();
    if (f.failRate && this.random() < f.failRate) {
      const status = f.failStatus ?? 503;
      return new HttpError(status, status === 503 ? "Service Unavailable (ftprep fault switch)" : "Internal Server Error (ftprep fault switch)");
    }
    return undefined;
  }

  /** The file object to answer an upload with: the true one, or the lie the switches ask for. */
  uploadAnswer(file: Record<string, unknown>): Record<string, unknown> {
    const f = this.faults;
    if (!f.lie || (f.lieCount !== undefined && f.lieCount <= 0)) return file;
    if (f.lieCount !== undefined) f.lieCount--;
    switch (f.lie) {
      case "empty":
        return {};
      case "bytes":
        return { ...file, bytes: Number(file.bytes) + 1 };
      case "filename":
        return { ...file, filename: `other-${String(file.filename)}` };
      case "purpose":
        return { ...file, purpose: "batch" };
      case "id":
        return { ...file, id: 42 };
    }
  }

  /**
   * Arms a connection reset on an upload's body while resets are due: the socket is destroyed once the body passes
   * `resetAfterBytes`, and that reset is one of `resetCount`. An upload that ends before the limit uses none of them
   * (else which of several concurrent uploads was reset hung on the order they arrived in). The chunk that crosses
   * the limit may hold the rest of the body, which the server has then read in full: the upload handlers ask
   * `wasReset` and keep nothing of a request cut so, as a server whose connection broke mid-body would.
   */
  watchUpload(req: IncomingMessage): void {
    const f = this.faults;
    if (!f.resetAfterBytes || (f.resetCount ?? 1) <= 0) return;
    const limit = f.resetAfterBytes;
    let seen = 0;
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen < limit) return;
      req.off("data", onData);
      if ((f.resetCount ?? 1) <= 0) return;
      f.resetCount = (f.resetCount ?? 1) - 1;
      this.cut.add(req);
      req.socket.destroy();
    };
    req.on("data", onData);
  }

  /** Whether a reset cut this request's body (its upload must not be stored). */
  wasReset(req: IncomingMessage): boolean {
    return this.cut.has(req);
  }
}

export { mulberry32 };
