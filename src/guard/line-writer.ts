import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { FileSystemError } from "../errors.js";
import { tempPathFor } from "../temp-files.js";

/** Bytes gathered before a write to disk: few system calls, bounded memory. */
const BUFFER_BYTES = 1024 * 1024;

/**
 * Writes lines to a file through a temporary file that is renamed into place on `close()`, so a reader never
 * sees a half-written output and a failed run leaves none. `writeLine` copies into one reused buffer (the caller's
 * bytes may be a view into a read buffer that is about to be reused); `flush`, awaited by the producer between
 * batches once `wantsFlush` says so, writes it out, which is the backpressure.
 */
export class LineFileWriter {
  readonly path: string;
  private readonly temp: string;
  private handle: FileHandle | undefined;
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  /** Lines longer than the buffer, copied whole, waiting for the next flush. */
  private overflow: Uint8Array[] = [];
  /** Lines written so far. */
  lines = 0;

  private constructor(path: string, temp: string, handle: FileHandle) {
    this.path = path;
    this.temp = temp;
    this.handle = handle;
  }

  /** Creates the output's directory if needed and opens a temporary file beside the output. */
  static async create(path: string): Promise<LineFileWriter> {
    const temp = tempPathFor(path);
    try {
      await mkdir(dirname(path), { recursive: true });
      return new LineFileWriter(path, temp, await open(temp, "w"));
    } catch (error) {
      throw FileSystemError.from(path, "write", error);
    }
  }

  /** Buffers one line (copied); a `\n` is appended. */
  writeLine(bytes: Uint8Array | string): void {
    const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
    const need = data.length + 1;
    if (this.overflow.length > 0 || this.used + need > this.buffer.length) {
      // Past the buffer: keep a copy; the producer flushes at its next batch boundary.
      const copy = Buffer.allocUnsafe(need);
      copy.set(data, 0);
      copy[data.length] = 0x0a;
      this.overflow.push(copy);
    } else {
      this.buffer.set(data, this.used);
      this.buffer[this.used + data.length] = 0x0a;
      this.used += need;
    }
    this.lines++;
  }

  /** Whether the producer should `flush` before going on. */
  get wantsFlush(): boolean {
    return this.overflow.length > 0 || this.used >= this.buffer.length / 2;
  }

  /** Writes the buffered lines to disk. */
  async flush(): Promise<void> {
    if (!this.handle || (this.used === 0 && this.overflow.length === 0)) return;
    try {
      if (this.used > 0) await this.handle.write(this.buffer, 0, this.used);
      for (const data of this.overflow) await this.handle.write(data);
    } catch (error) {
      throw FileSystemError.from(this.path, "write", error);
    }
    this.used = 0;
    this.overflow = [];
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
    this.used = 0;
    this.overflow = [];
    if (handle) await handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}
