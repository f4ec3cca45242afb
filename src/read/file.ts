import { createReadStream } from "node:fs";
import { FileSystemError } from "../errors.js";

/** Chunk size for reading dataset files: large enough that per-chunk overhead vanishes, small enough to stay flat. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** Options for reading a file as a stream of chunks. */
export interface FileChunksOptions {
  signal?: AbortSignal;
  highWaterMark?: number;
}

/**
 * Reads a file as byte chunks. File-system failures (missing, unreadable, a directory) surface as
 * `FileSystemError` with the path and errno in the message; the handle closes when the consumer stops early.
 */
export async function* readFileChunks(path: string, options: FileChunksOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const stream = createReadStream(path, {
    highWaterMark: options.highWaterMark ?? READ_CHUNK_BYTES,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw FileSystemError.from(path, "read", error);
  } finally {
    stream.destroy();
  }
}
