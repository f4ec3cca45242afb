import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FileSystemError } from "../errors.js";

/** Bytes gathered before a write to disk: few system calls, bounded memory. */
const FLUSH_BYTES = 1024 * 1024;
const NEWLINE = new Uint8Array([0x0a]);

/**
 * Writes lines to a file through a temporary file that is renamed into place on `close()`, so a reader never
 * sees a half-written output and a failed run leaves none. `write` buffers; `flush` (awaited by the producer
 * between batches) writes the buffer out, which is the backpressure.
 */
export class LineFileWriter {
  readonly path: string;
  private readonly temp: string;
  private handle: FileHandle | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Lines written so far. */
  lines = 0;
  /** Bytes written so far (including newlines). */
  bytes = 0;

  private constructor(path: string, temp: string, handle: FileHandle) {
    this.path = path;
    this.temp = temp;
    this.handle = handle;
  }

  /** Creates the output's directory if needed and opens a temporary file beside the output. */
  static async create(path: string): Promise<LineFileWriter> {
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await mkdir(dirname(path), { recursive: true });
      return new LineFileWriter(path, temp, await open(temp, "w"));
    } catch (error) {
      throw FileSystemError.from(path, "write", error);
    }
  }

  /** Buffers one line; a `\n` is appended. */
  writeLine(bytes: Uint8Array | string): void {
    const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
    this.pending.push(data, NEWLINE);
    this.pendingBytes += data.length + 1;
    this.lines++;
    this.bytes += data.length + 1;
  }

  /** Whether enough is buffered that the producer should `flush` before going on. */
  get wantsFlush(): boolean {
    return this.pendingBytes >= FLUSH_BYTES;
  }

  /** Writes the buffered lines to disk. */
  async flush(): Promise<void> {
    if (this.pending.length === 0 || !this.handle) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.handle.write(data);
    } catch (error) {
      throw FileSystemError.from(this.path, "write", error);
    }
  }

  /** Flushes, syncs and moves the file into place. */
  async close(): Promise<void> {
    if (!this.handle) return;
    await this.flush();
    const handle = this.handle;
    this.handle = undefined;
    try {
      await handle.sync();
      await handle.close();
      await rename(this.temp, this.path);
    } catch (error) {
      await rm(this.temp, { force: true });
      throw FileSystemError.from(this.path, "write", error);
    }
  }

  /** Drops the output: closes and removes the temporary file. */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.pending = [];
    if (handle) await handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}
