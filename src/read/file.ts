import { createReadStream, statSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { FileSystemError } from "../errors.js";
import { isObjectUrl } from "../storage/s3-url.js";

/** The object-storage client (aws4fetch, undici), loaded for the first `s3://` path only: local reads never need it. */
const objectStorage = (): Promise<typeof import("../storage/object-storage.js")> => import("../storage/object-storage.js");

/** Chunk size for reading dataset files: large enough that per-chunk overhead vanishes, small enough to stay flat. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** Options for reading a file as a stream of chunks. */
export interface FileChunksOptions {
  signal?: AbortSignal;
  /** Bytes per chunk (default 256 KiB). */
  chunkBytes?: number;
  /** Byte offset to start reading at (default 0). */
  start?: number;
  /** Byte offset to stop reading at, exclusive (default: the end of the file). */
  end?: number;
}

/**
 * Reads a file as byte chunks into three buffers used in turn, so reading a file of any size allocates three
 * chunks once instead of a fresh buffer per chunk (which the garbage collector frees late, letting the RSS
 * climb). The next chunk is read while the consumer works on the current one. A chunk stays valid until the
 * consumer has pulled two more: consumers copy whatever they keep longer.
 * File-system failures surface as `FileSystemError` naming the path and errno; the file closes when the consumer
 * stops early.
 */
export async function* readFileChunks(path: string, options: FileChunksOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  // An s3:// object streams through ranged GETs instead: never downloaded whole, to disk or memory.
  if (isObjectUrl(path)) {
    const { readObject } = await objectStorage();
    return yield* readObject(path, { signal: options.signal, ...(options.start !== undefined ? { start: options.start } : {}), ...(options.end !== undefined ? { end: options.end } : {}) });
  }
  const size = options.chunkBytes ?? READ_CHUNK_BYTES;
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let turn = 0;
  let position = options.start ?? 0;
  const end = options.end ?? Infinity;
  // Reads at explicit positions only for a byte range: pipes and character devices cannot seek.
  const positioned = options.start !== undefined || options.end !== undefined;
  const readNext = (): Promise<Uint8Array> => {
    const buffer = buffers[turn]!;
    turn = (turn + 1) % buffers.length;
    const want = Math.min(size, end - position);
    if (want <= 0) return Promise.resolve(buffer.subarray(0, 0));
    return handle.read(buffer, 0, want, positioned ? position : null).then(
      ({ bytesRead }) => {
        position += bytesRead;
        return buffer.subarray(0, bytesRead);
      },
      (error: unknown) => {
        throw FileSystemError.from(path, "read", error);
      },
    );
  };
  let pending: Promise<Uint8Array> | undefined = readNext();
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const chunk: Uint8Array = await pending!;
      pending = undefined;
      if (chunk.length === 0) return;
      pending = readNext();
      yield chunk;
    }
  } finally {
    // Let an in-flight read settle before closing the handle under it.
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

/**
 * Bytes `start` to `end` (exclusive) of a local file or an `s3://` object, as a stream (what an upload sends: a
 * file, a part of a file, or an object read by ranged GETs). Each chunk is a buffer of its own, which a request body
 * may hold while it is sent; a consumer done with each chunk at once (a hash, a line splitter) reads with
 * `readFileChunks`, which takes a range too and reuses its three buffers.
 */
export async function* readFileRange(path: string, start: number, end: number, options: { signal?: AbortSignal | undefined } = {}): AsyncGenerator<Uint8Array> {
  if (end <= start) return;
  if (isObjectUrl(path)) return yield* (await objectStorage()).readObject(path, { start, end, signal: options.signal });
  const stream = createReadStream(path, { start, end: end - 1, highWaterMark: 1024 * 1024, ...(options.signal ? { signal: options.signal } : {}) });
  for await (const chunk of stream) yield chunk as Buffer;
}

/** The size of a local file (`ERR_FS` naming it when it cannot be read, or is a directory) or of an `s3://` object. */
export async function fileSize(path: string, signal?: AbortSignal): Promise<number> {
  if (isObjectUrl(path)) return (await (await objectStorage()).statObject(path, signal)).size;
  try {
    // A local stat is a few microseconds: synchronously, not a round trip through the thread pool per file.
    const info = statSync(path);
    if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    return info.size;
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
}
