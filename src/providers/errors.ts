import { FtprepError } from "../errors.js";

/** What every provider error says about the request, never the key. */
export interface RequestInfo {
  method: string;
  /** The URL without credentials or query secrets. */
  url: string;
}

/**
 * An HTTP error answer from a provider: one class per kind of status, with the status, the server's message, the
 * request id and the request (method, URL). Users match on `code` (`ERR_HTTP_429`…) or the class.
 */
export class ApiError extends FtprepError {
  readonly status: number;
  readonly method: string;
  readonly url: string;
  readonly requestId: string | undefined;
  readonly serverMessage: string;
  /** Milliseconds the server asked to wait (`retry-after-ms`, `retry-after`), when it did. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, request: RequestInfo, serverMessage: string, requestId: string | undefined, retryAfterMs: number | undefined) {
    super(`ERR_HTTP_${status}`, `${status} ${serverMessage} (${request.method} ${request.url}${requestId ? `, request id ${requestId}` : ""})`);
    this.status = status;
    this.method = request.method;
    this.url = request.url;
    this.requestId = requestId;
    this.serverMessage = serverMessage;
    this.retryAfterMs = retryAfterMs;
  }
}

export class BadRequestError extends ApiError {}
export class AuthenticationError extends ApiError {}
export class PermissionDeniedError extends ApiError {}
export class NotFoundError extends ApiError {}
export class ConflictError extends ApiError {}
/** 410: the route is retired (Mistral's public fine-tuning jobs API since mid-2026). */
export class GoneError extends ApiError {}
export class PayloadTooLargeError extends ApiError {}
export class UnprocessableEntityError extends ApiError {}
export class RateLimitError extends ApiError {}
export class InternalServerError extends ApiError {}

const BY_STATUS: Record<number, typeof ApiError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  413: PayloadTooLargeError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** The error class of a status. */
export function apiError(status: number, request: RequestInfo, serverMessage: string, requestId: string | undefined, retryAfterMs: number | undefined): ApiError {
  const Kind = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : ApiError);
  return new Kind(status, request, serverMessage, requestId, retryAfterMs);
}

/** The connection failed (refused, reset, closed mid-request) before an answer came. */
export class ConnectionError extends FtprepError {
  constructor(request: RequestInfo, cause: unknown) {
    const reason = (cause as { code?: string; message?: string } | undefined)?.code ?? (cause as Error | undefined)?.message ?? String(cause);
    super("ERR_CONNECTION", `connection failed: ${reason} (${request.method} ${request.url})`, { cause });
  }
}

/** No answer within the time allowed. */
export class TimeoutError extends FtprepError {
  constructor(request: RequestInfo, ms: number, cause?: unknown) {
    super("ERR_TIMEOUT", `no answer within ${ms} ms (${request.method} ${request.url})`, { cause });
  }
}

/**
 * A provider answered 2xx with something that is not what was asked for: no file id, another size, name or purpose
 * than what was sent, a malformed object. Not retried (the request may have done its work); the run stops with
 * exit code 3 and the manifest keeps only checked answers.
 */
export class ProviderAnswerError extends FtprepError {
  constructor(message: string) {
    super("ERR_BAD_ANSWER", message);
  }
}

const BYTES_TAKEN = Symbol("ftprep.bytesTaken");

/**
 * Marks an error raised after the provider took a file's bytes (Together: the PUT succeeded, the look at the new
 * file failed): whatever the error says (a 429 included), the file may exist, so it is looked for before it is sent
 * again. The error itself is unchanged (its status still drives the retry policy).
 */
export function markBytesTaken<E>(error: E): E {
  if (error !== null && typeof error === "object") (error as Record<symbol, unknown>)[BYTES_TAKEN] = true;
  return error;
}

/** Whether `markBytesTaken` marked this error. */
export function bytesTaken(error: unknown): boolean {
  return error !== null && typeof error === "object" && (error as Record<symbol, unknown>)[BYTES_TAKEN] === true;
}
