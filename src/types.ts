/** Severity of a validation finding: errors keep a record from being uploaded, warnings are reported only. */
export type Severity = "error" | "warning";

/**
 * A validation finding. A value, never thrown: the validator returns every issue of every record.
 * `path` is a JSON Pointer into the record (`/messages/2/tool_calls/0/id`), `""` for the whole record or line.
 * `line` is 1-based; file-level findings use line 0.
 */
export interface Issue {
  code: string;
  severity: Severity;
  file: string;
  line: number;
  path: string;
  message: string;
}

/** The record formats ftprep validates. */
export const FORMATS = [
  "mistral-chat",
  "mistral-pretrain",
  "mistral-classifier",
  "openai-chat",
  "openai-dpo",
  "together-chat",
  "together-instruction",
  "together-text",
  "together-preference",
] as const;

export type FormatId = (typeof FORMATS)[number];

/** Tells whether a string names a known format. */
export function isFormatId(value: string): value is FormatId {
  return (FORMATS as readonly string[]).includes(value);
}

/** The providers ftprep prepares data for. A new provider: a name here, a module in `src/target/`, a registry line. */
export const PROVIDER_NAMES = ["mistral", "openai", "together"] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Tells whether a string names a known provider. */
export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

/**
 * The shapes of record a format can take, whichever provider it is for: chat records are chat records (`messages`),
 * text records are raw text, classifier records carry labels, preference records a preferred and a rejected output,
 * instruction records a `prompt` and its `completion`.
 */
export type FormatFamily = "chat" | "text" | "classifier" | "preference" | "instruction";
