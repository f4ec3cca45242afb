import { readFileRange } from "../read/file.js";
import pLimit from "p-limit";
import { TOGETHER_MAX_FILE_BYTES, TOGETHER_SINGLE_UPLOAD_BYTES } from "../target/together.js";
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

export { TOGETHER_BASE_URL, TOGETHER_MAX_FILE_BYTES, TOGETHER_SINGLE_UPLOAD_BYTES } from "../target/together.js";

const MIB = 1024 * 1024;
/** together-python's multipart constants: parts of about 250 MiB, at least 5 MiB, at most 250 of them, 4 at a time. */
export const TOGETHER_PART_BYTES = 250 * MIB;
export const TOGETHER_MIN_PART_BYTES = 5 * MIB;
export const TOGETHER_MAX_PARTS = 250;
const PART_CONCURRENCY = 4;

/**
 * The size and number of a file's parts, as together-python's `_calculate_parts` makes them: one part when the file
 * fits the target size; else as many target-sized parts as it takes (at most `maxParts`), evened out, and never
 * below the minimum part size.
 */
export function partPlan(bytes: number, target = TOGETHER_PART_BYTES, min = TOGETHER_MIN_PART_BYTES, maxParts = TOGETHER_MAX_PARTS): { partBytes: number; parts: number } {
  if (bytes <= target) return { partBytes: bytes, parts: 1 };
  let parts = Math.min(maxParts, Math.ceil(bytes / target));
  let partBytes = Math.ceil(bytes / parts);
  if (partBytes < min) {
    partBytes = min;
    parts = Math.ceil(bytes / partBytes);
  }
  return { partBytes, parts };
}

/** Fresh pre-signed URLs asked for when the one given is refused as expired, before giving up. */
const FRESH_URLS = 2;

/**
 * Together's Files API (`{base}/files`), over undici. An upload is two requests: `POST /files` with the name, type
 * and purpose, answered 302 with a pre-signed URL and the file id in `x-together-file-id`; then a `PUT` of the
 * bytes, streamed from disk with their Content-Length, to that URL without the API key. A file over 5 GiB goes in
 * parts (`/files/multipart/initiate`, a pre-signed PUT per part, `/files/multipart/complete`), as together-python
 * sends it; up to 50.1 GiB.
 */
export class TogetherProvider implements FilesProvider, JobsProvider {
  readonly name = "together" as const;
  readonly maxUploadBytes = TOGETHER_MAX_FILE_BYTES;
  readonly http: HttpClient;
  /** Files larger than this go in parts (default 5 GiB, one PUT's limit). */
  readonly singleUploadLimit: number;
  /** The parts' target and least size (defaults 250 MiB and 5 MiB, together-python's). */
  readonly partBytes: number;
  readonly minPartBytes: number;

  constructor(options: ClientOptions & { singleUploadLimit?: number; partBytes?: number; minPartBytes?: number }) {
    this.http = new HttpClient(options);
    this.singleUploadLimit = options.singleUploadLimit ?? TOGETHER_SINGLE_UPLOAD_BYTES;
    this.partBytes = options.partBytes ?? TOGETHER_PART_BYTES;
    this.minPartBytes = options.minPartBytes ?? TOGETHER_MIN_PART_BYTES;
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  async upload(request: UploadRequest): Promise<RemoteFile> {
    if (request.bytes > this.singleUploadLimit) return this.uploadInParts(request);
    for (let fresh = 0; ; fresh++) {
      const { url, id } = await this.presign(request);
      try {
        await this.http.send({
          method: "PUT",
          path: "/files/{id}/upload",
          url,
          body: fileBytes(request.path, 0, request.bytes, request.onBytes),
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

  /**
   * The multipart flow: initiate (the parts' pre-signed URLs), each part PUT from its byte range of the file (4 at
   * a time) and answered with its ETag, then complete with the ordered ETags. On any failure the upload is aborted,
   * leaving nothing behind; the uploader's retry starts over.
   */
  private async uploadInParts(request: UploadRequest): Promise<RemoteFile> {
    const signal = request.signal ? { signal: request.signal } : {};
    const { partBytes, parts } = partPlan(request.bytes, this.partBytes, this.minPartBytes);
    const init = await this.http.json<{ upload_id?: unknown; file_id?: unknown; parts?: unknown }>({
      method: "POST",
      path: "/files/multipart/initiate",
      json: { file_name: request.filename, file_size: request.bytes, num_parts: parts, purpose: FINE_TUNE_PURPOSE, file_type: fileType(request.filename) },
      ...signal,
    });
    const bad = (why: string) => new ProviderAnswerError(`the provider answered POST /files/multipart/initiate ${why}`);
    if (typeof init.upload_id !== "string" || !FILE_ID.test(init.upload_id)) throw bad("without a usable upload_id");
    if (typeof init.file_id !== "string" || !FILE_ID.test(init.file_id)) throw bad("without a usable file_id");
    const { upload_id: uploadId, file_id: fileId } = init;
    try {
      const urls = partUrls(init.parts, parts, bad);
      const limit = pLimit(PART_CONCURRENCY);
      const done = await Promise.all(
        urls.map(({ url, headers }, i) =>
          limit(async () => {
            const start = i * partBytes;
            const end = Math.min(request.bytes, start + partBytes);
            const answer = await this.http.send({
              method: "PUT",
              path: "/files/multipart/{part}",
              url,
              body: fileBytes(request.path, start, end, request.onBytes),
              headers: { ...headers, "content-length": String(end - start) },
              ...signal,
            });
            const etag = (Array.isArray(answer.headers.etag) ? answer.headers.etag[0] : answer.headers.etag)?.replace(/"/g, "") ?? "";
            if (etag === "") throw new ProviderAnswerError(`the provider answered the PUT of part ${i + 1} without an ETag`);
            return { part_number: i + 1, etag };
          }),
        ),
      );
      let complete: Record<string, unknown>;
      try {
        complete = await this.http.json<Record<string, unknown>>({
          method: "POST",
          path: "/files/multipart/complete",
          json: { upload_id: uploadId, file_id: fileId, parts: done },
          ...signal,
        });
        // together-python reads the file from `file` when the answer has one, else the answer itself.
        const file = toRemoteFile(typeof complete.file === "object" && complete.file !== null ? complete.file : complete, "POST /files/multipart/complete");
        if (file.id !== fileId) throw new ProviderAnswerError(`the provider completed the upload of file ${fileId} with a file object of ${JSON.stringify(file.id)}; nothing recorded`);
        return checkUploaded(file, request, "POST /files/multipart/complete");
      } catch (error) {
        // Once the completion is sent the file may exist: the next attempt looks for it before sending it again.
        throw markBytesTaken(error);
      }
    } catch (error) {
      await this.http.json({ method: "POST", path: "/files/multipart/abort", json: { upload_id: uploadId, file_id: fileId } }).catch(() => undefined);
      throw error;
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

/** The parts' URLs from an initiate answer, in part order: exactly `count` parts numbered 1…count, http(s) URLs. */
function partUrls(value: unknown, count: number, bad: (why: string) => Error): { url: string; headers: Record<string, string> }[] {
  if (!Array.isArray(value) || value.length !== count) throw bad(`without the ${count} parts asked for`);
  const out: { url: string; headers: Record<string, string> }[] = new Array(count);
  for (const entry of value as { PartNumber?: unknown; URL?: unknown; Headers?: unknown }[]) {
    const n = entry?.PartNumber;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > count || out[n - 1]) throw bad("with a part that is not one of 1…num_parts, once each");
    let url: URL;
    try {
      url = new URL(String(entry.URL));
    } catch {
      throw bad(`with part ${n}'s URL not absolute`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw bad(`with part ${n}'s URL not http(s)`);
    const headers: Record<string, string> = {};
    if (entry.Headers !== undefined && entry.Headers !== null) {
      if (typeof entry.Headers !== "object" || Array.isArray(entry.Headers)) throw bad(`with part ${n}'s Headers not an object`);
      for (const [k, v] of Object.entries(entry.Headers)) if (typeof v === "string" && k.toLowerCase() !== "authorization") headers[k.toLowerCase()] = v;
    }
    out[n - 1] = { url: url.toString(), headers };
  }
  return out;
}

/** Bytes `start`…`end` of the file, read from disk as the connection takes them; each call starts over (a retried PUT). */
async function* fileBytes(path: string, start: number, end: number, onBytes?: (n: number) => void): AsyncGenerator<Uint8Array> {
  // A local file, or an s3:// object read by ranged GETs.
  for await (const chunk of readFileRange(path, start, end)) {
    onBytes?.(chunk.length);
    yield chunk;
  }
}
