import { describeType, type Findings, isObject } from "../findings.js";
import type { SchemaRegistry } from "../schema-registry.js";
import { countRole, type RecordStats } from "../stats.js";
import { checkArguments, checkWeight, functionName, functionOf, ID_PATTERN, isMessageList, messageRole, NAME_PATTERN } from "./messages.js";
import { checkToolDefinitions } from "./tools.js";

/**
 * The rules of Mistral's instruct (chat) format, rulebook §2. Each problem is reported once, at the most precise
 * JSON Pointer; a broken message is reported and then left out of the conversation-level checks that need it.
 */

const ROLES = new Set(["system", "user", "assistant", "tool"]);

/**
 * Whether a role may follow another, with system messages set aside (rulebook E_ROLE_ORDER): user → user or
 * assistant; assistant → assistant, user or tool; tool → tool or assistant. Comparisons, not a table of sets: a
 * lookup keyed by a role string costs a hash probe per message.
 */
function mayFollow(previous: string, role: string): boolean {
  if (previous === "user") return role === "user" || role === "assistant";
  if (previous === "assistant") return role === "assistant" || role === "user" || role === "tool";
  if (previous === "tool") return role === "tool" || role === "assistant";
  return false;
}

/**
 * The ids of a record's tool calls so far, reused from record to record: an array searched in turn while there are
 * few (records have one to a handful; a Set per record, or clearing one, costs a new hash table each time), a Set
 * past `CallIds.FEW`.
 */
class CallIds {
  static readonly FEW = 32;
  private readonly ids: string[] = [];
  private count = 0;
  private set: Set<string> | undefined;

  /** Empties it, for the next record. */
  reset(): this {
    this.count = 0;
    this.set = undefined;
    return this;
  }

  add(id: string): void {
    if (this.set === undefined && this.count === CallIds.FEW) this.set = new Set(this.ids);
    if (this.set !== undefined) this.set.add(id);
    else this.ids[this.count++] = id;
  }

  has(id: string): boolean {
    if (this.set !== undefined) return this.set.has(id);
    for (let k = 0; k < this.count; k++) if (this.ids[k] === id) return true;
    return false;
  }
}
const CALL_IDS = new CallIds();

/** Whether the conversation must end with an assistant message: instruct records do, classifier chats do not. */
export type ConversationMode = "instruct" | "classifier";

/** Python's truthiness of a JSON value (mistral-finetune reads `only_last` so). */
function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/** Checks a Mistral chat record (`messages`/`interactions`, `tools`/`available_tools`, `system_prompt`). */
export function checkMistralChat(
  record: Record<string, unknown>,
  findings: Findings,
  stats: RecordStats,
  schemas: SchemaRegistry,
  mode: ConversationMode = "instruct",
): void {
  const hasMessages = record.messages !== undefined;
  const hasInteractions = record.interactions !== undefined;
  if (hasMessages && hasInteractions) {
    findings.add("E_BOTH_KEYS", "/interactions", "both `messages` and `interactions` are present; keep one of them");
  }
  const key = hasMessages || !hasInteractions ? "messages" : "interactions";

  // null: the record declares no tools; undefined: its tools are broken (already reported), so calls are not matched.
  let declared: Set<string> | null | undefined = null;
  const hasTools = record.tools !== undefined;
  const hasAvailable = record.available_tools !== undefined;
  if (hasTools && hasAvailable) {
    findings.add("E_BOTH_KEYS", "/available_tools", "both `tools` and `available_tools` are present; keep one of them");
  }
  if (hasTools || hasAvailable) {
    const toolsKey = hasTools ? "tools" : "available_tools";
    declared = checkToolDefinitions(record[toolsKey], hasTools ? "/tools" : "/available_tools", findings, stats, schemas, "mistral");
  }

  let systemCount = 0;
  if (record.system_prompt !== undefined) {
    systemCount = 1;
    countRole(stats, "system");
    if (typeof record.system_prompt !== "string") {
      findings.add("E_CONTENT_TYPE", "/system_prompt", `\`system_prompt\` must be a string, got ${describeType(record.system_prompt)}`);
    } else {
      stats.textChars += record.system_prompt.length;
    }
  }

  const messages = record[key];
  // The pointer of the list as a constant: a template made a new string per record.
  const base = key === "messages" ? "/messages" : "/interactions";
  if (!isMessageList(messages, base, key, findings)) return;
  // mistral-finetune trains only the last assistant message of a record with tools (`available_tools` is not None).
  const onlyLast = isTruthy(record.only_last) || (Array.isArray(record.tools) && record.tools.length > 0) || (record.available_tools !== undefined && record.available_tools !== null);
  checkConversation(messages, base, findings, stats, mode, systemCount, declared, onlyLast);
}

function checkConversation(
  messages: unknown[],
  base: string,
  findings: Findings,
  stats: RecordStats,
  mode: ConversationMode,
  systemCount: number,
  declared: Set<string> | null | undefined,
  onlyLast = false,
): void {
  // The literal tool-call id "null" is allowed on the last assistant message only.
  let lastAssistant = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isObject(m) && m.role === "assistant") {
      lastAssistant = i;
      break;
    }
  }

  let previousRole: string | undefined;
  let nonSystem = 0;
  let lastNonSystem = -1;
  let pendingCalls = 0; // tool calls of the last assistant message with tool calls
  let callsAt = -1; // index of that message
  let responses = 0; // tool messages since then
  let callIds: CallIds | undefined;
  let assistants = 0;
  let untrained = 0;
  let hasToolCalls = false;
  let hasImages = false;

  for (let i = 0; i < messages.length; i++) {
    const role = messageRole(messages[i], base, i, ROLES, findings);
    if (role === undefined) continue;
    const message = messages[i] as Record<string, unknown>;
    countRole(stats, role);

    let contentKey = "content";
    let content = message.content;
    if (message.text !== undefined) {
      if (message.content !== undefined) {
        findings.add("E_BOTH_KEYS", `${base}/${i}/text`, "the message has both `content` and `text`; keep one of them");
      } else {
        contentKey = "text";
        content = message.text;
      }
    }
    // Paths are built only for a problem: a clean message allocates none.

    switch (role) {
      case "system":
        systemCount++;
        if (systemCount > 1) {
          findings.add("E_MULTIPLE_SYSTEM", `${base}/${i}`, "a conversation may have only one system message (a top-level `system_prompt` counts as one)");
        }
        checkStringContent(content, base, i, contentKey, role, findings, stats);
        break;
      case "user":
        if (content === undefined || content === null) {
          findings.add("E_MISSING_CONTENT", `${base}/${i}/${contentKey}`, `the user message has no \`content\``);
        } else if (typeof content === "string") {
          stats.textChars += content.length;
        } else if (Array.isArray(content)) {
          if (checkChunks(content, `${base}/${i}/${contentKey}`, findings, stats)) hasImages = true;
        } else {
          findings.add("E_CONTENT_TYPE", `${base}/${i}/${contentKey}`, `user content must be a string or an array of chunks, got ${describeType(content)}`);
        }
        break;
      case "tool": {
        checkStringContent(content, base, i, contentKey, role, findings, stats);
        const id = message.tool_call_id;
        if (id === undefined || id === null) {
          findings.add("E_TOOL_MESSAGE_ID", `${base}/${i}/tool_call_id`, "the tool message has no `tool_call_id`");
        } else if (typeof id !== "string" || !ID_PATTERN.test(id)) {
          findings.add("E_TOOL_MESSAGE_ID", `${base}/${i}/tool_call_id`, `\`tool_call_id\` ${JSON.stringify(id)} must be 9 letters or digits`);
        } else if (!callIds?.has(id)) {
          findings.add("E_TOOL_CALL_UNKNOWN_ID", `${base}/${i}/tool_call_id`, `\`tool_call_id\` ${JSON.stringify(id)} answers no preceding tool call`);
        }
        if (message.name !== undefined && (typeof message.name !== "string" || !NAME_PATTERN.test(message.name))) {
          findings.add("E_NAME", `${base}/${i}/name`, `name ${JSON.stringify(message.name)} must match ^[a-zA-Z0-9_-]{1,64}$`);
        }
        break;
      }
      case "assistant": {
        assistants++;
        const calls = message.tool_calls;
        const withCalls = Array.isArray(calls) && calls.length > 0;
        if (calls !== undefined && calls !== null && !Array.isArray(calls)) {
          findings.add("E_TOOL_CALL_SHAPE", `${base}/${i}/tool_calls`, `\`tool_calls\` must be an array, got ${describeType(calls)}`);
        }
        if (content === undefined || content === null) {
          if (!withCalls) findings.add("E_MISSING_CONTENT", `${base}/${i}/${contentKey}`, "the assistant message has neither `content` nor `tool_calls`");
        } else if (typeof content !== "string") {
          findings.add("E_CONTENT_TYPE", `${base}/${i}/${contentKey}`, `assistant content must be a string, got ${describeType(content)}`);
        } else {
          stats.textChars += content.length;
          if (content.length > 0 && withCalls) {
            findings.add("E_ASSISTANT_CONTENT_XOR_TOOL_CALLS", `${base}/${i}`, "the assistant message has both `content` and `tool_calls`; it must have one of them");
          } else if (content.length === 0 && !withCalls) {
            findings.add("E_ASSISTANT_CONTENT_XOR_TOOL_CALLS", `${base}/${i}`, "the assistant message has empty `content` and no `tool_calls`");
          }
        }
        checkWeight(message, base, i, findings);
        if (message.weight === 0) untrained++;
        if (withCalls) {
          hasToolCalls = true;
          callIds ??= CALL_IDS.reset();
          checkToolCalls(calls, base, i, i === lastAssistant, callIds, declared, findings, stats);
        }
        // Tool responses are counted against the calls they answer; checked when the assistant speaks again.
        if (previousRole === "tool" && responses < pendingCalls) {
          findings.add(
            "E_TOOL_RESPONSE_COUNT",
            `${base}/${i}`,
            `${responses} tool response(s) answer the ${pendingCalls} tool call(s) of ${base}/${callsAt}`,
          );
        }
        pendingCalls = withCalls ? (calls as unknown[]).length : 0;
        callsAt = i;
        responses = 0;
        break;
      }
    }

    if (role === "system") continue;
    if (role === "tool") {
      responses++;
      if (responses > pendingCalls) {
        const what = pendingCalls === 0 ? "no tool calls precede it" : `the ${pendingCalls} tool call(s) of ${base}/${callsAt} are already answered`;
        findings.add("E_TOOL_RESPONSE_COUNT", `${base}/${i}`, `one tool response too many: ${what}`);
      }
    }
    if (previousRole !== undefined && !mayFollow(previousRole, role)) {
      findings.add("E_ROLE_ORDER", `${base}/${i}/role`, `a ${role} message cannot follow a ${previousRole} message`);
    }
    previousRole = role;
    lastNonSystem = i;
    nonSystem++;
  }

  if (hasToolCalls) stats.toolCallRecords++;
  if (hasImages) stats.imageRecords++;
  if (mode === "instruct" && lastNonSystem < 0 && messages.some(isObject)) {
    findings.add("E_LAST_ROLE", base, "the conversation has only system messages; it must end with an assistant message");
  } else if (mode === "instruct" && lastNonSystem >= 0) {
    if (previousRole !== "assistant") {
      findings.add("E_LAST_ROLE", `${base}/${lastNonSystem}`, `the conversation ends with a ${previousRole} message; the last message must be from the assistant`);
    } else if (nonSystem === 1) {
      findings.add("E_ROLE_ORDER", `${base}/${lastNonSystem}`, "the conversation needs a message before its final assistant message");
    }
  }
  if (assistants > 0 && untrained === assistants) {
    findings.add("W_NO_TRAINABLE", base, "every assistant message has `weight: 0`; the record trains nothing");
  } else if (mode === "instruct" && onlyLast && lastAssistant >= 0 && lastAssistant === messages.length - 1 && (messages[lastAssistant] as Record<string, unknown>).weight === 0) {
    findings.add("W_NO_TRAINABLE", `${base}/${lastAssistant}/weight`, "with tools only the last assistant message trains (mistral-finetune's only_last), and it has `weight: 0`; the record trains nothing");
  }
}

function checkStringContent(content: unknown, base: string, index: number, key: string, role: string, findings: Findings, stats: RecordStats): void {
  if (typeof content === "string") {
    stats.textChars += content.length;
  } else if (content === undefined || content === null) {
    findings.add("E_MISSING_CONTENT", `${base}/${index}/${key}`, `the ${role} message has no \`content\``);
  } else {
    findings.add("E_CONTENT_TYPE", `${base}/${index}/${key}`, `${role} content must be a string, got ${describeType(content)}`);
  }
}

/** Checks a user message's chunks; returns whether it holds an image. */
function checkChunks(chunks: unknown[], path: string, findings: Findings, stats: RecordStats): boolean {
  if (chunks.length === 0) {
    findings.add("E_CONTENT_TYPE", path, "user content is an empty array of chunks");
    return false;
  }
  let images = false;
  for (let k = 0; k < chunks.length; k++) {
    const chunk = chunks[k];
    if (!isObject(chunk)) {
      findings.add("E_CONTENT_TYPE", `${path}/${k}`, `a content chunk must be an object, got ${describeType(chunk)}`);
      continue;
    }
    if (chunk.type === "text") {
      if (typeof chunk.text !== "string") {
        findings.add("E_CONTENT_TYPE", `${path}/${k}/text`, `a text chunk needs a string \`text\`, got ${describeType(chunk.text)}`);
      } else {
        stats.textChars += chunk.text.length;
      }
    } else if (chunk.type === "image_url") {
      images = true;
      const url = chunk.image_url;
      const ok = typeof url === "string" || (isObject(url) && typeof url.url === "string" && (url.detail === undefined || typeof url.detail === "string"));
      if (!ok) {
        findings.add("E_CONTENT_TYPE", `${path}/${k}/image_url`, "an image chunk needs `image_url` as a string or {\"url\": string, \"detail\"?: string}");
      }
    } else {
      findings.add("E_CONTENT_TYPE", `${path}/${k}/type`, `unknown chunk type ${JSON.stringify(chunk.type)}; expected "text" or "image_url"`);
    }
  }
  return images;
}

/** Whether a string is JSON text. */
function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The JSON pointer of a record's tool call: built only for a finding, so a valid call builds no path. */
function callPath(base: string, index: number, j: number): string {
  return `${base}/${index}/tool_calls/${j}`;
}

/**
 * Checks the calls of message `base`/`index`. The common case — an object with a valid id, function name and JSON
 * arguments — is checked in place and builds no JSON Pointer; anything else goes through the shared checks, with
 * the paths they report at.
 */
function checkToolCalls(
  calls: unknown[],
  base: string,
  index: number,
  isLastAssistant: boolean,
  callIds: CallIds,
  declared: Set<string> | null | undefined,
  findings: Findings,
  stats: RecordStats,
): void {
  for (let j = 0; j < calls.length; j++) {
    const call = calls[j];
    if (!isObject(call)) {
      findings.add("E_TOOL_CALL_SHAPE", callPath(base, index, j), `a tool call must be an object, got ${describeType(call)}`);
      continue;
    }
    const id = call.id;
    if (id === undefined || id === null) {
      findings.add("E_TOOL_CALL_SHAPE", `${callPath(base, index, j)}/id`, "the tool call has no `id`");
    } else if (typeof id !== "string" || !(ID_PATTERN.test(id) || (id === "null" && isLastAssistant))) {
      const hint = id === "null" ? " (the literal \"null\" is allowed on the last assistant message only)" : "";
      findings.add("E_TOOL_CALL_ID", `${callPath(base, index, j)}/id`, `tool call id ${JSON.stringify(id)} must be 9 letters or digits${hint}`);
    } else {
      callIds.add(id);
    }
    const fn = isObject(call.function) ? call.function : functionOf(call, callPath(base, index, j), "E_TOOL_CALL_SHAPE", "tool call", findings);
    if (fn === undefined) continue;
    const given = fn.name;
    const name = typeof given === "string" && NAME_PATTERN.test(given) ? given : functionName(fn, `${callPath(base, index, j)}/function`, "E_TOOL_CALL_SHAPE", "tool call", findings);
    if (name !== undefined) {
      stats.textChars += name.length;
      if (declared && !declared.has(name)) {
        findings.add("W_TOOL_UNDECLARED", `${callPath(base, index, j)}/function/name`, `the record's tools declare no function ${JSON.stringify(name)}`);
      } else if (declared === null) {
        findings.add("W_TOOL_UNDECLARED", `${callPath(base, index, j)}/function/name`, `function ${JSON.stringify(name)} is called but the record declares no \`tools\``);
      }
    }
    const args = fn.arguments;
    if (typeof args === "string" && parsesAsJson(args)) stats.textChars += args.length;
    else checkArguments(args, `${callPath(base, index, j)}/function/arguments`, findings, stats);
  }
}
