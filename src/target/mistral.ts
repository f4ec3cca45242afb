import type { ProviderSpec } from "./provider-spec.js";

/** Mistral's public API. */
export const MISTRAL_BASE_URL = "https://api.mistral.ai";

const ID_CODES = new Set(["E_TOOL_CALL_ID", "E_TOOL_MESSAGE_ID", "E_TOOL_CALL_UNKNOWN_ID"]);

/**
 * Mistral: instruct (chat), pretrain and classifier records; 512 MB per file (Files API docs and FAQ: read as
 * 512 × 10⁶ bytes); jobs take any number of weighted training files; validation files of at most 1 MB advised.
 */
export const MISTRAL: ProviderSpec = {
  name: "mistral",
  label: "Mistral",
  envPrefix: "MISTRAL",
  defaultBaseUrl: MISTRAL_BASE_URL,
  apiPath: "",
  formats: { chat: "mistral-chat", text: "mistral-pretrain", classifier: "mistral-classifier" },
  defaultFormat: "mistral-chat",
  limits: { fileBytes: 512_000_000, uploadBytes: 512_000_000, validationAdviceBytes: 1_000_000 },
  job: { weights: true },
  repairAdvice(codes) {
    // `call_…` ids are the most common reason OpenAI-style data fails Mistral's rules; `ftprep fix` rewrites them.
    if (codes.length > 0 && codes.every((c) => ID_CODES.has(c))) return "repair the tool-call ids for Mistral (`ftprep fix`)";
    return `fix the records for Mistral's rules (${codes.join(", ")})`;
  },
};
