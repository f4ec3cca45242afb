import { ConfigError } from "../errors.js";
import { FORMATS, type FormatId, isFormatId, isProviderName, PROVIDER_NAMES, type ProviderName } from "../types.js";
import type { ProviderSpec } from "./provider-spec.js";
import { formatsOf, providerOfFormat, providerSpec } from "./registry.js";

/**
 * The target of a run: the provider a dataset is for, and the format asked for (`auto`: detected among that
 * provider's formats only). Resolved once — from the command line, a pipeline file or the environment — and passed
 * down, so no stage decides on its own which provider's rules, formats or limits apply.
 */
export interface TargetSpec {
  readonly provider: ProviderSpec;
  readonly format: FormatId | "auto";
  /** The formats `auto` may choose from: the provider's. */
  readonly formats: readonly FormatId[];
}

/** What a target is resolved from; every field optional. */
export interface TargetInput {
  /** The provider's name, as given (checked here). */
  provider?: string | undefined;
  /** Where `provider` came from, for messages: `--provider`, `FTPREP_PROVIDER`, the pipeline file… */
  providerFrom?: string | undefined;
  /** The format, as given; `auto` or absent to detect. */
  format?: string | undefined;
  /** The provider of the model named (`--model`), when the model table knows it: the target when none is named. */
  model?: { name: string; provider: ProviderName } | undefined;
}

/** The target of a provider, with a format (`auto` by default). */
export function targetFor(provider: ProviderName | ProviderSpec, format: FormatId | "auto" = "auto"): TargetSpec {
  const spec = typeof provider === "string" ? providerSpec(provider) : provider;
  if (format !== "auto" && providerOfFormat(format) !== spec) {
    throw new ConfigError(mismatch(format, spec, "--provider"));
  }
  return { provider: spec, format, formats: formatsOf(spec) };
}

function mismatch(format: FormatId, spec: ProviderSpec, from: string): string {
  const owner = providerOfFormat(format);
  const named = from.startsWith("-") ? `${from} ${spec.name}` : /^[A-Z_]+$/.test(from) ? `${from}=${spec.name}` : `${from}: ${spec.name}`;
  return (
    `--format ${format} is ${owner.label}'s, but the target is ${spec.label} (${named}): ` +
    `use --provider ${owner.name}, or one of ${spec.label}'s formats (${formatsOf(spec).join(", ")}, auto)`
  );
}

/**
 * Resolves the target. The provider is the one named (flag, environment, pipeline file — the caller has applied
 * their precedence), else the provider of the model named, else the provider of an explicit format, else Mistral. An explicit format of another provider
 * than the one named is a usage error (ConfigError) that says which to change.
 */
export function resolveTargetSpec(input: TargetInput = {}): TargetSpec {
  const { format } = input;
  let { provider, providerFrom } = input;
  if (provider === undefined && input.model !== undefined) {
    provider = input.model.provider;
    providerFrom = `--model ${input.model.name}`;
  }
  if (format !== undefined && format !== "auto" && !isFormatId(format)) {
    throw new ConfigError(`unknown format ${JSON.stringify(format)}; known: auto, ${FORMATS.join(", ")}`);
  }
  if (provider !== undefined && !isProviderName(provider)) {
    throw new ConfigError(`${providerFrom ?? "--provider"} ${JSON.stringify(provider)} is not a provider; choose ${PROVIDER_NAMES.join(" or ")}`);
  }
  if (provider === undefined) {
    return format !== undefined && format !== "auto" ? targetFor(providerOfFormat(format), format) : targetFor("mistral");
  }
  const spec = providerSpec(provider);
  if (format !== undefined && format !== "auto" && providerOfFormat(format) !== spec) {
    throw new ConfigError(mismatch(format, spec, providerFrom ?? "--provider"));
  }
  return targetFor(spec, (format ?? "auto") as FormatId | "auto");
}

/** A target given as a value, or as the `provider` / `format` shorthands of the library's options. */
export function targetOf(options: { target?: TargetSpec | undefined; provider?: string | undefined; format?: string | undefined }): TargetSpec {
  return options.target ?? resolveTargetSpec({ provider: options.provider, format: options.format });
}
