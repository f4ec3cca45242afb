import { createHash } from "node:crypto";
import pLimit from "p-limit";
import { readFileChunks } from "../read/file.js";
import { PROVIDER_FILE_LIMIT, PROVIDER_UPLOAD_LIMIT } from "../guard/limits.js";
import { type ClientOptions, HttpClient } from "./http.js";
import { ProviderAnswerError } from "./errors.js";
import { checkUploaded, FINE_TUNE_PURPOSE, type FilesProvider, type JobsProvider, type RemoteFile, type RemoteJob, toRemoteFile, toRemoteJob, type UploadRequest } from "./types.js";

export { OPENAI_BASE_URL } from "../target/openai.js";

/** OpenAI's Uploads API: parts of at most 64 MB, at most 8 GB in all. */
export const OPENAI_PART_BYTES = 64 * 1024 * 1024;
export const OPENAI_UPLOAD_LIMIT = PROVIDER_UPLOAD_LIMIT.openai;
const PART_CONCURRENCY = 3;

/** The hex md5 of a file, which the Uploads API checks on completion: one more read, for those files only. */
async function md5Of(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of readFileChunks(path, signal ? { signal } : {})) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * OpenAI's Files API (`/files`) and, for files over 512 MB, its Uploads API: the file goes in parts of 64 MB sent
 * concurrently, completed with the ordered part ids and the file's md5.
 */
export class OpenAIProvider implements FilesProvider, JobsProvider {
  readonly name = "openai" as const;
  readonly maxUploadBytes = OPENAI_UPLOAD_LIMIT;
  readonly http: HttpClient;
  /** Files larger than this go through the Uploads API (default 512 MB, the Files API's limit). */
  readonly singleUploadLimit: number;
  /** Part size of the Uploads API (default 64 MiB, its limit). */
  readonly partBytes: number;

  constructor(options: ClientOptions & { singleUploadLimit?: number; partBytes?: number }) {
    this.http = new HttpClient(options);
    this.singleUploadLimit = options.singleUploadLimit ?? PROVIDER_FILE_LIMIT.openai;
    this.partBytes = options.partBytes ?? OPENAI_PART_BYTES;
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  async upload(request: UploadRequest): Promise<RemoteFile> {
    if (request.bytes > this.singleUploadLimit) return this.uploadInParts(request);
    const file = await this.http.multipart<unknown>(
      "/files",
      { purpose: FINE_TUNE_PURPOSE },
      { field: "file", path: request.path, filename: request.filename, contentType: "application/octet-stream", start: 0, end: request.bytes },
      request,
    );
    return checkUploaded(toRemoteFile(file, "POST /files"), request, "POST /files");
  }

  /** The Uploads API: create, parts (concurrently, each streamed from its range of the file), complete in order. */
  private async uploadInParts(request: UploadRequest): Promise<RemoteFile> {
    const signal = request.signal ? { signal: request.signal } : {};
    const upload = await this.http.json<{ id?: unknown }>({
      method: "POST",
      path: "/uploads",
      json: { filename: request.filename, purpose: FINE_TUNE_PURPOSE, bytes: request.bytes, mime_type: "application/jsonl" },
      ...signal,
    });
    if (typeof upload.id !== "string" || !/^[\w-]{1,256}$/.test(upload.id)) throw new ProviderAnswerError("the provider answered POST /uploads without a usable upload id");
    try {
      const limit = pLimit(PART_CONCURRENCY);
      const ranges: [number, number][] = [];
      for (let start = 0; start < request.bytes; start += this.partBytes) ranges.push([start, Math.min(request.bytes, start + this.partBytes)]);
      const partIds = await Promise.all(
        ranges.map(([start, end]) =>
          limit(async () => {
            const part = await this.http.multipart<{ id?: unknown }>(
              `/uploads/${upload.id}/parts`,
              {},
              { field: "data", path: request.path, filename: "part", contentType: "application/octet-stream", start, end },
              request,
            );
            if (typeof part.id !== "string" || part.id === "") throw new ProviderAnswerError(`the provider answered POST /uploads/${String(upload.id)}/parts without a part id`);
            return part.id;
          }),
        ),
      );
      const done = await this.http.json<{ file?: unknown; status?: unknown }>({
        method: "POST",
        path: `/uploads/${upload.id}/complete`,
        json: { part_ids: partIds, md5: await md5Of(request.path, request.signal) },
        ...signal,
      });
      if (!done.file) throw new ProviderAnswerError(`upload ${upload.id} completed without a file (status ${JSON.stringify(done.status)})`);
      return checkUploaded(toRemoteFile(done.file, "POST /uploads/{id}/complete"), request, "POST /uploads/{id}/complete");
    } catch (error) {
      // Leave no pending upload behind; the caller retries from the start.
      await this.http.json({ method: "POST", path: `/uploads/${upload.id}/cancel` }).catch(() => undefined);
      throw error;
    }
  }

  async get(id: string, signal?: AbortSignal): Promise<RemoteFile> {
    return toRemoteFile(await this.http.json<unknown>({ method: "GET", path: `/files/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) }), "GET /files/{id}");
  }

  /** Lists fine-tune files (cursor pages) for an exact name and size match: OpenAI has no name search. */
  async findExisting(filename: string, bytes: number, signal?: AbortSignal): Promise<RemoteFile | undefined> {
    let after: string | undefined;
    for (;;) {
      const page = await this.http.json<{ data?: unknown; has_more?: unknown }>({
        method: "GET",
        path: "/files",
        query: { purpose: FINE_TUNE_PURPOSE, limit: 10000, after },
        ...(signal ? { signal } : {}),
      });
      if (!Array.isArray(page.data)) throw new ProviderAnswerError("the provider answered GET /files without a `data` list");
      const data = page.data as { id?: unknown; filename?: unknown; bytes?: unknown }[];
      const found = data.find((f) => f?.filename === filename && f.bytes === bytes);
      if (found) return toRemoteFile(found, "GET /files");
      const last = data.at(-1)?.id;
      if (page.has_more !== true || typeof last !== "string" || last === after) return undefined;
      after = last;
    }
  }

  async delete(id: string, signal?: AbortSignal): Promise<void> {
    await this.http.json({ method: "DELETE", path: `/files/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) });
  }

  /** `POST /fine_tuning/jobs`. OpenAI has no dry run. */
  async createJob(body: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<Record<string, unknown>> {
    return toRemoteJob(await this.http.json({ method: "POST", path: "/fine_tuning/jobs", json: body, ...(options.signal ? { signal: options.signal } : {}) }), "POST /fine_tuning/jobs");
  }

  /** `GET /fine_tuning/jobs`: the first page of jobs, each checked. */
  async listJobs(signal?: AbortSignal): Promise<RemoteJob[]> {
    const list = await this.http.json<{ data?: unknown }>({ method: "GET", path: "/fine_tuning/jobs", query: { limit: 20 }, ...(signal ? { signal } : {}) });
    if (!Array.isArray(list.data)) throw new ProviderAnswerError("the provider answered GET /fine_tuning/jobs without a `data` list");
    return list.data.map((job) => toRemoteJob(job, "GET /fine_tuning/jobs"));
  }

  async getJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "GET", path: `/fine_tuning/jobs/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) }), "GET /fine_tuning/jobs/{id}", id);
  }

  async cancelJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "POST", path: `/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`, ...(signal ? { signal } : {}) }), "POST /fine_tuning/jobs/{id}/cancel", id);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
