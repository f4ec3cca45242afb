import { objectStorage } from "./object-storage.js";
import { parseObjectUrl } from "./s3-url.js";

/**
 * Writes one object as it is produced: bytes gather into a part buffer, each full part is sent as a multipart-upload
 * part before more is taken (the producer awaits `write`, which is its backpressure), and `finish` completes the
 * upload — the object appears whole, at once, or not at all, like a temporary file renamed into place. An object
 * smaller than one part goes in a single PUT. Memory: one part buffer.
 *
 * Parts are the client's `partBytes` (8 MiB), or larger when `maxBytes` — the most the object may hold, a shard's
 * limit — would need more than S3's 10,000 parts of that size; writing past `maxBytes` is refused.
 */
export class ObjectUpload {
  readonly url: string;
  private readonly bucket: string;
  private readonly key: string;
  private buffer: Buffer | undefined;
  private used = 0;
  private uploadId: string | undefined;
  private readonly etags: string[] = [];
  private readonly signal: AbortSignal | undefined;
  private readonly maxBytes: number | undefined;
  private partSize: number | undefined;
  /** Bytes written so far. */
  bytes = 0;

  constructor(url: string, options: { signal?: AbortSignal | undefined; maxBytes?: number } = {}) {
    this.url = url;
    const { bucket, key } = parseObjectUrl(url);
    if (key === "" || key.endsWith("/")) throw new TypeError(`Expected an object key, got the prefix ${url}`);
    if (options.maxBytes !== undefined && (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0)) {
      throw new TypeError(`Expected \`maxBytes\` to be a whole number of bytes, got ${String(options.maxBytes)}`);
    }
    this.bucket = bucket;
    this.key = key;
    this.signal = options.signal;
    this.maxBytes = options.maxBytes;
  }

  /** Appends bytes (copied); sends a part whenever the buffer fills. */
  async write(data: Uint8Array): Promise<void> {
    if (this.maxBytes !== undefined && this.bytes + data.length > this.maxBytes) {
      throw new RangeError(`${this.url}: writing past the ${this.maxBytes} bytes its parts were sized for`);
    }
    const size = (this.partSize ??= objectStorage().partBytesFor(this.maxBytes ?? 0));
    let at = 0;
    while (at < data.length) {
      this.buffer ??= Buffer.allocUnsafe(size);
      const n = Math.min(size - this.used, data.length - at);
      this.buffer.set(data.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === size) await this.sendPart();
    }
    this.bytes += data.length;
  }

  private async sendPart(): Promise<void> {
    const s3 = objectStorage();
    if (this.etags.length >= s3.maxParts) throw new RangeError(`${this.url} would need more than ${s3.maxParts} parts: give its largest size (maxBytes)`);
    this.uploadId ??= await s3.createMultipart(this.bucket, this.key, this.signal);
    const etag = await s3.uploadPart(this.bucket, this.key, this.uploadId, this.etags.length + 1, this.buffer!.subarray(0, this.used), this.signal);
    this.etags.push(etag);
    this.used = 0;
  }

  /** The parts sent so far (for tests and progress). */
  get parts(): number {
    return this.etags.length;
  }

  /** Sends what is left and makes the object visible. */
  async finish(): Promise<void> {
    const s3 = objectStorage();
    if (this.uploadId === undefined) {
      await s3.put(this.bucket, this.key, (this.buffer ?? Buffer.alloc(0)).subarray(0, this.used), this.signal);
    } else {
      if (this.used > 0) await this.sendPart();
      await s3.completeMultipart(this.bucket, this.key, this.uploadId, this.etags, this.signal);
    }
    this.buffer = undefined;
  }

  /** Drops an unfinished upload: nothing becomes visible. */
  async abort(): Promise<void> {
    this.buffer = undefined;
    const id = this.uploadId;
    this.uploadId = undefined;
    if (id !== undefined) await objectStorage().abortMultipart(this.bucket, this.key, id);
  }
}
