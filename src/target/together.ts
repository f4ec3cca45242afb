import type { ProviderSpec } from "./provider-spec.js";

/** Together AI's public API; its paths follow `/v1`. */
export const TOGETHER_BASE_URL = "https://api.together.xyz/v1";

/** Together's checker and SDKs count sizes in GiB (`NUM_BYTES_IN_GB = 2**30`). */
const GIB = 2 ** 30;

/**
 * One pre-signed PUT: Together's SDKs send files up to 5 GiB in one request and switch to the multipart flow above
 * it (together-python `MULTIPART_THRESHOLD_GB = 5.0`).
 */
export const TOGETHER_SINGLE_UPLOAD_BYTES = 5 * GIB;

/** The largest file Together fine-tunes on: 50.1 GiB (together-python `MAX_FILE_SIZE_GB`), sent in parts. */
export const TOGETHER_MAX_FILE_BYTES = Math.floor(50.1 * GIB);

/**
 * Together AI: conversational (`messages`), instruction (`prompt`/`completion`), plain text and preference records,
 * as its checker (`together` Python package, `utils/files.py` `check_file`) defines them; at least 1 sample per file;
 * files up to 5 GiB in one upload, up to 50.1 GiB in a multipart upload. A job takes one training file and at most one validation file, without weights
 * (`POST /fine-tunes`: `training_file`, `validation_file`).
 */
export const TOGETHER: ProviderSpec = {
  name: "together",
  label: "Together",
  envPrefix: "TOGETHER",
  defaultBaseUrl: TOGETHER_BASE_URL,
  apiPath: "/v1",
  formats: { chat: "together-chat", instruction: "together-instruction", text: "together-text", preference: "together-preference" },
  defaultFormat: "together-chat",
  limits: { fileBytes: TOGETHER_SINGLE_UPLOAD_BYTES, uploadBytes: TOGETHER_MAX_FILE_BYTES },
  job: { trainingFiles: 1, validationFiles: 1, weights: false },
  repairAdvice(codes) {
    // Extra keys (`tools`, ids, metadata) are the usual reason OpenAI-style data fails Together's checker.
    if (codes.length > 0 && codes.every((c) => c === "E_EXTRA_KEY")) return "drop the keys Together's format has not (its checker refuses any other key)";
    return `fix the records for Together's rules (${codes.join(", ")})`;
  },
};
