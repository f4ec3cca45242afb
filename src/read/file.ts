import { open } from "node:fs/promises";
import { FileSystemError } from "../errors.js";

/** Chunk size for reading dataset files: large enough that per-chunk overhead vanishes, small enough to stay flat. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** Options for reading a file as a stream of chunks. */
export interface FileChunksOptions {
  signal?: AbortSignal;
  /** Bytes per chunk (default 1 MiB). */
  chunkBytes?: number;
}

/**
 * Reads a file as byte chunks into two buffers used in turn, so reading a file of any size allocates 2 MiB once
 * instead of a fresh buffer per chunk (which the garbage collector frees late, letting the RSS climb).
 * A chunk stays valid until the next-but-one chunk is read: consumers copy whatever they keep longer.
 * File-system failures surface as `FileSystemError` naming the path and errno; the file closes when the consumer
 * stops early.
 */
export async function* readFileChunks(path: string, options: FileChunksOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const size = options.chunkBytes ?? READ_CHUNK_BYTES;
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let turn = 0;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const buffer = buffers[turn]!;
      turn ^= 1;
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, size, null));
      } catch (error) {
        throw FileSystemError.from(path, "read", error);
      }
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
