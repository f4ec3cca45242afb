/**
 * A bounded cache from pieces of text (pre-tokens, words) to their ids, looked up by a range of a larger string
 * without cutting the piece out of it: the common case (a hit) allocates nothing. Open addressing over power-of-two
 * tables, keys compared code unit by code unit at the range.
 *
 * Everything it holds lives in typed arrays — each entry's hash, the keys' UTF-16 code units end to end, the ids end
 * to end — not in a string and an array per piece. A cache of 131,072 words held that way costs about 6 MB instead
 * of 30–40 MB of small heap objects, and none of it is for the garbage collector to trace, promote or sweep: when
 * pieces are dropped, nothing becomes garbage (the arrays are emptied and reused). On text with many distinct words
 * (real text; SentencePiece words carry their punctuation) the old cache filled the old generation of every thread
 * with dropped entries, which V8 let grow to tens of megabytes per worker before collecting them.
 *
 * Eviction is by generation: pieces go into the current generation; when it holds `limit` pieces (or its code units
 * or ids fill their arrays) it becomes the previous generation and the one before is emptied and reused as the
 * current one. A piece found only in the previous generation is copied into the current one, so the pieces in use
 * survive a turn while the rest are dropped. At most 2 × `limit` pieces are held, however many distinct pieces a
 * dataset has. A generation's arrays start small and double as they fill (up to their bounds): a new encoder costs
 * no megabytes of empty slots before its first piece (each worker thread makes its own). Pieces longer than
 * `MAX_PIECE` code units are not cached (they seldom repeat, and encoding them costs far more than a look-up).
 */

/** Entries of a fresh generation (its slots: twice as many). */
const FIRST_ENTRIES = 512;
/** Pieces longer than this (in UTF-16 code units) are not cached. */
export const MAX_PIECE = 256;
/** Code units and ids a generation holds per entry of its limit, on average, before it turns over. */
const UNITS_PER_ENTRY = 16;
const IDS_PER_ENTRY = 8;

class Generation {
  /** Entry index + 1 per slot, 0 for an empty slot. */
  slots: Int32Array;
  mask: number;
  hashes: Int32Array;
  /** Entry e's key is `units[keyEnds[e - 1] ?? 0, keyEnds[e])`, its ids `ids[idEnds[e - 1] ?? 0, idEnds[e])`. */
  keyEnds: Uint32Array;
  idEnds: Uint32Array;
  units: Uint16Array;
  ids: Int32Array;
  size = 0;
  unitCount = 0;
  idCount = 0;

  constructor(entries: number) {
    this.slots = new Int32Array(entries * 2);
    this.mask = entries * 2 - 1;
    this.hashes = new Int32Array(entries);
    this.keyEnds = new Uint32Array(entries);
    this.idEnds = new Uint32Array(entries);
    this.units = new Uint16Array(entries * 8);
    this.ids = new Int32Array(entries * 4);
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
    this.unitCount = 0;
    this.idCount = 0;
  }

  /** The entry of `text[start, end)`, or -1. */
  find(text: string, start: number, end: number, hash: number): number {
    const length = end - start;
    const { slots, mask, hashes, keyEnds, units } = this;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const e = slots[slot]! - 1;
      if (e < 0) return -1;
      if (hashes[e] !== hash) continue;
      const from = e === 0 ? 0 : keyEnds[e - 1]!;
      if (keyEnds[e]! - from !== length) continue;
      let k = 0;
      while (k < length && units[from + k] === text.charCodeAt(start + k)) k++;
      if (k === length) return e;
    }
  }

  /** Whether a piece of `units` code units and `ids` ids fits in this generation's bounds. */
  fits(limit: number, units: number, ids: number): boolean {
    return this.size < limit && this.unitCount + units <= limit * UNITS_PER_ENTRY && this.idCount + ids <= limit * IDS_PER_ENTRY;
  }

  /** Adds `text[start, end)` with `ids[0, count)` (it must fit: `fits`); returns its entry. */
  add(text: string, start: number, end: number, hash: number, ids: ArrayLike<number>, count: number): number {
    const length = end - start;
    if (this.size === this.hashes.length) this.growEntries();
    while (this.unitCount + length > this.units.length) this.units = grown(this.units, new Uint16Array(this.units.length * 2));
    while (this.idCount + count > this.ids.length) this.ids = grown(this.ids, new Int32Array(this.ids.length * 2));
    const e = this.size++;
    const units = this.units;
    let u = this.unitCount;
    for (let i = start; i < end; i++) units[u++] = text.charCodeAt(i);
    this.unitCount = u;
    this.keyEnds[e] = u;
    const store = this.ids;
    let d = this.idCount;
    for (let k = 0; k < count; k++) store[d++] = ids[k]!;
    this.idCount = d;
    this.idEnds[e] = d;
    this.hashes[e] = hash;
    this.place(e, hash);
    return e;
  }

  private place(e: number, hash: number): void {
    const { slots, mask } = this;
    let slot = hash & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = e + 1;
  }

  private growEntries(): void {
    const entries = this.hashes.length * 2;
    this.hashes = grown(this.hashes, new Int32Array(entries));
    this.keyEnds = grown(this.keyEnds, new Uint32Array(entries));
    this.idEnds = grown(this.idEnds, new Uint32Array(entries));
    this.slots = new Int32Array(entries * 2);
    this.mask = entries * 2 - 1;
    for (let e = 0; e < this.size; e++) this.place(e, this.hashes[e]!);
  }
}

function grown<T extends Uint16Array | Int32Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

export class PieceCache {
  private readonly limit: number;
  /** Entries of a fresh generation. */
  private readonly firstEntries: number;
  private current: Generation;
  private previous: Generation | undefined;
  /** Ids copied out of the previous generation before they move (a turn over may empty it). */
  private scratch = new Int32Array(64);

  /** `limit`: the most pieces per generation. */
  constructor(limit = 1 << 17) {
    this.limit = Math.max(1, limit);
    let entries = 16;
    while (entries < Math.min(this.limit, FIRST_ENTRIES)) entries *= 2;
    this.firstEntries = entries;
    this.current = new Generation(entries);
  }

  /** FNV-1a over the UTF-16 code units of `text[start, end)`, with a final mix. */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /** `hash` of the latin1 string whose code units are `bytes[start, end)`: byte-keyed look-ups find the same slots. */
  static hashBytes(bytes: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /**
   * The entry cached for `text[start, end)` (hash from `PieceCache.hash`), or -1. An entry stays valid until the
   * next `find` or `add`: read it at once with `count` / `push`.
   */
  find(text: string, start: number, end: number, hash: number): number {
    const e = this.current.find(text, start, end, hash);
    if (e >= 0 || this.previous === undefined) return e;
    const old = this.previous;
    const p = old.find(text, start, end, hash);
    if (p < 0) return -1;
    const from = p === 0 ? 0 : old.idEnds[p - 1]!;
    const count = old.idEnds[p]! - from;
    if (count > this.scratch.length) this.scratch = new Int32Array(count);
    this.scratch.set(old.ids.subarray(from, from + count));
    return this.add(text, start, end, hash, this.scratch, count);
  }

  /** How many ids entry `e` has. */
  count(e: number): number {
    const g = this.current;
    return g.idEnds[e]! - (e === 0 ? 0 : g.idEnds[e - 1]!);
  }

  /** Appends the ids of entry `e` to `out`. */
  push(e: number, out: number[]): void {
    const g = this.current;
    const ids = g.ids;
    for (let k = e === 0 ? 0 : g.idEnds[e - 1]!, stop = g.idEnds[e]!; k < stop; k++) out.push(ids[k]!);
  }

  /**
   * Caches `ids[0, count)` for `text[start, end)` (not in the current generation; `hash` is `PieceCache.hash` of
   * it). Returns its entry, or -1 for a piece too long to cache (`MAX_PIECE`).
   */
  add(text: string, start: number, end: number, hash: number, ids: ArrayLike<number>, count = ids.length): number {
    const length = end - start;
    if (length > MAX_PIECE || count > MAX_PIECE * 4) return -1;
    if (!this.current.fits(this.limit, length, count)) {
      const recycled = this.previous;
      this.previous = this.current;
      if (recycled) recycled.clear();
      this.current = recycled ?? new Generation(this.firstEntries);
    }
    return this.current.add(text, start, end, hash, ids, count);
  }
}
