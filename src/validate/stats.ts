/**
 * Per-file statistics. Every field is a sum, so the stats of byte ranges validated apart merge into exactly the
 * stats of one pass (`mergeStats`).
 *
 * Token estimate (until a real tokenizer is wired in): ceil(text characters / 4) + 3 per message, where text is
 * message content, text chunks, tool-call names and arguments, tool definitions as JSON, pretrain and classifier text.
 */
export interface RecordStats {
  /** Messages per role, across all records (a top-level `system_prompt` counts as a system message). */
  messagesByRole: Record<string, number>;
  /** Records with at least one tool call. */
  toolCallRecords: number;
  /** Records with at least one image chunk. */
  imageRecords: number;
  /** Characters of text (see the token estimate). */
  textChars: number;
  /** Messages in all records (framing tokens of the estimate). */
  messages: number;
  /** Classifier label values seen per target, with their record counts (at most LABEL_VALUES_KEPT values per target). */
  labels: Record<string, Record<string, number>>;
}

/** Distinct label values kept per classifier target; more are counted under "…" so memory stays bounded. */
export const LABEL_VALUES_KEPT = 1000;
const OTHER_LABELS = "…";

// Maps keyed by data (roles, label values) have no prototype, so a label called "constructor" is just a label.
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function emptyStats(): RecordStats {
  return { messagesByRole: dict(), toolCallRecords: 0, imageRecords: 0, textChars: 0, messages: 0, labels: dict() };
}

/** Estimated tokens: ceil(characters / 4) + 3 per message. */
export function estimateTokens(stats: RecordStats): number {
  return Math.ceil(stats.textChars / 4) + 3 * stats.messages;
}

export function countRole(stats: RecordStats, role: string): void {
  stats.messagesByRole[role] = (stats.messagesByRole[role] ?? 0) + 1;
  stats.messages++;
}

export function countLabel(stats: RecordStats, target: string, value: string, n = 1): void {
  const values = (stats.labels[target] ??= dict());
  const existing = values[value];
  if (existing !== undefined) values[value] = existing + n;
  else if (Object.keys(values).length < LABEL_VALUES_KEPT) values[value] = n;
  else values[OTHER_LABELS] = (values[OTHER_LABELS] ?? 0) + n;
}

/** Adds `from` into `into`. */
export function mergeStats(into: RecordStats, from: RecordStats): void {
  for (const [role, n] of Object.entries(from.messagesByRole)) into.messagesByRole[role] = (into.messagesByRole[role] ?? 0) + n;
  into.toolCallRecords += from.toolCallRecords;
  into.imageRecords += from.imageRecords;
  into.textChars += from.textChars;
  into.messages += from.messages;
  for (const [target, values] of Object.entries(from.labels)) {
    for (const [value, n] of Object.entries(values)) countLabel(into, target, value, n);
  }
}
