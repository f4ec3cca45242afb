import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AwsV4Signer } from "aws4fetch";
import type { Agent, Dispatcher } from "undici";
import { AbortedError, FtprepError } from "../errors.js";
import { ApiError, apiError, ConnectionError, ProviderAnswerError, type RequestInfo, TimeoutError } from "../providers/errors.js";
import { redact } from "../redact.js";
import { httpParts, sendRequest } from "../providers/undici.js";
import { DEFAULT_RETRY_POLICY, retryDelay } from "../upload/retry-policy.js";
import type { S3Config } from "./aws-config.js";
import { escapeXml, xmlElements, xmlText } from "./s3-xml.js";

/**
 * A small S3 client: requests signed with AWS Signature V4 by aws4fetch's signer (pure Web Crypto, no SDK) and sent
 * with undici like every other request of ftprep. It lists with pagination, reads objects as ranged GETs streamed
 * chunk by chunk, and writes with single PUTs or multipart uploads. Errors are the providers' typed errors
 * (`ERR_HTTP_403`… with S3's own code and message), so the retry policy and the CLI treat them alike.
 */

/** One object of a listing. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** The ETag as S3 gives it, quotes included (`"9b2c…"`, `"…-3"` for a multipart object). */
  etag: string;
}

export interface S3ClientOptions {
  /** Milliseconds to wait for an answer's headers, and between body chunks (default 2 min). */
  timeoutMs?: number;
  /** Bytes asked for by one ranged GET (default 8 MiB): a read holds one undici chunk of it at a time. */
  rangeBytes?: number;
  /**
   * Bytes of one multipart upload part (default 8 MiB; S3 takes at least 5 MiB except for the last part). An object
   * that may be larger than `maxParts` of them gets larger parts (`partBytesFor`).
   */
  partBytes?: number;
  /** Parts one multipart upload may have (default 10,000, S3's most). */
  maxParts?: number;
  /** The largest object copied server-side in one request (default 5 GiB, S3's most); a larger one is copied in parts. */
  copyLimitBytes?: number;
  /** Keys per listing page asked for (default 1000, S3's most). */
  pageKeys?: number;
  /** Told of every request sent (method and S3 operation), for progress and tests. */
  onRequest?: (info: { method: string; operation: string; key: string }) => void;
}

/** The object was replaced while it was read: what was read so far belongs to another version (not retried). */
export class ObjectChangedError extends FtprepError {
  constructor(message: string) {
    super("ERR_OBJECT_CHANGED", message);
  }
}

export const DEFAULT_RANGE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** S3's limits on a multipart upload: 10,000 parts, 5 MiB each but the last, 5 GiB at most each. */
export const MAX_PARTS = 10_000;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** S3's largest CopyObject: 5 GiB. */
export const COPY_LIMIT_BYTES = 5 * 1024 ** 3;

interface SendOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  signal?: AbortSignal | undefined;
  operation: string;
}

/** Encodes an object key for a URL path: every byte but unreserved characters and `/`. */
function encodeKey(key: string): string {
  return key.split("/").map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join("/");
}

export class S3Client {
  readonly config: S3Config;
  readonly rangeBytes: number;
  readonly partBytes: number;
  readonly maxParts: number;
  readonly copyLimitBytes: number;
  private readonly pageKeys: number;
  private readonly timeoutMs: number;
  private readonly dispatcher: Agent;
  private readonly onRequest: S3ClientOptions["onRequest"];
  private readonly signingCache = new Map<string, ArrayBuffer>();

  constructor(config: S3Config, options: S3ClientOptions = {}) {
    this.config = config;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.rangeBytes = options.rangeBytes ?? DEFAULT_RANGE_BYTES;
    this.partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
    this.pageKeys = options.pageKeys ?? 1000;
    this.maxParts = options.maxParts ?? MAX_PARTS;
    this.copyLimitBytes = options.copyLimitBytes ?? COPY_LIMIT_BYTES;
    const named = [["rangeBytes", this.rangeBytes], ["partBytes", this.partBytes], ["pageKeys", this.pageKeys], ["maxParts", this.maxParts], ["copyLimitBytes", this.copyLimitBytes]] as const;
    for (const [name, value] of named) {
      if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
    }
    this.onRequest = options.onRequest;
    this.dispatcher = new (httpParts().Agent)({ headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, keepAliveTimeout: 4000 });
  }

  /**
   * The part size of a multipart upload of an object of at most `objectBytes`: `partBytes`, or larger when the object
   * would need more than `maxParts` parts (an 8 GB shard needs no more than 954 parts of 8 MiB; a 100 GB one, parts
   * of 10 MiB). Objects past `maxParts` × 5 GiB (48.8 TiB for S3) cannot be written.
   */
  partBytesFor(objectBytes: number): number {
    const size = Math.max(this.partBytes, Math.ceil(objectBytes / this.maxParts));
    if (size > MAX_PART_BYTES) throw new RangeError(`an object of ${objectBytes} bytes needs parts over S3's 5 GiB: it cannot be written in ${this.maxParts} parts`);
    return size;
  }

  /** The URL of an object (or of the bucket, for an empty key): path-style on an endpoint, virtual-hosted on AWS. */
  objectUrl(bucket: string, key: string): string {
    const path = key === "" ? "" : encodeKey(key);
    if (this.config.endpoint !== undefined) return `${this.config.endpoint}/${bucket}/${path}`;
    // A bucket name with dots does not match the TLS certificate of a virtual host: path-style then.
    if (bucket.includes(".")) return `https://s3.${this.config.region}.amazonaws.com/${bucket}/${path}`;
    return `https://${bucket}.s3.${this.config.region}.amazonaws.com/${path}`;
  }

  private describe(method: string, bucket: string, key: string): RequestInfo {
    return { method, url: `s3://${bucket}/${key}` };
  }

  /** Sends one signed request; resolves with a 2xx (or 206) response whose body the caller reads or dumps. */
  private async open(method: string, bucket: string, key: string, options: SendOptions): Promise<Dispatcher.ResponseData> {
    const info = this.describe(method, bucket, key);
    const url = new URL(this.objectUrl(bucket, key));
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers["x-amz-content-sha256"] = createHash("sha256").update(options.body).digest("hex");
    const { credentials, region } = this.config;
    const signed = await new AwsV4Signer({
      method,
      url: url.toString(),
      headers,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      service: "s3",
      region,
      cache: this.signingCache,
    }).sign();
    this.onRequest?.({ method, operation: options.operation, key });
    let response: Dispatcher.ResponseData;
    try {
      response = await sendRequest(this.dispatcher, signed.url.toString(), {
        method: method as Dispatcher.HttpMethod,
        headers: Object.fromEntries(signed.headers),
        body: options.body ?? null,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw this.failure(info, error, options.signal);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    let text = "";
    try {
      text = method === "HEAD" ? "" : (await response.body.text()).slice(0, 64 * 1024);
    } catch {
      // The status says enough.
    }
    throw this.errorOf(response.statusCode, response.headers, text, info);
  }

  private errorOf(status: number, headers: Record<string, string | string[] | undefined>, text: string, info: RequestInfo): ApiError {
    const code = xmlText(text, "Code");
    const message = xmlText(text, "Message");
    const words = code ? `${code}${message ? `: ${message}` : ""}` : status === 404 ? "NoSuchKey: no such object or bucket" : status === 403 ? "AccessDenied: the credentials were refused" : `HTTP ${status}`;
    const requestId = typeof headers["x-amz-request-id"] === "string" ? headers["x-amz-request-id"] : undefined;
    return apiError(status, info, redact(words.slice(0, 300)), requestId, undefined);
  }

  private failure(info: RequestInfo, error: unknown, signal: AbortSignal | undefined): Error {
    if (signal?.aborted || (error as Error).name === "AbortError") return new AbortedError(`cancelled: ${info.method} ${info.url}`, { cause: error });
    if (error instanceof httpParts().errors.HeadersTimeoutError || error instanceof httpParts().errors.BodyTimeoutError) return new TimeoutError(info, this.timeoutMs, error);
    return new ConnectionError(info, error);
  }

  /** Runs `attempt` with the project's retry policy (5xx, 429, connection failures and timeouts). */
  private async retrying<T>(signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const delay = retryDelay(n, error, Date.now() - started, DEFAULT_RETRY_POLICY);
        if (delay === undefined || signal?.aborted) throw error;
        await sleep(delay, undefined, signal ? { signal } : {}).catch(() => {
          throw new AbortedError("cancelled");
        });
      }
    }
  }

  /** A whole small answer as text (listings, multipart bookkeeping), retried. */
  private async text(method: string, bucket: string, key: string, options: SendOptions): Promise<{ text: string; headers: Record<string, string | string[] | undefined> }> {
    return this.retrying(options.signal, async () => {
      const response = await this.open(method, bucket, key, options);
      const info = this.describe(method, bucket, key);
      try {
        return { text: await response.body.text(), headers: response.headers };
      } catch (error) {
        throw this.failure(info, error, options.signal);
      }
    });
  }

  /**
   * Every object under `prefix`, in key order, page by page (ListObjectsV2 with continuation tokens): one page of
   * keys is held at a time, whatever the bucket's size.
   */
  async *list(bucket: string, prefix: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    for (let page = 0; ; page++) {
      const query: Record<string, string> = { "list-type": "2", prefix, "max-keys": String(this.pageKeys) };
      if (token !== undefined) query["continuation-token"] = token;
      const { text } = await this.text("GET", bucket, "", { query, signal, operation: "ListObjectsV2" });
      if (!/<ListBucketResult[\s>]/.test(text)) throw new ProviderAnswerError(`the S3 listing of s3://${bucket}/${prefix} is not a ListBucketResult`);
      for (const entry of xmlElements(text, "Contents")) {
        const key = xmlText(entry, "Key");
        const size = Number(xmlText(entry, "Size"));
        const etag = xmlText(entry, "ETag") ?? "";
        if (key === undefined || !Number.isSafeInteger(size) || size < 0) throw new ProviderAnswerError(`the S3 listing of s3://${bucket}/${prefix} has an entry without a key or size`);
        yield { key, size, etag };
      }
      const truncated = xmlText(text, "IsTruncated") === "true";
      const next = xmlText(text, "NextContinuationToken");
      if (!truncated) return;
      if (next === undefined || next === "" || next === token) throw new ProviderAnswerError(`the S3 listing of s3://${bucket}/${prefix} is truncated without a new continuation token`);
      token = next;
    }
  }

  /** An object's size and ETag (HEAD). */
  async head(bucket: string, key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    return this.retrying(signal, async () => {
      const response = await this.open("HEAD", bucket, key, { signal, operation: "HeadObject" });
      await response.body.dump();
      const size = Number(response.headers["content-length"]);
      const etag = response.headers.etag;
      if (!Number.isSafeInteger(size) || size < 0) throw new ProviderAnswerError(`HEAD s3://${bucket}/${key} gave no Content-Length`);
      return { key, size, etag: typeof etag === "string" ? etag : "" };
    });
  }

  /**
   * Bytes `start` to `end` (exclusive) of an object as a stream: ranged GETs of `rangeBytes`, each body pulled
   * chunk by chunk as the consumer asks (undici's backpressure), so at most one chunk is held whatever the range.
   * Every GET carries `If-Match` with the ETag, so an object replaced mid-read fails (412) instead of mixing two
   * versions; a connection that drops mid-range resumes from the last byte received, under the retry policy.
   */
  async *read(bucket: string, key: string, options: { start?: number; end?: number; etag?: string; signal?: AbortSignal | undefined } = {}): AsyncGenerator<Uint8Array> {
    let etag = options.etag;
    let end = options.end;
    if (end === undefined || etag === undefined) {
      const info = await this.head(bucket, key, options.signal);
      end ??= info.size;
      etag ??= info.etag;
    }
    let at = options.start ?? 0;
    const signal = options.signal;
    const started = Date.now();
    let failures = 0;
    while (at < end) {
      const last = Math.min(end, at + this.rangeBytes) - 1;
      const headers: Record<string, string> = { range: `bytes=${at}-${last}` };
      if (etag !== "") headers["if-match"] = etag;
      try {
        const response = await this.open("GET", bucket, key, { headers, signal, operation: "GetObject" });
        if (response.statusCode !== 206 && !(response.statusCode === 200 && at === 0 && last === end - 1)) {
          await response.body.dump();
          throw new ProviderAnswerError(`GET s3://${bucket}/${key} with a Range answered ${response.statusCode}, not 206 Partial Content`);
        }
        // Servers that ignore If-Match still say which version they sent.
        const sent = response.headers.etag;
        if (etag !== "" && typeof sent === "string" && sent !== etag) {
          await response.body.dump();
          throw new ObjectChangedError(`s3://${bucket}/${key} changed while it was read (ETag ${etag}, now ${sent}); run again`);
        }
        try {
          for await (const chunk of response.body as AsyncIterable<Buffer>) {
            const room = last + 1 - at;
            if (chunk.length > room) throw new ProviderAnswerError(`GET s3://${bucket}/${key} sent more bytes than the range asked for`);
            at += chunk.length;
            yield chunk;
          }
        } catch (error) {
          if (error instanceof FtprepError) throw error;
          throw this.failure(this.describe("GET", bucket, key), error, signal);
        } finally {
          if (!response.body.destroyed) response.body.destroy();
        }
        if (at !== last + 1) throw new ConnectionError(this.describe("GET", bucket, key), new Error(`the range ended after ${at} of ${last + 1} bytes`));
        failures = 0;
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) throw new ObjectChangedError(`s3://${bucket}/${key} changed while it was read (it no longer has the ETag ${etag}); run again`);
        const delay = retryDelay(++failures, error, Date.now() - started, DEFAULT_RETRY_POLICY);
        if (delay === undefined || signal?.aborted) throw error;
        await sleep(delay, undefined, signal ? { signal } : {}).catch(() => {
          throw new AbortedError("cancelled");
        });
      }
    }
  }

  /** Writes a small object in one PUT. */
  async put(bucket: string, key: string, body: Uint8Array, signal?: AbortSignal): Promise<string> {
    return this.retrying(signal, async () => {
      const response = await this.open("PUT", bucket, key, { body, signal, operation: "PutObject", headers: { "content-type": "application/x-ndjson" } });
      await response.body.dump();
      return typeof response.headers.etag === "string" ? response.headers.etag : "";
    });
  }

  /** Copies an object within the bucket, server-side (S3 copies up to 5 GB in one request). */
  async copy(bucket: string, fromKey: string, toKey: string, signal?: AbortSignal): Promise<void> {
    const source = `/${bucket}/${encodeKey(fromKey)}`;
    const { text } = await this.text("PUT", bucket, toKey, { headers: { "x-amz-copy-source": source }, signal, operation: "CopyObject" });
    // A copy may fail after its 200 has been sent: the error is then the body.
    if (/<Error[\s>]/.test(text)) throw this.errorOf(500, {}, text, this.describe("PUT", bucket, toKey));
  }

  /** Deletes an object (S3 answers 204 also when there was none). */
  async delete(bucket: string, key: string, signal?: AbortSignal): Promise<void> {
    await this.retrying(signal, async () => {
      const response = await this.open("DELETE", bucket, key, { signal, operation: "DeleteObject" });
      await response.body.dump();
    });
  }

  /** Starts a multipart upload; resolves with its upload id. */
  async createMultipart(bucket: string, key: string, signal?: AbortSignal): Promise<string> {
    const { text } = await this.text("POST", bucket, key, { query: { uploads: "" }, signal, operation: "CreateMultipartUpload", headers: { "content-type": "application/x-ndjson" } });
    const id = xmlText(text, "UploadId");
    if (id === undefined || id === "") throw new ProviderAnswerError(`CreateMultipartUpload of s3://${bucket}/${key} gave no UploadId`);
    return id;
  }

  /** Sends one part; resolves with its ETag. */
  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array, signal?: AbortSignal): Promise<string> {
    return this.retrying(signal, async () => {
      const response = await this.open("PUT", bucket, key, { query: { partNumber: String(partNumber), uploadId }, body, signal, operation: "UploadPart" });
      await response.body.dump();
      const etag = response.headers.etag;
      if (typeof etag !== "string" || etag === "") throw new ProviderAnswerError(`UploadPart ${partNumber} of s3://${bucket}/${key} gave no ETag`);
      return etag;
    });
  }

  /** Completes a multipart upload with its parts' ETags, in order; resolves with the object's ETag. */
  async completeMultipart(bucket: string, key: string, uploadId: string, etags: readonly string[], signal?: AbortSignal): Promise<string> {
    const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join("");
    const body = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts}</CompleteMultipartUpload>`;
    const { text } = await this.text("POST", bucket, key, { query: { uploadId }, body, signal, operation: "CompleteMultipartUpload", headers: { "content-type": "application/xml" } });
    // S3 may answer 200 and put the failure in the body.
    if (/<Error[\s>]/.test(text)) throw this.errorOf(500, {}, text, this.describe("POST", bucket, key));
    return xmlText(text, "ETag") ?? "";
  }

  /** Abandons a multipart upload (its parts are dropped by the server). Failures are ignored: it is clean-up. */
  async abortMultipart(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      const response = await this.open("DELETE", bucket, key, { query: { uploadId }, operation: "AbortMultipartUpload" });
      await response.body.dump();
    } catch {
      // Nothing more to do: an unfinished upload is not an object, and buckets expire them by lifecycle rule.
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
