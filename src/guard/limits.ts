/** Upload size limits, per provider, and the conservative defaults ftprep derives from them. */

import { PROVIDERS } from "../target/registry.js";
import type { ProviderName } from "../types.js";

/** What a provider accepts as one file's size. */
export type Provider = ProviderName;

const byProvider = (pick: (limits: (typeof PROVIDERS)[ProviderName]["limits"]) => number): Record<Provider, number> =>
  Object.fromEntries(Object.values(PROVIDERS).map((p) => [p.name, pick(p.limits)])) as Record<Provider, number>;

/**
 * Both providers state "512 MB" per file. Read conservatively: MB = 10^6 bytes (512,000,000 is below 512 MiB).
 * Mistral: Files API docs and FAQ; OpenAI: Files API reference (larger files go through the Uploads API).
 * Declared by each provider's module in `src/target/`.
 */
export const PROVIDER_FILE_LIMIT: Record<Provider, number> = byProvider((l) => l.fileBytes);

/**
 * Kept free below the provider's limit: a multipart body adds a few hundred bytes of boundaries and headers around
 * the file, and a provider may count the whole body. 1 MB is far more than that overhead, and costs nothing.
 */
export const MULTIPART_MARGIN = 1_000_000;

/**
 * The most one logical upload can carry: Mistral's Files API takes 512 MB; OpenAI's Uploads API takes a file of up
 * to 8 GB in parts, so OpenAI files are not sharded below that.
 */
export const PROVIDER_UPLOAD_LIMIT: Record<Provider, number> = byProvider((l) => l.uploadBytes);

/**
 * The default largest file ftprep prepares for a provider: what it can take in one upload, less the margin —
 * 511,000,000 bytes for Mistral, 7,999,000,000 for OpenAI.
 */
export function defaultMaxFileBytes(provider: Provider): number {
  return PROVIDER_UPLOAD_LIMIT[provider] - MULTIPART_MARGIN;
}

/** Mistral's docs advise validation files of at most 1 MB (about 5% of the training data). */
export const MISTRAL_VALIDATION_ADVICE_BYTES = PROVIDERS.mistral.limits.validationAdviceBytes!;
