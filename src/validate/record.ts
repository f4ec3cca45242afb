import type { ProviderSpec } from "../target/provider-spec.js";
import { FAMILY_LABEL, familyOf, providerOfFormat } from "../target/registry.js";
import type { FormatFamily, FormatId } from "../types.js";
import { Findings, isObject } from "./findings.js";
import { checkMistralChat } from "./rules/mistral-chat.js";
import { checkMistralClassifier, checkMistralPretrain } from "./rules/mistral-text.js";
import { checkOpenAIChat, checkOpenAIPreference } from "./rules/openai.js";
import { checkTogetherChat, checkTogetherInstruction, checkTogetherPreference, checkTogetherText } from "./rules/together.js";
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
  "together-chat": checkTogetherChat,
  "together-instruction": checkTogetherInstruction,
  "together-text": checkTogetherText,
  "together-preference": checkTogetherPreference,
};

/** A record's likely format, and whether the record carries a sign that only one provider's format has. */
export interface RecordGuess {
  format: FormatId;
  certain: boolean;
}

/** The family a record's keys say it belongs to (chat, text, classifier, preference), whichever the provider. */
export function guessRecordFamily(record: Record<string, unknown>): FormatFamily | undefined {
  if (record.input !== undefined && (record.preferred_output !== undefined || record.non_preferred_output !== undefined)) return "preference";
  if (record.labels !== undefined) return "classifier";
  if (record.messages !== undefined || record.interactions !== undefined) return "chat";
  if (record.prompt !== undefined && record.completion !== undefined) return "instruction";
  if (typeof record.text === "string" || typeof record.content === "string") return "text";
  return undefined;
}

/**
 * Guesses one record's format from its keys, across every provider. Chat records default to Mistral; they are
 * OpenAI's only on OpenAI-only signs (roles `developer`/`function`, `parallel_tool_calls`). Validation does not use
 * this to choose rules (the target's provider does: see `detectFormat`); it names what a record looks like.
 */
export function guessRecordFormat(record: Record<string, unknown>): RecordGuess | undefined {
  const family = guessRecordFamily(record);
  if (family === undefined) return undefined;
  if (family === "preference") return { format: "openai-dpo", certain: true };
  if (family === "classifier") return { format: "mistral-classifier", certain: true };
  if (family === "text") return { format: "mistral-pretrain", certain: true };
  if (family === "instruction") return { format: "together-instruction", certain: true };
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

/**
 * A file's format from its first records, among one provider's formats: the family most of them share, if the
 * provider has a format of that family (ties go to the family seen first), else the provider's default format —
 * whose rules then say what is wrong. `--format auto` never picks another provider's format.
 *
 * Without a provider (the library's older call), every provider's formats are candidates: for chat, OpenAI's when
 * some record is certainly OpenAI's and none certainly Mistral's, else Mistral's.
 */
export function detectFormat(records: Iterable<Record<string, unknown>>, provider?: ProviderSpec): FormatId {
  const votes = new Map<FormatFamily, number>();
  let openai = false;
  let mistral = false;
  let first: FormatFamily | undefined;
  const formats = provider?.formats;
  for (const record of records) {
    const family = guessRecordFamily(record);
    if (family === undefined || (formats && formats[family] === undefined)) continue;
    first ??= family;
    votes.set(family, (votes.get(family) ?? 0) + 1);
    if (!provider && family === "chat") {
      const guess = guessRecordFormat(record)!;
      if (guess.certain && guess.format === "openai-chat") openai = true;
      if (guess.certain && guess.format === "mistral-chat") mistral = true;
    }
  }
  if (first === undefined) return provider ? provider.defaultFormat : "mistral-chat";
  let best = first;
  for (const [family, n] of votes) if (n > votes.get(best)!) best = family;
  if (provider) return provider.formats[best]!;
  if (best === "chat") return openai && !mistral ? "openai-chat" : "mistral-chat";
  return LEGACY_FORMAT[best];
}

const LEGACY_FORMAT: Record<Exclude<FormatFamily, "chat">, FormatId> = {
  text: "mistral-pretrain",
  classifier: "mistral-classifier",
  preference: "openai-dpo",
  instruction: "together-instruction",
};

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
  const family = guessRecordFamily(record);
  if (family !== undefined && family !== familyOf(format)) {
    const like = providerOfFormat(format).formats[family] ?? `${FAMILY_LABEL[family]} data`;
    findings.add("W_MIXED_FORMATS", "", `the record looks like ${like}, but the file is ${format}`);
  }
  // The gate answers for a valid record without allocating; ajv runs (and allocates its errors) only for the rest.
  if (findings.errors === 0 && schemas.gate?.(format)?.(record) !== true) {
    const validate = schemas.record(format);
    if (!validate(record)) {
      const error = validate.errors![0]!;
      findings.add("E_SCHEMA", error.instancePath, `does not match the ${format} schema: ${formatAjvError(error)}`);
    }
  }
}

export { Findings };
