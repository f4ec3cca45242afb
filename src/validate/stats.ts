/**
 * Per-file statistics. Every field is a sum, so the stats of byte ranges validated apart merge into exactly the
 * stats of one pass (`mergeStats`).
 *
 * Token estimate (until a real tokenizer is wired in): ceil(text characters / 4) + 3 per message, where text is
 * message content, text chunks, tool-call names and arguments, tool definitions as JSON, pretrain and classifier text.
 */
export interface RecordStats {
  /**
   * Messages per role, across all records (a top-level `system_prompt` counts as a system message), in the order
   * the roles were first seen (`messagesByRole` reads them as a map).
   */
  roles: RoleCounts;
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

/** The stats as plain data (what a worker sends for its byte range): the roles as [role, count] in first-seen order. */
export type StatsSnapshot = Omit<RecordStats, "roles"> & { roles: [string, number][] };

/** Distinct label values kept per classifier target; more are counted under "…" so memory stays bounded. */
export const LABEL_VALUES_KEPT = 1000;
const OTHER_LABELS = "…";

// Maps keyed by data (roles, label values) have no prototype, so a label called "constructor" is just a label.
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * Every stats object is made by this constructor, not by an object literal: V8 gives a literal made a second time a
 * boilerplate whose fields it marks "uninitialised", which widens the type V8 knows of `roles` from RoleCounts to
 * anything — and throws away the optimised rules that relied on it (`countRole`, `checkConversation`). One pass
 * makes one stats object, so one thread never saw it; a worker makes one per byte range, and recompiled the rules at
 * its second. A constructor's stores keep the field's type, and one hidden class across ranges and files.
 */
class Stats implements RecordStats {
  roles = new RoleCounts();
  toolCallRecords = 0;
  imageRecords = 0;
  textChars = 0;
  messages = 0;
  labels = dict<Record<string, number>>();
}

export function emptyStats(): RecordStats {
  return new Stats();
}

/**
 * Messages per role as a plain object, in the order the roles were first seen: the same object JSON.parse makes of
 * a worker's report (a role named `__proto__` is an own key, as there).
 */
export function messagesByRole(stats: RecordStats): Record<string, number> {
  return Object.fromEntries(stats.roles.entries());
}

/** The stats as plain data, for a structured clone. */
export function statsSnapshot(stats: RecordStats): StatsSnapshot {
  // Field by field: a spread copies the stats object's hidden class, and storing an array in its `roles` would widen
  // that field's type for every stats object (see `Stats`).
  return { roles: stats.roles.entries(), toolCallRecords: stats.toolCallRecords, imageRecords: stats.imageRecords, textChars: stats.textChars, messages: stats.messages, labels: stats.labels };
}

/** Estimated tokens: ceil(characters / 4) + 3 per message. */
export function estimateTokens(stats: RecordStats): number {
  return Math.ceil(stats.textChars / 4) + 3 * stats.messages;
}

export function countRole(stats: RecordStats, role: string): void {
  stats.roles.add(role);
  stats.messages++;
}

export function countLabel(stats: RecordStats, target: string, value: string, n = 1): void {
  const values = (stats.labels[target] ??= dict());
  const existing = values[value];
  if (existing !== undefined) values[value] = existing + n;
  else if (Object.keys(values).length < LABEL_VALUES_KEPT) values[value] = n;
  else values[OTHER_LABELS] = (values[OTHER_LABELS] ?? 0) + n;
}

/** Adds `from` (a snapshot of the stats that follow) into `into`. */
export function mergeStats(into: RecordStats, from: StatsSnapshot): void {
  for (const [role, n] of from.roles) into.roles.add(role, n);
  into.toolCallRecords += from.toolCallRecords;
  into.imageRecords += from.imageRecords;
  into.textChars += from.textChars;
  into.messages += from.messages;
  for (const [target, values] of Object.entries(from.labels)) {
    for (const [value, n] of Object.entries(values)) countLabel(into, target, value, n);
  }
}

/**
 * Messages per role, in the order the roles were first seen (as a Map's entries): the four common roles counted in
 * fields, found by comparison, any other in a Map — a Map lookup keyed by a role string costs a hash probe per
 * message, several per record.
 */
export class RoleCounts {
  /**
   * assistant, user, system, tool (see `commonRole`): their counts, and when each was first added (the number of
   * adds before it; Infinity until then). Typed arrays, not array literals: a literal's elements are copy-on-write,
   * so each new object's first store changed their map, and the rules' optimised code (which inlines `add`) was
   * thrown away at every byte range's fresh counts.
   */
  private readonly common = new Float64Array(4);
  private readonly firstAdd = new Float64Array(4).fill(Infinity);
  private adds = 0;
  /** Any other role: [first add, count]. */
  private readonly others = new Map<string, [number, number]>();

  /** Adds `n` (at least 1) messages of `role`: a common role's first add takes the same path as the others. */
  add(role: string, n = 1): void {
    const at = this.adds++;
    const k = commonRole(role);
    if (k >= 0) {
      const first = this.firstAdd[k]!;
      this.firstAdd[k] = first < at ? first : at;
      this.common[k]! += n;
      return;
    }
    const other = this.others.get(role);
    if (other === undefined) this.others.set(role, [at, n]);
    else other[1] += n;
  }

  /** Each role with its count, in the order first seen. */
  entries(): [string, number][] {
    const all: [role: string, count: number, first: number][] = [];
    for (let k = 0; k < COMMON_ROLES.length; k++) if (this.common[k]! > 0) all.push([COMMON_ROLES[k]!, this.common[k]!, this.firstAdd[k]!]);
    for (const [role, [first, n]] of this.others) all.push([role, n, first]);
    return all.sort((a, b) => a[2] - b[2]).map(([role, n]): [string, number] => [role, n]);
  }
}

const COMMON_ROLES = ["assistant", "user", "system", "tool"] as const;

/** The slot of a common role in `RoleCounts`, or -1. */
function commonRole(role: string): number {
  switch (role) {
    case "assistant":
      return 0;
    case "user":
      return 1;
    case "system":
      return 2;
    case "tool":
      return 3;
    default:
      return -1;
  }
}
