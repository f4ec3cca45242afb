import { access } from "node:fs/promises";
import { ConfigError } from "../errors.js";
import type { TokenHook } from "../validate/token-stats.js";
import { counterFor, ESTIMATE_COUNTER, type RecordCounter } from "./counter.js";
import { MODELS, modelInfo, trainerAction } from "./models.js";
import { isTokenizerId, TOKENIZER_IDS } from "./vocabularies.js";

/** What picks the tokenizer and the limit: `--model`, `--tokenizer`, `--max-tokens`, a pipeline's job model. */
export interface TokenChoice {
  /** Passed on to the hook: told every counted record. */
  onCount?: TokenHook["onCount"];
  model?: string;
  tokenizer?: string;
  maxTokens?: number;
  /** A pipeline file's job model: used when `model` is not given; unknown names fall back to the estimate. */
  jobModel?: string;
  /** Told when a job model is not in the table. */
  onNotice?: (message: string) => void;
}

/** Nothing chosen: no tokenizer is loaded and the files carry the estimate only. */
export function choosesTokenizer(choice: TokenChoice): boolean {
  return choice.model !== undefined || choice.tokenizer !== undefined || choice.jobModel !== undefined;
}

/**
 * Resolves the choice into the validation hook, loading the tokenizer (and only then). Undefined when nothing is
 * chosen (or a job model is unknown): the estimate. An unknown `--model` or `--tokenizer` is a usage error.
 */
export async function resolveTokenHook(choice: TokenChoice): Promise<TokenHook | undefined> {
  let model = choice.model;
  if (model !== undefined && !modelInfo(model)) {
    if (choice.tokenizer === undefined) {
      throw new ConfigError(`unknown model ${JSON.stringify(model)}: known models are ${Object.keys(MODELS).join(", ")}; or name a tokenizer with --tokenizer`);
    }
  }
  if (model === undefined && choice.jobModel !== undefined) {
    if (modelInfo(choice.jobModel)) model = choice.jobModel;
    else if (choice.tokenizer === undefined) {
      choice.onNotice?.(`the job model ${JSON.stringify(choice.jobModel)} is not in ftprep's model table: token counts are estimates (give --tokenizer to count exactly)`);
    }
  }
  const info = model !== undefined ? modelInfo(model) : undefined;
  const tokenizer = choice.tokenizer ?? info?.tokenizer;
  if (tokenizer === undefined) return undefined;
  if (!isTokenizerId(tokenizer)) {
    try {
      await access(tokenizer);
    } catch {
      throw new ConfigError(`--tokenizer ${JSON.stringify(tokenizer)} is neither a bundled tokenizer (${TOKENIZER_IDS.join(", ")}) nor a readable tokenizer.json`);
    }
  }
  let counter: RecordCounter;
  try {
    counter = await counterFor(tokenizer);
  } catch (error) {
    throw new ConfigError(`cannot read the tokenizer ${tokenizer}: ${(error as Error).message.split("\n")[0]}`);
  }
  const maxTokens = choice.maxTokens ?? info?.contextTokens;
  return {
    tokenizer: counter.tokenizer,
    method: counter.method,
    count: (record, format, raw) => counter.count(record, format, raw),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(choice.onCount ? { onCount: choice.onCount } : {}),
    // What a worker thread resolves the same hook from.
    choice: { ...(model !== undefined ? { model } : {}), ...(choice.tokenizer !== undefined ? { tokenizer: choice.tokenizer } : {}), ...(choice.maxTokens !== undefined ? { maxTokens: choice.maxTokens } : {}) },
    overLimit: trainerAction(info?.provider ?? (counter.tokenizer.endsWith("_base") ? "openai" : counter.method === "exact" ? "mistral" : undefined)),
  };
}

/**
 * The estimate as a hook, for per-record output without a tokenizer (`ftprep tokens` with neither flag). Its
 * `choice` chooses nothing: a worker thread resolves it to this hook again.
 */
export function estimateHook(onCount?: TokenHook["onCount"]): TokenHook {
  return {
    tokenizer: ESTIMATE_COUNTER.tokenizer,
    method: ESTIMATE_COUNTER.method,
    count: (record, format) => ESTIMATE_COUNTER.count(record, format),
    ...(onCount ? { onCount } : {}),
    choice: {},
  };
}
