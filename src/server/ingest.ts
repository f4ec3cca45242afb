import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

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
 * Streams bytes to `path` while hashing them and counting lines, never holding more than a chunk; past `limit`
 * bytes it stops, removes what it wrote and throws TooLargeError.
 */
export async function ingest(source: Readable, path: string, limit: number, options: { md5?: boolean } = {}): Promise<Ingested> {
  const sha256 = createHash("sha256");
  const md5 = options.md5 ? createHash("md5") : undefined;
  let bytes = 0;
  let newlines = 0;
  let lastByte = -1;
  const head: Buffer[] = [];
  let headBytes = 0;
  let headDone = false;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > limit) {
        done(new TooLargeError(limit));
        return;
      }
      sha256.update(chunk);
      md5?.update(chunk);
      let at = chunk.indexOf(10);
      if (!headDone) {
        const end = at === -1 ? chunk.length : at;
        const take = Math.min(end, FIRST_LINE_BYTES - headBytes);
        if (take > 0) head.push(Buffer.from(chunk.subarray(0, take)));
        headBytes += take;
        if (at !== -1 || headBytes >= FIRST_LINE_BYTES) headDone = true;
      }
      while (at !== -1) {
        newlines++;
        at = chunk.indexOf(10, at + 1);
      }
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(path, { highWaterMark: WRITE_BATCH_BYTES }));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return {
    bytes,
    sha256: sha256.digest("hex"),
    md5: md5?.digest("hex"),
    numLines: newlines + (bytes > 0 && lastByte !== 10 ? 1 : 0),
    firstLine: Buffer.concat(head),
  };
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
