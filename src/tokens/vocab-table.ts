import { PieceCache } from "./piece-cache.js";

/** Returned by `VocabTable.rank` for a symbol that is not in the vocabulary. */
export const NO_RANK = Number.POSITIVE_INFINITY;

/**
 * A vocabulary looked up by a range of a string, without cutting the symbol out of it: byte-pair merging asks for
 * the rank of every candidate pair, and a `Map` would need a new string (and its hash) for each. Open addressing
 * over a power-of-two table; each entry has a merge rank and an id (the same for tiktoken-style vocabularies).
 */
export class VocabTable {
  private readonly mask: number;
  private readonly keys: (string | undefined)[];
  private readonly ranks: Float64Array;
  private readonly ids: Int32Array;

  private count = 0;

  /** A table for up to `capacity` symbols (filled with `add`). */
  constructor(capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.ranks = new Float64Array(slots);
    this.ids = new Int32Array(slots).fill(-1);
  }

  /** The symbols held. */
  get size(): number {
    return this.count;
  }

  /** Adds `symbol` (or replaces its rank and id). */
  add(symbol: string, rank: number, id: number): void {
    let slot = PieceCache.hash(symbol, 0, symbol.length) & this.mask;
    while (this.keys[slot] !== undefined && this.keys[slot] !== symbol) slot = (slot + 1) & this.mask;
    if (this.keys[slot] === undefined) {
      if (this.count * 2 >= this.mask + 1) throw new Error("VocabTable: over capacity");
      this.count++;
    }
    this.keys[slot] = symbol;
    this.ranks[slot] = rank;
    this.ids[slot] = id;
  }

  private slot(text: string, start: number, end: number): number {
    const length = end - start;
    const keys = this.keys;
    for (let slot = PieceCache.hash(text, start, end) & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = keys[slot];
      if (key === undefined) return -1;
      if (key.length === length && text.startsWith(key, start)) return slot;
    }
  }

  /** The merge rank of `text[start, end)`, or `NO_RANK`. */
  rank(text: string, start: number, end: number): number {
    const slot = this.slot(text, start, end);
    return slot < 0 ? NO_RANK : this.ranks[slot]!;
  }

  /** The id of `text[start, end)`, or -1. */
  id(text: string, start: number, end: number): number {
    const slot = this.slot(text, start, end);
    return slot < 0 ? -1 : this.ids[slot]!;
  }
}
