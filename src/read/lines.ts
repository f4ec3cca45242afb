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
 * Splits a byte stream into lines, yielding them in batches (one batch per source chunk) so the per-line cost
 * stays a plain loop instead of an async hand-off per line. Every batch is yielded before the next chunk is read.
 */
export async function* readLineBatches(
  source: AsyncIterable<Uint8Array>,
  options: ReadLinesOptions = {},
): AsyncGenerator<Line[], void, undefined> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new TypeError(`Expected \`maxLineBytes\` to be a positive integer, got ${String(max)}`);
  }
  let number = 1;
  let lineStart = 0; // byte offset of the current line in the source
  let consumed = 0; // bytes of the source seen so far
  let parts: Uint8Array[] = [];
  let partsLength = 0; // content bytes of the current line seen so far (kept or dropped)
  let tooLong = false;
  let lastByte = -1; // last content byte of the current line, to recognise "\r\n" when bytes were dropped
  let bom = false;
  let head: Uint8Array | undefined = options.start === false ? undefined : new Uint8Array(0); // first bytes, until the BOM question is settled

  const finish = (piece: Uint8Array, terminated: boolean, batch: Line[]): void => {
    const total = partsLength + piece.length;
    if (piece.length > 0) lastByte = piece[piece.length - 1]!;
    const crlf = terminated && total > 0 && lastByte === CR;
    const length = crlf ? total - 1 : total;
    const isTooLong = tooLong || length > max;
    let bytes: Uint8Array = EMPTY;
    if (!isTooLong) {
      bytes = parts.length === 0 ? piece : Buffer.concat([...parts, piece], total);
      if (crlf) bytes = bytes.subarray(0, length);
    }
    const terminator = crlf ? "\r\n" : terminated ? "\n" : "";
    batch.push({ number, offset: lineStart, bytes, length, terminator, bom: number === 1 && bom, tooLong: isTooLong });
    number++;
    lineStart = consumed;
    parts = [];
    partsLength = 0;
    tooLong = false;
    lastByte = -1;
  };

  const split = (chunk: Uint8Array): Line[] => {
    const batch: Line[] = [];
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const idx = chunk.indexOf(LF, pos);
      if (idx === -1) {
        const rest = chunk.subarray(pos);
        consumed += rest.length;
        lastByte = rest[rest.length - 1]!;
        partsLength += rest.length;
        // One byte of slack: a "\r" at the limit may still turn out to be half of the terminator.
        if (!tooLong && partsLength > max + 1) {
          tooLong = true;
          parts = [];
        }
        // Copy: the chunk may be reused by the source after we yield, and a partial line outlives its chunk.
        if (!tooLong) parts.push(new Uint8Array(rest));
        break;
      }
      consumed += idx + 1 - pos;
      finish(chunk.subarray(pos, idx), true, batch);
      pos = idx + 1;
    }
    return batch;
  };

  for await (const raw of source) {
    let chunk = raw;
    if (head !== undefined) {
      // Settle the BOM question on the first three bytes, even when the source arrives one byte at a time.
      const joined: Uint8Array = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (joined.length < 3 && couldBeBom(joined)) {
        head = joined;
        continue;
      }
      head = undefined;
      chunk = joined;
      if (chunk.length >= 3 && couldBeBom(chunk)) {
        bom = true;
        chunk = chunk.subarray(3);
        consumed = 3;
        lineStart = 3;
      }
    }
    if (chunk.length === 0) continue;
    const batch = split(chunk);
    if (batch.length > 0) yield batch;
  }
  if (head !== undefined && head.length > 0) {
    const batch = split(head);
    if (batch.length > 0) yield batch;
  }
  if (partsLength > 0 || tooLong) {
    const batch: Line[] = [];
    finish(EMPTY, false, batch);
    yield batch;
  }
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
