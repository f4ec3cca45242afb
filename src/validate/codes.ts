import type { Severity } from "../types.js";

/** One entry of the issue-code registry: the stable code's severity and a one-line summary for the docs. */
export interface CodeInfo {
  severity: Severity;
  summary: string;
}

/**
 * Every issue code ftprep reports. Codes are stable: reports, tests and users match on them.
 * The README's error-code table is checked against this registry by a test, in both directions.
 */
export const ISSUE_CODES = {
  // Line level, every format.
  E_UTF8: { severity: "error", summary: "the line is not valid UTF-8" },
  E_JSON: { severity: "error", summary: "the line does not parse as JSON (the parser's position is given)" },
  E_NOT_OBJECT: { severity: "error", summary: "the line parses but is not a JSON object" },
  E_LINE_TOO_LONG: { severity: "error", summary: "the line is longer than the maximum (default 64 MiB); skipped without being buffered" },
  E_TOO_DEEP: { severity: "error", summary: "the record nests objects/arrays deeper than 128 levels; not checked further" },
  E_TOO_MANY_VALUES: { severity: "error", summary: "the record holds more than 100,000 JSON values (objects, arrays, strings, numbers, literals); not parsed" },
  W_BLANK_LINE: { severity: "warning", summary: "an empty or whitespace-only line (skipped; dropped from cleaned output)" },
  W_BOM: { severity: "warning", summary: "a UTF-8 byte-order mark at the start of the file (stripped)" },
  W_CRLF: { severity: "warning", summary: "\\r\\n line endings (accepted; reported once per file, at the first)" },
  W_NO_FINAL_NEWLINE: { severity: "warning", summary: "the last line has no \\n (accepted)" },
  E_SCHEMA: { severity: "error", summary: "the record breaks the format's JSON Schema in a way no more specific code covers" },
  W_MIXED_FORMATS: { severity: "warning", summary: "the record looks like another format than the file's" },
  W_DUPLICATE: { severity: "warning", summary: "the record is identical (after JSON normalisation) to an earlier record of the file" },

  // Mistral instruct (chat), and the message rules shared with classifier chats and OpenAI chat.
  E_NO_MESSAGES: { severity: "error", summary: "no `messages` (or `interactions`), or it is not a non-empty array" },
  E_BOTH_KEYS: { severity: "error", summary: "both `messages` and `interactions`, both `tools` and `available_tools`, or a message with both `content` and `text`" },
  E_MESSAGE_NOT_OBJECT: { severity: "error", summary: "a message is not an object" },
  E_MISSING_ROLE: { severity: "error", summary: "a message has no `role`" },
  E_UNKNOWN_ROLE: { severity: "error", summary: "`role` is not one the format allows" },
  E_MISSING_CONTENT: { severity: "error", summary: "a message (other than an assistant message with `tool_calls`) has no `content`, or it is null" },
  E_CONTENT_TYPE: { severity: "error", summary: "`content` is not a string, or not a valid array of chunks where the role allows one" },
  E_MULTIPLE_SYSTEM: { severity: "error", summary: "more than one system message (a top-level `system_prompt` counts as one)" },
  E_ASSISTANT_CONTENT_XOR_TOOL_CALLS: { severity: "error", summary: "an assistant message needs non-empty `content` or non-empty `tool_calls`, not both and not neither" },
  E_WEIGHT: { severity: "error", summary: "a message's `weight` is not exactly 0 or 1 (Mistral, OpenAI: on assistant messages; Together: on any message, and never null)" },
  E_TOOL_CALL_SHAPE: { severity: "error", summary: "a tool call lacks `id` or `function`, or its function lacks `name` or `arguments`" },
  E_TOOL_CALL_ARGUMENTS: { severity: "error", summary: "`function.arguments` is not a string of JSON text" },
  E_TOOL_CALL_ID: { severity: "error", summary: "a tool call id does not match `^[a-zA-Z0-9]{9}$` (`\"null\"` allowed on the last assistant message)" },
  E_TOOL_MESSAGE_ID: { severity: "error", summary: "a tool message has no valid `tool_call_id`" },
  E_TOOL_CALL_UNKNOWN_ID: { severity: "error", summary: "a tool message's `tool_call_id` names no preceding tool call" },
  E_NAME: { severity: "error", summary: "a function, tool-call or tool-message name does not match `^[a-zA-Z0-9_-]{1,64}$`" },
  E_ROLE_ORDER: { severity: "error", summary: "roles out of order (system messages set aside), or no message before the final assistant message" },
  E_TOOL_RESPONSE_COUNT: { severity: "error", summary: "the number of tool responses does not match the number of tool calls they answer" },
  E_LAST_ROLE: { severity: "error", summary: "the last message (system messages set aside) is not `assistant`" },
  E_TOOL_SHAPE: { severity: "error", summary: "a tool lacks `function`, or its function lacks `name`, `description` or an object `parameters`" },
  E_TOOL_SCHEMA: { severity: "error", summary: "a tool's `parameters` is not a valid JSON Schema (draft 7)" },
  W_NO_TRAINABLE: { severity: "warning", summary: "the record trains nothing: every assistant message has `weight: 0`, or it has tools (only its last assistant message trains) and that message has `weight: 0`" },
  W_TOO_MANY_TOKENS: { severity: "warning", summary: "the record has more tokens than the model trains at (`--model`'s context or `--max-tokens`); the message says what the trainer does with it" },
  W_TOOL_UNDECLARED: { severity: "warning", summary: "a tool call names a function that `tools` does not declare" },

  // Mistral pretrain and classifier.
  E_PRETRAIN_TEXT: { severity: "error", summary: "a pretrain record needs exactly one of `text` / `content`, a non-empty string" },
  E_CLASSIFIER_INPUT: { severity: "error", summary: "a classifier record needs exactly one of `text` (a non-empty string) / `messages`" },
  E_LABELS: { severity: "error", summary: "`labels` is not a non-empty object of strings or non-empty string arrays" },

  // OpenAI chat and preference (DPO).
  E_NO_ASSISTANT: { severity: "error", summary: "an OpenAI or Together chat record has no assistant message" },
  E_PREFERENCE_SHAPE: { severity: "error", summary: "a preference record lacks `input.messages`, or an output is not exactly one assistant message" },
  E_PREFERENCE_LAST_ROLE: { severity: "error", summary: "a preference record's input ends with an assistant message" },
  E_FOREIGN_KEY: { severity: "error", summary: "an OpenAI record carries a key only Mistral's format has (`interactions`, `available_tools`, `system_prompt`): OpenAI would refuse or ignore it" },
  E_TOO_FEW_EXAMPLES: { severity: "error", summary: "the training data of an OpenAI job (its one training file) has fewer than 10 records; validation files have no minimum" },

  // Together (conversational, instruction, text, preference).
  E_EXTRA_KEY: { severity: "error", summary: "a Together record has a key its format has not (`tools`, an id, metadata…): Together's checker refuses any key but the format's own" },
  E_INSTRUCTION_SHAPE: { severity: "error", summary: "a Together instruction record lacks `prompt` or `completion`" },
  E_TEXT_SHAPE: { severity: "error", summary: "a Together text record has no `text`" },
  E_IMAGE: { severity: "error", summary: "a Together image is not a base64 JPEG/PNG/WebP data URL, is over 10 MiB, sits in a message with weight 1, or the record has more than 10" },

  // File level.
  E_FILE_EMPTY: { severity: "error", summary: "the file holds no records at all" },
  E_FILE_TOO_LARGE: { severity: "error", summary: "a file to upload exceeds the provider's limit and splitting is off (`--no-split`)" },
  E_RECORD_TOO_LARGE: { severity: "error", summary: "one record alone exceeds the per-file limit: no upload can hold it" },
  E_JOB_FILES: { severity: "error", summary: "the plan has more files of a split than one job of the provider takes (OpenAI, Together: one training, one validation file), and merged they would pass the per-file limit" },
  W_VALIDATION_FILE_SIZE: { severity: "warning", summary: "a Mistral validation file over 1 MB (the docs advise at most 1 MB, about 5% of training)" },
  E_NOT_JSONL: { severity: "error", summary: "the file is plainly not JSONL (binary data, a PDF, an archive, compressed bytes under a `.jsonl` name); reported once, saying what it looks like" },
  E_DECOMPRESS: { severity: "error", summary: "a `.jsonl.gz` / `.jsonl.zst` file is not valid compressed data or ends early (the records before the fault were checked)" },
  E_JSON_ARRAY: { severity: "error", summary: "a `.json` file is not one top-level array of records, or is malformed (the parser's position is given)" },
} as const satisfies Record<string, CodeInfo>;

export type IssueCode = keyof typeof ISSUE_CODES;

/** The severity a code always carries. */
export function severityOf(code: IssueCode): Severity {
  return ISSUE_CODES[code].severity;
}
