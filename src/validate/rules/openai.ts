import { describeType, type Findings, isObject } from "../findings.js";
import type { SchemaRegistry } from "../schema-registry.js";
import { countRole, type RecordStats } from "../stats.js";
import { checkArguments, checkWeight, functionOf, isMessageList, messageRole, NAME_PATTERN, walkPreference } from "./messages.js";
import { checkToolDefinitions } from "./tools.js";

/** OpenAI chat and preference (DPO) records, rulebook §5. */

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

/** Keys of Mistral's chat format that OpenAI's has not, with what OpenAI's format says instead. */
const MISTRAL_ONLY_KEYS: Record<string, string> = {
  interactions: "use `messages`",
  available_tools: "use `tools`",
  system_prompt: "make it the first message, with role `system`",
};

/** Checks an OpenAI supervised chat record. */
export function checkOpenAIChat(record: Record<string, unknown>, findings: Findings, stats: RecordStats, schemas: SchemaRegistry): void {
  for (const key in MISTRAL_ONLY_KEYS) {
    if (record[key] !== undefined) findings.add("E_FOREIGN_KEY", `/${key}`, `\`${key}\` is Mistral's; OpenAI's format has no such key (${MISTRAL_ONLY_KEYS[key]})`);
  }
  if (record.tools !== undefined) checkToolDefinitions(record.tools, "/tools", findings, stats, schemas, "openai");
  const assistants = checkOpenAIMessages(record.messages, "/messages", findings, stats);
  if (assistants === 0) findings.add("E_NO_ASSISTANT", "/messages", "the record has no assistant message to train on");
}

/** Checks an OpenAI preference (DPO) record. */
export function checkOpenAIPreference(record: Record<string, unknown>, findings: Findings, stats: RecordStats, schemas: SchemaRegistry): void {
  walkPreference(
    record,
    findings,
    "array",
    (messages, base) => checkOpenAIMessages(messages, base, findings, stats),
    (key, output) => {
      const message = output[0];
      if (isObject(message) && message.role !== "assistant") {
        findings.add("E_PREFERENCE_SHAPE", `/${key}/0/role`, `\`${key}\` must hold an assistant message, got role ${JSON.stringify(message.role)}`);
        return;
      }
      checkOpenAIMessages(output, `/${key}`, findings, stats);
    },
    (input) => {
      if (input.tools !== undefined) checkToolDefinitions(input.tools, "/input/tools", findings, stats, schemas, "openai");
    },
  );
}

/**
 * Checks an OpenAI messages array; returns the number of assistant messages, or -1 when there is no usable array.
 */
function checkOpenAIMessages(messages: unknown, base: string, findings: Findings, stats: RecordStats): number {
  if (!isMessageList(messages, base, "messages", findings)) return -1;
  let assistants = 0;
  let hasToolCalls = false;
  let hasImages = false;
  for (let i = 0; i < messages.length; i++) {
    const role = messageRole(messages[i], base, i, ROLES, findings);
    if (role === undefined) continue;
    const message = messages[i] as Record<string, unknown>;
    countRole(stats, role);
    const content = message.content;
    const path = `${base}/${i}/content`;
    if (role === "assistant") {
      assistants++;
      const calls = message.tool_calls;
      const withCalls = Array.isArray(calls) && calls.length > 0;
      if (calls !== undefined && calls !== null && !Array.isArray(calls)) {
        findings.add("E_TOOL_CALL_SHAPE", `${base}/${i}/tool_calls`, `\`tool_calls\` must be an array, got ${describeType(calls)}`);
      }
      if (content === undefined || content === null) {
        if (!withCalls && message.function_call === undefined) {
          findings.add("E_MISSING_CONTENT", path, "the assistant message has neither `content` nor `tool_calls`");
        }
      } else {
        checkParts(content, path, role, findings, stats);
      }
      checkWeight(message, base, i, findings);
      if (withCalls) {
        hasToolCalls = true;
        for (let j = 0; j < calls.length; j++) checkToolCall(calls[j], `${base}/${i}/tool_calls/${j}`, findings, stats);
      }
      continue;
    }
    if (content === undefined || content === null) {
      findings.add("E_MISSING_CONTENT", path, `the ${role} message has no \`content\``);
    } else if (checkParts(content, path, role, findings, stats)) {
      hasImages = true;
    }
    if (role === "tool") {
      const id = message.tool_call_id;
      if (typeof id !== "string" || id.length === 0) {
        findings.add("E_TOOL_MESSAGE_ID", `${base}/${i}/tool_call_id`, id === undefined ? "the tool message has no `tool_call_id`" : "`tool_call_id` must be a non-empty string");
      }
    }
    if (role === "function" && (typeof message.name !== "string" || !NAME_PATTERN.test(message.name))) {
      findings.add("E_NAME", `${base}/${i}/name`, `a function message needs a \`name\` matching ^[a-zA-Z0-9_-]{1,64}$, got ${JSON.stringify(message.name ?? null)}`);
    }
  }
  if (hasToolCalls) stats.toolCallRecords++;
  if (hasImages) stats.imageRecords++;
  return assistants;
}

/** Content is a string or a non-empty array of parts; images only in user messages. Returns whether it holds one. */
function checkParts(content: unknown, path: string, role: string, findings: Findings, stats: RecordStats): boolean {
  if (typeof content === "string") {
    stats.textChars += content.length;
    return false;
  }
  if (!Array.isArray(content) || content.length === 0) {
    findings.add("E_CONTENT_TYPE", path, `content must be a string or a non-empty array of parts, got ${Array.isArray(content) ? "an empty array" : describeType(content)}`);
    return false;
  }
  let images = false;
  for (let k = 0; k < content.length; k++) {
    const part = content[k];
    if (!isObject(part)) {
      findings.add("E_CONTENT_TYPE", `${path}/${k}`, `a content part must be an object, got ${describeType(part)}`);
    } else if (part.type === "text") {
      if (typeof part.text !== "string") findings.add("E_CONTENT_TYPE", `${path}/${k}/text`, `a text part needs a string \`text\`, got ${describeType(part.text)}`);
      else stats.textChars += part.text.length;
    } else if (part.type === "image_url") {
      images = true;
      if (role !== "user") {
        findings.add("E_CONTENT_TYPE", `${path}/${k}`, `image parts are allowed in user messages only, not in a ${role} message`);
      } else if (!isObject(part.image_url) || typeof part.image_url.url !== "string") {
        findings.add("E_CONTENT_TYPE", `${path}/${k}/image_url`, "an image part needs `image_url` as {\"url\": string}");
      }
    } else {
      findings.add("E_CONTENT_TYPE", `${path}/${k}/type`, `unknown part type ${JSON.stringify(part.type)}; expected "text" or "image_url"`);
    }
  }
  return images;
}

function checkToolCall(call: unknown, path: string, findings: Findings, stats: RecordStats): void {
  if (!isObject(call)) {
    findings.add("E_TOOL_CALL_SHAPE", path, `a tool call must be an object, got ${describeType(call)}`);
    return;
  }
  if (typeof call.id !== "string" || call.id.length === 0) {
    findings.add("E_TOOL_CALL_SHAPE", `${path}/id`, call.id === undefined ? "the tool call has no `id`" : "the tool call's `id` must be a non-empty string");
  }
  const fn = functionOf(call, path, "E_TOOL_CALL_SHAPE", "tool call", findings);
  if (fn === undefined) return;
  if (typeof fn.name !== "string") {
    findings.add("E_TOOL_CALL_SHAPE", `${path}/function/name`, "the tool call's function has no string `name`");
  } else {
    stats.textChars += fn.name.length;
  }
  checkArguments(fn.arguments, `${path}/function/arguments`, findings, stats);
}
