import { createHash, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";

/** What the server learns from an incoming file's bytes as they stream to disk. */
export interface Ingested {
  bytes: number;
  sha256: string;
  /** Only when asked for (the Uploads API's completion checks it). */
  md5: string | undefined;
  numLines: number;
  /** The first line (at most FIRST_LINE_BYTES of it), to tell the file's sample type. */
  firstLine: Buffer;
}

const FIRST_LINE_BYTES = 1024 * 1024;
/**
 * How much of an incoming file the disk write may hold back: with the file stream's default (64 KiB, one socket
 * read) every chunk became its own write on libuv's pool — 62 for a 4 MB upload — and handing each over costs the
 * main thread more than the write; with 1 MiB the chunks that arrive while a write is under way go out as one writev.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** The incoming bytes passed the limit; the caller answers 413. */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the file is larger than ${limit} bytes`);
  }
}

/**
 * An incoming file on its way to `path`: each chunk written is hashed, its lines counted and handed to the disk
 * write as it is (no copy; the caller must not reuse it). Past `limit` bytes `write` throws TooLargeError. The
 * caller waits for `drained()` when `write` returns false, then calls `finish()`, or `abort()` to remove the file.
 */
export class FileSink {
  private readonly out: WriteStream;
  private readonly sha256: Hash = createHash("sha256");
  private readonly md5: Hash | undefined;
  private failure: Error | undefined;
  private bytes = 0;
  private newlines = 0;
  private lastByte = -1;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private headDone = false;

  constructor(
    readonly path: string,
    private readonly limit: number,
    options: { md5?: boolean } = {},
  ) {
    this.md5 = options.md5 ? createHash("md5") : undefined;
    this.out = createWriteStream(path, { highWaterMark: WRITE_BATCH_BYTES });
    this.out.on("error", (error) => {
      this.failure ??= error;
    });
  }

  /** Takes a chunk; false when the disk write holds more than its batch (wait for `drained()`). */
  write(chunk: Buffer): boolean {
    if (this.failure) throw this.failure;
    this.bytes += chunk.length;
    if (this.bytes > this.limit) throw new TooLargeError(this.limit);
    this.sha256.update(chunk);
    this.md5?.update(chunk);
    let at = chunk.indexOf(10);
    if (!this.headDone) {
      const end = at === -1 ? chunk.length : at;
      const take = Math.min(end, FIRST_LINE_BYTES - this.headBytes);
      if (take > 0) this.head.push(Buffer.from(chunk.subarray(0, take)));
      this.headBytes += take;
      if (at !== -1 || this.headBytes >= FIRST_LINE_BYTES) this.headDone = true;
    }
    while (at !== -1) {
      this.newlines++;
      at = chunk.indexOf(10, at + 1);
    }
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1]!;
    return this.out.write(chunk);
  }

  /** Resolves once the disk write has room again; rejects when it failed. */
  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        this.out.off("drain", done);
        this.out.off("error", done);
        this.out.off("close", closed);
        if (error) reject(error);
        else resolve();
      };
      const closed = (): void => done(this.failure ?? new Error("the file was closed before its bytes were written"));
      this.out.on("drain", done);
      this.out.on("error", done);
      this.out.on("close", closed);
    });
  }

  /** Every byte is on disk (the file closed): what they told. */
  async finish(): Promise<Ingested> {
    await new Promise<void>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.out.once("error", reject);
      this.out.once("close", () => (this.failure ? reject(this.failure) : resolve()));
      this.out.end();
    }).catch(async (error: unknown) => {
      await this.abort();
      throw error;
    });
    return {
      bytes: this.bytes,
      sha256: this.sha256.digest("hex"),
      md5: this.md5?.digest("hex"),
      numLines: this.newlines + (this.bytes > 0 && this.lastByte !== 10 ? 1 : 0),
      firstLine: Buffer.concat(this.head),
    };
  }

  /** Stops the write and removes the file (once closed, so no late open recreates it). */
  async abort(): Promise<void> {
    if (!this.out.closed) {
      const closed = new Promise<void>((resolve) => this.out.once("close", () => resolve()));
      this.out.destroy();
      await closed;
    }
    await rm(this.path, { force: true });
  }
}

/**
 * Streams bytes to `path` while hashing them and counting lines, never holding more than a chunk; past `limit`
 * bytes it stops, removes what it wrote and throws TooLargeError.
 */
export async function ingest(source: Readable, path: string, limit: number, options: { md5?: boolean } = {}): Promise<Ingested> {
  const sink = new FileSink(path, limit, options);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (!sink.write(chunk)) await sink.drained();
    }
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return sink.finish();
}

/** Mistral's `sample_type` from a file's first record: chat → instruct, text → pretrain, batch lines → batch_request. */
export function sampleTypeOf(firstLine: Buffer): string {
  try {
    const record = JSON.parse(firstLine.toString("utf8")) as Record<string, unknown>;
    if (record.custom_id !== undefined && record.body !== undefined) return "batch_request";
    if (record.messages === undefined && record.interactions === undefined && (typeof record.text === "string" || typeof record.content === "string")) return "pretrain";
  } catch {
    // Not JSON (or a first line longer than we look at): the fine-tuning default.
  }
  return "instruct";
}
