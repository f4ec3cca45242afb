import type { Manifest, Split } from "../manifest/manifest.js";
import { isCounted } from "../validate/token-stats.js";
import { modelInfo } from "./models.js";

/**
 * The before-the-run estimate of `jobs create --dry-run`, from the token counts the manifest recorded per source
 * (validation counted them; nothing is re-read). Per split: records, tokens, trainable tokens, the spread per record;
 * then what the job's hyperparameters make of it: OpenAI bills each example's tokens up to the model's limit once
 * per epoch (`n_epochs`, or the cookbook's rule for `auto`); Mistral processes the data tokens once per `epochs`.
 */

export interface SplitCount {
  /** Sources of this split in the manifest, and how many carry counts. */
  files: number;
  counted_files: number;
  records: number;
  /** `exact`, `cookbook`, `approximate`, `estimate`, or `mixed` when the sources were counted differently. */
  method: string;
  tokenizer: string | null;
  total: number;
  /** Null unless every source was counted with a tokenizer. */
  trainable: number | null;
  /** OpenAI: each record's tokens up to the model's limit (null unless every source was counted). */
  billable: number | null;
  /** The largest of the files' p50/p95 (an upper bound: the manifest keeps no histogram); max is exact. */
  p50_at_most: number | null;
  p95_at_most: number | null;
  max: number | null;
}

export interface JobTraining {
  basis: "openai-billing" | "mistral-data-tokens" | "together-data-tokens";
  /**
   * Epochs: given, or (OpenAI `auto`) the cookbook's rule, or (Together) its default `n_epochs` of 1; null when the
   * hyperparameters do not say.
   */
  epochs: number | null;
  epochs_from: "hyperparameters" | "cookbook-auto" | "provider-default" | null;
  /** Optimiser steps, when known: OpenAI ceil(records ÷ batch_size) × epochs; Mistral's training_steps. */
  steps: number | null;
  /** OpenAI: billable tokens × epochs; Mistral and Together: data tokens × epochs. */
  tokens: number | null;
}

export interface JobEstimate {
  model: string;
  /** The model's tokenizer in ftprep's table, and whether the manifest was counted with it. */
  model_tokenizer: string | null;
  counted_with_model_tokenizer: boolean;
  train: SplitCount;
  validation: SplitCount | null;
  training: JobTraining;
}

function splitCount(manifest: Manifest, split: Split): SplitCount | null {
  const sources = manifest.sources.filter((s) => s.split === split);
  if (sources.length === 0) return null;
  const stats = sources.map((s) => s.tokens);
  const present = stats.filter((s) => s !== undefined);
  const counted = present.filter(isCounted);
  const methods = new Set(present.map((s) => s.method));
  const tokenizers = new Set(present.map((s) => s.tokenizer));
  const all = counted.length === sources.length && counted.length > 0;
  return {
    files: sources.length,
    counted_files: present.length,
    records: sources.reduce((n, s) => n + s.valid, 0),
    method: methods.size === 1 ? [...methods][0]! : methods.size === 0 ? "none" : "mixed",
    tokenizer: tokenizers.size === 1 ? [...tokenizers][0]! : null,
    total: present.reduce((n, s) => n + s.total, 0),
    trainable: all ? counted.reduce((n, s) => n + s.trainable, 0) : null,
    billable: all ? counted.reduce((n, s) => n + s.billable, 0) : null,
    p50_at_most: counted.length > 0 ? Math.max(...counted.map((s) => s.p50)) : null,
    p95_at_most: counted.length > 0 ? Math.max(...counted.map((s) => s.p95)) : null,
    max: counted.length > 0 ? Math.max(...counted.map((s) => s.max)) : null,
  };
}

/**
 * OpenAI's `n_epochs: auto`, as the cookbook's data-preparation notebook estimates it: 3 epochs, raised so that at
 * least 100 examples are seen (up to 25 epochs), lowered so that at most 25,000 are (down to 1).
 */
export function cookbookAutoEpochs(examples: number): number {
  if (examples <= 0) return 3;
  if (examples * 3 < 100) return Math.min(25, Math.floor(100 / examples));
  if (examples * 3 > 25_000) return Math.max(1, Math.floor(25_000 / examples));
  return 3;
}

const numeric = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The estimate for a job of `model` with `hyperparameters` on the manifest's files. */
/** Together's `n_epochs` when the create call does not give it. */
const TOGETHER_DEFAULT_EPOCHS = 1;

export function jobEstimate(manifest: Manifest, model: string, hyperparameters: Record<string, number | string>): JobEstimate {
  const train = splitCount(manifest, "train") ?? emptySplit();
  const validation = splitCount(manifest, "validation");
  const info = modelInfo(model);
  let training: JobTraining;
  if (manifest.provider === "openai") {
    const given = numeric(hyperparameters.n_epochs);
    const epochs = given ?? (train.records > 0 ? cookbookAutoEpochs(train.records) : null);
    const batch = numeric(hyperparameters.batch_size);
    training = {
      basis: "openai-billing",
      epochs,
      epochs_from: given !== undefined ? "hyperparameters" : epochs !== null ? "cookbook-auto" : null,
      steps: epochs !== null && batch !== undefined && train.records > 0 ? Math.ceil(train.records / batch) * epochs : null,
      tokens: epochs !== null && train.billable !== null ? train.billable * epochs : null,
    };
  } else if (manifest.provider === "together") {
    // Together's create call takes `n_epochs` (default 1) and prices the tokens of the data times the epochs.
    const given = numeric(hyperparameters.n_epochs);
    const epochs = given ?? TOGETHER_DEFAULT_EPOCHS;
    training = {
      basis: "together-data-tokens",
      epochs,
      epochs_from: given !== undefined ? "hyperparameters" : "provider-default",
      steps: null,
      tokens: train.counted_files === train.files && train.files > 0 ? Math.round(train.total * epochs) : null,
    };
  } else {
    const epochs = numeric(hyperparameters.epochs) ?? null;
    training = {
      basis: "mistral-data-tokens",
      epochs,
      epochs_from: epochs !== null ? "hyperparameters" : null,
      steps: numeric(hyperparameters.training_steps) ?? null,
      tokens: epochs !== null && train.counted_files === train.files && train.files > 0 ? Math.round(train.total * epochs) : null,
    };
  }
  return {
    model,
    model_tokenizer: info?.tokenizer ?? null,
    counted_with_model_tokenizer: info !== undefined && train.tokenizer === info.tokenizer,
    train,
    validation,
    training,
  };
}

function emptySplit(): SplitCount {
  return { files: 0, counted_files: 0, records: 0, method: "none", tokenizer: null, total: 0, trainable: null, billable: null, p50_at_most: null, p95_at_most: null, max: null };
}

/** The estimate's lines for people. */
export function jobEstimateLines(e: JobEstimate): string[] {
  const n = (v: number): string => v.toLocaleString("en-US");
  const lines: string[] = [];
  const split = (name: string, s: SplitCount): void => {
    if (s.counted_files === 0) {
      lines.push(`${name}: ${n(s.records)} records; the manifest has no token counts (written by an older ftprep)`);
      return;
    }
    const what = s.method === "estimate" ? `~${n(s.total)} tokens (est.)` : `${n(s.total)} tokens (${s.method}${s.tokenizer ? `, ${s.tokenizer}` : ""})`;
    const trainable = s.trainable !== null ? `, ${n(s.trainable)} trainable` : "";
    const partial = s.counted_files < s.files ? ` (${s.counted_files} of ${s.files} files counted)` : "";
    lines.push(`${name}: ${n(s.records)} records, ${what}${trainable}${partial}`);
    if (s.max !== null) lines.push(`  tokens per record: p50 ≤ ${n(s.p50_at_most!)}, p95 ≤ ${n(s.p95_at_most!)} (largest file's), max ${n(s.max)}`);
  };
  split("train", e.train);
  if (e.validation) split("validation", e.validation);
  const t = e.training;
  const est = e.train.method === "estimate" ? " (est.)" : "";
  if (t.basis === "openai-billing") {
    if (t.epochs !== null) {
      const from = t.epochs_from === "cookbook-auto" ? " (n_epochs auto: the cookbook's rule)" : "";
      const steps = t.steps !== null ? `${n(t.steps)} steps, ` : "";
      const tokens = t.tokens !== null ? `, ${n(t.tokens)} billable tokens${est}` : "";
      lines.push(`training: ${steps}${t.epochs} epoch(s)${from}${tokens}`);
    }
  } else if (t.epochs !== null || t.steps !== null) {
    const parts = [t.steps !== null ? `${n(t.steps)} steps` : undefined, t.epochs !== null ? `${t.epochs} epoch(s)` : undefined, t.tokens !== null ? `${n(t.tokens)} tokens processed${est}` : undefined].filter(Boolean);
    lines.push(`training: ${parts.join(", ")}`);
  }
  if (e.model_tokenizer !== null && !e.counted_with_model_tokenizer && e.train.counted_files > 0) {
    lines.push(`note: ${e.model} uses ${e.model_tokenizer}; these counts are ${e.train.tokenizer ? `from ${e.train.tokenizer}` : "estimates"} (ftprep run --model ${e.model} counts with its tokenizer)`);
  }
  return lines;
}
