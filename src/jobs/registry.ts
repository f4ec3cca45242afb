import type { ProviderName } from "../types.js";
import { MISTRAL_JOBS } from "./mistral.js";
import { OPENAI_JOBS } from "./openai.js";
import type { ProviderJobs } from "./provider-jobs.js";
import { TOGETHER_JOBS } from "./together.js";

/** Each provider's jobs module, by name: the one line a new provider adds here. */
export const PROVIDER_JOBS: Readonly<Record<ProviderName, ProviderJobs>> = {
  mistral: MISTRAL_JOBS,
  openai: OPENAI_JOBS,
  together: TOGETHER_JOBS,
};

/** The jobs module of a provider. */
export function providerJobs(name: ProviderName): ProviderJobs {
  return PROVIDER_JOBS[name];
}
