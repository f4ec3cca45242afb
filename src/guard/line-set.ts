/**
 * Line numbers, added in increasing order and asked about in increasing order: the records one pass decided to
 * drop, for the pass that writes the cleaned copy. 4 bytes per line held.
 */
export class LineSet {
  private lines = new Uint32Array(64);
  private count = 0;
  private cursor = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a line number greater than every number added before. */
  add(line: number): void {
    if (this.count > 0 && line <= this.lines[this.count - 1]!) throw new RangeError(`line ${line} added out of order`);
    if (this.count === this.lines.length) {
      const grown = new Uint32Array(this.lines.length * 2);
      grown.set(this.lines);
      this.lines = grown;
    }
    this.lines[this.count++] = line;
  }

  /** Whether `line` is in the set; calls must come with non-decreasing line numbers (one walk through the file). */
  hasNext(line: number): boolean {
    while (this.cursor < this.count && this.lines[this.cursor]! < line) this.cursor++;
    return this.cursor < this.count && this.lines[this.cursor] === line;
  }

  /** Starts a new walk from the first line. */
  rewind(): void {
    this.cursor = 0;
  }
}
