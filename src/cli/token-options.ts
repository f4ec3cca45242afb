import type { Command } from "commander";
import type { TrainingEstimate, TrainingSettings } from "../tokens/plan.js";
import type { FileReport } from "../validate/file.js";
import { isCounted, mergeHistograms, percentile, type TokenHook } from "../validate/token-stats.js";
import { positiveInt } from "./options.js";

/** The token flags of validate, prepare and run. */
export interface TokenFlags {
  model?: string;
  tokenizer?: string;
  maxTokens?: number;
  seqLen?: number;
  batchSize?: number;
  epochs?: number;
}

/** Adds `--model`, `--tokenizer`, `--max-tokens` and the training settings of the estimate. */
export function addTokenOptions(command: Command): Command {
  return command
    .option("--model <model>", "count tokens with this model's tokenizer and flag records over its training context (see the README's model table)")
    .option("--tokenizer <name|path>", "tokenizer to count with (overrides --model's): tekken-240718, mistral-sp-v3, mistral-sp-v2, mistral-sp-v1, o200k_base, cl100k_base, or a tokenizer.json")
    .option("--max-tokens <n>", "W_TOO_MANY_TOKENS above N tokens per record (default: the model's training context)", positiveInt)
    .option("--seq-len <n>", "training estimate: tokens per training sequence (Mistral; default the model's context)", positiveInt)
    .option("--batch-size <n>", "training estimate: sequences (Mistral) or examples (OpenAI) per step", positiveInt)
    .option("--epochs <n>", "training estimate: epochs (default 1)", positiveInt);
}

/** The validation hook the flags ask for (loading the tokenizer only then), or undefined for the estimate. */
export async function tokenHook(flags: TokenFlags, extra: { jobModel?: string; onNotice?: (m: string) => void } = {}): Promise<TokenHook | undefined> {
  if (flags.model === undefined && flags.tokenizer === undefined && extra.jobModel === undefined) return undefined;
  const { resolveTokenHook } = await import("../tokens/hook.js");
  return resolveTokenHook({
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
    ...(flags.maxTokens !== undefined ? { maxTokens: flags.maxTokens } : {}),
    ...(extra.jobModel !== undefined ? { jobModel: extra.jobModel } : {}),
    ...(extra.onNotice ? { onNotice: extra.onNotice } : {}),
  });
}

/** Token totals of several files (one split), with the training estimate when settings are given. */
export interface SplitTokens {
  files: number;
  records: number;
  method: string;
  tokenizer: string | null;
  total: number;
  trainable: number | null;
  p50: number | null;
  p95: number | null;
  max: number | null;
  training: TrainingEstimate | null;
}


/**
 * Sums files' token stats. A split's p50/p95 are exact: computed from the files' histograms added up; for stats
 * without one (read back from a manifest) the largest of the files' (an upper bound).
 */
export async function splitTokens(reports: readonly FileReport[], flags: TokenFlags, hook: TokenHook | undefined): Promise<SplitTokens> {
  const all = reports.map((r) => r.stats.tokens);
  const exact = all.filter(isCounted);
  const method = hook?.method ?? "estimate";
  const out: SplitTokens = {
    files: reports.length,
    records: reports.reduce((n, r) => n + r.valid, 0),
    method,
    tokenizer: hook?.tokenizer ?? null,
    total: all.reduce((n, s) => n + (s?.total ?? 0), 0),
    trainable: exact.length === all.length && exact.length > 0 ? exact.reduce((n, s) => n + s.trainable, 0) : null,
    p50: exact.length > 0 ? Math.max(...exact.map((s) => s.p50)) : null,
    p95: exact.length > 0 ? Math.max(...exact.map((s) => s.p95)) : null,
    max: exact.length > 0 ? Math.max(...exact.map((s) => s.max)) : null,
    training: null,
  };
  if (exact.length > 0 && exact.every((s) => s.histogram !== undefined)) {
    const histogram = mergeHistograms(exact.map((s) => s.histogram!));
    const counted = exact.reduce((n, s) => n + s.records, 0);
    out.p50 = percentile(histogram, counted, 50);
    out.p95 = percentile(histogram, counted, 95);
  }
  const settings: TrainingSettings = {
    ...(flags.seqLen !== undefined ? { seqLen: flags.seqLen } : hook?.maxTokens !== undefined ? { seqLen: hook.maxTokens } : {}),
    ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
  };
  if (flags.batchSize !== undefined || flags.epochs !== undefined || flags.seqLen !== undefined) {
    const { mistralEstimate, openaiEstimate } = await import("../tokens/plan.js");
    const openai = hook?.method === "cookbook";
    out.training = openai
      ? (openaiEstimate(out.records, exact.reduce((n, s) => n + s.billable, 0), settings) ?? null)
      : (mistralEstimate(out.total, settings) ?? null);
  }
  return out;
}

/** "1,279 tokens (exact, tekken-240718), 110 trainable" or "~1,418 tokens (est.)". */
export function tokenPhrase(s: { method: string; tokenizer: string | null; total: number; trainable?: number | null }): string {
  const n = s.total.toLocaleString("en-US");
  if (s.method === "estimate") return `~${n} tokens (est.)`;
  const trainable = s.trainable !== null && s.trainable !== undefined ? `, ${s.trainable.toLocaleString("en-US")} trainable` : "";
  return `${n} tokens (${s.method}, ${s.tokenizer})${trainable}`;
}

/** The split's lines for people: totals, per-record spread, training estimate. */
export function splitLines(name: string, s: SplitTokens): string[] {
  const lines = [`${name}: ${s.records.toLocaleString("en-US")} records, ${tokenPhrase(s)}`];
  if (s.p50 !== null) lines.push(`  tokens per record: p50 ${s.p50}, p95 ${s.p95}, max ${s.max}`);
  const t = s.training;
  if (t) {
    const what = t.basis === "openai-billing" ? "billable tokens" : "tokens processed";
    lines.push(`  training: ${t.steps.toLocaleString("en-US")} steps, ${Number(t.epochs.toFixed(2))} epoch(s), ${t.tokens.toLocaleString("en-US")} ${what}${s.method === "estimate" ? " (est.)" : ""}`);
  }
  return lines;
}
