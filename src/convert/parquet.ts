import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { FileSystemError, FtprepError } from "../errors.js";

/**
 * Parquet rows as plain JSON values, one row group at a time (hyparquet, pure JavaScript): memory holds one
 * decoded row group, whatever the file's size. Hugging Face datasets are written with row groups of a few
 * thousand rows, so a group is small next to the file.
 */

/** A Parquet file that hyparquet cannot read (not Parquet, or a codec/encoding it does not know). */
export class ParquetError extends FtprepError {
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super("ERR_PARQUET", `cannot read ${path} as Parquet: ${reason}`, options);
  }
}

/** Rows handed on at a time within a row group. */
const SLICE = 256;

/** Turns what hyparquet decodes into JSON values: 64-bit integers, dates and raw bytes have no JSON form of their own. */
export function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length).toString("utf8");
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = jsonValue(item);
    return out;
  }
  return value;
}

/** Reads a Parquet file's rows as objects, yielded in slices, one row group decoded at a time. */
export async function* readParquetRows(path: string, signal?: AbortSignal): AsyncGenerator<unknown[], void, undefined> {
  let file: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  try {
    file = await asyncBufferFromFile(path);
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new ParquetError(path, (error as Error).message, { cause: error });
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    signal?.throwIfAborted();
    const end = start + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, compressors });
    } catch (error) {
      throw new ParquetError(path, (error as Error).message, { cause: error });
    }
    start = end;
    for (let i = 0; i < rows.length; i += SLICE) yield rows.slice(i, i + SLICE).map(jsonValue);
  }
}
