import { createHash, type Hash } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, type FileHandle, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileSystemError } from "../errors.js";
import { deleteObject, moveObject } from "../storage/object-storage.js";
import { ObjectUpload } from "../storage/object-upload.js";
import { isObjectUrl, joinLocation } from "../storage/s3-url.js";
import { tempNameFor, tempPathFor } from "../temp-files.js";

/** A file the shard writer left in its directory. */
export interface WrittenFile {
  path: string;
  /** 1-based part number, and the number of parts (1 and 1 for a single file). */
  part: number;
  parts: number;
  records: number;
  bytes: number;
  sha256: string;
  /** An identical file from an earlier run was kept instead of being rewritten. */
  reused: boolean;
}

export interface ShardWriterOptions {
  /** Directory of the output (created when needed). */
  dir: string;
  /** Base name without extension: `train` gives `train.jsonl`, or `train.part-0001-of-0003.jsonl`. */
  name: string;
  /** Hard limit of one file, in bytes. */
  maxBytes: number;
  /**
   * Bytes expected in all (the source's size): parts are then balanced — a 1.2 GB file under a 511 MB limit gives
   * three parts of about 400 MB rather than 511 + 511 + 178.
   */
  expectedBytes?: number;
}

interface Part {
  temp: string;
  handle: FileHandle | undefined;
  /** With an `s3://` directory: the multipart upload of the part's temporary object, until it is complete. */
  object?: ObjectUpload | undefined;
  /** The temporary object is complete (it is moved to its name by `finish`). */
  sealed?: boolean;
  bytes: number;
  records: number;
  hash: Hash;
}

interface Segment {
  part: Part;
  buffer: Buffer;
  length: number;
}

/** The record of the files a directory's shard writers produced, so a re-run can keep identical ones. */
interface ShardState {
  version: 1;
  files: Record<string, { sha256: string; bytes: number; mtimeMs: number }>;
}

export const SHARD_STATE_FILE = ".ftprep-shards.json";
const BUFFER_BYTES = 1024 * 1024;

/** `NAME.part-0001-of-0003.jsonl`, or `NAME.jsonl` for a single part. */
export function shardName(name: string, part: number, parts: number): string {
  if (parts === 1) return `${name}.jsonl`;
  const pad = (n: number) => String(n).padStart(4, "0");
  return `${name}.part-${pad(part)}-of-${pad(parts)}.jsonl`;
}

/**
 * Writes records into one or more files of at most `maxBytes`, splitting only between records and keeping each
 * record's bytes and line ending (a last line without one gets `\n`). Each part's sha256 is computed as it is
 * written. Parts go to temporary files and are renamed into place by `finish()`; a part identical to the file of
 * the same name that an earlier run wrote (same sha256, and that file unchanged since) is not replaced.
 *
 * `write` only buffers; the producer awaits `flush()` when `wantsFlush` says so (its backpressure). Memory stays
 * within two 1 MiB buffers whatever the output's size.
 */
export class ShardWriter {
  private readonly parts: Part[] = [];
  private readonly segments: Segment[] = [];
  private readonly pool: Buffer[] = [];
  private buffer: Buffer;
  private used = 0;
  private bufferPart: Part | undefined;
  private readonly target: number;
  private dirReady = false;
  /** The directory is an `s3://` prefix: parts stream to the bucket by multipart upload instead of to disk. */
  private readonly remote: boolean;

  constructor(private readonly options: ShardWriterOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 2) {
      throw new TypeError(`Expected \`maxBytes\` to be an integer of at least 2, got ${String(options.maxBytes)}`);
    }
    const expected = options.expectedBytes ?? options.maxBytes;
    const parts = Math.max(1, Math.ceil(expected / options.maxBytes));
    this.target = Math.ceil(expected / parts);
    this.buffer = Buffer.allocUnsafe(BUFFER_BYTES);
    this.remote = isObjectUrl(options.dir);
  }

  /** Records written so far. */
  get records(): number {
    return this.parts.reduce((n, p) => n + p.records, 0);
  }

  /** Appends one record: its bytes without terminator, and the terminator it had (`""` becomes `\n`). */
  write(raw: Uint8Array | string, terminator: string): void {
    const data = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
    const end = terminator === "\r\n" ? "\r\n" : "\n";
    const size = data.length + end.length;
    if (size > this.options.maxBytes) {
      throw new RangeError(`a record of ${size} bytes cannot fit a file of at most ${this.options.maxBytes} bytes`);
    }
    let part = this.parts.at(-1);
    if (part === undefined || (part.records > 0 && (part.bytes + size > this.options.maxBytes || part.bytes >= this.target))) {
      part = { temp: "", handle: undefined, bytes: 0, records: 0, hash: createHash("sha256") };
      const base = `${this.options.name}.part-${this.parts.length + 1}`;
      // A hidden temporary name either way: discovery never takes it, and a bucket's is moved to its name at the end.
      part.temp = this.remote
        ? joinLocation(this.options.dir, tempNameFor(base))
        : tempPathFor(join(this.options.dir, base));
      this.parts.push(part);
    }
    if (this.bufferPart !== part || this.used + size > this.buffer.length) this.cut();
    this.bufferPart = part;
    if (size > this.buffer.length) {
      // A record larger than the buffer gets a segment of its own.
      const big = Buffer.allocUnsafe(size);
      big.set(data, 0);
      big.write(end, data.length, "latin1");
      this.segments.push({ part, buffer: big, length: size });
    } else {
      this.buffer.set(data, this.used);
      this.buffer.write(end, this.used + data.length, "latin1");
      this.used += size;
    }
    part.bytes += size;
    part.records++;
  }

  /** Whether the producer should await `flush()` before writing more. */
  get wantsFlush(): boolean {
    return this.segments.length > 0 || this.used >= this.buffer.length / 2;
  }

  private cut(): void {
    if (this.used === 0 || this.bufferPart === undefined) return;
    this.segments.push({ part: this.bufferPart, buffer: this.buffer, length: this.used });
    this.buffer = this.pool.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
    this.used = 0;
  }

  /** Writes what is buffered to the parts' temporary files. */
  async flush(): Promise<void> {
    this.cut();
    if (this.segments.length === 0) return;
    if (this.remote) return this.flushRemote();
    try {
      if (!this.dirReady) {
        await mkdir(this.options.dir, { recursive: true });
        this.dirReady = true;
      }
      for (const segment of this.segments.splice(0)) {
        const { part, buffer, length } = segment;
        part.handle ??= await open(part.temp, "w");
        await part.handle.write(buffer, 0, length);
        part.hash.update(buffer.subarray(0, length));
        if (buffer.length === BUFFER_BYTES && this.pool.length < 2) this.pool.push(buffer);
      }
    } catch (error) {
      throw FileSystemError.from(this.options.dir, "write to", error);
    }
  }

  /**
   * Sends what is buffered to the parts' uploads. A part is complete once a later part has data, so only the
   * current part's upload (one part buffer) is open at a time, whatever the number of shards.
   */
  private async flushRemote(): Promise<void> {
    for (const segment of this.segments.splice(0)) {
      const { part, buffer, length } = segment;
      for (const earlier of this.parts) {
        if (earlier === part) break;
        await this.seal(earlier);
      }
      part.object ??= new ObjectUpload(part.temp, { maxBytes: this.options.maxBytes });
      await part.object.write(buffer.subarray(0, length));
      part.hash.update(buffer.subarray(0, length));
      if (buffer.length === BUFFER_BYTES && this.pool.length < 2) this.pool.push(buffer);
    }
  }

  private async seal(part: Part): Promise<void> {
    if (part.sealed) return;
    part.object ??= new ObjectUpload(part.temp, { maxBytes: this.options.maxBytes });
    await part.object.finish();
    part.object = undefined;
    part.sealed = true;
  }

  /** With an `s3://` directory: completes each part's upload and moves it to its name (no reuse: objects are rewritten). */
  private async finishRemote(): Promise<WrittenFile[]> {
    const count = this.parts.length;
    const written: WrittenFile[] = [];
    try {
      for (const part of this.parts) await this.seal(part);
      for (const [i, part] of this.parts.entries()) {
        const path = joinLocation(this.options.dir, shardName(this.options.name, i + 1, count));
        await moveObject(part.temp, path, undefined, part.bytes);
        part.temp = "";
        written.push({ path, part: i + 1, parts: count, records: part.records, bytes: part.bytes, sha256: part.hash.digest("hex"), reused: false });
      }
    } catch (error) {
      await this.abort();
      throw error;
    }
    return written;
  }

  /** Flushes, closes and moves every part into place; returns the files, in order. */
  async finish(): Promise<WrittenFile[]> {
    await this.flush();
    if (this.remote) return this.finishRemote();
    const count = this.parts.length;
    const statePath = join(this.options.dir, SHARD_STATE_FILE);
    const state = count > 0 ? await readState(statePath) : undefined;
    const written: WrittenFile[] = [];
    try {
      for (const [i, part] of this.parts.entries()) {
        const handle = part.handle!;
        part.handle = undefined;
        await handle.sync();
        await handle.close();
        const name = shardName(this.options.name, i + 1, count);
        const path = join(this.options.dir, name);
        const sha256 = part.hash.digest("hex");
        const reused = await isSameFile(path, state!.files[name], sha256, part.bytes);
        if (reused) {
          await rm(part.temp, { force: true });
        } else {
          await rename(part.temp, path);
          const info = await stat(path);
          state!.files[name] = { sha256, bytes: part.bytes, mtimeMs: info.mtimeMs };
        }
        written.push({ path, part: i + 1, parts: count, records: part.records, bytes: part.bytes, sha256, reused });
      }
      if (state) {
        await removeStale(this.options.dir, this.options.name, state, new Set(written.map((w) => w.path)));
        await writeState(statePath, state);
      }
    } catch (error) {
      await this.abort();
      throw error instanceof FileSystemError ? error : FileSystemError.from(this.options.dir, "write to", error);
    }
    return written;
  }

  /** Drops everything written: closes and removes the temporary files. */
  async abort(): Promise<void> {
    this.segments.length = 0;
    if (this.remote) {
      for (const part of this.parts) {
        await part.object?.abort();
        part.object = undefined;
        if (part.sealed && part.temp !== "") await deleteObject(part.temp).catch(() => undefined);
      }
      return;
    }
    for (const part of this.parts) {
      await part.handle?.close().catch(() => undefined);
      part.handle = undefined;
      await rm(part.temp, { force: true });
    }
  }
}

async function readState(path: string): Promise<ShardState> {
  try {
    const state = JSON.parse(await readFile(path, "utf8")) as ShardState;
    if (state.version === 1 && typeof state.files === "object" && state.files !== null) return state;
  } catch {
    // Missing or unreadable: nothing is known about the directory's files, so none is reused.
  }
  return { version: 1, files: {} };
}

async function writeState(path: string, state: ShardState): Promise<void> {
  const temp = tempPathFor(path);
  await writeFile(temp, `${JSON.stringify(state, null, 1)}\n`);
  await rename(temp, path);
}

/** A file written by an earlier run is the same when it still has the size and mtime recorded with its sha256. */
async function isSameFile(path: string, known: ShardState["files"][string] | undefined, sha256: string, bytes: number): Promise<boolean> {
  if (!known || known.sha256 !== sha256 || known.bytes !== bytes) return false;
  try {
    const info = await stat(path);
    return info.size === bytes && info.mtimeMs === known.mtimeMs;
  } catch {
    return false;
  }
}

/** Removes the files an earlier run wrote under the same base name that this run did not produce. */
async function removeStale(dir: string, name: string, state: ShardState, keep: Set<string>): Promise<void> {
  for (const file of Object.keys(state.files)) {
    const ours = file === `${name}.jsonl` || (file.startsWith(`${name}.part-`) && file.endsWith(".jsonl"));
    if (!ours || keep.has(join(dir, file))) continue;
    await rm(join(dir, file), { force: true });
    delete state.files[file];
  }
}
