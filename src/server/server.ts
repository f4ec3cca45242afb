import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_STORE } from "../defaults.js";
import { FtprepError } from "../errors.js";
import { registerSecret } from "../redact.js";
import { type ServerContext, SERVER_LIMITS, type ServerLimits } from "./context.js";
import { FaultInjector, type Faults } from "./faults.js";
import { deleteFile, fileContent, fileUrl, listFiles, retrieveFile, uploadFile } from "./files.js";
import { HttpError, sendError } from "./http.js";
import {
  cancelJob,
  createJob,
  findJob,
  listMistralJobs,
  listOpenAIJobs,
  openaiCheckpoints,
  openaiEvents,
  sendJob,
  startJob,
  adoptUnvalidatedJobs,
} from "./jobs.js";
import { isPresignedPut, isTogetherUpload, isUploadAnswer, receiveUpload, startUpload } from "./providers/together.js";
import { abortMultipart, completeMultipart, initiateMultipart, receivePart } from "./providers/together-multipart.js";
import {
  cancelTogetherJob,
  createTogetherJob,
  estimateTogetherPrice,
  listTogetherJobs,
  retrieveTogetherJob,
  togetherCheckpoints,
  togetherEvents,
} from "./providers/together-jobs.js";
import { Store } from "./store.js";
import { addPart, cancelUpload, completeUpload, createUpload } from "./uploads.js";

/** Options of the local Files API server. */
export interface ServerOptions {
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Address to bind (default 127.0.0.1: the server is for this machine). */
  host?: string;
  /** The disk store (default `.ftprep/store`). */
  store?: string;
  /** When set, every request needs `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** Fault switches (mutable later through `server.faults`). */
  faults?: Faults;
  /**
   * How long a new job sits in QUEUED, validates, waits in the queue once validated, and trains, in milliseconds of
   * `now` (defaults 0, 2 s, 0, 10 s).
   */
  jobs?: { queuedMs?: number; validationMs?: number; queueMs?: number; trainingMs?: number };
  /** The clock jobs advance on, in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Size limits (defaults: the real APIs' — 512 MB per file, 64 MB per upload part, 8 GB per upload). */
  limits?: Partial<ServerLimits>;
  /** Told of every request once its answer is sent or its connection closed (`ftprep serve --log`). */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** One request, for a request log: no header, no body, and the query's secret-looking values redacted. */
export interface RequestLogEntry {
  method: string;
  /** The path and query, with the values of `signature`, `key`, `token`, `secret`… parameters replaced. */
  path: string;
  status: number;
  /** The request body's declared length (Content-Length), or null when it was sent chunked. */
  bytes_in: number | null;
  /** The answer body's bytes written; null when the connection closed before any was written. */
  bytes_out: number | null;
  ms: number;
}

/** The port was taken, or binding was refused: one line saying which and what to do. */
export class ListenError extends FtprepError {
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const message =
      cause.code === "EADDRINUSE"
        ? `cannot listen on ${where}: the port is already in use; choose another (--port N) or any free one (--port 0)`
        : cause.code === "EACCES"
          ? `cannot listen on ${where}: permission denied (ports below 1024 need privileges); use --port 0 or a port above 1023`
          : `cannot listen on ${where}: ${cause.code ?? cause.message}`;
    super(cause.code === "EADDRINUSE" ? "ERR_ADDRESS_IN_USE" : "ERR_LISTEN", message, { cause });
  }
}

const SECRET_PARAM = /key|token|secret|signature|sig|auth|password/i;

/** A request's path and query as a log may show it. */
export function loggablePath(url: URL): string {
  const query = [...url.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${SECRET_PARAM.test(k) ? "REDACTED" : encodeURIComponent(v)}`);
  return `${url.pathname}${query.length > 0 ? `?${query.join("&")}` : ""}`;
}

function logRequest(req: IncomingMessage, res: ServerResponse, onRequest: (entry: RequestLogEntry) => void): void {
  const started = performance.now();
  let path = "/";
  try {
    path = loggablePath(new URL(req.url ?? "/", "http://localhost"));
  } catch {
    path = "(unparsable URL)";
  }
  const declared = Number(req.headers["content-length"]);
  // The answer's body bytes, counted as they are written (streamed file contents too).
  let sent = 0;
  const count = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === "string") sent += Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
    else if (chunk instanceof Uint8Array) sent += chunk.byteLength;
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    count(chunk, rest[0]);
    return write(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== "function") count(chunk, rest[0]);
    return end(chunk, ...rest);
  }) as typeof res.end;
  let finished = false;
  res.once("finish", () => (finished = true));
  res.once("close", () => {
    onRequest({
      method: req.method ?? "GET",
      path,
      status: res.statusCode,
      bytes_in: Number.isFinite(declared) ? declared : null,
      // The body bytes written, also when the connection closed before end(): a client that has read Content-Length
      // bytes may hang up before a streamed body's end() runs.
      bytes_out: finished || sent > 0 ? sent : null,
      ms: Math.round(performance.now() - started),
    });
  });
}

/** A running server. */
export interface RunningServer {
  /** `http://127.0.0.1:PORT`, no trailing slash: Mistral's SDK `serverURL`; OpenAI's `baseURL` is this + `/v1`. */
  url: string;
  port: number;
  store: string;
  faults: Faults;
  /** Resolves when background work (validating jobs' files) is done. */
  settled(): Promise<void>;
  /** Stops accepting requests, ends open connections, and waits for background work. */
  close(): Promise<void>;
}

export { DEFAULT_STORE } from "../defaults.js";

const RETIRED_MESSAGE =
  "Gone: Mistral has retired the public fine-tuning jobs API; these routes answer 410 (ftprep fault switch retireJobs)";

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith("Bearer ") ? header.slice(7) : "";
  // Compare digests: equal length whatever was sent, and no early exit on the first differing byte.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

/**
 * Whose job list a `GET /v1/fine_tuning/jobs` asks for. Neither SDK needs to send a query (Mistral's sends none
 * when called without arguments), so: OpenAI's when the request carries OpenAI's SDK headers (`x-stainless-*`) or
 * OpenAI's cursor parameters; otherwise Mistral's, the default provider's.
 */
function isOpenAIJobList(req: IncomingMessage, query: URLSearchParams): boolean {
  if (Object.keys(req.headers).some((h) => h.startsWith("x-stainless-"))) return true;
  return ["after", "limit"].some((k) => query.has(k)) || [...query.keys()].some((k) => k.startsWith("metadata["));
}

/** One path segment, percent-decoded; a malformed escape (`%zz`, a lone `%`, bad UTF-8) is the client's mistake. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in the path segment ${JSON.stringify(segment.slice(0, 200))}`);
  }
}

async function route(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? "GET";
  const parts = url.pathname.replace(/\/+$/, "").split("/").slice(1).map(decodeSegment);
  const query = url.searchParams;
  if (parts[0] !== "v1") throw new HttpError(404, `No route for ${method} ${url.pathname}`);
  const [, resource, id, action, extra] = parts;
  const retired = (): void => {
    if (ctx.faults.faults.retireJobs) throw new HttpError(410, RETIRED_MESSAGE, { code: "gone" });
  };

  if (resource === "files" && id === "multipart" && extra === undefined && method === "POST") {
    if (action === "initiate") return initiateMultipart(ctx, req, res);
    if (action === "complete") return completeMultipart(ctx, req, res);
    if (action === "abort") return abortMultipart(ctx, req, res);
  }

  if (resource === "files" && extra === undefined) {
    if (id === undefined) {
      if (method === "POST") return isTogetherUpload(req) ? startUpload(ctx, req, query, res) : uploadFile(ctx, req, res);
      if (method === "GET") return listFiles(ctx, query, res);
    } else if (action === undefined) {
      if (method === "GET") return retrieveFile(ctx, id, res, isUploadAnswer(ctx, id));
      if (method === "DELETE") return deleteFile(ctx, id, res);
    } else if (action === "content" && method === "GET") {
      return fileContent(ctx, id, res);
    } else if (action === "url" && method === "GET") {
      return fileUrl(ctx, id, query, res);
    } else if (action === "upload" && method === "PUT") {
      return receiveUpload(ctx, id, req, query, res);
    } else if (action === "parts" && method === "PUT") {
      return receivePart(ctx, id, req, query, res);
    }
  }

  if (resource === "uploads" && extra === undefined && method === "POST") {
    if (id === undefined) return createUpload(ctx, req, res);
    if (action === "parts") return addPart(ctx, id, req, res);
    if (action === "complete") return completeUpload(ctx, id, req, res);
    if (action === "cancel") return cancelUpload(ctx, id, res);
  }

  if (resource === "fine_tuning" && id === "jobs") {
    const jobId = action;
    const sub = extra;
    if (jobId === undefined) {
      if (method === "POST") return createJob(ctx, req, query, res, retired);
      if (method === "GET") {
        if (isOpenAIJobList(req, query)) return listOpenAIJobs(ctx, query, res);
        retired();
        return listMistralJobs(ctx, query, res);
      }
    } else {
      const known = ctx.store.jobs.get(jobId);
      if (!known || known.flavor === "mistral") retired();
      if (known?.flavor === "together") throw new HttpError(404, `No route for ${method} ${url.pathname}: ${jobId} is a Together job (/v1/fine-tunes/${jobId})`);
      const job = findJob(ctx, jobId);
      if (sub === undefined && method === "GET") return sendJob(ctx, job, res);
      if (sub === "cancel" && method === "POST") return cancelJob(ctx, job, res);
      if (sub === "start" && method === "POST" && job.flavor === "mistral") return startJob(ctx, job, res);
      if (sub === "events" && method === "GET" && job.flavor === "openai") return openaiEvents(ctx, job, res);
      if (sub === "checkpoints" && method === "GET" && job.flavor === "openai") return openaiCheckpoints(res);
    }
  }
  if (resource === "fine-tunes" && extra === undefined) {
    if (id === undefined) {
      if (method === "POST") return createTogetherJob(ctx, req, res);
      if (method === "GET") return listTogetherJobs(ctx, res);
    } else if (id === "estimate-price" && action === undefined && method === "POST") {
      return estimateTogetherPrice(ctx, req, res);
    } else if (action === undefined && method === "GET") {
      return retrieveTogetherJob(ctx, id, res);
    } else if (action === "cancel" && method === "POST") {
      return cancelTogetherJob(ctx, id, res);
    } else if (action === "events" && method === "GET") {
      return togetherEvents(ctx, id, res);
    } else if (action === "checkpoints" && method === "GET") {
      return togetherCheckpoints(ctx, id, res);
    }
  }
  throw new HttpError(404, `No route for ${method} ${url.pathname}`);
}

/**
 * Starts the local Files API server: Mistral's Files and fine-tuning routes at `/v1/...`, OpenAI's Files,
 * Uploads and fine-tuning routes and Together's Files (its redirect-and-PUT upload) at the same paths (told apart
 * by the request's shape where they overlap), on a
 * disk store that survives restarts.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  registerSecret(options.token);
  const storeDir = options.store ?? DEFAULT_STORE;
  const store = await Store.open(storeDir);
  const faults: Faults = options.faults ?? {};
  const injector = new FaultInjector(faults);
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    const settled = work.catch(() => undefined).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  const ctx: ServerContext = {
    store,
    url: "",
    faults: injector,
    limits: { ...SERVER_LIMITS, ...options.limits },
    now: options.now ?? Date.now,
    jobTimings: { queuedMs: options.jobs?.queuedMs ?? 0, validationMs: options.jobs?.validationMs ?? 2000, queueMs: options.jobs?.queueMs ?? 0, trainingMs: options.jobs?.trainingMs ?? 10_000 },
    track,
  };

  const server = createServer((req, res) => {
    if (options.onRequest) logRequest(req, res, options.onRequest);
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://localhost");
        // Signed URLs carry their own authority: a download URL is checked here, a pre-signed PUT by its route.
        const signed = store.verifySignedUrl(url, ctx.now()) || isPresignedPut(req.method ?? "GET", url.pathname);
        if (options.token !== undefined && !tokenMatches(req.headers.authorization, options.token) && !signed) {
          throw new HttpError(401, "Unauthorized: missing or invalid API key", { type: "authentication_error", code: "invalid_api_key" });
        }
        if (faults.latencyMs) await sleep(faults.latencyMs);
        const fault = injector.before();
        if (fault) throw fault;
        // Another process (an embedded run) may have written to the store since the last request.
        await store.refresh();
        await adoptUnvalidatedJobs(ctx);
        await route(ctx, req, res, url);
      } catch (error) {
        const httpError = error instanceof HttpError ? error : new HttpError(500, `Internal Server Error: ${(error as Error).message}`);
        // An unread request body is drained by Node once the answer is sent, keeping the connection usable.
        sendError(res, httpError);
      }
    })();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(new ListenError(options.host ?? "127.0.0.1", options.port ?? 0, error)));
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? "127.0.0.1";
  ctx.url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  // Jobs whose validation a stopped server did not finish are validated again.
  await adoptUnvalidatedJobs(ctx);

  const settled = async (): Promise<void> => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    url: ctx.url,
    port,
    store: storeDir,
    faults,
    settled,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await settled();
    },
  };
}
