import { readFileChunks } from "../read/file.js";
import { readJsonArrayElements } from "../read/json-array.js";
import { isBlankLine, readLineBatches, type Line } from "../read/lines.js";
import { compressionOf, CorruptInputError, decompress } from "../read/source.js";
import { readParquetRows } from "./parquet.js";

/**
 * Records of a source file, whatever it is stored in: JSONL (plain or gzip), a `.json` array, or Parquet. Memory
 * stays flat: lines and array elements stream; Parquet is read one row group at a time.
 */

/** How a source file stores its records, from its name. */
export type SourceKind = "jsonl" | "jsonl.gz" | "jsonl.zst" | "json" | "parquet";

/** One unit of a source: a JSONL line or `.json` element (bytes as read), or a Parquet row already decoded. */
export type SourceItem =
  | { number: number; line: Line }
  | { number: number; value: unknown };

/** A source that stopped early for a reason found in its data (a broken JSON array). */
export interface SourceProblem {
  message: string;
}

/** The storage kind of a file name, or undefined when it is none of the kinds ftprep converts. */
export function sourceKind(path: string): SourceKind | undefined {
  const name = path.toLowerCase();
  if (name.endsWith(".jsonl.gz") || name.endsWith(".ndjson.gz")) return "jsonl.gz";
  if (name.endsWith(".jsonl.zst")) return "jsonl.zst";
  if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return "jsonl";
  if (name.endsWith(".json")) return "json";
  if (name.endsWith(".parquet")) return "parquet";
  return undefined;
}

/** Whether a file name is one `fix` / `convert` read. */
export function isSourceName(path: string): boolean {
  return sourceKind(path) !== undefined;
}

/** The output name of a source: always JSONL, beside the same relative path. */
export function outputName(relative: string): string {
  const kind = sourceKind(relative);
  if (kind === "jsonl.gz") return relative.slice(0, -3);
  if (kind === "jsonl.zst") return relative.slice(0, -4);
  if (kind === "json") return `${relative}l`;
  if (kind === "parquet") return `${relative.slice(0, -".parquet".length)}.jsonl`;
  return relative;
}

/**
 * A compressed file's decompressed bytes. Corrupt data ends the stream with `onProblem` (as `validate` reports
 * E_DECOMPRESS): the records before the fault are still delivered.
 */
async function* decompressed(path: string, signal: AbortSignal | undefined, onProblem: ((problem: SourceProblem) => void) | undefined): AsyncGenerator<Uint8Array> {
  try {
    yield* decompress(readFileChunks(path, signal ? { signal } : {}), compressionOf(path)!);
  } catch (error) {
    if (!(error instanceof CorruptInputError)) throw error;
    onProblem?.({ message: error.message });
  }
}

async function* lineItems(chunks: AsyncIterable<Uint8Array>, maxLineBytes: number | undefined): AsyncGenerator<SourceItem[]> {
  for await (const batch of readLineBatches(chunks, maxLineBytes !== undefined ? { maxLineBytes } : {})) {
    yield batch.map((line) => ({ number: line.number, line }));
  }
}

/**
 * Reads a source's records in batches, in order. A `.json` array that breaks off ends with `onProblem` called;
 * every element before the break is still delivered. Unreadable files throw `FileSystemError`.
 */
export async function* readSource(
  path: string,
  options: { signal?: AbortSignal; maxLineBytes?: number; onProblem?: (problem: SourceProblem) => void } = {},
): AsyncGenerator<SourceItem[], void, undefined> {
  const kind = sourceKind(path) ?? "jsonl";
  const signal = options.signal;
  if (kind === "jsonl") {
    yield* lineItems(readFileChunks(path, signal ? { signal } : {}), options.maxLineBytes);
  } else if (kind === "jsonl.gz" || kind === "jsonl.zst") {
    yield* lineItems(decompressed(path, signal, options.onProblem), options.maxLineBytes);
  } else if (kind === "json") {
    // Each element as its source bytes (a line): unchanged records are copied exactly as written.
    const elements = readJsonArrayElements(readFileChunks(path, signal ? { signal } : {}), options.maxLineBytes !== undefined ? { maxElementBytes: options.maxLineBytes } : {});
    for await (const batch of elements) {
      const items: SourceItem[] = [];
      let stop = false;
      for (const item of batch) {
        if (item.kind === "error") {
          options.onProblem?.({ message: `not a readable JSON array: ${item.message}` });
          stop = true;
          break;
        }
        items.push({ number: item.line.number, line: item.line });
      }
      if (items.length > 0) yield items;
      if (stop) return;
    }
  } else {
    let number = 0;
    for await (const rows of readParquetRows(path, signal)) {
      yield rows.map((value) => ({ number: ++number, value }));
    }
  }
}

/** Whether a JSONL line is blank (no record). */
export function isBlankItem(item: SourceItem): boolean {
  return "line" in item && !item.line.tooLong && isBlankLine(item.line.bytes);
}
