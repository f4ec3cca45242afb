/**
 * Histograms in fixed buckets, so a file of any size costs the same few hundred bytes and the histograms of byte
 * ranges or files merge by adding counts. Two scales:
 * - `log`, for counts (tokens, messages, tool calls per record): 0–7 one bucket each, then four buckets per power of
 *   two ([8, 10), [10, 12), [12, 14), [14, 16), [16, 20)…): at most 25% wide, and every power of two is an edge, so
 *   a context of 32,768 tokens splits the histogram exactly.
 * - `share`, for fractions from 0 to 1: twenty buckets of 5% (1 itself in the last).
 */

export type HistogramScale = "log" | "share";

/** A histogram as `--json` prints it: the buckets from the first to the last non-empty one, `from ≤ value < to`. */
export interface HistogramJson {
  scale: HistogramScale;
  buckets: { from: number; to: number; count: number }[];
}

const LOG_BUCKETS = 8 + 29 * 4;
const SHARE_BUCKETS = 20;

/** The log bucket of a non-negative value. */
export function logBucket(value: number): number {
  if (!(value >= 8)) return value > 0 ? Math.floor(value) : 0;
  if (value >= 2 ** 31) return LOG_BUCKETS - 1;
  const n = Math.floor(value);
  const e = 31 - Math.clz32(n);
  return 8 + (e - 3) * 4 + ((n >>> (e - 2)) & 3);
}

/** The lower edge of a log bucket. */
export function logBucketFrom(index: number): number {
  if (index < 8) return index;
  const e = 3 + ((index - 8) >> 2);
  return (4 + ((index - 8) & 3)) * 2 ** (e - 2);
}

function shareBucket(value: number): number {
  if (!(value > 0)) return 0;
  return Math.min(SHARE_BUCKETS - 1, Math.floor(value * SHARE_BUCKETS));
}

/**
 * Every bucket's edges, as `toJSON` prints them (rounded to two decimals): worked out once, not per bucket per file
 * (a directory of small files prints thousands of histograms).
 */
const LOG_EDGES: readonly number[] = Array.from({ length: LOG_BUCKETS + 1 }, (_, i) => Number(logBucketFrom(i).toFixed(2)));
const SHARE_EDGES: readonly number[] = Array.from({ length: SHARE_BUCKETS + 1 }, (_, i) => Number((i / SHARE_BUCKETS).toFixed(2)));

/** A fixed-bucket histogram (counts kept in a small array grown to the highest bucket seen). */
export class Histogram {
  readonly counts: number[] = [];
  total = 0;

  constructor(readonly scale: HistogramScale) {}

  add(value: number, n = 1): void {
    const i = this.scale === "log" ? logBucket(value) : shareBucket(value);
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i]! += n;
    this.total += n;
  }

  /** Adds another histogram of the same scale. */
  merge(other: Histogram): void {
    while (this.counts.length < other.counts.length) this.counts.push(0);
    for (let i = 0; i < other.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
  }

  /** Adds the counts of a histogram of the same scale, bucket by bucket (`counts` as another's `counts`). */
  addCounts(counts: readonly number[]): void {
    while (this.counts.length < counts.length) this.counts.push(0);
    for (let i = 0; i < counts.length; i++) {
      this.counts[i]! += counts[i]!;
      this.total += counts[i]!;
    }
  }

  /** Records in buckets that start at or above `value` (exact when `value` is an edge). */
  atOrAbove(value: number): number {
    let n = 0;
    for (let i = 0; i < this.counts.length; i++) if (this.from(i) >= value) n += this.counts[i]!;
    return n;
  }

  private from(i: number): number {
    return (this.scale === "log" ? LOG_EDGES : SHARE_EDGES)[i]!;
  }

  toJSON(): HistogramJson {
    const first = this.counts.findIndex((n) => n > 0);
    const buckets: HistogramJson["buckets"] = [];
    if (first >= 0) {
      const edges = this.scale === "log" ? LOG_EDGES : SHARE_EDGES;
      let last = this.counts.length - 1;
      while (this.counts[last] === 0) last--;
      for (let i = first; i <= last; i++) buckets.push({ from: edges[i]!, to: edges[i + 1]!, count: this.counts[i]! });
    }
    return { scale: this.scale, buckets };
  }

  /** Reads a histogram back from its JSON (for merging the figures of several files). */
  static fromJSON(json: HistogramJson): Histogram {
    const h = new Histogram(json.scale);
    for (const b of json.buckets) if (b.count > 0) h.add(b.from, b.count);
    return h;
  }
}
