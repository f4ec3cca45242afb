import { dataUrlImageSize } from "./image-size.js";
import { fromJs, pyObject, pythonDumps, pythonLoads, type PyValue } from "./python-json.js";
import type { TextTokenizer } from "./types.js";

/**
 * A Mistral instruct record counted as mistral-finetune trains on it: `build_instruct_sample` + `tokenize_instruct`
 * (finetune/data/tokenize.py) over mistral-common 1.5.4's instruct tokenizer (V3 for every model mistral-finetune
 * trains; V1/V2 for the older vocabularies when asked for). See /docs in the README, "How tokens are counted".
 */

/** Control-token ids of one vocabulary. */
export interface MistralSpecials {
  bos: number;
  eos: number;
  inst: number;
  endInst: number;
  availableTools: number;
  endAvailableTools: number;
  toolResults: number;
  endToolResults: number;
  toolCalls: number;
}

/** SentencePiece v2/v3 ids (read from the models' protos). */
export const SENTENCEPIECE_SPECIALS: MistralSpecials = {
  bos: 1,
  eos: 2,
  inst: 3,
  endInst: 4,
  toolCalls: 5,
  availableTools: 6,
  endAvailableTools: 7,
  toolResults: 8,
  endToolResults: 9,
};

/** Tekken ids (mistral-common's Tekkenizer.SPECIAL_TOKENS order). */
export const TEKKEN_SPECIALS: MistralSpecials = {
  bos: 1,
  eos: 2,
  inst: 3,
  endInst: 4,
  availableTools: 5,
  endAvailableTools: 6,
  toolResults: 7,
  endToolResults: 8,
  toolCalls: 9,
};

/** Which of mistral-common's instruct tokenizers lays the sample out. */
export type InstructVersion = 1 | 2 | 3;

/**
 * mistral-common's image encoder settings (`MultimodalConfig`) and its control tokens: an image of w × h pixels,
 * scaled down to fit `maxImageSize` when larger (Python's round, half to even), becomes ceil(w / (patch × merge))
 * `[IMG]` per row plus one `[IMG_BREAK]`, for ceil(h / (patch × merge)) rows, the last break being `[IMG_END]`.
 */
export interface ImageEncoding {
  patchSize: number;
  maxImageSize: number;
  spatialMergeSize: number;
  img: number;
  imgBreak: number;
  imgEnd: number;
}

/** Pixtral 12B's (mistral-common's tekken_240911.json: Tekken 240718's vocabulary with an image encoder). */
export const PIXTRAL_IMAGES: ImageEncoding = { patchSize: 16, maxImageSize: 1024, spatialMergeSize: 1, img: 10, imgBreak: 12, imgEnd: 13 };

export interface MistralEncoding {
  tokenizer: TextTokenizer;
  specials: MistralSpecials;
  version: InstructVersion;
  /** Image chunks add no tokens without it. */
  images?: ImageEncoding;
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Columns and rows of `[IMG]` tokens of an image (mistral-common's `ImageEncoder._image_to_num_tokens`). */
export function imageTokenGrid(width: number, height: number, config: ImageEncoding): { columns: number; rows: number } {
  let w = width;
  let h = height;
  const ratio = Math.max(h / config.maxImageSize, w / config.maxImageSize);
  if (ratio > 1) {
    w = roundHalfEven(w / ratio);
    h = roundHalfEven(h / ratio);
  }
  const cell = config.patchSize * config.spatialMergeSize;
  return { columns: Math.floor((w - 1) / cell) + 1, rows: Math.floor((h - 1) / cell) + 1 };
}

/** The URL of an image chunk (`image_url` as a string or `{url}`), or undefined for other chunks. */
function imageUrlOf(chunk: Json): string | undefined {
  if (chunk.type !== "image_url") return undefined;
  const value = chunk.image_url;
  if (typeof value === "string") return value;
  if (isObject(value) && typeof value.url === "string") return value.url;
  return undefined;
}

/** A counted record: every token id in order (empty when only counting), the count, and how many carry loss. */
export interface EncodedSample {
  ids: number[];
  tokens: number;
  trainable: number;
  /** Image chunks whose size is not in the data (a remote URL): counted at the largest size, an estimate. */
  estimatedImages: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Python truthiness of a JSON value. */
function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** `json.loads(text)` when it parses, else the text itself (mistral-common's `_parse_json_content`). */
function loadsOrText(text: string): PyValue {
  return pythonLoads(text) ?? text;
}

/** Tools as mistral-common dumps them: `{"type": "function", "function": {name, description, parameters}}`. */
function toolsJson(tools: unknown[], exact: PyValue[] | undefined): string {
  const out = tools.map((tool, k) => {
    const fn = (tool as Json).function as Json;
    // The exact Python values of `parameters` when the record's text was re-read; else JSON.parse's.
    const exactFn = exact?.[k];
    let parameters = fromJs(fn.parameters);
    if (exactFn && typeof exactFn === "object" && !Array.isArray(exactFn) && "object" in exactFn) {
      const f = exactFn.object.get("function");
      const p = f && typeof f === "object" && !Array.isArray(f) && "object" in f ? f.object.get("parameters") : undefined;
      if (p !== undefined) parameters = p;
    }
    return pyObject([
      ["type", "function"],
      [
        "function",
        pyObject([
          ["name", fromJs(fn.name)],
          ["description", fromJs(fn.description ?? "")],
          ["parameters", parameters],
        ]),
      ],
    ]);
  });
  return pythonDumps(out);
}

/**
 * Whether JSON.parse's values could print differently from Python's: a float literal (`10.0`, `1e3`), an integer
 * beyond 2^53, or an integer-like object key (JavaScript lists those first). Matches inside strings only cost a
 * re-read; a record without any of them is exact from JSON.parse's values.
 */
function needsPythonValues(raw: string | (() => string)): boolean {
  const text = typeof raw === "function" ? raw() : raw;
  return /\d[.eE]|\d{16}|"(?:0|[1-9]\d*)"\s*:/.test(text);
}

function contentOf(message: Json): unknown {
  return message.content !== undefined && message.content !== null ? message.content : message.text;
}

/**
 * Encodes one record. `raw` is the record's JSON text: tools are re-read from it with Python's number and key-order
 * rules (JSON.parse loses `10.0` vs `10` and reorders integer-like keys). Throws for records the trainer would reject
 * (the validator reports those first).
 */
export function encodeMistralRecord(record: Json, encoding: MistralEncoding, raw?: string | (() => string), countOnly = false): EncodedSample {
  const { tokenizer, specials, version } = encoding;
  const messagesValue = (record.messages ?? record.interactions) as unknown;
  if (!Array.isArray(messagesValue)) throw new TypeError("no messages");
  let systemPrompt: unknown = record.system_prompt;

  let toolsKey: "tools" | "available_tools" | undefined;
  if (Array.isArray(record.tools) && record.tools.length > 0) toolsKey = "tools";
  else if (Array.isArray(record.available_tools) && record.available_tools.length > 0) toolsKey = "available_tools";
  const tools = toolsKey ? (record[toolsKey] as unknown[]) : undefined;
  // `available_tools: []` is "not None" for only_last, though it encodes no tools.
  const availableToolsNotNone = tools !== undefined || (record.available_tools !== undefined && record.available_tools !== null);
  const onlyLast = truthy(record.only_last) || availableToolsNotNone;

  const messages: Json[] = [];
  for (const m of messagesValue) {
    if (!isObject(m)) throw new TypeError("message is not an object");
    if (m.role === "system") systemPrompt = contentOf(m);
    else messages.push(m);
  }
  let lastUser = -1;
  let firstUser = -1;
  messages.forEach((m, i) => {
    if (m.role === "user") {
      if (firstUser < 0) firstUser = i;
      lastUser = i;
    }
  });

  // Counting only (validation) skips building the id array: the tokenizer's count() is enough.
  const ids: number[] = [];
  let n = 0;
  let trainable = 0;
  const special = (id: number): void => {
    if (!countOnly) ids.push(id);
    n++;
  };
  const text = (s: string): void => {
    if (countOnly) {
      n += tokenizer.count(s);
      return;
    }
    for (const id of tokenizer.encode(s)) ids.push(id);
    n = ids.length;
  };
  let estimatedImages = 0;
  const image = (url: string, config: ImageEncoding): void => {
    let size = dataUrlImageSize(url);
    if (size === undefined) {
      // Not in the data: the largest the encoder makes (an upper bound).
      estimatedImages++;
      size = { width: config.maxImageSize, height: config.maxImageSize };
    }
    const { columns, rows } = imageTokenGrid(size.width, size.height, config);
    if (!countOnly) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) ids.push(config.img);
        ids.push(r === rows - 1 ? config.imgEnd : config.imgBreak);
      }
    }
    n += rows * (columns + 1);
  };
  special(specials.bos);
  const prompt = typeof systemPrompt === "string" && systemPrompt !== "" ? systemPrompt : undefined;
  let exactTools: PyValue[] | undefined;

  messages.forEach((m, i) => {
    const role = m.role;
    const content = contentOf(m);
    if (role === "user") {
      if (version === 1) {
        const body = i === firstUser && prompt !== undefined ? `${prompt}\n\n${String(content)}` : String(content);
        text(`[INST] ${body} [/INST]`);
        return;
      }
      if (i === lastUser && tools) {
        if (raw !== undefined && exactTools === undefined && needsPythonValues(raw)) {
          const parsed = pythonLoads(typeof raw === "function" ? raw() : raw);
          const list = parsed && typeof parsed === "object" && !Array.isArray(parsed) && "object" in parsed ? parsed.object.get(toolsKey!) : undefined;
          exactTools = Array.isArray(list) ? list : [];
        }
        special(specials.availableTools);
        text(toolsJson(tools, exactTools));
        special(specials.endAvailableTools);
      }
      special(specials.inst);
      const withPrompt = i === lastUser ? prompt : undefined;
      if (typeof content === "string") {
        text(withPrompt !== undefined ? `${withPrompt}\n\n${content}` : content);
      } else if (Array.isArray(content)) {
        // Text chunks are encoded one by one; the system prompt goes before the first chunk.
        let first = true;
        for (const chunk of content) {
          const prefix = first && withPrompt !== undefined ? `${withPrompt}\n\n` : "";
          first = false;
          if (isObject(chunk) && chunk.type === "text" && typeof chunk.text === "string") text(prefix + chunk.text);
          else {
            if (prefix) text(prefix);
            const url = isObject(chunk) ? imageUrlOf(chunk) : undefined;
            if (url !== undefined && encoding.images) image(url, encoding.images);
          }
        }
      }
      special(specials.endInst);
      return;
    }
    if (role === "tool") {
      if (version === 1) throw new TypeError("tools are not implemented for tokenizer V1");
      if (version === 2 && i < lastUser) return;
      const result =
        version === 2
          ? [pyObject([["name", fromJs(m.name ?? null)], ["content", loadsOrText(String(content))]])]
          : pyObject([["content", loadsOrText(String(content))], ["call_id", fromJs(m.tool_call_id)]]);
      special(specials.toolResults);
      text(pythonDumps(result));
      special(specials.endToolResults);
      return;
    }
    if (role === "assistant") {
      const isLast = i === messages.length - 1;
      const start = n;
      const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as Json[]) : undefined;
      if (calls && calls.length > 0) {
        // mistral-finetune never skips tool calls (it passes is_before_last_user_message=False).
        if (version === 1) throw new TypeError("tools are not implemented for tokenizer V1");
        const prepared = calls.map((call) => {
          const fn = call.function as Json;
          const entries: [string, PyValue][] = [
            ["name", fromJs(fn.name)],
            ["arguments", loadsOrText(String(fn.arguments))],
          ];
          // The last message's call ids are dropped (maybe_remove_call_id); "null" is never written.
          if (version === 3 && !isLast && typeof call.id === "string" && call.id !== "" && call.id !== "null") entries.push(["id", call.id]);
          return pyObject(entries);
        });
        special(specials.toolCalls);
        text(pythonDumps(prepared));
      } else if (version === 1) {
        text(String(content));
      } else {
        text(String(content).replace(/ +$/, ""));
      }
      special(specials.eos);
      const weighted = m.weight === undefined || m.weight === null || m.weight === 1 || m.weight === true;
      if (weighted && (!onlyLast || isLast)) trainable += n - start;
    }
  });
  return { ids, tokens: n, trainable, estimatedImages };
}
