import { isObject } from "../validate/findings.js";
import type { IdMinter } from "./repairs.js";

/**
 * Source formats `convert` reads, and their translation into chat records (`{"messages": [...], "tools"?}`).
 * A translation builds a new record and never changes its source, so a record that cannot be translated is
 * still there, whole, to be reported or written as it was.
 */

/** The record formats `convert` reads. */
export const SOURCE_FORMATS = ["openai-chat", "mistral-chat", "sharegpt", "alpaca", "prompt-completion"] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** Whether a string names a source format. */
export function isSourceFormat(value: string): value is SourceFormat {
  return (SOURCE_FORMATS as readonly string[]).includes(value);
}

/** Keys `--map` may name: record columns, and the keys of the messages inside a conversation. */
export const MAPPABLE_KEYS = ["messages", "conversations", "tools", "system", "instruction", "input", "output", "history", "prompt", "completion", "role", "content", "from", "value"] as const;
const MESSAGE_KEYS = new Set(["role", "content", "from", "value"]);

/** A column mapping: our key ← the source's key (`--map messages=conversations`). */
export type ColumnMap = Readonly<Record<string, string>>;

/** Applies a column mapping to a record, in place: record keys, then the keys of each message in a conversation. */
export function applyColumnMap(record: Record<string, unknown>, map: ColumnMap): void {
  const messageRenames: [string, string][] = [];
  for (const [ours, theirs] of Object.entries(map)) {
    if (MESSAGE_KEYS.has(ours)) {
      messageRenames.push([ours, theirs]);
    } else if (record[theirs] !== undefined && ours !== theirs) {
      record[ours] = record[theirs];
      delete record[theirs];
    }
  }
  if (messageRenames.length === 0) return;
  for (const key of ["messages", "conversations"]) {
    const list = record[key];
    if (!Array.isArray(list)) continue;
    for (const m of list) {
      if (!isObject(m)) continue;
      for (const [ours, theirs] of messageRenames) {
        if (m[theirs] !== undefined && ours !== theirs) {
          m[ours] = m[theirs];
          delete m[theirs];
        }
      }
    }
  }
}

/** A record's source format from its keys, or undefined when it is none of them. */
export function detectSourceFormat(record: Record<string, unknown>): SourceFormat | undefined {
  const conversation = record.conversations;
  if (Array.isArray(conversation)) {
    return conversation.some((m) => isObject(m) && m.from !== undefined) ? "sharegpt" : "openai-chat";
  }
  if (record.messages !== undefined || record.interactions !== undefined) {
    if (record.interactions !== undefined || record.available_tools !== undefined || record.system_prompt !== undefined) return "mistral-chat";
    if (Array.isArray(record.messages) && record.messages.some((m) => isObject(m) && m.from !== undefined && m.role === undefined)) return "sharegpt";
    return "openai-chat";
  }
  if (record.instruction !== undefined && record.output !== undefined) return "alpaca";
  if (record.prompt !== undefined && record.completion !== undefined) return "prompt-completion";
  return undefined;
}

/** A translated record, the source keys it used (the rest are extra columns), or why it could not be translated. */
export type Translation =
  | { ok: true; record: Record<string, unknown>; used: ReadonlySet<string> }
  | { ok: false; reason: string; detail: string };

const fail = (reason: string, detail: string): Translation => ({ ok: false, reason, detail });

/** The record keys of the chat formats (either provider's); any other column of a chat record is an extra one. */
const CHAT_KEYS: ReadonlySet<string> = new Set(["messages", "interactions", "tools", "available_tools", "system_prompt", "parallel_tool_calls", "functions"]);

/** ShareGPT speakers and the chat role each one is. */
const SHAREGPT_ROLES: Record<string, string> = {
  system: "system",
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  chatgpt: "assistant",
  bing: "assistant",
  bard: "assistant",
  model: "assistant",
  function_call: "assistant",
  observation: "tool",
  tool: "tool",
};

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** LLaMA-Factory's `tools` column: a JSON string (or array) of function definitions. */
function sharegptTools(value: unknown): unknown[] | undefined | "bad" {
  if (value === undefined || value === null || value === "") return undefined;
  let list = value;
  if (typeof value === "string") {
    try {
      list = JSON.parse(value);
    } catch {
      return "bad";
    }
  }
  if (!Array.isArray(list)) return "bad";
  return list.map((t) => (isObject(t) && t.type === "function" && isObject(t.function) ? t : { type: "function", function: t }));
}

/** ShareGPT (`conversations` of `{from, value}`), with LLaMA-Factory's `system`, `tools`, `function_call`, `observation`. */
function fromShareGpt(record: Record<string, unknown>, ids: IdMinter): Translation {
  const key = Array.isArray(record.conversations) ? "conversations" : "messages";
  const turns = record[key] as unknown[];
  const used = new Set([key, "system", "tools"]);
  const messages: Record<string, unknown>[] = [];
  if (typeof record.system === "string" && record.system !== "") messages.push({ role: "system", content: record.system });
  const taken = new Set<string>();
  let pending: string[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i];
    if (!isObject(turn)) return fail("bad_turn", `turn ${i} is not an object`);
    const from = text(turn.from ?? turn.role);
    const role = from === undefined ? undefined : SHAREGPT_ROLES[from.toLowerCase()];
    if (role === undefined) return fail("unknown_speaker", `turn ${i} is from ${JSON.stringify(turn.from ?? turn.role)}`);
    const value = turn.value ?? turn.content;
    if (from!.toLowerCase() === "function_call") {
      let calls: unknown = value;
      if (typeof value === "string") {
        try {
          calls = JSON.parse(value);
        } catch {
          return fail("bad_function_call", `turn ${i}'s function call is not JSON`);
        }
      }
      const list = Array.isArray(calls) ? calls : [calls];
      const toolCalls = [];
      for (const call of list) {
        if (!isObject(call) || typeof call.name !== "string") return fail("bad_function_call", `turn ${i}'s function call has no name`);
        const id = ids.fresh(taken);
        pending.push(id);
        const args = call.arguments ?? call.parameters ?? {};
        toolCalls.push({ id, type: "function", function: { name: call.name, arguments: typeof args === "string" ? args : JSON.stringify(args) } });
      }
      messages.push({ role: "assistant", tool_calls: toolCalls });
      continue;
    }
    const content = typeof value === "string" ? value : Array.isArray(value) ? value : text(value);
    if (content === undefined) return fail("bad_turn", `turn ${i} has no text`);
    const message: Record<string, unknown> = { role, content };
    if (role === "tool") {
      const answered = pending.shift();
      if (answered === undefined) return fail("unanswered_observation", `turn ${i} answers no function call`);
      message.tool_call_id = answered;
    } else {
      pending = [];
    }
    if (role === "assistant" && (turn.weight === 0 || turn.weight === 1)) message.weight = turn.weight;
    messages.push(message);
  }
  const out: Record<string, unknown> = { messages };
  const tools = sharegptTools(record.tools);
  if (tools === "bad") return fail("bad_tools", "`tools` is not a JSON array of function definitions");
  if (tools !== undefined) out.tools = tools;
  return { ok: true, record: out, used };
}

/** Alpaca: `instruction` (+ `input`) is the user's turn, `output` the assistant's; `system` and `history` too. */
function fromAlpaca(record: Record<string, unknown>): Translation {
  const instruction = text(record.instruction);
  const output = text(record.output);
  if (instruction === undefined || output === undefined) return fail("bad_alpaca", "`instruction` and `output` must be text");
  const input = record.input === null || record.input === undefined ? "" : text(record.input);
  if (input === undefined) return fail("bad_alpaca", "`input` must be text");
  const messages: Record<string, unknown>[] = [];
  if (typeof record.system === "string" && record.system !== "") messages.push({ role: "system", content: record.system });
  if (Array.isArray(record.history)) {
    for (const pair of record.history) {
      if (!Array.isArray(pair) || pair.length !== 2 || text(pair[0]) === undefined || text(pair[1]) === undefined) {
        return fail("bad_alpaca", "`history` must hold [user, assistant] pairs of text");
      }
      messages.push({ role: "user", content: text(pair[0]) }, { role: "assistant", content: text(pair[1]) });
    }
  }
  // Stanford Alpaca's template puts the input after the instruction, as its own paragraph.
  messages.push({ role: "user", content: input === "" ? instruction : `${instruction}\n\n${input}` }, { role: "assistant", content: output });
  return { ok: true, record: { messages }, used: new Set(["instruction", "input", "output", "system", "history"]) };
}

/** `prompt`/`completion`: text (the user's turn and the answer), or TRL's conversational lists of messages. */
function fromPromptCompletion(record: Record<string, unknown>): Translation {
  const used = new Set(["prompt", "completion"]);
  const { prompt, completion } = record;
  if (Array.isArray(prompt) && Array.isArray(completion)) {
    return { ok: true, record: { messages: structuredClone([...prompt, ...completion]) }, used };
  }
  const p = text(prompt);
  const c = text(completion);
  if (p === undefined || c === undefined) return fail("bad_prompt_completion", "`prompt` and `completion` must both be text, or both lists of messages");
  return { ok: true, record: { messages: [{ role: "user", content: p }, { role: "assistant", content: c }] }, used };
}

/**
 * Translates a record of `format` into a chat record. Chat records (OpenAI's or Mistral's) are taken as they are
 * (the repairs and policies shape them for the target); `conversations` holding role/content messages is a chat.
 */
export function translate(record: Record<string, unknown>, format: SourceFormat, ids: IdMinter): Translation {
  switch (format) {
    case "sharegpt":
      if (!Array.isArray(record.conversations) && !Array.isArray(record.messages)) return fail("not_sharegpt", "no `conversations` list");
      return fromShareGpt(record, ids);
    case "alpaca":
      return fromAlpaca(record);
    case "prompt-completion":
      return fromPromptCompletion(record);
    default: {
      if (record.messages === undefined && record.interactions === undefined && Array.isArray(record.conversations)) {
        const { conversations, ...rest } = record;
        return { ok: true, record: { messages: conversations, ...rest }, used: new Set([...CHAT_KEYS, "conversations"]) };
      }
      return { ok: true, record, used: CHAT_KEYS };
    }
  }
}
