import type { FormatId } from "../types.js";
import { Histogram, type HistogramJson } from "./histogram.js";
import { RoleCounts } from "./stats.js";

/**
 * The figures of a file's valid records — what will be trained on — gathered by the validation pass at a few
 * property reads per record, in bounded memory: fixed-bucket histograms (tokens, trainable share, messages and
 * assistant turns per record, tool calls per record), message counts per role, and the most used tool names
 * (at most `TOOL_NAMES_KEPT` distinct names, the rest counted together). Everything is a sum, so the figures of
 * files (one split's) or of byte ranges merge exactly (`mergeFigures`).
 */

/** Distinct tool names counted per file; further names are counted under `others`. */
export const TOOL_NAMES_KEPT = 1000;
/** Tool names listed in `--json` (the most called). */
export const TOOL_NAMES_SHOWN = 20;

/** A file's (or a split's) figures, as `--json` prints them. */
export interface Figures {
  /** Valid records described. */
  records: number;
  tokens: {
    /** `exact`, `cookbook` or `approximate` when a tokenizer counted the records; `estimate` otherwise. */
    method: string;
    tokenizer: string | null;
    total: number;
    /** The limit the records were checked against (the model's training context, or `--max-tokens`), if any. */
    limit: number | null;
    /** Records over `limit` (counted one by one, not from the buckets). */
    over_limit: number | null;
    /** The training sequence length of the estimate (`--seq-len`), when given: drawn beside the limit. */
    seq_len?: number | null;
    per_record: HistogramJson;
  };
  /** Trainable tokens ÷ tokens per record: counted by the tokenizer, or estimated from the characters of the trained assistant messages. */
  trainable_share: { method: string; per_record: HistogramJson };
  /** Messages per record (chat records; `system_prompt` counts as one). */
  messages: HistogramJson;
  /** Assistant messages per record. */
  turns: HistogramJson;
  /** Messages per role. */
  roles: Record<string, number>;
  tools: {
    /** Records that declare tools (`tools` / `available_tools`). */
    records_with_tools: number;
    /** Records with at least one tool call. */
    records_with_calls: number;
    calls: number;
    calls_per_record: HistogramJson;
    /** The most called tool names, most called first. */
    used: { name: string; calls: number }[];
    /** Distinct tool names seen (up to `TOOL_NAMES_KEPT`). */
    distinct: number;
    /** Calls to names past the first `TOOL_NAMES_KEPT` distinct ones. */
    others: number;
  };
  /** Records identical to an earlier one (`checked`: with `--duplicates` / `--dedupe`). */
  duplicates: { checked: boolean; count: number };
  /** Classifier files: label values per target, with their record counts (as `stats.labels`). */
  labels?: Record<string, Record<string, number>>;
}

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Characters of a message's text (string content or text chunks/parts). */
function contentChars(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const chunk of content) if (isRecord(chunk) && typeof chunk.text === "string") n += chunk.text.length;
  return n;
}

/** What one record adds, from the token counter or the estimate. */
export interface RecordTokens {
  tokens: number;
  /** Trainable tokens when a tokenizer counted them; undefined for the estimate (the share is then estimated). */
  trainable: number | undefined;
  /** Characters of text the estimate counted (the denominator of the estimated share). */
  chars: number;
}

/** Gathers a file's figures, one valid record at a time. */
/** A tally's state as plain data: what a worker sends for its byte range, to be absorbed in file order. */
export interface FigureSnapshot {
  sums: [records: number, tokensTotal: number, overLimit: number, recordsWithTools: number, recordsWithCalls: number, calls: number, others: number];
  /** Each histogram's bucket counts (plain numbers: cheaper to clone and to add than `toJSON`'s bucket objects). */
  histograms: [tokens: number[], share: number[], messages: number[], turns: number[], callsPerRecord: number[]];
  roles: [string, number][];
  toolNames: [string, number][];
}

export class FigureTally {
  records = 0;
  tokensTotal = 0;
  overLimit = 0;
  recordsWithTools = 0;
  recordsWithCalls = 0;
  calls = 0;
  others = 0;
  duplicates = 0;
  readonly tokens = new Histogram("log");
  readonly share = new Histogram("share");
  readonly messages = new Histogram("log");
  readonly turns = new Histogram("log");
  readonly callsPerRecord = new Histogram("log");
  readonly roles = new RoleCounts();
  readonly toolNames = new Map<string, number>();

  constructor(
    readonly method: string,
    readonly tokenizer: string | null,
    readonly limit: number | undefined,
    readonly duplicatesChecked: boolean,
  ) {}

  /** Adds a valid record. */
  add(record: Record<string, unknown>, format: FormatId, counted: RecordTokens): void {
    this.addRecord(record, format, counted.tokens, counted.trainable, counted.chars);
  }

  /**
   * `add` with the record's figures as arguments: the validation pass calls this for every valid record, and an
   * object of them per record was garbage made only to be read here.
   */
  addRecord(record: Record<string, unknown>, format: FormatId, tokens: number, trainable: number | undefined, textChars: number): void {
    this.records++;
    this.tokensTotal += tokens;
    this.tokens.add(tokens);
    if (this.limit !== undefined && tokens > this.limit) this.overLimit++;
    const input = isRecord(record.input) ? record.input : undefined;
    const messages = record.messages ?? record.interactions ?? input?.messages;
    // Preference pairs (OpenAI DPO, Together) train on a comparison: no share of tokens to speak of.
    const preference = record.preferred_output !== undefined || record.chosen !== undefined;
    if (!Array.isArray(messages)) {
      if (preference) return;
      if (trainable !== undefined) this.share.add(tokens > 0 ? trainable / tokens : 0);
      // Prompt and completion (Together's instruction format): the completion trains.
      else if (typeof record.prompt === "string" && typeof record.completion === "string") {
        this.share.add(record.completion.length / Math.max(1, record.prompt.length + record.completion.length));
      }
      // Pretrain and classifier text: everything is trained on.
      else this.share.add(1);
      return;
    }
    const tools = record.tools ?? record.available_tools ?? input?.tools;
    const declared = Array.isArray(tools) ? tools.length > 0 : tools !== undefined && tools !== null;
    if (declared) this.recordsWithTools++;
    const onlyLast = (declared || record.only_last === true) && format.startsWith("mistral");
    // Without a tokenizer the share is estimated from characters: those of the assistant messages that train.
    const estimate = trainable === undefined && !preference;
    let count = 0;
    let assistants = 0;
    let calls = 0;
    let trained = 0;
    let lastTrained = 0;
    if (typeof record.system_prompt === "string") {
      count++;
      this.role("system");
    }
    // One pass over the messages: a few property reads each.
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (!isRecord(m)) continue;
      count++;
      const role = typeof m.role === "string" ? m.role : "?";
      this.role(role);
      if (role !== "assistant") continue;
      assistants++;
      const list = m.tool_calls;
      let chars = estimate ? contentChars(m.content) : 0;
      if (Array.isArray(list)) {
        calls += list.length;
        for (const call of list) {
          const fn = isRecord(call) ? call.function : undefined;
          if (!isRecord(fn)) continue;
          if (typeof fn.name === "string") {
            this.countTool(fn.name);
            chars += fn.name.length;
          }
          if (estimate && typeof fn.arguments === "string") chars += fn.arguments.length;
        }
      }
      lastTrained = m.weight === 0 || m.weight === false ? 0 : chars;
      trained += lastTrained;
    }
    if (preference) {
      for (const key of ["preferred_output", "chosen"] as const) {
        const out = record[key];
        if (Array.isArray(out) && out.length > 0) {
          count++;
          assistants++;
          this.role("assistant");
          break;
        }
      }
    }
    this.messages.add(count);
    this.turns.add(assistants);
    this.callsPerRecord.add(calls);
    this.calls += calls;
    if (calls > 0) this.recordsWithCalls++;
    if (preference) return;
    if (!estimate) {
      this.share.add(tokens > 0 ? trainable! / tokens : 0);
      return;
    }
    // mistral-finetune trains only the last assistant message of a record with tools; OpenAI trains each by weight.
    const share = (onlyLast ? lastTrained : trained) / textChars;
    this.share.add(textChars > 0 ? Math.min(1, share) : 0);
  }

  snapshot(): FigureSnapshot {
    return {
      sums: [this.records, this.tokensTotal, this.overLimit, this.recordsWithTools, this.recordsWithCalls, this.calls, this.others],
      histograms: [[...this.tokens.counts], [...this.share.counts], [...this.messages.counts], [...this.turns.counts], [...this.callsPerRecord.counts]],
      roles: this.roles.entries(),
      toolNames: [...this.toolNames],
    };
  }

  /**
   * Adds the figures of the byte range that follows: sums, histograms, roles in the order first seen, tool names
   * as one pass counts them (the first `TOOL_NAMES_KEPT` distinct names; exact unless one range alone has more).
   */
  absorb(part: FigureSnapshot): void {
    const [records, tokensTotal, overLimit, recordsWithTools, recordsWithCalls, calls, others] = part.sums;
    this.records += records;
    this.tokensTotal += tokensTotal;
    this.overLimit += overLimit;
    this.recordsWithTools += recordsWithTools;
    this.recordsWithCalls += recordsWithCalls;
    this.calls += calls;
    this.others += others;
    [this.tokens, this.share, this.messages, this.turns, this.callsPerRecord].forEach((h, i) => h.addCounts(part.histograms[i]!));
    for (const [role, n] of part.roles) this.roles.add(role, n);
    for (const [name, n] of part.toolNames) {
      const seen = this.toolNames.get(name);
      if (seen !== undefined) this.toolNames.set(name, seen + n);
      else if (this.toolNames.size < TOOL_NAMES_KEPT) this.toolNames.set(name, n);
      else this.others += n;
    }
  }

  private role(role: string): void {
    this.roles.add(role);
  }

  private countTool(name: string): void {
    const seen = this.toolNames.get(name);
    if (seen !== undefined) this.toolNames.set(name, seen + 1);
    else if (this.toolNames.size < TOOL_NAMES_KEPT) this.toolNames.set(name, 1);
    else this.others++;
  }

  finish(): Figures {
    const used = [...this.toolNames].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOOL_NAMES_SHOWN);
    return {
      records: this.records,
      tokens: {
        method: this.method,
        tokenizer: this.tokenizer,
        total: this.tokensTotal,
        limit: this.limit ?? null,
        over_limit: this.limit !== undefined ? this.overLimit : null,
        per_record: this.tokens.toJSON(),
      },
      trainable_share: { method: this.method, per_record: this.share.toJSON() },
      messages: this.messages.toJSON(),
      turns: this.turns.toJSON(),
      roles: Object.fromEntries(this.roles.entries()),
      tools: {
        records_with_tools: this.recordsWithTools,
        records_with_calls: this.recordsWithCalls,
        calls: this.calls,
        calls_per_record: this.callsPerRecord.toJSON(),
        used: used.map(([name, calls]) => ({ name, calls })),
        distinct: this.toolNames.size,
        others: this.others,
      },
      duplicates: { checked: this.duplicatesChecked, count: this.duplicates },
    };
  }
}


/**
 * The figures of several files (one split's): sums, merged histograms, the tool names merged (the list shown is
 * each file's most called, so a name outside every file's top `TOOL_NAMES_SHOWN` is left out of the merge).
 * Methods that differ merge as `mixed`; a limit that differs as null.
 */
export function mergeFigures(all: readonly Figures[]): Figures | null {
  if (all.length === 0) return null;
  const [first, ...rest] = all as [Figures, ...Figures[]];
  const out: Figures = structuredClone(first);
  out.roles = Object.assign(dict<number>(), out.roles);
  if (out.labels) out.labels = Object.assign(dict<Record<string, number>>(), out.labels);
  const names = new Map(first.tools.used.map((u) => [u.name, u.calls]));
  // The histograms are added up as histograms and printed once (not read back and printed again per file).
  const histograms = {
    tokens: Histogram.fromJSON(first.tokens.per_record),
    share: Histogram.fromJSON(first.trainable_share.per_record),
    messages: Histogram.fromJSON(first.messages),
    turns: Histogram.fromJSON(first.turns),
    calls: Histogram.fromJSON(first.tools.calls_per_record),
  };
  for (const f of rest) {
    out.records += f.records;
    const t = out.tokens;
    if (t.method !== f.tokens.method) t.method = "mixed";
    if (t.tokenizer !== f.tokens.tokenizer) t.tokenizer = null;
    t.total += f.tokens.total;
    if (t.limit !== f.tokens.limit) {
      t.limit = null;
      t.over_limit = null;
    } else if (t.over_limit !== null && f.tokens.over_limit !== null) t.over_limit += f.tokens.over_limit;
    histograms.tokens.merge(Histogram.fromJSON(f.tokens.per_record));
    if (out.trainable_share.method !== f.trainable_share.method) out.trainable_share.method = "mixed";
    histograms.share.merge(Histogram.fromJSON(f.trainable_share.per_record));
    histograms.messages.merge(Histogram.fromJSON(f.messages));
    histograms.turns.merge(Histogram.fromJSON(f.turns));
    for (const [role, n] of Object.entries(f.roles)) out.roles[role] = (out.roles[role] ?? 0) + n;
    const tools = out.tools;
    tools.records_with_tools += f.tools.records_with_tools;
    tools.records_with_calls += f.tools.records_with_calls;
    tools.calls += f.tools.calls;
    histograms.calls.merge(Histogram.fromJSON(f.tools.calls_per_record));
    for (const u of f.tools.used) names.set(u.name, (names.get(u.name) ?? 0) + u.calls);
    tools.distinct = Math.max(tools.distinct, f.tools.distinct);
    tools.others += f.tools.others;
    out.duplicates.checked &&= f.duplicates.checked;
    for (const [target, values] of Object.entries(f.labels ?? {})) {
      const into = ((out.labels ??= dict())[target] ??= dict());
      for (const [value, count] of Object.entries(values)) into[value] = (into[value] ?? 0) + count;
    }
    out.duplicates.count += f.duplicates.count;
  }
  if (rest.length > 0) {
    out.tokens.per_record = histograms.tokens.toJSON();
    out.trainable_share.per_record = histograms.share.toJSON();
    out.messages = histograms.messages.toJSON();
    out.turns = histograms.turns.toJSON();
    out.tools.calls_per_record = histograms.calls.toJSON();
  }
  out.tools.used = [...names].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOOL_NAMES_SHOWN).map(([name, calls]) => ({ name, calls }));
  out.tools.distinct = Math.max(out.tools.distinct, names.size);
  return out;
}

/**
 * The figures of each split (`train`, `validation`): its files' figures merged. `seqLen`, the training sequence
 * length of the estimate when one was given, is recorded with the token figures so a report can draw it.
 */
export function figuresBySplit(files: readonly { split?: string | undefined; figures: Figures }[], seqLen?: number): Record<string, Figures> {
  const out: Record<string, Figures> = {};
  const names = [...new Set(["train", "validation", ...files.map((f) => f.split ?? "train")])];
  for (const name of names) {
    const merged = mergeFigures(files.filter((f) => (f.split ?? "train") === name).map((f) => f.figures));
    if (!merged) continue;
    if (seqLen !== undefined) merged.tokens.seq_len = seqLen;
    out[name] = merged;
  }
  return out;
}
