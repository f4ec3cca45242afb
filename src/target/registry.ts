import { FORMATS, type FormatFamily, type FormatId, PROVIDER_NAMES, type ProviderName } from "../types.js";
import { MISTRAL } from "./mistral.js";
import { OPENAI } from "./openai.js";
import type { ProviderSpec } from "./provider-spec.js";
import { TOGETHER } from "./together.js";

/** Every provider ftprep knows, by name: the one place a new provider is registered (its module, one line). */
export const PROVIDERS: Readonly<Record<ProviderName, ProviderSpec>> = {
  mistral: MISTRAL,
  openai: OPENAI,
  together: TOGETHER,
};

/** The provider a name stands for. */
export function providerSpec(name: ProviderName): ProviderSpec {
  return PROVIDERS[name];
}

/** Every provider, in registry order. */
export function allProviders(): readonly ProviderSpec[] {
  return PROVIDER_NAMES.map((name) => PROVIDERS[name]);
}

const OWNER = new Map<FormatId, { provider: ProviderSpec; family: FormatFamily }>();
for (const provider of allProviders()) {
  for (const [family, format] of Object.entries(provider.formats) as [FormatFamily, FormatId][]) {
    if (OWNER.has(format)) throw new Error(`format ${format} is declared by two providers`);
    OWNER.set(format, { provider, family });
  }
}
for (const format of FORMATS) if (!OWNER.has(format)) throw new Error(`format ${format} belongs to no provider`);

/** The provider a format is for (`openai-chat` → OpenAI). */
export function providerOfFormat(format: FormatId): ProviderSpec {
  return OWNER.get(format)!.provider;
}

/** The family of a format (`mistral-chat` and `openai-chat` are both chat). */
export function familyOf(format: FormatId): FormatFamily {
  return OWNER.get(format)!.family;
}

/** The formats of a provider, in its declaration order. */
export function formatsOf(provider: ProviderSpec): FormatId[] {
  return Object.values(provider.formats) as FormatId[];
}

/** Words for a family in messages ("OpenAI chat", "Mistral pretrain text"). */
export const FAMILY_LABEL: Record<FormatFamily, string> = {
  chat: "chat",
  text: "pretrain text",
  classifier: "classifier",
  preference: "preference",
  instruction: "instruction",
};

/** "OpenAI chat (openai-chat)": a format named for people. */
export function describeFormat(format: FormatId): string {
  return `${providerOfFormat(format).label} ${FAMILY_LABEL[familyOf(format)]} (${format})`;
}
