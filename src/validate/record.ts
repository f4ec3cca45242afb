import type { FormatId } from "../types.js";
import { Findings, isObject } from "./findings.js";
import { checkMistralChat } from "./rules/mistral-chat.js";
import { checkMistralClassifier, checkMistralPretrain } from "./rules/mistral-text.js";
import { checkOpenAIChat, checkOpenAIPreference } from "./rules/openai.js";
import { formatAjvError, type SchemaRegistry } from "./schema-registry.js";
import type { RecordStats } from "./stats.js";

type RecordRule = (record: Record<string, unknown>, findings: Findings, stats: RecordStats, schemas: SchemaRegistry) => void;

/** The rule set of each format. */
const RULES: Record<FormatId, RecordRule> = {
  "mistral-chat": (record, findings, stats, schemas) => checkMistralChat(record, findings, stats, schemas),
  "mistral-pretrain": (record, findings, stats) => checkMistralPretrain(record, findings, stats),
  "mistral-classifier": checkMistralClassifier,
  "openai-chat": checkOpenAIChat,
  "openai-dpo": checkOpenAIPreference,
};

/** Formats that describe the same shape of record (chat records are chat records, whichever provider). */
const FAMILY: Record<FormatId, string> = {
  "mistral-chat": "chat",
  "openai-chat": "chat",
  "mistral-pretrain": "pretrain",
  "mistral-classifier": "classifier",
  "openai-dpo": "preference",
};

/** A record's likely format, and whether the record carries a sign that only one provider's format has. */
export interface RecordGuess {
  format: FormatId;
  certain: boolean;
}

/**
 * Guesses one record's format from its keys. Chat records default to Mistral (the default provider); they are
 * OpenAI's only on OpenAI-only signs (roles `developer`/`function`, `parallel_tool_calls`), so a Mistral file with
 * OpenAI-style mistakes (`call_...` ids) is still checked by Mistral's rules.
 */
export function guessRecordFormat(record: Record<string, unknown>): RecordGuess | undefined {
  if (record.input !== undefined && (record.preferred_output !== undefined || record.non_preferred_output !== undefined)) {
    return { format: "openai-dpo", certain: true };
  }
  if (record.labels !== undefined) return { format: "mistral-classifier", certain: true };
  if (record.messages !== undefined || record.interactions !== undefined) {
    if (record.interactions !== undefined || record.available_tools !== undefined || record.system_prompt !== undefined) {
      return { format: "mistral-chat", certain: true };
    }
    if (record.parallel_tool_calls !== undefined) return { format: "openai-chat", certain: true };
    if (Array.isArray(record.messages)) {
      for (const message of record.messages) {
        if (isObject(message) && (message.role === "developer" || message.role === "function")) return { format: "openai-chat", certain: true };
      }
    }
    return { format: "mistral-chat", certain: false };
  }
  if (typeof record.text === "string" || typeof record.content === "string") return { format: "mistral-pretrain", certain: true };
  return undefined;
}

/**
 * A file's format from its first records: the most common family; for chat, OpenAI when some record is certainly
 * OpenAI's and none is certainly Mistral's. With nothing to go on, Mistral chat (the default).
 */
export function detectFormat(records: Iterable<Record<string, unknown>>): FormatId {
  const votes = new Map<string, number>();
  let openai = false;
  let mistral = false;
  let first: string | undefined;
  const byFamily = new Map<string, FormatId>();
  for (const record of records) {
    const guess = guessRecordFormat(record);
    if (!guess) continue;
    const family = FAMILY[guess.format];
    first ??= family;
    votes.set(family, (votes.get(family) ?? 0) + 1);
    byFamily.set(family, guess.format);
    if (guess.format === "openai-chat" && guess.certain) openai = true;
    if (guess.format === "mistral-chat" && guess.certain) mistral = true;
  }
  if (first === undefined) return "mistral-chat";
  let best = first;
  for (const [family, n] of votes) if (n > votes.get(best)!) best = family;
  if (best === "chat") return openai && !mistral ? "openai-chat" : "mistral-chat";
  return byFamily.get(best)!;
}

/**
 * Checks one parsed record against a format: its rules (every problem), a note when it looks like another format,
 * and the format's JSON Schema as a gate whose failure is reported (E_SCHEMA) only when no rule explained it.
 */
export function checkRecord(
  record: Record<string, unknown>,
  format: FormatId,
  findings: Findings,
  stats: RecordStats,
  schemas: SchemaRegistry,
): void {
  RULES[format](record, findings, stats, schemas);
  const guess = guessRecordFormat(record);
  if (guess !== undefined && FAMILY[guess.format] !== FAMILY[format]) {
    findings.add("W_MIXED_FORMATS", "", `the record looks like ${guess.format}, but the file is ${format}`);
  }
  if (findings.errors === 0) {
    const validate = schemas.record(format);
    if (!validate(record)) {
      const error = validate.errors![0]!;
      findings.add("E_SCHEMA", error.instancePath, `does not match the ${format} schema: ${formatAjvError(error)}`);
    }
  }
}

export { Findings };
