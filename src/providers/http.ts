import type { Agent, Dispatcher } from "undici";
import { AbortedError } from "../errors.js";
import { httpParts, sendRequest } from "./undici.js";
import { apiError, ConnectionError, ProviderAnswerError, type RequestInfo, TimeoutError } from "./errors.js";
import { type FilePart, multipartBody } from "./multipart.js";
import { redact, registerSecret } from "../redact.js";

/** Options every provider client takes. */
export interface ClientOptions {
  /** The API's base URL, e.g. `https://api.mistral.ai` or `https://api.openai.com/v1`. */
  baseUrl: string;
  /** The API key; sent as `Authorization: Bearer`, never printed. */
  apiKey?: string;
  /** Milliseconds to wait for response headers (default 10 min: a large upload is one long request). */
  timeoutMs?: number;
  /** Sent as User-Agent. */
  userAgent?: string;
}

export interface RequestOptions {
  method: "GET" | "POST" | "DELETE" | "PUT";
  /** Path after the base URL, e.g. `/v1/files`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined | string[]>;
  json?: unknown;
  /** A string, bytes, a stream, or an async iterable of bytes (sent as it is pulled). */
  body?: Dispatcher.DispatchOptions["body"] | AsyncIterable<Uint8Array>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** An absolute URL sent to instead of the base URL + path (a pre-signed upload URL): it goes without the API key. */
  url?: string;
  /** Statuses besides 2xx that are an answer rather than an error (a redirect to read). */
  accept?: number[];
}

/** An answer as it came: status, headers and body text. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** Parses `retry-after-ms`, else `retry-after` (seconds or an HTTP date), into milliseconds. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
  const ms = Number(first(headers["retry-after-ms"]));
  if (first(headers["retry-after-ms"]) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const after = first(headers["retry-after"]);
  if (after === undefined) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The message a provider put in an error body: OpenAI's error.message, Mistral's detail (string or list) or message. */
export function serverMessage(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error as { message?: unknown } | undefined;
    if (error && typeof error.message === "string") return error.message;
    if (typeof body.message === "string" && body.message !== "") return body.message;
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg ?? "invalid"}`).join("; ");
    }
  } catch {
    // Not JSON: the text itself, shortened.
  }
  const trimmed = text.trim().slice(0, 300);
  return trimmed === "" ? `HTTP ${status}` : trimmed;
}

/**
 * A small HTTP client over undici for one API: JSON in and out, every non-2xx answer mapped to a typed error
 * (status, server message, request id, method, URL without secrets), connection failures to ConnectionError.
 * The response body is always consumed or cancelled.
 */
export class HttpClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly dispatcher: Agent;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    registerSecret(options.apiKey);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? "ftprep";
    this.dispatcher = new (httpParts().Agent)({ headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, keepAliveTimeout: 4000 });
  }

  /** The URL of a path, for messages: no credentials, no query. */
  describe(method: string, path: string, absolute?: string): RequestInfo {
    const url = new URL(absolute ?? this.baseUrl + path);
    url.username = "";
    url.password = "";
    return { method, url: `${url.origin}${url.pathname}` };
  }

  private url(path: string, query: RequestOptions["query"]): string {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, v);
      else url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Sends a request; resolves with the parsed JSON of a 2xx answer, rejects with a typed error otherwise. */
  async json<T>(options: RequestOptions): Promise<T> {
    const text = await this.text(options);
    if (text === "") return {} as T;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      const info = this.describe(options.method, options.path);
      throw new ProviderAnswerError(`the provider answered ${info.method} ${info.url} with a body that is not JSON`);
    }
    // Every answer ftprep reads is an object; anything else would be read as one with no fields.
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      const info = this.describe(options.method, options.path);
      throw new ProviderAnswerError(`the provider answered ${info.method} ${info.url} with JSON that is not an object`);
    }
    return value as T;
  }

  /** POSTs `multipart/form-data`: text fields, then one file part streamed from disk, with its Content-Length. */
  async multipart<T>(path: string, fields: Record<string, string>, file: FilePart, options: { signal?: AbortSignal | undefined; onBytes?: ((n: number) => void) | undefined } = {}): Promise<T> {
    const body = multipartBody(fields, file, options.onBytes);
    return this.json<T>({
      method: "POST",
      path,
      body: body.stream,
      headers: { "content-type": body.contentType, "content-length": String(body.length) },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async text(options: RequestOptions): Promise<string> {
    return (await this.send(options)).text;
  }

  /** Sends a request; resolves with a 2xx answer (or one of `accept`), rejects with a typed error otherwise. */
  async send(options: RequestOptions): Promise<RawAnswer> {
    const info = this.describe(options.method, options.path, options.url);
    const headers: Record<string, string> = { accept: "application/json", "user-agent": this.userAgent, ...options.headers };
    if (this.apiKey && options.url === undefined) headers.authorization = `Bearer ${this.apiKey}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await sendRequest(this.dispatcher, options.url ?? this.url(options.path, options.query), {
        method: options.method,
        headers,
        body: (body ?? null) as NonNullable<Dispatcher.DispatchOptions["body"]> | null,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw this.failure(info, error, options.signal);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw this.failure(info, error, options.signal);
    }
    if ((response.statusCode >= 200 && response.statusCode < 300) || options.accept?.includes(response.statusCode)) {
      return { status: response.statusCode, headers: response.headers, text };
    }
    const requestId = [response.headers["x-request-id"], response.headers["request-id"], response.headers["mistral-correlation-id"]].find((h) => typeof h === "string") as string | undefined;
    // A server may echo the request (its Authorization header) in an error body: the message is redacted here.
    throw apiError(response.statusCode, info, redact(serverMessage(text, response.statusCode)), requestId && redact(requestId), retryAfterMs(response.headers));
  }

  private failure(info: RequestInfo, error: unknown, signal: AbortSignal | undefined): Error {
    if (signal?.aborted || (error as Error).name === "AbortError") return new AbortedError(`cancelled: ${info.method} ${info.url}`, { cause: error });
    if (error instanceof httpParts().errors.HeadersTimeoutError || error instanceof httpParts().errors.BodyTimeoutError) return new TimeoutError(info, this.timeoutMs, error);
    return new ConnectionError(info, error);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
