/**
 * A bounded cache from pieces of text (pre-tokens, words) to their ids, looked up by a range of a larger string
 * without cutting the piece out of it: the common case (a hit) allocates nothing. Open addressing over a
 * power-of-two table, keys compared with `startsWith` at the range. When it holds `limit` pieces it is emptied
 * (one generation dropped at once), so memory stays bounded however many distinct pieces a dataset has.
 */
export class PieceCache {
  private readonly mask: number;
  private readonly limit: number;
  private keys: (string | undefined)[];
  private hashes: Int32Array;
  private values: (readonly number[] | undefined)[];
  private size = 0;

  /** `limit`: the most pieces held (the table has at least twice as many slots). */
  constructor(limit = 1 << 17) {
    let slots = 16;
    while (slots < limit * 2) slots *= 2;
    this.mask = slots - 1;
    this.limit = limit;
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.hashes = new Int32Array(slots);
    this.values = new Array<readonly number[] | undefined>(slots).fill(undefined);
  }

  /** FNV-1a over the UTF-16 code units of `text[start, end)`, with a final mix. */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /** The ids cached for `text[start, end)` (hash from `PieceCache.hash`), or undefined. */
  get(text: string, start: number, end: number, hash: number): readonly number[] | undefined {
    const length = end - start;
    const keys = this.keys;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = keys[slot];
      if (key === undefined) return undefined;
      if (this.hashes[slot] === hash && key.length === length && text.startsWith(key, start)) return this.values[slot];
    }
  }

  /** Caches `ids` for `key` (not already cached; `hash` is `PieceCache.hash` of it). */
  set(key: string, hash: number, ids: readonly number[]): void {
    if (this.size >= this.limit) this.clear();
    const keys = this.keys;
    let slot = hash & this.mask;
    while (keys[slot] !== undefined) slot = (slot + 1) & this.mask;
    keys[slot] = key;
    this.hashes[slot] = hash;
    this.values[slot] = ids;
    this.size++;
  }

  private clear(): void {
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.size = 0;
  }
}
