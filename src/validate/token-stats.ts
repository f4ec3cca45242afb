import type { FormatId } from "../types.js";

/**
 * Token counts of a file, gathered by the validation pass through a hook that `src/tokens` implements (validate
 * imports nothing of it). Memory is bounded: a histogram of distinct counts (at most one entry per distinct count:
 * distinct counts that add up to at most the file's total T are at most √(2T) — 44,721 for a billion tokens) and the
 * `LONGEST_KEPT` longest records. The percentiles it gives are exact.
 */

/** What validation asks of a token counter. */
export interface TokenHook {
  readonly tokenizer: string;
  readonly method: string;
  /** Counts a valid record; `raw` gives its JSON text when the counter needs it. Undefined: not countable. */
  count(record: Record<string, unknown>, format: FormatId, raw: () => string): { tokens: number; trainable: number; estimated?: boolean } | undefined;
  /** Records over this many tokens are W_TOO_MANY_TOKENS. */
  readonly maxTokens?: number;
  /** What the trainer does with such a record (ends the W_TOO_MANY_TOKENS message). */
  readonly overLimit?: string;
  /** Told every counted record, in order (for per-record output). */
  readonly onCount?: (file: string, line: number, tokens: number, trainable: number, estimated?: boolean) => void;
  /**
   * What the hook was resolved from, as plain data, so a worker thread can resolve the same hook for itself
   * (`src/tokens`' `resolveTokenHook` sets it). A hook without it counts on the main thread only.
   */
  readonly choice?: { model?: string; tokenizer?: string; maxTokens?: number };
}

/** A file counted by no tokenizer: the estimate's total only (ceil(characters ÷ 4) + 3 per message). */
export interface EstimatedTokenStats {
  method: "estimate";
  tokenizer: null;
  records: number;
  total: number;
}

/** A file's token statistics, as `--json` prints them (snake_case). */
export interface TokenStats {
  method: string;
  tokenizer: string | null;
  /** Records counted (valid, countable). */
  records: number;
  total: number;
  trainable: number;
  /** What OpenAI bills per epoch: each record's tokens up to the limit (it truncates the rest). */
  billable: number;
  p50: number;
  p95: number;
  max: number;
  /** Records over `limit` (W_TOO_MANY_TOKENS). */
  over_limit: number;
  limit: number | null;
  /** The longest records, longest first. */
  longest: { line: number; tokens: number }[];
  /** Records whose count is partly an estimate (an image of unknown size); present only when there are some. */
  estimated_records?: number;
  /**
   * Records per token count (count → records), exact. Not enumerable, so no JSON output carries it; it lets the
   * percentiles of several files (a split) be computed exactly (`mergeHistograms`). Absent on stats that were read
   * back from JSON (a manifest).
   */
  readonly histogram?: ReadonlyMap<number, number>;
}

export const LONGEST_KEPT = 5;

/** Tells counted stats from the estimate's. */
export function isCounted(stats: TokenStats | EstimatedTokenStats | undefined): stats is TokenStats {
  return stats !== undefined && stats.method !== "estimate";
}

/** Nearest-rank percentile of a histogram (count → records). */
export function percentile(histogram: ReadonlyMap<number, number>, records: number, p: number): number {
  if (records === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * records));
  let seen = 0;
  for (const value of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(value)!;
    if (seen >= rank) return value;
  }
  return 0;
}

/** Several files' histograms as one (exact: records per count added up). */
export function mergeHistograms(histograms: Iterable<ReadonlyMap<number, number>>): Map<number, number> {
  const out = new Map<number, number>();
  for (const histogram of histograms) for (const [value, records] of histogram) out.set(value, (out.get(value) ?? 0) + records);
  return out;
}

/** A tally's state as plain data: what a worker sends for its byte range (line numbers the range's own). */
export interface TallySnapshot {
  records: number;
  total: number;
  trainable: number;
  billable: number;
  overLimit: number;
  estimatedRecords: number;
  histogram: [tokens: number, records: number][];
  longest: { line: number; tokens: number }[];
}

export class TokenTally {
  records = 0;
  total = 0;
  trainable = 0;
  billable = 0;
  overLimit = 0;
  estimatedRecords = 0;
  readonly histogram = new Map<number, number>();
  readonly longest: { line: number; tokens: number }[] = [];

  constructor(readonly hook: TokenHook) {}

  add(line: number, tokens: number, trainable: number, estimated = false): void {
    this.records++;
    if (estimated) this.estimatedRecords++;
    this.total += tokens;
    this.trainable += trainable;
    this.billable += this.hook.maxTokens !== undefined ? Math.min(tokens, this.hook.maxTokens) : tokens;
    this.histogram.set(tokens, (this.histogram.get(tokens) ?? 0) + 1);
    const longest = this.longest;
    if (longest.length < LONGEST_KEPT || tokens > longest[longest.length - 1]!.tokens) {
      longest.push({ line, tokens });
      longest.sort((a, b) => b.tokens - a.tokens || a.line - b.line);
      if (longest.length > LONGEST_KEPT) longest.pop();
    }
  }

  snapshot(): TallySnapshot {
    const { records, total, trainable, billable, overLimit, estimatedRecords, longest } = this;
    return { records, total, trainable, billable, overLimit, estimatedRecords, histogram: [...this.histogram], longest: [...longest] };
  }

  /**
   * Adds the tally of the byte range that follows what this one has seen, whose line 1 is line `lineOffset + 1`
   * here: sums, histograms, and the longest records of both (each range's longest include the file's among them).
   */
  absorb(part: TallySnapshot, lineOffset: number): void {
    this.records += part.records;
    this.total += part.total;
    this.trainable += part.trainable;
    this.billable += part.billable;
    this.overLimit += part.overLimit;
    this.estimatedRecords += part.estimatedRecords;
    for (const [tokens, n] of part.histogram) this.histogram.set(tokens, (this.histogram.get(tokens) ?? 0) + n);
    const longest = this.longest;
    for (const { line, tokens } of part.longest) longest.push({ line: line + lineOffset, tokens });
    longest.sort((a, b) => b.tokens - a.tokens || a.line - b.line);
    longest.length = Math.min(longest.length, LONGEST_KEPT);
  }

  finish(): TokenStats {
    let max = 0;
    for (const value of this.histogram.keys()) max = Math.max(max, value);
    const stats: TokenStats = {
      method: this.hook.method,
      tokenizer: this.hook.tokenizer,
      records: this.records,
      total: this.total,
      trainable: this.trainable,
      billable: this.billable,
      p50: percentile(this.histogram, this.records, 50),
      p95: percentile(this.histogram, this.records, 95),
      max,
      over_limit: this.overLimit,
      limit: this.hook.maxTokens ?? null,
      longest: [...this.longest],
      ...(this.estimatedRecords > 0 ? { estimated_records: this.estimatedRecords } : {}),
    };
    Object.defineProperty(stats, "histogram", { value: new Map(this.histogram), enumerable: false });
    return stats;
  }
}
