import type { TextTokenizer } from "./types.js";

/**
 * OpenAI's count, from the cookbook's `Chat_finetuning_data_prep.ipynb`: per message 3 tokens plus the tokens of each
 * string value (+1 for a `name`), plus 3 for the reply's priming; trainable = the content tokens of assistant
 * messages that train (`weight` absent or 1). The notebook counts string values only: `tool_calls`, `tools`,
 * `function_call` and content arrays add nothing (OpenAI does not publish how it counts them). The cookbook calls
 * this count approximate, and so do we.
 */

export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
export const REPLY_PRIMING = 3;

export interface CountedSample {
  tokens: number;
  trainable: number;
}

/** Counts an OpenAI chat record's `messages` as the cookbook does. */
export function countOpenAIRecord(record: Record<string, unknown>, tokenizer: TextTokenizer): CountedSample {
  const messages = Array.isArray(record.messages) ? record.messages : [];
  let tokens = REPLY_PRIMING;
  let trainable = 0;
  for (const message of messages) {
    tokens += TOKENS_PER_MESSAGE;
    if (typeof message !== "object" || message === null) continue;
    const m = message as Record<string, unknown>;
    for (const [key, value] of Object.entries(m)) {
      if (typeof value !== "string") continue;
      const n = tokenizer.count(value);
      tokens += n;
      if (key === "name") tokens += TOKENS_PER_NAME;
      if (key === "content" && m.role === "assistant" && (m.weight === undefined || m.weight === null || m.weight === 1)) trainable += n;
    }
  }
  return { tokens, trainable };
}
