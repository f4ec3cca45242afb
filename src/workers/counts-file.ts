import { type FileHandle, open, rm } from "node:fs/promises";
import { FileSystemError } from "../errors.js";
import { readFileChunks } from "../read/file.js";

/**
 * A part's per-record token counts, as a worker writes them for the main thread to tell in file order (a token
 * hook's `onCount`): four numbers per counted record — its line (the part's own numbering), tokens, trainable
 * tokens, 1 if estimated else 0 — as float64 in this machine's byte order. Numbers, not JSON lines: the main
 * thread reads them back as they are, with no line splitting, no parsing and no per-record garbage (the JSON lines
 * this replaced cost the main thread about as much as printing the counts). A temporary file of this process
 * only, read after the worker closed it: written in place, not synced.
 */

/** Numbers per record. */
export const COUNT_FIELDS = 4;
const BYTES_PER_RECORD = COUNT_FIELDS * 8;
/** Records gathered before a write to disk. */
const BUFFER_RECORDS = 16 * 1024;

export class CountsWriter {
  private readonly buffer = new Float64Array(BUFFER_RECORDS * COUNT_FIELDS);
  private used = 0;

  private constructor(
    readonly path: string,
    private handle: FileHandle | undefined,
  ) {}

  static async create(path: string): Promise<CountsWriter> {
    try {
      return new CountsWriter(path, await open(path, "w"));
    } catch (error) {
      throw FileSystemError.from(path, "write", error);
    }
  }

  /** Adds one record's count (written at the next `flush`; the producer flushes when `wantsFlush` says so). */
  add(line: number, tokens: number, trainable: number, estimated: boolean): void {
    if (this.used === this.buffer.length) this.spill();
    const b = this.buffer;
    const at = this.used;
    b[at] = line;
    b[at + 1] = tokens;
    b[at + 2] = trainable;
    b[at + 3] = estimated ? 1 : 0;
    this.used = at + COUNT_FIELDS;
  }

  /** Records added past a full buffer, before the producer flushed (a batch of many small records). */
  private spilled: Float64Array[] = [];

  private spill(): void {
    this.spilled.push(this.buffer.slice(0, this.used));
    this.used = 0;
  }

  /** Whether the producer should `flush` before going on. */
  get wantsFlush(): boolean {
    return this.spilled.length > 0 || this.used >= this.buffer.length / 2;
  }

  /** Writes the gathered records to disk. */
  async flush(): Promise<void> {
    if (!this.handle) return;
    try {
      for (const part of this.spilled) await this.handle.write(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
      if (this.used > 0) await this.handle.write(new Uint8Array(this.buffer.buffer, 0, this.used * 8));
    } catch (error) {
      throw FileSystemError.from(this.path, "write", error);
    }
    this.spilled = [];
    this.used = 0;
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    if (!this.handle) return;
    await this.flush();
    const handle = this.handle;
    this.handle = undefined;
    await handle.close().catch((error: unknown) => {
      throw FileSystemError.from(this.path, "write", error);
    });
  }

  /** Closes and removes the file. */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.spilled = [];
    this.used = 0;
    if (handle) await handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

/**
 * The records of a counts file, in order, as arrays of `COUNT_FIELDS` numbers per record (each array valid until
 * the next is asked for).
 */
export async function* readCounts(path: string): AsyncGenerator<Float64Array, void, undefined> {
  // Chunks of a whole number of records; a record cut by a chunk's end is carried over.
  const chunkBytes = 8 * 1024 * BYTES_PER_RECORD;
  const records = new Float64Array(chunkBytes / 8 + COUNT_FIELDS);
  const bytes = new Uint8Array(records.buffer);
  let held = 0;
  for await (const chunk of readFileChunks(path, { chunkBytes })) {
    bytes.set(chunk, held);
    held += chunk.length;
    const whole = held - (held % BYTES_PER_RECORD);
    if (whole > 0) yield records.subarray(0, whole / 8);
    bytes.copyWithin(0, whole, held);
    held -= whole;
  }
  if (held !== 0) throw FileSystemError.from(path, "read", new Error("a counts file ends inside a record"));
}
