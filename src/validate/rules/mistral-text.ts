import { describeType, type Findings, isObject, pointerToken } from "../findings.js";
import type { SchemaRegistry } from "../schema-registry.js";
import { countLabel, type RecordStats } from "../stats.js";
import { checkMistralChat } from "./mistral-chat.js";

/** Mistral continued pre-training (rulebook §3): exactly one of `text` / `content`, a non-empty string. */
export function checkMistralPretrain(record: Record<string, unknown>, findings: Findings, stats: RecordStats): void {
  const hasText = record.text !== undefined;
  const hasContent = record.content !== undefined;
  if (hasText && hasContent) {
    findings.add("E_PRETRAIN_TEXT", "/content", "a pretrain record has both `text` and `content`; keep one of them");
    return;
  }
  if (!hasText && !hasContent) {
    findings.add("E_PRETRAIN_TEXT", "/text", "a pretrain record needs a `text` string");
    return;
  }
  const key = hasText ? "text" : "content";
  const value = record[key];
  if (typeof value !== "string" || value.length === 0) {
    findings.add("E_PRETRAIN_TEXT", `/${key}`, `\`${key}\` must be a non-empty string, got ${typeof value === "string" ? "an empty string" : describeType(value)}`);
    return;
  }
  stats.textChars += value.length;
}

/** Mistral classifier (rulebook §4): `text` or a chat `messages`, and `labels` {target: label | labels[]}. */
export function checkMistralClassifier(record: Record<string, unknown>, findings: Findings, stats: RecordStats, schemas: SchemaRegistry): void {
  const hasText = record.text !== undefined;
  const hasMessages = record.messages !== undefined;
  if (hasText && hasMessages) {
    findings.add("E_CLASSIFIER_INPUT", "/text", "a classifier record has both `text` and `messages`; keep one of them");
  } else if (hasText) {
    if (typeof record.text !== "string" || record.text.length === 0) {
      findings.add("E_CLASSIFIER_INPUT", "/text", `\`text\` must be a non-empty string, got ${typeof record.text === "string" ? "an empty string" : describeType(record.text)}`);
    } else {
      stats.textChars += record.text.length;
    }
  } else if (hasMessages) {
    checkMistralChat(record, findings, stats, schemas, "classifier");
  } else {
    findings.add("E_CLASSIFIER_INPUT", "/text", "a classifier record needs `text` or `messages`");
  }

  const labels = record.labels;
  if (!isObject(labels) || Object.keys(labels).length === 0) {
    const got = labels === undefined ? "it is missing" : isObject(labels) ? "it is empty" : `got ${describeType(labels)}`;
    findings.add("E_LABELS", "/labels", `\`labels\` must be a non-empty object of target → label(s); ${got}`);
    return;
  }
  for (const [target, value] of Object.entries(labels)) {
    if (typeof value === "string") {
      countLabel(stats, target, value);
    } else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) {
      for (const v of value as string[]) countLabel(stats, target, v);
    } else {
      findings.add("E_LABELS", `/labels/${pointerToken(target)}`, `label of target ${JSON.stringify(target)} must be a string or a non-empty array of strings, got ${Array.isArray(value) && value.length === 0 ? "an empty array" : describeType(value)}`);
    }
  }
}
