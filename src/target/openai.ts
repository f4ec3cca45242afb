import type { ProviderSpec } from "./provider-spec.js";

/** OpenAI's public API. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/**
 * OpenAI: chat (supervised) and preference (DPO) records; 512 MB per Files API request, up to 8 GB through the
 * Uploads API in parts; a job takes one training file (at least 10 examples) and at most one validation file, with
 * no per-file weights (fine-tuning guide and API reference).
 */
export const OPENAI: ProviderSpec = {
  name: "openai",
  label: "OpenAI",
  envPrefix: "OPENAI",
  defaultBaseUrl: OPENAI_BASE_URL,
  apiPath: "/v1",
  formats: { chat: "openai-chat", preference: "openai-dpo" },
  defaultFormat: "openai-chat",
  limits: { fileBytes: 512_000_000, uploadBytes: 8_000_000_000 },
  job: { trainingFiles: 1, validationFiles: 1, minTrainingExamples: 10, weights: false },
  repairAdvice(codes) {
    return `fix the records for OpenAI's rules (${codes.join(", ")})`;
  },
};
