import { describeType, type Findings, isObject } from "../findings.js";
import type { RecordStats } from "../stats.js";

/** Checks shared by every chat format's messages and function definitions. */

/** Mistral tool-call ids: nine ASCII letters or digits (mistral-common's validator). */
export const ID_PATTERN = /^[a-zA-Z0-9]{9}$/;
/** Function, tool-call and tool-message names. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Reports E_NO_MESSAGES unless `messages` is a non-empty array. */
export function isMessageList(messages: unknown, path: string, key: string, findings: Findings): messages is unknown[] {
  if (Array.isArray(messages) && messages.length > 0) return true;
  const problem =
    messages === undefined
      ? `there is no \`${key}\` array`
      : Array.isArray(messages)
        ? `\`${key}\` is empty`
        : `\`${key}\` must be an array of messages, got ${describeType(messages)}`;
  findings.add("E_NO_MESSAGES", path, problem);
  return false;
}

/**
 * A message's role when the message (`base`/`index`) is an object with a role of the format's; otherwise reports
 * E_MESSAGE_NOT_OBJECT, E_MISSING_ROLE or E_UNKNOWN_ROLE and returns undefined. Paths are built only for a problem:
 * the clean message, by far the common case, allocates none.
 */
export function messageRole(message: unknown, base: string, index: number, roles: ReadonlySet<string>, findings: Findings): string | undefined {
  if (!isObject(message)) {
    findings.add("E_MESSAGE_NOT_OBJECT", `${base}/${index}`, `a message must be an object, got ${describeType(message)}`);
    return undefined;
  }
  const role = message.role;
  if (typeof role === "string" && roles.has(role)) return role;
  if (role === undefined) {
    findings.add("E_MISSING_ROLE", `${base}/${index}/role`, "the message has no `role`");
    return undefined;
  }
  findings.add("E_UNKNOWN_ROLE", `${base}/${index}/role`, `unknown role ${JSON.stringify(role)}; expected ${[...roles].join(", ")}`);
  return undefined;
}

/**
 * The walk of a preference record, OpenAI's (DPO) and Together's: `input` an object whose `messages`
 * (`checkMessages`, which returns -1 when there is no usable list) do not end with an assistant message, after
 * `checkInput` looked at the rest of it; `preferred_output` and `non_preferred_output` each a `noun` ("array",
 * "list") of exactly one message, handed to `checkOutput`. E_PREFERENCE_SHAPE and E_PREFERENCE_LAST_ROLE otherwise.
 */
export function walkPreference(
  record: Record<string, unknown>,
  findings: Findings,
  noun: string,
  checkMessages: (messages: unknown, base: string) => number,
  checkOutput: (key: string, output: unknown[]) => void,
  checkInput?: (input: Record<string, unknown>) => void,
): void {
  const input = record.input;
  if (!isObject(input)) {
    findings.add("E_PREFERENCE_SHAPE", "/input", input === undefined ? "the record has no `input`" : `\`input\` must be an object, got ${describeType(input)}`);
  } else {
    checkInput?.(input);
    const messages = input.messages;
    if (messages === undefined) {
      findings.add("E_PREFERENCE_SHAPE", "/input/messages", "the preference record's `input` has no `messages`");
    } else if (checkMessages(messages, "/input/messages") >= 0 && Array.isArray(messages)) {
      const last = messages[messages.length - 1];
      if (isObject(last) && last.role === "assistant") {
        findings.add("E_PREFERENCE_LAST_ROLE", `/input/messages/${messages.length - 1}`, "the input must not end with an assistant message; the outputs are the assistant's turn");
      }
    }
  }
  for (const key of ["preferred_output", "non_preferred_output"]) {
    const output = record[key];
    if (!Array.isArray(output) || output.length !== 1) {
      const got = output === undefined ? "it is missing" : Array.isArray(output) ? `it has ${output.length} messages` : `got ${describeType(output)}`;
      findings.add("E_PREFERENCE_SHAPE", `/${key}`, `\`${key}\` must be ${noun === "array" ? "an" : "a"} ${noun} of exactly one assistant message; ${got}`);
      continue;
    }
    checkOutput(key, output);
  }
}

/** E_WEIGHT: an assistant message's (`base`/`index`) `weight` is absent, null, or exactly the number 0 or 1. */
export function checkWeight(message: Record<string, unknown>, base: string, index: number, findings: Findings): void {
  const weight = message.weight;
  if (weight !== undefined && weight !== null && weight !== 0 && weight !== 1) {
    findings.add("E_WEIGHT", `${base}/${index}/weight`, `\`weight\` must be the number 0 or 1, got ${JSON.stringify(weight)}`);
  }
}

type ShapeCode = "E_TOOL_SHAPE" | "E_TOOL_CALL_SHAPE";

/** The `function` object of a tool or a tool call, or undefined after reporting its absence under `code`. */
export function functionOf(holder: Record<string, unknown>, path: string, code: ShapeCode, owner: string, findings: Findings): Record<string, unknown> | undefined {
  const fn = holder.function;
  if (isObject(fn)) return fn;
  findings.add(code, `${path}/function`, fn === undefined ? `the ${owner} has no \`function\`` : `\`function\` must be an object, got ${describeType(fn)}`);
  return undefined;
}

/** A function's valid name, or undefined after reporting a missing one (under `code`) or an invalid one (E_NAME). */
export function functionName(fn: Record<string, unknown>, path: string, code: ShapeCode, owner: string, findings: Findings): string | undefined {
  const name = fn.name;
  if (name === undefined || name === null) {
    findings.add(code, `${path}/name`, `the ${owner}'s function has no \`name\``);
    return undefined;
  }
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    findings.add("E_NAME", `${path}/name`, `function name ${JSON.stringify(name)} must match ^[a-zA-Z0-9_-]{1,64}$`);
    return undefined;
  }
  return name;
}

/** `function.arguments` holds JSON text (Mistral parses it when tokenizing); a parsed object is an error. */
export function checkArguments(args: unknown, path: string, findings: Findings, stats: RecordStats): void {
  if (args === undefined || args === null) {
    findings.add("E_TOOL_CALL_SHAPE", path, "the tool call's function has no `arguments`");
  } else if (typeof args !== "string") {
    findings.add("E_TOOL_CALL_ARGUMENTS", path, `\`arguments\` must be a string of JSON text, got ${describeType(args)}`);
  } else {
    stats.textChars += args.length;
    try {
      JSON.parse(args);
    } catch (error) {
      findings.add("E_TOOL_CALL_ARGUMENTS", path, `\`arguments\` is not valid JSON text: ${(error as Error).message}`);
    }
  }
}
