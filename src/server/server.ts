import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_STORE } from "../defaults.js";
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
  validateJob,
} from "./jobs.js";
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
  /** How long a job validates and trains, in milliseconds of `now` (defaults 2 s and 10 s). */
  jobs?: { validationMs?: number; trainingMs?: number };
  /** The clock jobs advance on, in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Size limits (defaults: the real APIs' — 512 MB per file, 64 MB per upload part, 8 GB per upload). */
  limits?: Partial<ServerLimits>;
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

async function route(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? "GET";
  const parts = url.pathname.replace(/\/+$/, "").split("/").slice(1).map(decodeURIComponent);
  const query = url.searchParams;
  if (parts[0] !== "v1") throw new HttpError(404, `No route for ${method} ${url.pathname}`);
  const [, resource, id, action, extra] = parts;
  const retired = (): void => {
    if (ctx.faults.faults.retireJobs) throw new HttpError(410, RETIRED_MESSAGE, { code: "gone" });
  };

  if (resource === "files" && extra === undefined) {
    if (id === undefined) {
      if (method === "POST") return uploadFile(ctx, req, res);
      if (method === "GET") return listFiles(ctx, query, res);
    } else if (action === undefined) {
      if (method === "GET") return retrieveFile(ctx, id, res);
      if (method === "DELETE") return deleteFile(ctx, id, res);
    } else if (action === "content" && method === "GET") {
      return fileContent(ctx, id, res);
    } else if (action === "url" && method === "GET") {
      return fileUrl(ctx, id, query, res);
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
      const job = findJob(ctx, jobId);
      if (sub === undefined && method === "GET") return sendJob(ctx, job, res);
      if (sub === "cancel" && method === "POST") return cancelJob(ctx, job, res);
      if (sub === "start" && method === "POST" && job.flavor === "mistral") return startJob(ctx, job, res);
      if (sub === "events" && method === "GET" && job.flavor === "openai") return openaiEvents(ctx, job, res);
      if (sub === "checkpoints" && method === "GET" && job.flavor === "openai") return openaiCheckpoints(res);
    }
  }
  throw new HttpError(404, `No route for ${method} ${url.pathname}`);
}

/**
 * Starts the local Files API server: Mistral's Files and fine-tuning routes at `/v1/...`, and OpenAI's Files,
 * Uploads and fine-tuning routes at the same paths (told apart by the request's shape where they overlap), on a
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
    jobTimings: { validationMs: options.jobs?.validationMs ?? 2000, trainingMs: options.jobs?.trainingMs ?? 10_000 },
    track,
  };

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://localhost");
        if (options.token !== undefined && !tokenMatches(req.headers.authorization, options.token) && !store.verifySignedUrl(url, ctx.now())) {
          throw new HttpError(401, "Unauthorized: missing or invalid API key", { type: "authentication_error", code: "invalid_api_key" });
        }
        if (faults.latencyMs) await sleep(faults.latencyMs);
        const fault = injector.before();
        if (fault) throw fault;
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
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? "127.0.0.1";
  ctx.url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  // Jobs whose validation a stopped server did not finish are validated again.
  for (const job of store.jobs.values()) if (job.validation === null) track(validateJob(ctx, job));

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
