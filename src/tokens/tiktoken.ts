import { asciiPatternOf, asciiPieceEnd, type AsciiPattern } from "./ascii-pieces.js";
import { mergeSymbols } from "./bpe.js";
import { PieceCache } from "./piece-cache.js";
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
}

/** UTF-8 bytes of `piece` as a latin1 string (ASCII, the common case, is the piece itself). */
function utf8Bytes(piece: string): string {
  for (let i = 0; i < piece.length; i++) if (piece.charCodeAt(i) >= 0x80) return Buffer.from(piece, "utf8").toString("latin1");
  return piece;
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
  /** Tekken's and o200k's patterns find most pieces of ASCII text without the regular expression. */
  private readonly ascii: AsciiPattern | undefined;
  /** Reused by every piece not in the cache: its symbols' starts and its ids. */
  private readonly starts: number[] = [];
  private readonly ids: number[] = [];

  constructor(options: TiktokenOptions) {
    this.name = options.name;
    this.cache = new PieceCache(options.cacheLimit ?? CACHE_LIMIT);
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
      const e = cache.find(text, start, end, hash);
      if (e >= 0) {
        n += cache.count(e);
        if (out !== undefined) cache.push(e, out);
      } else {
        const ids = this.encodePiece(text.slice(start, end));
        cache.add(text, start, end, hash, ids);
        n += ids.length;
        if (out !== undefined) for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
      }
      start = end;
    }
    return n;
  }

  /** The ids of `piece` (in an array reused by the next call: read it at once). */
  private encodePiece(piece: string): readonly number[] {
    const bytes = utf8Bytes(piece);
    const vocab = this.vocab;
    const whole = vocab.id(bytes, 0, bytes.length);
    if (whole >= 0) {
      this.ids.length = 0;
      this.ids.push(whole);
      return this.ids;
    }
    const starts = this.starts;
    starts.length = 0;
    for (let i = 0; i < bytes.length; i++) starts.push(i);
    const parts = mergeSymbols(bytes, starts, vocab);
    const ids = this.ids;
    ids.length = 0;
    for (let k = 0; k < parts.length; k++) {
      const id = vocab.id(bytes, parts[k]!, k + 1 < parts.length ? parts[k + 1]! : bytes.length);
      if (id < 0) throw new Error(`${this.name}: byte sequence without a rank (the vocabulary is incomplete)`);
      ids.push(id);
    }
    return ids;
  }
}
