import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";

/**
 * Compressed JSONL: `.jsonl.gz` through node:zlib, `.jsonl.zst` through fzstd (pure JavaScript: Node 20's zlib has
 * no Zstandard, and the native bindings fetch a prebuilt binary at install time). Both decompress as a stream
 * pulled by the line reader, so what is held is one window of compressed input and a bounded amount of output,
 * whatever the file's size.
 */

/** How a dataset file is compressed, from its name. */
export type Compression = "gzip" | "zstd";

/** The names a dataset file may have, longest first, with the compression each implies. */
const DATASET_SUFFIXES: readonly [suffix: string, compression: Compression | undefined][] = [
  [".jsonl.gz", "gzip"],
  [".jsonl.zst", "zstd"],
  [".jsonl", undefined],
  [".json", undefined],
];

function suffixOf(name: string): (typeof DATASET_SUFFIXES)[number] | undefined {
  const lower = name.toLowerCase();
  return DATASET_SUFFIXES.find(([suffix]) => lower.endsWith(suffix));
}

/** Whether a name is a dataset file's: `*.jsonl`, `*.jsonl.gz`, `*.jsonl.zst` or `*.json`. */
export function isDatasetName(name: string): boolean {
  return suffixOf(name) !== undefined;
}

/** The compression a dataset file's name says it has (`.jsonl.gz`, `.jsonl.zst`), or undefined. */
export function compressionOf(name: string): Compression | undefined {
  return suffixOf(name)?.[1];
}

/** A dataset file's name without its dataset suffix: `train.jsonl.gz` → `train`; other names unchanged. */
export function datasetStem(name: string): string {
  const found = suffixOf(name);
  return found ? name.slice(0, name.length - found[0].length) : name;
}

/** The compressed data is not valid, or ends early: a finding about the file, not an operational failure. */
export class CorruptInputError extends Error {
  override readonly name = "CorruptInputError";
}

/** Decompresses a byte stream. Errors of the source itself (unreadable file, abort) pass through unchanged. */
export function decompress(source: AsyncIterable<Uint8Array>, compression: Compression): AsyncGenerator<Uint8Array, void, undefined> {
  return compression === "gzip" ? gunzip(source) : unzstd(source);
}

/** Copies each chunk: the file reader reuses its buffers, and both decoders keep input beyond the current chunk. */
async function* copies(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) yield Uint8Array.from(chunk);
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  // Readable.from reads ahead a bounded number of chunks; the gunzip stream's own backpressure does the rest.
  const input = Readable.from(copies(source), { objectMode: false });
  const gz = createGunzip({ chunkSize: 64 * 1024 });
  let sourceError: unknown;
  input.once("error", (error) => {
    sourceError = error;
    gz.destroy(error);
  });
  input.pipe(gz);
  try {
    for await (const chunk of gz as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    throw new CorruptInputError(`not valid gzip data (${(error as Error).message})`, { cause: error });
  } finally {
    input.destroy();
    gz.destroy();
  }
}

/** Output held between two pulls is kept near this by feeding the decoder smaller slices after a large yield. */
const ZSTD_OUTPUT_TARGET = 4 * 1024 * 1024;
const ZSTD_SLICE_MIN = 256;
const ZSTD_SLICE_MAX = 64 * 1024;

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  let out: Uint8Array[] = [];
  let outBytes = 0;
  const decoder = new Decompress((data) => {
    if (data.length === 0) return;
    out.push(data);
    outBytes += data.length;
  });
  const push = (data: Uint8Array, final: boolean): void => {
    try {
      decoder.push(data, final);
    } catch (error) {
      throw new CorruptInputError(`not valid Zstandard data (${(error as Error).message})`, { cause: error });
    }
  };
  // fzstd answers a push with everything it decodes, synchronously: a highly compressed slice could decode to a lot.
  // So the input goes in slices, smaller while the output per slice is large, which bounds what waits here.
  let slice = ZSTD_SLICE_MAX;
  for await (const chunk of copies(source)) {
    for (let at = 0; at < chunk.length; ) {
      const end = Math.min(chunk.length, at + slice);
      push(chunk.subarray(at, end), false);
      at = end;
      if (outBytes > ZSTD_OUTPUT_TARGET) slice = Math.max(ZSTD_SLICE_MIN, slice >> 2);
      else if (outBytes < ZSTD_OUTPUT_TARGET / 8) slice = Math.min(ZSTD_SLICE_MAX, slice << 1);
      const ready = out;
      out = [];
      outBytes = 0;
      yield* ready;
    }
  }
  push(new Uint8Array(0), true);
  yield* out;
}
