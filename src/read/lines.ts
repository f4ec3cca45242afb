/**
 * Bytes → lines. Pure stream stage: no file system, no parsing. A line's bytes exclude its terminator.
 *
 * Lines longer than `maxLineBytes` are never held whole: once a line passes the limit its bytes are dropped as
 * they arrive and only its length is counted, so memory stays bounded by the limit plus one chunk.
 */

/** Default longest line the reader keeps (64 MiB), per the rulebook's E_LINE_TOO_LONG. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** One line of a text file. */
export interface Line {
  /** 1-based line number. */
  number: number;
  /** Byte offset of the line's first byte in the source (a stripped BOM counts towards it). */
  offset: number;
  /**
   * The line's bytes without `\n` / `\r\n`. Empty for a too-long line. May be a view into the source chunk:
   * copy it if you keep it past the batch it came in.
   */
  bytes: Uint8Array;
  /** Byte length of the line's content, also for a too-long line whose bytes were dropped. */
  length: number;
  /** The terminator found in the source: `"\n"`, `"\r\n"`, or `""` for a last line without one. */
  terminator: "\n" | "\r\n" | "";
  /** True on line 1 when the source began with a UTF-8 byte-order mark (stripped from `bytes`). */
  bom: boolean;
  /** True when the line was longer than `maxLineBytes`; `bytes` is then empty. */
  tooLong: boolean;
}

/** Options of the line reader. */
export interface ReadLinesOptions {
  /** Longest line kept, in bytes (default 64 MiB). */
  maxLineBytes?: number;
  /**
   * Whether the source is the start of a text, whose first bytes may be a byte-order mark (default true). False for
   * a byte range from inside a file: its first bytes are a line's, BOM-like or not.
   */
  start?: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);
const BOM = [0xef, 0xbb, 0xbf] as const;

function couldBeBom(bytes: Uint8Array): boolean {
  for (let i = 0; i < 3 && i < bytes.length; i++) if (bytes[i] !== BOM[i]) return false;
  return true;
}

/**
 * The line splitter itself, synchronous: chunks in (`push`), the lines they complete out, then the last line
 * (`end`). `readLineBatches` drives it over a stream; `splitLines` over bytes already in memory (a small file read
 * whole), with the same lines, numbers, offsets and terminators.
 */
export class LineSplitter {
  private readonly max: number;
  private number = 1;
  private lineStart = 0; // byte offset of the current line in the source
  private consumed = 0; // bytes of the source seen so far
  private parts: Uint8Array[] = [];
  private partsLength = 0; // content bytes of the current line seen so far (kept or dropped)
  private tooLong = false;
  private lastByte = -1; // last content byte of the current line, to recognise "\r\n" when bytes were dropped
  private bom = false; // the source began with a BOM, until its first line is out
  private head: Uint8Array | undefined; // first bytes, until the BOM question is settled

  constructor(options: ReadLinesOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new TypeError(`Expected \`maxLineBytes\` to be a positive integer, got ${String(max)}`);
    }
    this.max = max;
    this.head = options.start === false ? undefined : new Uint8Array(0);
  }

  /**
   * The lines a chunk completes (an empty array when it completes none). They may be views into `raw`: valid as
   * long as the caller keeps `raw` unchanged.
   */
  push(raw: Uint8Array): Line[] {
    let chunk = raw;
    if (this.head !== undefined) {
      // Settle the BOM question on the first three bytes, even when the source arrives one byte at a time.
      const joined: Uint8Array = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
      if (joined.length < 3 && couldBeBom(joined)) {
        this.head = joined;
        return [];
      }
      this.head = undefined;
      chunk = joined;
      if (chunk.length >= 3 && couldBeBom(chunk)) {
        this.bom = true;
        chunk = chunk.subarray(3);
        this.consumed = 3;
        this.lineStart = 3;
      }
    }
    if (chunk.length === 0) return [];
    return this.split(chunk);
  }

  /** The lines left at the end of the source: bytes held back for the BOM question, and a last line without `\n`. */
  end(): Line[] {
    const batch: Line[] = [];
    if (this.head !== undefined && this.head.length > 0) {
      const head = this.head;
      this.head = undefined;
      batch.push(...this.split(head));
    }
    if (this.partsLength > 0 || this.tooLong) this.finish(EMPTY, false, batch);
    return batch;
  }

  private finish(piece: Uint8Array, terminated: boolean, batch: Line[]): void {
    const total = this.partsLength + piece.length;
    if (piece.length > 0) this.lastByte = piece[piece.length - 1]!;
    const crlf = terminated && total > 0 && this.lastByte === CR;
    const length = crlf ? total - 1 : total;
    const isTooLong = this.tooLong || length > this.max;
    let bytes: Uint8Array = EMPTY;
    if (!isTooLong) {
      // Whether parts were kept, from their length (never zero for a kept part): `this.parts` is a new empty array
      // at each line, a different elements kind from the first one a splitter starts with, and reading it here threw
      // the optimised splitter away at each new splitter (each byte range of a worker).
      bytes = this.partsLength === 0 ? piece : Buffer.concat([...this.parts, piece], total);
      if (crlf) bytes = bytes.subarray(0, length);
    }
    const terminator = crlf ? "\r\n" : terminated ? "\n" : "";
    // `bom` is read for every line (and cleared after the first), not behind `number === 1`: a branch taken only at a
    // splitter's first line, before V8 kept feedback for it, threw the optimised splitter away at each new splitter.
    batch.push({ number: this.number, offset: this.lineStart, bytes, length, terminator, bom: this.bom, tooLong: isTooLong });
    this.bom = false;
    this.number++;
    this.lineStart = this.consumed;
    this.parts = [];
    this.partsLength = 0;
    this.tooLong = false;
    this.lastByte = -1;
  }

  private split(chunk: Uint8Array): Line[] {
    const batch: Line[] = [];
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const idx = chunk.indexOf(LF, pos);
      if (idx === -1) {
        const rest = chunk.subarray(pos);
        this.consumed += rest.length;
        this.lastByte = rest[rest.length - 1]!;
        this.partsLength += rest.length;
        // One byte of slack: a "\r" at the limit may still turn out to be half of the terminator.
        if (!this.tooLong && this.partsLength > this.max + 1) {
          this.tooLong = true;
          this.parts = [];
        }
        // Copy: the chunk may be reused by the source after we yield, and a partial line outlives its chunk.
        if (!this.tooLong) this.parts.push(new Uint8Array(rest));
        break;
      }
      this.consumed += idx + 1 - pos;
      this.finish(chunk.subarray(pos, idx), true, batch);
      pos = idx + 1;
    }
    return batch;
  }
}

/**
 * Splits a byte stream into lines, yielding them in batches (one batch per source chunk) so the per-line cost
 * stays a plain loop instead of an async hand-off per line. Every batch is yielded before the next chunk is read.
 */
export async function* readLineBatches(
  source: AsyncIterable<Uint8Array>,
  options: ReadLinesOptions = {},
): AsyncGenerator<Line[], void, undefined> {
  const splitter = new LineSplitter(options);
  for await (const chunk of source) {
    const batch = splitter.push(chunk);
    if (batch.length > 0) yield batch;
  }
  const last = splitter.end();
  if (last.length > 0) yield last;
}

/** The lines of bytes held whole in memory, as `readLineBatches` would give them over any chunking of the bytes. */
export function splitLines(bytes: Uint8Array, options: ReadLinesOptions = {}): Line[] {
  const splitter = new LineSplitter(options);
  const lines = splitter.push(bytes);
  const last = splitter.end();
  if (last.length > 0) lines.push(...last);
  return lines;
}

/** Whether a line holds only JSON whitespace (space, tab, CR, LF), or nothing: a blank line, not a record. */
export function isBlankLine(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}

/** Splits a byte stream into lines, one at a time. See `readLineBatches` for the batched form. */
export async function* readLines(
  source: AsyncIterable<Uint8Array>,
  options: ReadLinesOptions = {},
): AsyncGenerator<Line, void, undefined> {
  for await (const batch of readLineBatches(source, options)) yield* batch;
}
