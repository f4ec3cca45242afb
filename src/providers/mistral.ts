import { PROVIDER_FILE_LIMIT } from "../guard/limits.js";
import { type ClientOptions, HttpClient } from "./http.js";
import { ProviderAnswerError } from "./errors.js";
import { checkUploaded, FINE_TUNE_PURPOSE, type FilesProvider, type JobsProvider, type RemoteFile, type RemoteJob, toRemoteFile, toRemoteJob, type UploadRequest } from "./types.js";

export { MISTRAL_BASE_URL } from "../target/mistral.js";

/** Mistral's Files API (`/v1/files`), over undici. */
export class MistralProvider implements FilesProvider, JobsProvider {
  readonly name = "mistral" as const;
  readonly maxUploadBytes = PROVIDER_FILE_LIMIT.mistral;
  readonly http: HttpClient;

  constructor(options: ClientOptions) {
    this.http = new HttpClient(options);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** `POST /v1/files`, multipart streamed from disk with its Content-Length; purpose fine-tune. */
  async upload(request: UploadRequest): Promise<RemoteFile> {
    const file = await this.http.multipart<unknown>(
      "/v1/files",
      { purpose: FINE_TUNE_PURPOSE },
      { field: "file", path: request.path, filename: request.filename, contentType: "application/octet-stream", start: 0, end: request.bytes },
      request,
    );
    return checkUploaded(toRemoteFile(file, "POST /v1/files"), request, "POST /v1/files");
  }

  async get(id: string, signal?: AbortSignal): Promise<RemoteFile> {
    return toRemoteFile(await this.http.json<unknown>({ method: "GET", path: `/v1/files/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) }), "GET /v1/files/{id}");
  }

  /** `GET /v1/files?search=NAME`, then an exact name and size match. */
  async findExisting(filename: string, bytes: number, signal?: AbortSignal): Promise<RemoteFile | undefined> {
    for (let page = 0; ; page++) {
      const list = await this.http.json<{ data?: unknown }>({
        method: "GET",
        path: "/v1/files",
        query: { search: filename, purpose: FINE_TUNE_PURPOSE, page, page_size: 100 },
        ...(signal ? { signal } : {}),
      });
      if (!Array.isArray(list.data)) throw new ProviderAnswerError("the provider answered GET /v1/files without a `data` list");
      const found = (list.data as { filename?: unknown; bytes?: unknown }[]).find((f) => f?.filename === filename && f.bytes === bytes);
      if (found) return toRemoteFile(found, "GET /v1/files");
      if (list.data.length < 100) return undefined;
    }
  }

  async delete(id: string, signal?: AbortSignal): Promise<void> {
    await this.http.json({ method: "DELETE", path: `/v1/files/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) });
  }

  /** `POST /v1/fine_tuning/jobs` (`?dry_run=true` for the estimate). Answers 410 on Mistral's public API since mid-2026. */
  async createJob(body: Record<string, unknown>, options: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<Record<string, unknown>> {
    const answer = await this.http.json<Record<string, unknown>>({
      method: "POST",
      path: "/v1/fine_tuning/jobs",
      json: body,
      ...(options.dryRun ? { query: { dry_run: true } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // A dry run answers an estimate, not a job.
    return options.dryRun ? answer : toRemoteJob(answer, "POST /v1/fine_tuning/jobs");
  }

  /** The estimate of a job: a dry run of its creation (nothing is created). */
  async estimate(body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.createJob(body, { dryRun: true, ...(signal ? { signal } : {}) });
  }

  /** `GET /v1/fine_tuning/jobs`: the first page of jobs, each checked. */
  async listJobs(signal?: AbortSignal): Promise<RemoteJob[]> {
    const list = await this.http.json<{ data?: unknown }>({ method: "GET", path: "/v1/fine_tuning/jobs", ...(signal ? { signal } : {}) });
    if (!Array.isArray(list.data)) throw new ProviderAnswerError("the provider answered GET /v1/fine_tuning/jobs without a `data` list");
    return list.data.map((job) => toRemoteJob(job, "GET /v1/fine_tuning/jobs"));
  }

  async getJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "GET", path: `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) }), "GET /v1/fine_tuning/jobs/{id}", id);
  }

  async cancelJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "POST", path: `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`, ...(signal ? { signal } : {}) }), "POST /v1/fine_tuning/jobs/{id}/cancel", id);
  }

  /** `POST /v1/fine_tuning/jobs/{id}/start`: a VALIDATED job created without auto_start. */
  async startJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "POST", path: `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/start`, ...(signal ? { signal } : {}) }), "POST /v1/fine_tuning/jobs/{id}/start", id);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
