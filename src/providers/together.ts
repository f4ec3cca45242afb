import { createReadStream } from "node:fs";
import { TOGETHER_SINGLE_UPLOAD_BYTES } from "../target/together.js";
import { ApiError, markBytesTaken, ProviderAnswerError } from "./errors.js";
import { type ClientOptions, HttpClient } from "./http.js";
import {
  checkUploaded,
  FILE_ID,
  FINE_TUNE_PURPOSE,
  type FilesProvider,
  type JobsProvider,
  type RemoteFile,
  type RemoteJob,
  toRemoteFile,
  toRemoteJob,
  type UploadRequest,
} from "./types.js";

export { TOGETHER_BASE_URL, TOGETHER_SINGLE_UPLOAD_BYTES } from "../target/together.js";

/** Fresh pre-signed URLs asked for when the one given is refused as expired, before giving up. */
const FRESH_URLS = 2;

/**
 * Together's Files API (`{base}/files`), over undici. An upload is two requests: `POST /files` with the name, type
 * and purpose, answered 302 with a pre-signed URL and the file id in `x-together-file-id`; then a `PUT` of the
 * bytes, streamed from disk with their Content-Length, to that URL without the API key.
 */
export class TogetherProvider implements FilesProvider, JobsProvider {
  readonly name = "together" as const;
  readonly maxUploadBytes = TOGETHER_SINGLE_UPLOAD_BYTES;
  readonly http: HttpClient;

  constructor(options: ClientOptions) {
    this.http = new HttpClient(options);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  async upload(request: UploadRequest): Promise<RemoteFile> {
    for (let fresh = 0; ; fresh++) {
      const { url, id } = await this.presign(request);
      try {
        await this.http.send({
          method: "PUT",
          path: "/files/{id}/upload",
          url,
          body: fileBytes(request.path, request.bytes, request.onBytes),
          headers: { "content-type": "application/octet-stream", "content-length": String(request.bytes) },
          ...(request.signal ? { signal: request.signal } : {}),
        });
      } catch (error) {
        // A pre-signed URL past its time is refused with 403: never re-used, a new one is asked for.
        if (error instanceof ApiError && error.status === 403 && fresh < FRESH_URLS) continue;
        throw error;
      }
      // The bytes are taken: a failure from here on (even a 429) may leave the file stored, so it is looked for.
      let file: RemoteFile;
      try {
        file = await this.get(id, request.signal);
      } catch (error) {
        throw markBytesTaken(error);
      }
      return checkUploaded(file, request, "PUT <pre-signed URL>");
    }
  }

  /** `POST /files` (urlencoded, as Together's SDK sends it): the pre-signed URL and the id the file will have. */
  private async presign(request: UploadRequest): Promise<{ url: string; id: string }> {
    const form = new URLSearchParams({ file_name: request.filename, file_type: fileType(request.filename), purpose: FINE_TUNE_PURPOSE });
    const answer = await this.http.send({
      method: "POST",
      path: "/files",
      body: form.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      accept: [302],
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const header = (name: string): string => {
      const value = answer.headers[name];
      return (Array.isArray(value) ? value[0] : value) ?? "";
    };
    const bad = (why: string) => new ProviderAnswerError(`the provider answered POST /files ${why}`);
    if (answer.status !== 302) throw bad(`with ${answer.status}, not the 302 redirect to an upload URL`);
    const id = header("x-together-file-id");
    if (!FILE_ID.test(id)) throw bad("without a usable x-together-file-id header");
    let url: URL;
    try {
      url = new URL(header("location"));
    } catch {
      throw bad("without an absolute Location to upload to");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw bad(`with a Location that is not http(s) (${url.protocol})`);
    return { url: url.toString(), id };
  }

  async get(id: string, signal?: AbortSignal): Promise<RemoteFile> {
    return toRemoteFile(await this.http.json<unknown>({ method: "GET", path: `/files/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) }), "GET /files/{id}");
  }

  /** `GET /files` (one unpaged list), then an exact name, size and purpose match. */
  async findExisting(filename: string, bytes: number, signal?: AbortSignal): Promise<RemoteFile | undefined> {
    const list = await this.http.json<{ data?: unknown }>({ method: "GET", path: "/files", ...(signal ? { signal } : {}) });
    if (!Array.isArray(list.data)) throw new ProviderAnswerError("the provider answered GET /files without a `data` list");
    const found = (list.data as { filename?: unknown; bytes?: unknown; purpose?: unknown }[]).find(
      (f) => f?.filename === filename && f.bytes === bytes && f.purpose === FINE_TUNE_PURPOSE,
    );
    return found ? toRemoteFile(found, "GET /files") : undefined;
  }

  async delete(id: string, signal?: AbortSignal): Promise<void> {
    await this.http.json({ method: "DELETE", path: `/files/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) });
  }

  /** `POST /fine-tunes`. Together has no dry run: its estimate is `estimatePrice`. */
  async createJob(body: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<Record<string, unknown>> {
    return toRemoteJob(await this.http.json({ method: "POST", path: "/fine-tunes", json: body, ...(options.signal ? { signal: options.signal } : {}) }), "POST /fine-tunes");
  }

  /**
   * `POST /fine-tunes/estimate-price` with the fields of a create request it takes: Together's price and token
   * estimate, or `estimation_available: false` with its reason.
   */
  async estimate(body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const fields = ["training_file", "validation_file", "model", "n_epochs", "n_evals", "training_method", "training_type", "from_checkpoint"];
    const json = Object.fromEntries(fields.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
    const answer = await this.http.json<unknown>({ method: "POST", path: "/fine-tunes/estimate-price", json, ...(signal ? { signal } : {}) });
    if (typeof answer !== "object" || answer === null || typeof (answer as { estimation_available?: unknown }).estimation_available !== "boolean") {
      throw new ProviderAnswerError("the provider answered POST /fine-tunes/estimate-price without `estimation_available`");
    }
    return answer as Record<string, unknown>;
  }

  /** `GET /fine-tunes`: the first page of jobs, each checked. */
  async listJobs(signal?: AbortSignal): Promise<RemoteJob[]> {
    const list = await this.http.json<{ data?: unknown }>({ method: "GET", path: "/fine-tunes", ...(signal ? { signal } : {}) });
    if (!Array.isArray(list.data)) throw new ProviderAnswerError("the provider answered GET /fine-tunes without a `data` list");
    return list.data.map((job) => toRemoteJob(job, "GET /fine-tunes"));
  }

  async getJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "GET", path: `/fine-tunes/${encodeURIComponent(id)}`, ...(signal ? { signal } : {}) }), "GET /fine-tunes/{id}", id);
  }

  async cancelJob(id: string, signal?: AbortSignal): Promise<RemoteJob> {
    return toRemoteJob(await this.http.json({ method: "POST", path: `/fine-tunes/${encodeURIComponent(id)}/cancel`, ...(signal ? { signal } : {}) }), "POST /fine-tunes/{id}/cancel", id);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** Together's `file_type`, from the name's extension (what its SDK sends); JSONL unless CSV or Parquet. */
function fileType(filename: string): string {
  return /\.(csv|parquet)$/i.exec(filename)?.[1]?.toLowerCase() ?? "jsonl";
}

/** The file's bytes, read from disk as the connection takes them; each call starts over (a retried PUT). */
async function* fileBytes(path: string, bytes: number, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  if (bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1024 * 1024 })) {
    onBytes?.((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}
