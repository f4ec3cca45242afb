import { ConfigError } from "../errors.js";
import type { ProviderSpec } from "./provider-spec.js";

/**
 * Provider-level rules, checked when a plan is made — before anything is sent — by `validate`, `prepare`/`run` and
 * the local server's job validation alike, so each says the same thing about the same data.
 */

/** E_TOO_FEW_EXAMPLES's message when the training data of one job is below the provider's minimum; else undefined. */
export function tooFewExamples(provider: ProviderSpec, trainingRecords: number, files = 1): string | undefined {
  const min = provider.job.minTrainingExamples;
  if (min === undefined || trainingRecords >= min) return undefined;
  const where = files === 1 ? "the training file has" : `the ${files} training files have`;
  return `${provider.label} needs at least ${min} training examples; ${where} ${trainingRecords}`;
}

/** Refuses (a usage error) a per-file limit above what the provider takes in one upload, naming that limit. */
export function checkMaxFileBytes(provider: ProviderSpec, maxFileBytes: number): void {
  const limit = provider.limits.uploadBytes;
  if (maxFileBytes > limit) {
    throw new ConfigError(
      `--max-file-bytes ${maxFileBytes} is above ${provider.label}'s limit of ${limit.toLocaleString("en-US")} bytes per file (${limit / 1e6} MB); leave it out for the default, or give at most ${limit}`,
    );
  }
}
