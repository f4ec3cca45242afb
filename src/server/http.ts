import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * HTTP plumbing of the local server. Error bodies carry both APIs' shapes at once — Mistral's `{"detail": …}` and
 * OpenAI's `{"error": {message, type, param, code}}` — since files routes are shared by the two SDKs and each
 * reads only its own key.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: { detail?: unknown; type?: string; code?: string | null; param?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "invalid_request_error",
  409: "invalid_request_error",
  410: "invalid_request_error",
  413: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_error",
};

export function errorBody(error: HttpError): Record<string, unknown> {
  const type = error.options.type ?? ERROR_TYPES[error.status] ?? "server_error";
  return {
    object: "error",
    message: error.message,
    detail: error.options.detail ?? error.message,
    type,
    error: { message: error.message, type, param: error.options.param ?? null, code: error.options.code ?? null },
  };
}

/** A 400 naming the parameter at fault (`code: "invalid_request"`), as OpenAI's and Together's APIs answer one. */
export function badRequest(message: string, param: string | null = null): HttpError {
  return new HttpError(400, message, { param, code: "invalid_request" });
}

/** A 422 in Mistral's pydantic shape: `{"detail":[{type, loc, msg, input}]}`. */
export function unprocessable(msg: string, loc: (string | number)[], input?: unknown, type = "value_error"): HttpError {
  return new HttpError(422, msg, { detail: [{ type, loc, msg, input: input ?? null }], param: loc.slice(1).join(".") || null });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, errorBody(error), error.options.headers ?? {});
}

const JSON_LIMIT = 1024 * 1024;

/** Reads a JSON request body (at most 1 MiB); an empty body is `{}`. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > JSON_LIMIT) throw new HttpError(413, "request body too large");
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw unprocessable("JSON decode error", ["body"], null, "json_invalid");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw unprocessable("Input should be a valid dictionary", ["body"], value, "dict_type");
  return value as Record<string, unknown>;
}

/** A query parameter that may repeat (`sample_type=a&sample_type=b`); commas also separate values. */
export function queryList(query: URLSearchParams, name: string): string[] {
  return query.getAll(name).flatMap((v) => v.split(",")).filter((v) => v !== "");
}

export function queryInt(query: URLSearchParams, name: string, fallback: number, min = 0): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw unprocessable(`Input should be a valid integer of at least ${min}`, ["query", name], raw, "int_parsing");
  return n;
}

export function queryBool(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  return raw === "true" || raw === "1";
}
