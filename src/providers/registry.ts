import type { ProviderName } from "../types.js";
import type { ClientOptions } from "./http.js";
import { MistralProvider } from "./mistral.js";
import { OpenAIProvider } from "./openai.js";
import { TogetherProvider } from "./together.js";
import type { FilesProvider, JobsProvider } from "./types.js";

/**
 * The client that speaks each provider's upload and job protocol, by name: beside `target/registry.ts` (the
 * provider's formats, rules and limits as data), the one other line a new provider adds on the client side.
 */
export const PROVIDER_CLIENTS: Readonly<Record<ProviderName, (options: ClientOptions) => FilesProvider & JobsProvider>> = {
  mistral: (options) => new MistralProvider(options),
  openai: (options) => new OpenAIProvider(options),
  together: (options) => new TogetherProvider(options),
};

/** A client for a provider's API at `options.baseUrl`. */
export function createProviderClient(name: ProviderName, options: ClientOptions): FilesProvider & JobsProvider {
  return PROVIDER_CLIENTS[name](options);
}
