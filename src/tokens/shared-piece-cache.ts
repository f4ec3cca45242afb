import { getEnvironmentData, setEnvironmentData } from "node:worker_threads";
import { MAX_PIECE, type PieceCache } from "./piece-cache.js";

/**
 * A piece cache (pieces of text → their ids, as `PieceCache`) in one `SharedArrayBuffer` that every thread of a
 * process counting with the same tokenizer reads and fills: a piece one worker has encoded is a hit for the others.
 * Each worker thread used to warm a cache of its own on its first ranges — the same tens of thousands of byte-pair
 * merges in every thread, which one thread does once.
 *
 * It only grows: entries are appended, never moved or dropped, so a reader needs no lock. A writer reserves room
 * with `Atomics.add` (entry, code units, ids), writes the entry, then publishes it by putting its index in a free
 * slot with `Atomics.compareExchange`; a reader goes from the slot to the entry's fields, so it sees them complete
 * (see `find`).
 * Two threads adding the same piece at once leave two equal entries (the first found wins; both are right). When an
 * entry, its code units or its ids would not fit, `add` says so (-1) and the caller keeps the piece in its own
 * bounded cache: memory stays bounded however many distinct pieces a dataset has.
 */

/** Header words: entries, code units, ids reserved (they may overshoot the capacity by the adds that failed). */
const SIZE = 0;
const UNITS = 1;
const IDS = 2;
const HEADER = 4;

export interface SharedPieceCacheLayout {
  entries: number;
  units: number;
  ids: number;
}

/** The default capacity: 131,072 pieces (as `PieceCache`'s generation), 16 code units and 8 ids a piece on average. */
export const SHARED_CAPACITY: SharedPieceCacheLayout = { entries: 1 << 17, units: 1 << 21, ids: 1 << 20 };

export class SharedPieceCache {
  private readonly header: Int32Array;
  /** Entry index + 1 per slot, 0 for an empty one. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly hashes: Int32Array;
  /** Entry e's key is `units[keyStarts[e], + its length)`, its ids `ids[idStarts[e], + their count)`. */
  private readonly keyStarts: Int32Array;
  private readonly idStarts: Int32Array;
  /** Key length | id count << 16. */
  private readonly lengths: Int32Array;
  private readonly units: Uint16Array;
  private readonly ids: Int32Array;
  private readonly capacity: SharedPieceCacheLayout;

  /** A new empty cache (`layout`: its capacity), or the cache whose `buffer` another thread made. */
  constructor(from: SharedArrayBuffer | SharedPieceCacheLayout = SHARED_CAPACITY) {
    const buffer = from instanceof SharedArrayBuffer ? from : new SharedArrayBuffer(SharedPieceCache.bytes(from));
    const layout = from instanceof SharedArrayBuffer ? SharedPieceCache.layoutOf(from) : from;
    const entries = layout.entries;
    let at = 0;
    const take = <T>(make: (offset: number, length: number) => T, length: number, width: number): T => {
      const view = make(at, length);
      at += length * width;
      return view;
    };
    this.header = take((o, n) => new Int32Array(buffer, o, n), HEADER + 3, 4);
    if (!(from instanceof SharedArrayBuffer)) this.header.set([entries, layout.units, layout.ids], HEADER);
    this.slots = take((o, n) => new Int32Array(buffer, o, n), entries * 2, 4);
    this.mask = entries * 2 - 1;
    this.hashes = take((o, n) => new Int32Array(buffer, o, n), entries, 4);
    this.keyStarts = take((o, n) => new Int32Array(buffer, o, n), entries, 4);
    this.idStarts = take((o, n) => new Int32Array(buffer, o, n), entries, 4);
    this.lengths = take((o, n) => new Int32Array(buffer, o, n), entries, 4);
    this.ids = take((o, n) => new Int32Array(buffer, o, n), layout.ids, 4);
    this.units = take((o, n) => new Uint16Array(buffer, o, n), layout.units, 2);
    this.capacity = layout;
  }

  /** Bytes of a cache of this capacity (`entries` a power of two). */
  static bytes(layout: SharedPieceCacheLayout): number {
    if (layout.entries < 1 || (layout.entries & (layout.entries - 1)) !== 0) throw new RangeError("SharedPieceCache: entries must be a power of two");
    return (HEADER + 3 + layout.entries * 6 + layout.ids) * 4 + layout.units * 2;
  }

  private static layoutOf(buffer: SharedArrayBuffer): SharedPieceCacheLayout {
    const h = new Int32Array(buffer, 0, Math.min(HEADER + 3, buffer.byteLength >> 2));
    const layout = { entries: h[HEADER] ?? 0, units: h[HEADER + 1] ?? 0, ids: h[HEADER + 2] ?? 0 };
    const { entries } = layout;
    if (entries < 1 || (entries & (entries - 1)) !== 0 || buffer.byteLength !== SharedPieceCache.bytes(layout)) throw new Error("SharedPieceCache: not a cache of this layout");
    return layout;
  }

  /** The memory every thread shares (hand it to another thread's `new SharedPieceCache(buffer)`). */
  get buffer(): SharedArrayBuffer {
    return this.header.buffer as SharedArrayBuffer;
  }

  /** Pieces held. */
  get size(): number {
    return Math.min(Atomics.load(this.header, SIZE), this.capacity.entries);
  }

  /** The entry of `text[start, end)` (`hash`: `PieceCache.hash` of it), or -1. Entries never change once found. */
  find(text: string, start: number, end: number, hash: number): number {
    const length = end - start;
    const { slots, mask, hashes, keyStarts, lengths, units } = this;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      // A plain read, not Atomics.load (which cost the whole count about 5%): everything read after it is read
      // at an address that depends on the index it gives, and a dependent load is not reordered before the load
      // it depends on — by the compiler or by x86 or ARM processors — so the entry's fields, written before the
      // index was published, are seen.
      const e = slots[slot]! - 1;
      if (e < 0) return -1;
      if (hashes[e] !== hash || (lengths[e]! & 0xffff) !== length) continue;
      const from = keyStarts[e]!;
      let k = 0;
      while (k < length && units[from + k] === text.charCodeAt(start + k)) k++;
      if (k === length) return e;
    }
  }

  /** How many ids entry `e` has. */
  count(e: number): number {
    return this.lengths[e]! >>> 16;
  }

  /** Appends the ids of entry `e` to `out`. */
  push(e: number, out: number[]): void {
    const ids = this.ids;
    for (let k = this.idStarts[e]!, stop = k + (this.lengths[e]! >>> 16); k < stop; k++) out.push(ids[k]!);
  }

  /**
   * Adds `text[start, end)` with `ids[0, count)`; returns its entry, or -1 when it does not fit (too long a piece,
   * or the cache is full): keep it elsewhere.
   */
  add(text: string, start: number, end: number, hash: number, ids: ArrayLike<number>, count: number): number {
    const length = end - start;
    if (length > MAX_PIECE || count > MAX_PIECE * 4) return -1;
    const header = this.header;
    const capacity = this.capacity;
    // Once one reservation fails the others are not tried: a full cache costs a read, not three atomic adds.
    if (header[SIZE]! >= capacity.entries || header[UNITS]! + length > capacity.units || header[IDS]! + count > capacity.ids) return -1;
    const e = Atomics.add(header, SIZE, 1);
    if (e >= capacity.entries) return -1;
    const u = Atomics.add(header, UNITS, length);
    const d = Atomics.add(header, IDS, count);
    if (u + length > capacity.units || d + count > capacity.ids) {
      // The entry stays reserved and empty (no slot points to it); the cache is as good as full.
      Atomics.store(header, SIZE, capacity.entries);
      return -1;
    }
    const units = this.units;
    for (let i = 0; i < length; i++) units[u + i] = text.charCodeAt(start + i);
    const store = this.ids;
    for (let k = 0; k < count; k++) store[d + k] = ids[k]!;
    this.hashes[e] = hash;
    this.keyStarts[e] = u;
    this.idStarts[e] = d;
    this.lengths[e] = length | (count << 16);
    // Published: a reader that loads this slot sees everything written above.
    const slots = this.slots;
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      if (Atomics.compareExchange(slots, slot, 0, e + 1) === 0) return e;
    }
  }
}

const ENVIRONMENT_KEY = "ftprep:pieces:";

/**
 * The process's shared piece cache of tokenizer `name`: the one the thread that started this one offered (through
 * `worker_threads`' environment data, which a new thread receives with the same memory), else a new one, offered
 * to the threads this one starts from now on. So the pool's workers, started after the main thread loaded the
 * tokenizer, fill and read one cache.
 */
export function sharedPieceCache(name: string): SharedPieceCache {
  const key = `${ENVIRONMENT_KEY}${name}`;
  const offered = getEnvironmentData(key);
  if (offered instanceof SharedArrayBuffer) {
    try {
      return new SharedPieceCache(offered);
    } catch {
      // Not a cache of this layout: use one of this thread's own.
    }
  }
  const cache = new SharedPieceCache();
  setEnvironmentData(key, cache.buffer);
  return cache;
}

/**
 * The ids of `text[start, end)` (`hash`: `PieceCache.hash` of it) from the process's `shared` cache when there is
 * one, else from the thread's `own`: their count, the ids pushed to `out` when given; -1 when neither holds it.
 */
export function cachedIds(shared: SharedPieceCache | undefined, own: PieceCache, text: string, start: number, end: number, hash: number, out: number[] | undefined): number {
  if (shared !== undefined) {
    const s = shared.find(text, start, end, hash);
    if (s >= 0) {
      if (out !== undefined) shared.push(s, out);
      return shared.count(s);
    }
  }
  const e = own.find(text, start, end, hash);
  if (e < 0) return -1;
  if (out !== undefined) own.push(e, out);
  return own.count(e);
}

/** Keeps a merged piece: in the `shared` cache when there is one and it has room, else in the thread's `own`. */
export function keepIds(shared: SharedPieceCache | undefined, own: PieceCache, text: string, start: number, end: number, hash: number, ids: readonly number[]): void {
  if (shared === undefined || shared.add(text, start, end, hash, ids, ids.length) < 0) own.add(text, start, end, hash, ids);
}
