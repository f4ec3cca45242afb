/**
 * A set of 16-byte digests in one typed array (open addressing, linear probing): 16 bytes per slot, at most three
 * quarters of the slots used, so 21–43 bytes per distinct digest (about 32 MB per million at worst, plus the old
 * table while it doubles) — instead of the ~100 MB a `Set<string>` of the same digests would take.
 */
export class DigestSet {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;
  private hasZero = false;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.slots = new Uint32Array(capacity * 4);
    this.mask = capacity - 1;
  }

  /** Number of distinct digests held. */
  get size(): number {
    return this.count + (this.hasZero ? 1 : 0);
  }

  /** Bytes of memory held by the table. */
  get byteLength(): number {
    return this.slots.byteLength;
  }

  /**
   * Adds a 16-byte digest, as bytes or as a 16-character latin1 string (what `crypto.hash(…, "latin1")` returns,
   * which spares a Buffer per record); returns false when it was already present.
   */
  add(digest: Uint8Array | string): boolean {
    if (digest.length !== 16) throw new TypeError(`Expected a 16-byte digest, got ${digest.length} bytes`);
    const at = typeof digest === "string" ? (i: number) => digest.charCodeAt(i) : (i: number) => digest[i]!;
    const word = (i: number) => (at(i) | (at(i + 1) << 8) | (at(i + 2) << 16) | (at(i + 3) << 24)) >>> 0;
    const a = word(0);
    const b = word(4);
    const c = word(8);
    const d = word(12);
    // All-zero marks an empty slot; the one digest that is all zeros is remembered apart.
    if ((a | b | c | d) === 0) {
      const fresh = !this.hasZero;
      this.hasZero = true;
      return fresh;
    }
    if ((this.count + 1) * 4 > (this.mask + 1) * 3) this.grow();
    return this.insert(a, b, c, d);
  }

  private insert(a: number, b: number, c: number, d: number): boolean {
    const slots = this.slots;
    let i = a & this.mask;
    for (;;) {
      const at = i * 4;
      const sa = slots[at]!;
      const sb = slots[at + 1]!;
      const sc = slots[at + 2]!;
      const sd = slots[at + 3]!;
      if ((sa | sb | sc | sd) === 0) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = c;
        slots[at + 3] = d;
        this.count++;
        return true;
      }
      if (sa === a && sb === b && sc === c && sd === d) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.slots.length / 4 - 1;
    this.count = 0;
    for (let at = 0; at < old.length; at += 4) {
      const a = old[at]!;
      const b = old[at + 1]!;
      const c = old[at + 2]!;
      const d = old[at + 3]!;
      if ((a | b | c | d) !== 0) this.insert(a, b, c, d);
    }
  }
}
