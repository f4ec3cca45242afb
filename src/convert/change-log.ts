/**
 * Every change `fix` and `convert` make, counted per kind with the source lines of the first few examples, so
 * nothing is ever changed or left out silently. Memory is bounded: a count and a few line numbers per kind.
 */

/** Example lines kept per kind. */
export const CHANGE_EXAMPLES = 5;

/** One kind of change: how often it happened and where first. */
export interface ChangeCount {
  count: number;
  /** Source line (JSONL line, array element or Parquet row, 1-based) of the first few occurrences. */
  lines: number[];
}

/** Counts changes per kind. */
export class ChangeLog {
  readonly kinds: Record<string, ChangeCount> = Object.create(null) as Record<string, ChangeCount>;
  /** Changes of every kind so far: a record changed when this moved while it was worked on. */
  changes = 0;

  /** Counts `n` changes of `kind` on source line `line`; `change` false for a kind that only notes (a policy's `keep`). */
  note(kind: string, line: number, n = 1, change = true): void {
    const entry = (this.kinds[kind] ??= { count: 0, lines: [] });
    entry.count += n;
    if (change) this.changes += n;
    if (entry.lines.length < CHANGE_EXAMPLES && entry.lines[entry.lines.length - 1] !== line) entry.lines.push(line);
  }

  /** The log as a plain object, kinds sorted by name. */
  toJSON(): Record<string, ChangeCount> {
    const out: Record<string, ChangeCount> = {};
    for (const kind of Object.keys(this.kinds).sort()) out[kind] = { count: this.kinds[kind]!.count, lines: [...this.kinds[kind]!.lines] };
    return out;
  }
}
