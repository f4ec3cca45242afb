import { randomInt } from "node:crypto";
import { mulberry32 } from "../random.js";
import { isObject } from "../validate/findings.js";
import { ID_PATTERN } from "../validate/rules/messages.js";
import type { ChangeLog } from "./change-log.js";

/**
 * The safe repairs of a chat record for a target (rulebook §7, and what the providers' rules justify). Each one
 * keeps what the record says and changes only its form; each is counted by kind in a `ChangeLog`:
 *
 * - `tool_call_id` (Mistral): an id that is not 9 letters/digits gets a fresh one, in `tool_calls[].id` and in the
 *   `tool_call_id` of the tool messages that answer that call (the latest call with that id before them).
 * - `legacy_functions`, `legacy_function_call`, `legacy_function_role`: OpenAI's deprecated `functions`,
 *   `function_call` and role `function` become `tools`, `tool_calls` (with a fresh id) and role `tool` answering it.
 * - `trailing_message` (Mistral): user/tool messages after the last assistant message are removed (Mistral trains on
 *   a conversation that ends with the assistant; nothing after it is trained on).
 * - `image_url_shape`: image chunks in the target's shape (Mistral's string when only a URL is given; OpenAI's object).
 * - `tool_call_arguments`: `function.arguments` given as an object becomes its JSON text (both providers need text).
 * - `text_parts_joined` (Mistral): system/assistant/tool content given as text parts becomes the joined string.
 * - `developer_role` (Mistral): OpenAI's `developer` message becomes the `system` message it replaces, when the
 *   record has no other system message.
 * - `mistral_aliases` (OpenAI): `interactions`, `available_tools`, `system_prompt` and a message's `text` become
 *   `messages`, `tools`, a first system message and `content`.
 */

/** The chat formats `fix` and `convert` write. */
export type ChatTarget = "mistral-chat" | "openai-chat";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Mints 9-character alphanumeric tool-call ids: seeded (deterministic) or from the system's randomness. */
export class IdMinter {
  private readonly next: (n: number) => number;

  constructor(seed?: number) {
    if (seed === undefined) {
      this.next = (n) => randomInt(n);
    } else {
      const random = mulberry32(seed);
      this.next = (n) => Math.floor(random() * n);
    }
  }

  /** A fresh id not in `taken` (which it is then added to). */
  fresh(taken: Set<string>): string {
    for (;;) {
      let id = "";
      for (let i = 0; i < 9; i++) id += ALPHANUMERIC[this.next(ALPHANUMERIC.length)];
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
  }
}

/** What a repair needs besides the record. */
export interface RepairContext {
  /** The record's source line, for the change log's examples. */
  line: number;
  log: ChangeLog;
  ids: IdMinter;
}

function messagesOf(record: Record<string, unknown>): unknown[] | undefined {
  return Array.isArray(record.messages) ? record.messages : undefined;
}

function isValidId(id: unknown): boolean {
  return typeof id === "string" && ID_PATTERN.test(id);
}

/** Every id already in a Mistral-valid form, so fresh ones never collide with them. */
function takenIds(messages: unknown[]): Set<string> {
  const taken = new Set<string>();
  for (const m of messages) {
    if (!isObject(m)) continue;
    if (isValidId(m.tool_call_id)) taken.add(m.tool_call_id as string);
    if (Array.isArray(m.tool_calls)) for (const call of m.tool_calls) if (isObject(call) && isValidId(call.id)) taken.add(call.id as string);
  }
  return taken;
}

/** Mistral aliases → the keys both providers share (for an OpenAI target). */
function repairMistralAliases(record: Record<string, unknown>, ctx: RepairContext): void {
  let n = 0;
  if (record.interactions !== undefined && record.messages === undefined) {
    record.messages = record.interactions;
    delete record.interactions;
    n++;
  }
  if (record.available_tools !== undefined && record.tools === undefined) {
    record.tools = record.available_tools;
    delete record.available_tools;
    n++;
  }
  const messages = messagesOf(record);
  if (typeof record.system_prompt === "string" && messages) {
    messages.unshift({ role: "system", content: record.system_prompt });
    delete record.system_prompt;
    n++;
  }
  if (messages) {
    for (const m of messages) {
      if (isObject(m) && m.text !== undefined && m.content === undefined) {
        m.content = m.text;
        delete m.text;
        n++;
      }
    }
  }
  if (n > 0) ctx.log.note("mistral_aliases", ctx.line, n);
}

/** OpenAI's deprecated function calling → tools and tool calls. */
function repairLegacyFunctions(record: Record<string, unknown>, ctx: RepairContext): void {
  if (Array.isArray(record.functions)) {
    const tools = Array.isArray(record.tools) ? record.tools : [];
    const declared = new Set(tools.flatMap((t) => (isObject(t) && isObject(t.function) ? [t.function.name] : [])));
    for (const fn of record.functions) if (!isObject(fn) || !declared.has(fn.name)) tools.push({ type: "function", function: fn });
    record.tools = tools;
    delete record.functions;
    ctx.log.note("legacy_functions", ctx.line);
  }
  const messages = messagesOf(record);
  if (!messages) return;
  const taken = takenIds(messages);
  // Calls made with `function_call` and not yet answered, oldest first: a `function` message answers the first
  // with its name, else the oldest (the legacy format had one call per message, answered in order).
  let pending: { id: string; name: unknown }[] = [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    if (m.role === "assistant" && isObject(m.function_call) && (m.tool_calls === undefined || m.tool_calls === null)) {
      const id = ctx.ids.fresh(taken);
      const call = m.function_call;
      m.tool_calls = [{ id, type: "function", function: { name: call.name, arguments: call.arguments } }];
      delete m.function_call;
      if (m.content === null) delete m.content;
      pending.push({ id, name: call.name });
      ctx.log.note("legacy_function_call", ctx.line);
    } else if (m.role === "function") {
      const at = Math.max(0, pending.findIndex((p) => p.name === m.name));
      const answered = pending[at];
      if (answered === undefined) continue; // answers no call we know: left for the validator to report
      pending = pending.filter((_, i) => i !== at);
      m.role = "tool";
      m.tool_call_id = answered.id;
      ctx.log.note("legacy_function_role", ctx.line);
    } else if (m.role === "user") {
      pending = [];
    }
  }
}

/** Function arguments given as an object → their JSON text. */
function repairArguments(messages: unknown[], ctx: RepairContext): void {
  for (const m of messages) {
    if (!isObject(m) || !Array.isArray(m.tool_calls)) continue;
    for (const call of m.tool_calls) {
      if (isObject(call) && isObject(call.function) && isObject(call.function.arguments)) {
        call.function.arguments = JSON.stringify(call.function.arguments);
        ctx.log.note("tool_call_arguments", ctx.line);
      }
    }
  }
}

/** OpenAI `developer` → Mistral `system`, when that leaves one system message. */
export function repairDeveloperRole(record: Record<string, unknown>, messages: unknown[], ctx: RepairContext): void {
  const developers = messages.filter((m) => isObject(m) && m.role === "developer");
  if (developers.length === 0) return;
  const systems = messages.filter((m) => isObject(m) && m.role === "system").length + (record.system_prompt !== undefined ? 1 : 0);
  if (developers.length + systems > 1) return; // would make several system messages: not a repair
  (developers[0] as Record<string, unknown>).role = "system";
  ctx.log.note("developer_role", ctx.line);
}

/** Text parts of a non-user message → one string (Mistral takes chunks in user messages only). */
function repairTextParts(messages: unknown[], ctx: RepairContext): void {
  for (const m of messages) {
    if (!isObject(m) || m.role === "user" || !Array.isArray(m.content) || m.content.length === 0) continue;
    const parts = m.content;
    if (!parts.every((p) => isObject(p) && p.type === "text" && typeof p.text === "string")) continue;
    m.content = parts.map((p) => (p as { text: string }).text).join("");
    ctx.log.note("text_parts_joined", ctx.line);
  }
}

/** Image chunks in the target's shape. */
function repairImages(messages: unknown[], target: ChatTarget, ctx: RepairContext): void {
  for (const m of messages) {
    if (!isObject(m) || !Array.isArray(m.content)) continue;
    for (const chunk of m.content) {
      if (!isObject(chunk) || chunk.type !== "image_url") continue;
      const image = chunk.image_url;
      if (target === "mistral-chat" && isObject(image) && typeof image.url === "string" && Object.keys(image).length === 1) {
        chunk.image_url = image.url;
        ctx.log.note("image_url_shape", ctx.line);
      } else if (target === "openai-chat" && typeof image === "string") {
        chunk.image_url = { url: image };
        ctx.log.note("image_url_shape", ctx.line);
      }
    }
  }
}

/** Tool-call ids → 9 letters/digits, each tool message still answering its call. */
function repairToolCallIds(messages: unknown[], ctx: RepairContext): void {
  let lastAssistant = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isObject(m) && m.role === "assistant") {
      lastAssistant = i;
      break;
    }
  }
  const taken = takenIds(messages);
  const renamed = new Map<string, string>();
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) continue;
    if (m.role === "assistant" && Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        if (!isObject(call)) continue;
        const id = call.id;
        if (isValidId(id) || (typeof id !== "string" && typeof id !== "number")) continue;
        if (id === "null" && i === lastAssistant) continue; // Mistral allows the literal "null" there
        const fresh = ctx.ids.fresh(taken);
        renamed.set(String(id), fresh);
        call.id = fresh;
        ctx.log.note("tool_call_id", ctx.line);
      }
    } else if (m.role === "tool") {
      const id = m.tool_call_id;
      if (isValidId(id) || (typeof id !== "string" && typeof id !== "number")) continue;
      const fresh = renamed.get(String(id));
      if (fresh === undefined) continue; // answers no call: left for the validator to report
      m.tool_call_id = fresh;
      ctx.log.note("tool_call_id", ctx.line);
    }
  }
}

/** Removes user/tool messages after the last assistant message (system messages stay: they may stand anywhere). */
function repairTrailing(messages: unknown[], ctx: RepairContext): void {
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isObject(m) && m.role === "assistant") {
      last = i;
      break;
    }
  }
  if (last < 0) return; // nothing to train on: not repairable by removal
  let removed = 0;
  for (let i = messages.length - 1; i > last; i--) {
    const m = messages[i];
    if (isObject(m) && (m.role === "user" || m.role === "tool")) {
      messages.splice(i, 1);
      removed++;
    }
  }
  if (removed > 0) ctx.log.note("trailing_message", ctx.line, removed);
}

/**
 * Applies the safe repairs for `target` to a chat record, in place. Returns whether anything changed. A record
 * that is not a chat record (no `messages` array after the aliases) is left as it is.
 */
export function repairChatRecord(record: Record<string, unknown>, target: ChatTarget, ctx: RepairContext): boolean {
  const before = ctx.log.changes;
  if (target === "openai-chat") repairMistralAliases(record, ctx);
  repairLegacyFunctions(record, ctx);
  const messages = messagesOf(record);
  if (messages) {
    repairArguments(messages, ctx);
    repairImages(messages, target, ctx);
    if (target === "mistral-chat") {
      repairDeveloperRole(record, messages, ctx);
      repairTextParts(messages, ctx);
      repairToolCallIds(messages, ctx);
      repairTrailing(messages, ctx);
    }
  }
  return ctx.log.changes !== before;
}
