import { PieceCache } from "./piece-cache.js";

/** Returned by `VocabTable.rank` for a symbol that is not in the vocabulary. */
export const NO_RANK = Number.POSITIVE_INFINITY;

/**
 * A vocabulary looked up by a range of a string, without cutting the symbol out of it: byte-pair merging asks for
 * the rank of every candidate pair, and a `Map` would need a new string (and its hash) for each. Open addressing
 * over a power-of-two table; each entry has a merge rank and an id (the same for tiktoken-style vocabularies).
 *
 * Everything lives in typed arrays over one buffer — the slots, each entry's hash, rank, id and key offset, and the
 * keys' UTF-16 code units end to end — so a built table is written to disk as it is and read back as views of the
 * file's bytes (`toBytes` / `fromBytes`): loading a 200,000-entry vocabulary costs a file read, not 200,000 strings.
 * Over a `SharedArrayBuffer`, one table serves every thread of the process.
 */

/** Layout version of `toBytes`; also covers the hash (`PieceCache.hash`), which the slots depend on. */
const LAYOUT = 1;
/** "FTVT" then LAYOUT, count, slot count, code units; a byte-order mark tells a table written on the other endianness. */
const MAGIC = 0x54565446;
const HEADER_WORDS = 6;
const BYTE_ORDER = 0x01020304;

export class VocabTable {
  private readonly mask: number;
  /** Entry index per slot, -1 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly ranks: Int32Array;
  private readonly ids: Int32Array;
  /** Entry e's key is `units[starts[e], starts[e + 1])`. */
  private readonly starts: Uint32Array;
  private readonly units: Uint16Array;

  private constructor(private readonly buffer: Uint8Array) {
    const header = new Uint32Array(buffer.buffer, buffer.byteOffset, HEADER_WORDS);
    if (header[0] !== MAGIC || header[1] !== LAYOUT || header[5] !== BYTE_ORDER) throw new Error("VocabTable: not a table of this layout");
    const count = header[2]!;
    const slots = header[3]!;
    const unitCount = header[4]!;
    if (slots === 0 || (slots & (slots - 1)) !== 0 || count >= slots) throw new Error("VocabTable: bad header");
    let at = buffer.byteOffset + HEADER_WORDS * 4;
    const take = <T>(make: (offset: number) => T, bytes: number): T => {
      if (at + bytes > buffer.byteOffset + buffer.byteLength) throw new Error("VocabTable: truncated");
      const view = make(at);
      at += bytes;
      return view;
    };
    this.mask = slots - 1;
    this.slots = take((o) => new Int32Array(buffer.buffer, o, slots), slots * 4);
    this.hashes = take((o) => new Int32Array(buffer.buffer, o, count), count * 4);
    this.ranks = take((o) => new Int32Array(buffer.buffer, o, count), count * 4);
    this.ids = take((o) => new Int32Array(buffer.buffer, o, count), count * 4);
    this.starts = take((o) => new Uint32Array(buffer.buffer, o, count + 1), (count + 1) * 4);
    this.units = take((o) => new Uint16Array(buffer.buffer, o, unitCount), unitCount * 2);
    if (this.starts[count] !== unitCount) throw new Error("VocabTable: bad key offsets");
  }

  /**
   * A table of `entries` (symbol, merge rank, id); a symbol given twice keeps its last rank and id. Ranks and ids
   * are 32-bit integers.
   */
  static build(entries: Iterable<readonly [symbol: string, rank: number, id: number]>): VocabTable {
    const index = new Map<string, number>();
    const keys: string[] = [];
    const ranks: number[] = [];
    const ids: number[] = [];
    let unitCount = 0;
    for (const [symbol, rank, id] of entries) {
      const known = index.get(symbol);
      if (known !== undefined) {
        ranks[known] = rank;
        ids[known] = id;
        continue;
      }
      index.set(symbol, keys.length);
      keys.push(symbol);
      ranks.push(rank);
      ids.push(id);
      unitCount += symbol.length;
    }
    const count = keys.length;
    let slots = 16;
    while (slots < count * 2) slots *= 2;
    const bytes = (HEADER_WORDS + slots + 4 * count + 1) * 4 + unitCount * 2;
    // A buffer of its own (offset 0), so every view is aligned; shared, so worker threads can use it as it is
    // (`shareVocabulary`) instead of each holding a copy.
    const buffer = new Uint8Array(new SharedArrayBuffer(bytes));
    new Uint32Array(buffer.buffer, 0, HEADER_WORDS).set([MAGIC, LAYOUT, count, slots, unitCount, BYTE_ORDER]);
    let at = HEADER_WORDS * 4;
    const slotView = new Int32Array(buffer.buffer, at, slots).fill(-1);
    at += slots * 4;
    const hashView = new Int32Array(buffer.buffer, at, count);
    at += count * 4;
    new Int32Array(buffer.buffer, at, count).set(ranks);
    at += count * 4;
    new Int32Array(buffer.buffer, at, count).set(ids);
    at += count * 4;
    const startView = new Uint32Array(buffer.buffer, at, count + 1);
    at += (count + 1) * 4;
    const unitView = new Uint16Array(buffer.buffer, at, unitCount);
    const mask = slots - 1;
    let unit = 0;
    for (let e = 0; e < count; e++) {
      const key = keys[e]!;
      startView[e] = unit;
      for (let k = 0; k < key.length; k++) unitView[unit++] = key.charCodeAt(k);
      const hash = PieceCache.hash(key, 0, key.length);
      hashView[e] = hash;
      let slot = hash & mask;
      while (slotView[slot] !== -1) slot = (slot + 1) & mask;
      slotView[slot] = e;
    }
    startView[count] = unit;
    return new VocabTable(buffer);
  }

  /**
   * The table `toBytes` wrote. The bytes are used in place (not copied); their offset must be a multiple of 4
   * (a `Buffer` of a file read whole is at offset 0). Throws when they are not a table of this layout.
   */
  static fromBytes(bytes: Uint8Array): VocabTable {
    if (bytes.byteOffset % 4 !== 0) bytes = new Uint8Array(bytes);
    return new VocabTable(bytes);
  }

  /** The table as bytes (a view of the table itself: do not change them). */
  toBytes(): Uint8Array {
    return this.buffer;
  }

  /** The symbols held. */
  get size(): number {
    return this.hashes.length;
  }

  /** The entry of `text[start, end)`, or -1. */
  private entry(text: string, start: number, end: number): number {
    const length = end - start;
    const hash = PieceCache.hash(text, start, end);
    const { slots, hashes, starts, units, mask } = this;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const e = slots[slot]!;
      if (e < 0) return -1;
      if (hashes[e] !== hash) continue;
      const from = starts[e]!;
      if (starts[e + 1]! - from !== length) continue;
      let k = 0;
      while (k < length && units[from + k] === text.charCodeAt(start + k)) k++;
      if (k === length) return e;
    }
  }

  /**
   * The entry of the symbol whose code units are `bytes[start, end)` (a tiktoken-style vocabulary's byte strings are
   * held as latin1 code units, one per byte), or -1: a piece's UTF-8 bytes are looked up as they are, without a
   * string made of them. (`entry`'s probe, comparing bytes: one probe for both would cost a call per look-up on the
   * merge's hot path.)
   */
  private entryOfBytes(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const hash = PieceCache.hashBytes(bytes, start, end);
    const { slots, hashes, starts, units, mask } = this;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const e = slots[slot]!;
      if (e < 0) return -1;
      if (hashes[e] !== hash) continue;
      const from = starts[e]!;
      if (starts[e + 1]! - from !== length) continue;
      let k = 0;
      while (k < length && units[from + k] === bytes[start + k]) k++;
      if (k === length) return e;
    }
  }

  /** The merge rank of the byte string `bytes[start, end)`, or -1 when it is not in the vocabulary. */
  rankOfBytes(bytes: Uint8Array, start: number, end: number): number {
    const e = this.entryOfBytes(bytes, start, end);
    return e < 0 ? -1 : this.ranks[e]!;
  }

  /** The id of the byte string `bytes[start, end)`, or -1. */
  idOfBytes(bytes: Uint8Array, start: number, end: number): number {
    const e = this.entryOfBytes(bytes, start, end);
    return e < 0 ? -1 : this.ids[e]!;
  }

  /** The merge rank of `text[start, end)`, or `NO_RANK`. */
  rank(text: string, start: number, end: number): number {
    const e = this.entry(text, start, end);
    return e < 0 ? NO_RANK : this.ranks[e]!;
  }

  /** The id of `text[start, end)`, or -1. */
  id(text: string, start: number, end: number): number {
    const e = this.entry(text, start, end);
    return e < 0 ? -1 : this.ids[e]!;
  }
}
