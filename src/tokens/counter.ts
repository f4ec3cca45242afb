import { readFile } from "node:fs/promises";
import type { FormatId } from "../types.js";
import { encodeMistralRecord, type MistralEncoding, PIXTRAL_IMAGES, SENTENCEPIECE_SPECIALS, TEKKEN_SPECIALS } from "./mistral-record.js";
import { countOpenAIRecord, REPLY_PRIMING, TOKENS_PER_MESSAGE } from "./openai-record.js";
import type { TextTokenizer } from "./types.js";
import { isTokenizerId, loadTokenizer, type TokenizerId } from "./vocabularies.js";

/**
 * How a record's tokens were found:
 * - `exact`: the trainer's own encoding of the sample (Mistral, bundled vocabularies);
 * - `cookbook`: OpenAI's cookbook count, which the cookbook itself calls approximate;
 * - `approximate`: a user's Hugging Face `tokenizer.json`: content tokens + 3 per message + 3;
 * - `estimate`: no tokenizer: ceil(characters / 4) + 3 per message.
 */
export type CountMethod = "exact" | "cookbook" | "approximate" | "estimate";

export interface RecordCount {
  tokens: number;
  trainable: number;
  /** Part of the count is an estimate (an image whose size is not in the data). */
  estimated?: boolean;
}

/** Counts records of one file; `count` returns undefined for records or formats it cannot count. */
export interface RecordCounter {
  /** The tokenizer's name (`tekken-240718`, `o200k_base`, `hf:tokenizer.json`, `estimate`). */
  readonly tokenizer: string;
  readonly method: CountMethod;
  /** Counts a valid record; `raw` (its JSON text) lets tool definitions be re-read exactly. */
  count(record: Record<string, unknown>, format: FormatId, raw?: () => string): RecordCount | undefined;
}

type Json = Record<string, unknown>;

/** Characters of a record's text, as the estimate counts them. */
function estimateRecord(record: Json): RecordCount {
  let chars = 0;
  let messages = 0;
  let trainableChars = 0;
  let trainableMessages = 0;
  const textOf = (content: unknown): number => {
    if (typeof content === "string") return content.length;
    if (Array.isArray(content)) return content.reduce((n: number, c: unknown) => n + (typeof c === "object" && c !== null && typeof (c as Json).text === "string" ? ((c as Json).text as string).length : 0), 0);
    return 0;
  };
  const list = (record.messages ?? record.interactions ?? (record.input as Json | undefined)?.messages) as unknown;
  if (Array.isArray(list)) {
    for (const m of list) {
      if (typeof m !== "object" || m === null) continue;
      const msg = m as Json;
      messages++;
      let n = textOf(msg.content ?? msg.text);
      if (Array.isArray(msg.tool_calls)) n += JSON.stringify(msg.tool_calls).length;
      chars += n;
      if (msg.role === "assistant" && (msg.weight === undefined || msg.weight === null || msg.weight === 1)) {
        trainableChars += n;
        trainableMessages++;
      }
    }
  }
  const tools = record.tools ?? record.available_tools;
  if (Array.isArray(tools)) chars += JSON.stringify(tools).length;
  if (typeof record.system_prompt === "string") {
    chars += record.system_prompt.length;
    messages++;
  }
  for (const key of ["text", "content"] as const) if (list === undefined && typeof record[key] === "string") chars += (record[key] as string).length;
  const tokens = Math.ceil(chars / 4) + 3 * messages;
  const trainable = list === undefined ? tokens : Math.ceil(trainableChars / 4) + 3 * trainableMessages;
  return { tokens, trainable };
}

/** The estimate: characters ÷ 4 + 3 per message (what ftprep did before it had tokenizers). */
export const ESTIMATE_COUNTER: RecordCounter = {
  tokenizer: "estimate",
  method: "estimate",
  count: (record) => estimateRecord(record),
};

function mistralEncoding(id: TokenizerId, tokenizer: TextTokenizer): MistralEncoding {
  // Tekken 240718 is also Pixtral 12B's vocabulary: its image chunks are counted with Pixtral's image encoder.
  if (id === "tekken-240718") return { tokenizer, specials: TEKKEN_SPECIALS, version: 3, images: PIXTRAL_IMAGES };
  const version = id === "mistral-sp-v1" ? 1 : id === "mistral-sp-v2" ? 2 : 3;
  return { tokenizer, specials: SENTENCEPIECE_SPECIALS, version };
}

/** A bundled tokenizer's counter: Mistral vocabularies count Mistral records exactly, OpenAI's the cookbook way. */
export async function bundledCounter(id: TokenizerId): Promise<RecordCounter> {
  const tokenizer = await loadTokenizer(id);
  if (id === "o200k_base" || id === "cl100k_base") {
    return {
      tokenizer: id,
      method: "cookbook",
      count: (record, format) => (format === "openai-chat" || format === "mistral-chat" ? countOpenAIRecord(record, tokenizer) : undefined),
    };
  }
  const encoding = mistralEncoding(id, tokenizer);
  return {
    tokenizer: id,
    method: "exact",
    count(record, format, raw) {
      if (format === "mistral-pretrain") {
        // tokenize_pretrain: BOS + text + EOS, every token trained.
        const text = typeof record.text === "string" ? record.text : record.content;
        if (typeof text !== "string") return undefined;
        const tokens = tokenizer.count(text) + 2;
        return { tokens, trainable: tokens };
      }
      if (format !== "mistral-chat" && format !== "openai-chat") return undefined;
      try {
        const sample = encodeMistralRecord(record, encoding, raw, true);
        return { tokens: sample.tokens, trainable: sample.trainable, ...(sample.estimatedImages > 0 ? { estimated: true } : {}) };
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * A Hugging Face `tokenizer.json` (for models trained elsewhere): the content tokens of each message (text, tool
 * calls and tools as JSON), plus 3 per message and 3 per record for the chat template. Approximate by nature: chat
 * templates differ per model.
 */
export async function huggingFaceCounter(path: string): Promise<RecordCounter> {
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const json = JSON.parse(await readFile(path, "utf8")) as object;
  const hf = new Tokenizer(json, {});
  const count = (text: string): number => (text === "" ? 0 : hf.encode(text, { add_special_tokens: false }).ids.length);
  const name = `hf:${path.split(/[\\/]/).pop()}`;
  return {
    tokenizer: name,
    method: "approximate",
    count(record, format) {
      if (format === "mistral-pretrain") {
        const text = typeof record.text === "string" ? record.text : record.content;
        if (typeof text !== "string") return undefined;
        const tokens = count(text);
        return { tokens, trainable: tokens };
      }
      const list = record.messages ?? record.interactions;
      if (!Array.isArray(list)) return undefined;
      let tokens = REPLY_PRIMING;
      let trainable = 0;
      for (const m of list) {
        tokens += TOKENS_PER_MESSAGE;
        if (typeof m !== "object" || m === null) continue;
        const msg = m as Json;
        const content = msg.content ?? msg.text;
        let n = 0;
        if (typeof content === "string") n += count(content);
        else if (Array.isArray(content)) for (const c of content) if (typeof c === "object" && c !== null && typeof (c as Json).text === "string") n += count((c as Json).text as string);
        if (Array.isArray(msg.tool_calls) && msg.tool_calls.length > 0) n += count(JSON.stringify(msg.tool_calls));
        tokens += n;
        if (msg.role === "assistant" && (msg.weight === undefined || msg.weight === null || msg.weight === 1)) trainable += n;
      }
      const tools = record.tools ?? record.available_tools;
      if (Array.isArray(tools) && tools.length > 0) tokens += count(JSON.stringify(tools));
      return { tokens, trainable };
    },
  };
}

/** The counter for a `--tokenizer` value: a bundled tokenizer's name, or the path of a `tokenizer.json`. */
export async function counterFor(tokenizer: string): Promise<RecordCounter> {
  if (isTokenizerId(tokenizer)) return bundledCounter(tokenizer);
  return huggingFaceCounter(tokenizer);
}
