import { DEFAULT_MAX_LINE_BYTES, type Line } from "./lines.js";

/**
 * Bytes of a `.json` file holding one top-level array → its elements, each as the exact bytes of its source text.
 * Pure stream stage: nothing is parsed here, so numbers (`1e400`, 23-digit integers, `-0`, `1.0`), escapes and key
 * order reach the converted `.jsonl` file as written, and each element goes through the same checks as a JSONL line
 * (UTF-8, structure limits, JSON syntax). Only whitespace outside strings is dropped (one space is kept where two
 * tokens would otherwise touch), so a pretty-printed element becomes one line. Memory is bounded by
 * `maxElementBytes` plus one chunk: a longer element is counted, not kept (`tooLong`), like a too-long line.
 */

/** An element of the array (as a `Line`: number = index + 1, terminator `"\n"`), or why reading stopped. */
export type JsonArrayElement = { kind: "element"; line: Line } | { kind: "error"; message: string };

/** Options of the array reader. */
export interface ReadJsonArrayOptions {
  /** Longest element kept, in bytes once its whitespace is dropped (default 64 MiB, as for lines). */
  maxElementBytes?: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const BOM = [0xef, 0xbb, 0xbf] as const;

const enum State {
  /** Before the opening `[` (a BOM and whitespace allowed). */
  Start,
  /** After `[` or `,`: an element, or `]` right after `[`. */
  BeforeElement,
  /** Inside an element, outside strings. */
  Element,
  /** Inside a string of an element. */
  String,
  /** Just after a backslash inside a string. */
  Escape,
  /** After the closing `]`: only whitespace. */
  End,
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
/** Bytes that end a token by themselves: around them whitespace never matters. */
const isPunctuation = (b: number): boolean =>
  b === OPEN_BRACE || b === CLOSE_BRACE || b === OPEN_BRACKET || b === CLOSE_BRACKET || b === COMMA || b === 0x3a || b === QUOTE;

/** Describes a byte for an error message. */
function describeByte(b: number): string {
  return b >= 0x21 && b <= 0x7e ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, "0")}`;
}

/**
 * Splits a `.json` array into its elements' source bytes, in batches (one per source chunk). Anything that breaks
 * the array itself — no `[`, an empty element (`[1,,2]`, `[1,]`), data after `]`, an array never closed — ends the
 * stream with an `error` item after every element before it; a malformed element is delivered as it is, for the
 * caller's JSON parse to report. Failures of the source (an unreadable file) are rethrown.
 */
export async function* readJsonArrayElements(
  source: AsyncIterable<Uint8Array>,
  options: ReadJsonArrayOptions = {},
): AsyncGenerator<JsonArrayElement[], void, undefined> {
  const max = options.maxElementBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new TypeError(`Expected \`maxElementBytes\` to be a positive integer, got ${String(max)}`);
  }
  let state = State.Start as State; // changed inside scan(), which the compiler's narrowing does not see
  let offset = 0; // bytes of the source consumed before the current chunk
  let bomChecked = 0; // leading bytes compared with the BOM so far (3 = settled)
  let index = 0;
  let depth = 0;
  let elementStart = 0;
  let out = new Uint8Array(256);
  let length = 0; // bytes of the current element, kept or not
  let tooLong = false;
  let last = -1; // last byte written to the element
  let spaced = false; // whitespace seen since the last byte written

  const put = (b: number): void => {
    if (spaced) {
      spaced = false;
      if (!isPunctuation(b) && !isPunctuation(last)) put(0x20);
    }
    last = b;
    if (length === max && !tooLong) {
      tooLong = true;
      out = new Uint8Array(0);
    }
    if (!tooLong) {
      if (length === out.length) {
        const grown = new Uint8Array(Math.min(max, out.length * 2));
        grown.set(out);
        out = grown;
      }
      out[length] = b;
    }
    length++;
  };
  /** Copies `chunk[from, to)`, string bytes (never whitespace to drop, never a token boundary). */
  const putRun = (chunk: Uint8Array, from: number, to: number): void => {
    const count = to - from;
    if (!tooLong && length + count > max) {
      tooLong = true;
      out = new Uint8Array(0);
    }
    if (!tooLong) {
      if (length + count > out.length) {
        let size = out.length * 2;
        while (size < length + count) size *= 2;
        const grown = new Uint8Array(Math.min(max, size));
        grown.set(out.subarray(0, length));
        out = grown;
      }
      out.set(chunk.subarray(from, to), length);
    }
    last = chunk[to - 1]!;
    length += count;
  };
  const finish = (batch: JsonArrayElement[]): void => {
    const bytes = tooLong ? new Uint8Array(0) : out.slice(0, length);
    batch.push({ kind: "element", line: { number: ++index, offset: elementStart, bytes, length, terminator: "\n", bom: false, tooLong } });
    if (tooLong) out = new Uint8Array(256);
    length = 0;
    tooLong = false;
    last = -1;
    spaced = false;
  };
  const fail = (batch: JsonArrayElement[], message: string, at?: number): JsonArrayElement[] => {
    batch.push({ kind: "error", message: at === undefined ? message : `${message} at byte ${at + 1}` });
    return batch;
  };

  /** One chunk through the state machine; returns the batch, which ends with an error item when reading must stop. */
  const scan = (chunk: Uint8Array, base: number): { batch: JsonArrayElement[]; stop: boolean } => {
    const batch: JsonArrayElement[] = [];
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i]!;
      switch (state) {
        case State.String: {
          // A run of plain string bytes is copied at once: strings are most of a dataset's bytes.
          let j = i;
          while (j < n && chunk[j] !== QUOTE && chunk[j] !== BACKSLASH) j++;
          if (j > i) {
            putRun(chunk, i, j);
            i = j - 1;
            break;
          }
          put(b);
          state = b === QUOTE ? State.Element : State.Escape;
          break;
        }
        case State.Escape:
          put(b);
          state = State.String;
          break;
        case State.Element:
          if (isSpace(b)) {
            spaced = length > 0;
          } else if (depth === 0 && (b === COMMA || b === CLOSE_BRACKET)) {
            finish(batch);
            state = b === COMMA ? State.BeforeElement : State.End;
          } else {
            if (b === QUOTE) state = State.String;
            else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
            else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && depth > 0) depth--;
            put(b);
          }
          break;
        case State.BeforeElement:
          if (isSpace(b)) break;
          if (b === CLOSE_BRACKET && index === 0 && length === 0) {
            state = State.End;
            break;
          }
          if (b === COMMA || b === CLOSE_BRACKET) return { batch: fail(batch, "an empty element in the array", base + i), stop: true };
          elementStart = base + i;
          depth = 0;
          state = State.Element;
          i--; // the element's first byte, seen again in the Element state
          break;
        case State.Start:
          if (isSpace(b)) break;
          if (b !== OPEN_BRACKET) return { batch: fail(batch, `the top-level value is not an array: ${describeByte(b)}`, base + i), stop: true };
          state = State.BeforeElement;
          break;
        case State.End:
          if (!isSpace(b)) return { batch: fail(batch, `unexpected ${describeByte(b)} after the array`, base + i), stop: true };
          break;
      }
    }
    return { batch, stop: false };
  };

  for await (const raw of source) {
    let chunk = raw;
    let base = offset;
    offset += raw.length;
    // A leading UTF-8 byte-order mark is skipped, even when it arrives one byte at a time.
    while (bomChecked < 3 && chunk.length > 0) {
      if (chunk[0] !== BOM[bomChecked]) {
        if (bomChecked > 0) {
          yield fail([], `the top-level value is not an array: ${describeByte(BOM[0])}`, 0);
          return;
        }
        bomChecked = 3;
        break;
      }
      bomChecked++;
      chunk = chunk.subarray(1);
      base++;
    }
    if (chunk.length === 0) continue;
    const { batch, stop } = scan(chunk, base);
    if (batch.length > 0) yield batch;
    if (stop) return;
  }
  if (state !== State.End) {
    const what = state === State.Start ? "the file holds no JSON array" : "the array is not closed (unexpected end of file)";
    yield fail([], what);
  }
}

/** One element of a top-level JSON array as a parsed value, or the reason the array could not be read further. */
export type JsonArrayItem = { kind: "record"; index: number; value: unknown } | { kind: "error"; message: string };

/**
 * The elements of a `.json` array as parsed values (numbers become JS numbers: for exact text, use
 * `readJsonArrayElements`). An element that is not valid UTF-8 or JSON, or is too long, ends the stream with an
 * `error` item, as does a break in the array itself.
 */
export async function* readJsonArray(source: AsyncIterable<Uint8Array>, options: ReadJsonArrayOptions = {}): AsyncGenerator<JsonArrayItem, void, undefined> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for await (const batch of readJsonArrayElements(source, options)) {
    for (const item of batch) {
      if (item.kind === "error") {
        yield item;
        return;
      }
      const { line } = item;
      try {
        if (line.tooLong) throw new Error(`it is ${line.length} bytes, longer than the maximum`);
        yield { kind: "record", index: line.number - 1, value: JSON.parse(decoder.decode(line.bytes)) as unknown };
      } catch (error) {
        yield { kind: "error", message: `element ${line.number - 1} at byte ${line.offset + 1}: ${(error as Error).message}` };
        return;
      }
    }
  }
}
