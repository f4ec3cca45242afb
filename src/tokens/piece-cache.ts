/**
 * A bounded cache from pieces of text (pre-tokens, words) to their ids, looked up by a range of a larger string
 * without cutting the piece out of it: the common case (a hit) allocates nothing. Open addressing over power-of-two
 * tables, keys compared with `startsWith` at the range.
 *
 * Eviction is by generation: pieces go into the current table; when it holds `limit` pieces it becomes the previous
 * generation and a new current table starts. A piece found only in the previous generation is copied into the
 * current one, so the pieces in use survive a turn while the rest are dropped with the old table. At most 2 × `limit`
 * pieces are held, however many distinct pieces a dataset has. A table starts small and doubles as it fills (up to
 * twice `limit` slots): a new encoder costs no megabytes of empty slots before its first piece (each worker thread
 * makes its own).
 */

/** Slots of a fresh table. */
const FIRST_SLOTS = 1024;

class Table {
  readonly keys: (string | undefined)[];
  readonly hashes: Int32Array;
  readonly values: (readonly number[] | undefined)[];
  size = 0;

  constructor(readonly mask: number) {
    this.keys = new Array<string | undefined>(mask + 1).fill(undefined);
    this.hashes = new Int32Array(mask + 1);
    this.values = new Array<readonly number[] | undefined>(mask + 1).fill(undefined);
  }

  get(text: string, start: number, end: number, hash: number): readonly number[] | undefined {
    const length = end - start;
    const keys = this.keys;
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const key = keys[slot];
      if (key === undefined) return undefined;
      if (this.hashes[slot] === hash && key.length === length && text.startsWith(key, start)) return this.values[slot];
    }
  }

  set(key: string, hash: number, ids: readonly number[]): void {
    const keys = this.keys;
    let slot = hash & this.mask;
    while (keys[slot] !== undefined) slot = (slot + 1) & this.mask;
    keys[slot] = key;
    this.hashes[slot] = hash;
    this.values[slot] = ids;
    this.size++;
  }

  /** This table's pieces in a table of `mask + 1` slots. */
  grown(mask: number): Table {
    const table = new Table(mask);
    for (let slot = 0; slot <= this.mask; slot++) {
      const key = this.keys[slot];
      if (key !== undefined) table.set(key, this.hashes[slot]!, this.values[slot]!);
    }
    return table;
  }

  /** The key stored for `text[start, end)` (the previous generation hands it on without a new substring). */
  key(text: string, start: number, end: number, hash: number): string {
    const length = end - start;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot]!;
      if (this.hashes[slot] === hash && key.length === length && text.startsWith(key, start)) return key;
    }
  }
}

export class PieceCache {
  private readonly mask: number;
  private readonly limit: number;
  private current: Table;
  private previous: Table | undefined;

  /** `limit`: the most pieces per generation (each table has at least twice as many slots). */
  constructor(limit = 1 << 17) {
    let slots = 16;
    while (slots < limit * 2) slots *= 2;
    this.mask = slots - 1;
    this.limit = Math.max(1, limit);
    this.current = new Table(Math.min(this.mask, FIRST_SLOTS - 1));
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
    const ids = this.current.get(text, start, end, hash);
    if (ids !== undefined || this.previous === undefined) return ids;
    const old = this.previous.get(text, start, end, hash);
    if (old !== undefined) this.set(this.previous.key(text, start, end, hash), hash, old);
    return old;
  }

  /** Caches `ids` for `key` (not in the current generation; `hash` is `PieceCache.hash` of it). */
  set(key: string, hash: number, ids: readonly number[]): void {
    if (this.current.size >= this.limit) {
      this.previous = this.current;
      this.current = new Table(Math.min(this.mask, FIRST_SLOTS - 1));
    } else if (this.current.size * 2 >= this.current.mask && this.current.mask < this.mask) {
      // At most half full, so probes stay short.
      this.current = this.current.grown(this.current.mask * 2 + 1);
    }
    this.current.set(key, hash, ids);
  }
}
