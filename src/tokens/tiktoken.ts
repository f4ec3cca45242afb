import { asciiPatternOf, asciiPieceEnd, type AsciiPattern } from "./ascii-pieces.js";
import { mergeBytes, mergeSymbols } from "./bpe.js";
import { PieceCache } from "./piece-cache.js";
import { cachedIds, keepIds, type SharedPieceCache } from "./shared-piece-cache.js";
import type { VocabTable } from "./vocab-table.js";
import type { TextTokenizer } from "./types.js";

/**
 * A tiktoken-style encoder (OpenAI's o200k_base / cl100k_base, Mistral's Tekken): the text is cut by the encoding's
 * regular expression, each piece's UTF-8 bytes are merged by rank. Ranks come from npm packages in js-tiktoken's
 * compressed form ("! offset b64 b64 …" lines), read into a `VocabTable` (`rankEntries`). Pieces repeat a lot
 * (words), so each piece's ids are cached; the cache is emptied when it holds `CACHE_LIMIT` pieces, which keeps
 * memory bounded.
 */

const CACHE_LIMIT = 1 << 17;

/**
 * `\s` / `\S` as tiktoken's Rust regex engine reads them (Unicode White_Space). JavaScript's `\s` also matches
 * U+FEFF and misses U+0085, which would cut some texts differently.
 */
const WHITE_SPACE = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/** Rewrites a tiktoken pattern for JavaScript: `\s`/`\S` as Unicode White_Space, inside and outside classes. */
export function toJsPattern(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const d = pattern[i + 1];
      i++;
      if (d === "s") out += inClass ? WHITE_SPACE : `[${WHITE_SPACE}]`;
      else if (d === "S") {
        if (inClass) throw new Error("\\S inside a character class is not supported");
        out += `[^${WHITE_SPACE}]`;
      } else out += c + (d ?? "");
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    out += c;
  }
  return out;
}

/**
 * The entries of js-tiktoken's compressed ranks ("! offset b64 b64 …" lines) for `VocabTable.build`: each byte
 * string (as latin1), its rank, and its id (rank + `offset`); ranks from `maxRanks` on are left out.
 */
export function* rankEntries(compressed: string, maxRanks = Number.POSITIVE_INFINITY, offset = 0): Generator<[string, number, number]> {
  for (const line of compressed.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const first = Number.parseInt(fields[1]!, 10);
    for (let k = 2; k < fields.length; k++) {
      const rank = first + k - 2;
      if (rank >= maxRanks) continue;
      yield [Buffer.from(fields[k]!, "base64").toString("latin1"), rank, rank + offset];
    }
  }
}

export interface TiktokenOptions {
  name: string;
  /** The encoding's pre-tokenisation pattern, in tiktoken's (Rust regex) syntax. */
  pattern: string;
  /** Byte strings (latin1) → merge ranks and ids (`rankEntries`; ids are ranks + Tekken's special-token count). */
  vocab: VocabTable;
  /** The most pieces the cache holds before it is emptied (tests set it low to exercise that). */
  cacheLimit?: number;
  /**
   * A cache shared with the other threads counting with this vocabulary, looked up first and filled while it has
   * room; the encoder's own cache takes the pieces it has no room for.
   */
  shared?: SharedPieceCache;
}

/** Pieces of more bytes than this are merged as strings, with the heap (`mergeSymbols`); shorter ones as bytes. */
const BYTE_MERGE_LIMIT = 64;

/**
 * Writes the UTF-8 bytes of `text[start, end)` to `out` (room for 3 bytes a code unit) and returns how many; a lone
 * surrogate is U+FFFD, as `Buffer.from(text, "utf8")` writes it.
 */
export function utf8Into(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out[n++] = 0xf0 | (cp >> 18);
        out[n++] = 0x80 | ((cp >> 12) & 0x3f);
        out[n++] = 0x80 | ((cp >> 6) & 0x3f);
        out[n++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}

export class TiktokenEncoder implements TextTokenizer {
  readonly name: string;
  /** Sticky: matches only where the previous piece ended (the encodings' patterns cover every character). */
  private readonly sticky: RegExp;
  /** The same pattern, searching: finds the next piece when some text matches no alternative. */
  private readonly search: RegExp;
  /** Byte strings → ranks (the merge priority) and ids (rank + offset). */
  private readonly vocab: VocabTable;
  private readonly cache: PieceCache;
  private readonly shared: SharedPieceCache | undefined;
  /** Pieces this encoder merged itself (found in no cache). */
  misses = 0;
  /** Tekken's and o200k's patterns find most pieces of ASCII text without the regular expression. */
  private readonly ascii: AsciiPattern | undefined;
  /**
   * Reused by every piece not in the cache: its UTF-8 bytes, its symbols' starts and their pairs' ranks as it is
   * merged, and its ids (a miss allocates nothing unless a piece outgrows them).
   */
  private bytes = new Uint8Array(256);
  private readonly starts = new Int32Array(BYTE_MERGE_LIMIT + 1);
  private readonly ranks = new Int32Array(BYTE_MERGE_LIMIT);
  private readonly ids: number[] = [];

  constructor(options: TiktokenOptions) {
    this.name = options.name;
    this.cache = new PieceCache(options.cacheLimit ?? CACHE_LIMIT);
    this.shared = options.shared;
    const source = toJsPattern(options.pattern);
    this.sticky = new RegExp(source, "uy");
    this.search = new RegExp(source, "gu");
    this.ascii = asciiPatternOf(options.pattern);
    this.vocab = options.vocab;
  }

  /** The ids of `text` encoded as ordinary text (special-token look-alikes are text). */
  encode(text: string): number[] {
    const out: number[] = [];
    this.scan(text, out);
    return out;
  }

  count(text: string): number {
    return this.scan(text, undefined);
  }

  /**
   * Cuts `text` into pieces as tiktoken's `find_iter` does and counts their ids (pushing them to `out` when given).
   * A piece of ASCII text is found without the pattern where that is certain (`asciiPieceEnd`); otherwise
   * `RegExp.prototype.test` on a sticky pattern gives its end without building a match array. The cache is looked up
   * by the range, so a cached piece costs no allocation.
   */
  private scan(text: string, out: number[] | undefined): number {
    const sticky = this.sticky;
    const cache = this.cache;
    const shared = this.shared;
    const length = text.length;
    let n = 0;
    let start = 0;
    const ascii = this.ascii;
    while (start < length) {
      let end = ascii !== undefined ? asciiPieceEnd(text, start, ascii) : -1;
      if (end >= 0) {
        // Found without the pattern.
      } else if (((sticky.lastIndex = start), sticky.test(text))) end = sticky.lastIndex;
      else {
        // Text no alternative matches is skipped, as find_iter skips it.
        this.search.lastIndex = start;
        const m = this.search.exec(text);
        if (m === null) break;
        start = m.index;
        end = start + m[0].length;
      }
      if (end === start) {
        // An empty match (no bundled pattern has one): step over one character.
        start += text.codePointAt(start)! > 0xffff ? 2 : 1;
        continue;
      }
      const hash = PieceCache.hash(text, start, end);
      const cached = cachedIds(shared, cache, text, start, end, hash, out);
      if (cached >= 0) n += cached;
      else {
        const ids = this.encodePiece(text, start, end);
        this.misses++;
        keepIds(shared, cache, text, start, end, hash, ids);
        n += ids.length;
        if (out !== undefined) for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
      }
      start = end;
    }
    return n;
  }

  /** The ids of `text[start, end)` (in an array reused by the next call: read it at once). */
  private encodePiece(text: string, start: number, end: number): readonly number[] {
    if (this.bytes.length < 3 * (end - start)) this.bytes = new Uint8Array(3 * (end - start));
    const bytes = this.bytes;
    const length = utf8Into(text, start, end, bytes);
    const vocab = this.vocab;
    const ids = this.ids;
    ids.length = 0;
    const whole = vocab.idOfBytes(bytes, 0, length);
    if (whole >= 0) {
      ids.push(whole);
      return ids;
    }
    if (length > BYTE_MERGE_LIMIT) return this.encodeLong(bytes, length);
    const starts = this.starts;
    const count = mergeBytes(bytes, length, vocab, starts, this.ranks);
    for (let k = 0; k < count; k++) ids.push(this.idOf(bytes, starts[k]!, starts[k + 1]!));
    return ids;
  }

  /** A long piece's ids, merged with the heap over its bytes as a latin1 string. */
  private encodeLong(bytes: Uint8Array, length: number): readonly number[] {
    const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, length).toString("latin1");
    const starts: number[] = [];
    for (let i = 0; i < length; i++) starts.push(i);
    const parts = mergeSymbols(latin1, starts, this.vocab);
    const ids = this.ids;
    for (let k = 0; k < parts.length; k++) ids.push(this.idOf(bytes, parts[k]!, k + 1 < parts.length ? parts[k + 1]! : length));
    return ids;
  }

  private idOf(bytes: Uint8Array, start: number, end: number): number {
    const id = this.vocab.idOfBytes(bytes, start, end);
    if (id < 0) throw new Error(`${this.name}: byte sequence without a rank (the vocabulary is incomplete)`);
    return id;
  }
}
