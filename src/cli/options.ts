import { type Command, InvalidArgumentError, Option } from "commander";
import { parseByteSize } from "../guard/size.js";
import { resolveTargetSpec, type TargetSpec } from "../target/target-spec.js";
import { modelInfo } from "../tokens/models.js";
import { PROVIDER_NAMES } from "../types.js";

/** commander argument parser: a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("Expected a positive integer.");
  return n;
}

/** commander argument parser: a byte size such as 1048576, 100MB or 64MiB. */
export function byteSize(value: string): number {
  const n = parseByteSize(value);
  if (n === undefined || n < 1) throw new InvalidArgumentError("Expected a size in bytes, such as 1048576, 100MB or 64MiB.");
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** commander argument parser: a duration such as 90 (seconds), 90s, 15m, 2h or 500ms; milliseconds out. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? "s"]! : NaN;
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError("Expected a duration such as 90 (seconds), 90s, 15m or 2h.");
  return Math.round(ms);
}

/** The request-timeout option of every command that talks to a provider (`jobs wait --timeout` bounds the wait). */
export const REQUEST_TIMEOUT_FLAG = "--request-timeout <duration>";
export const REQUEST_TIMEOUT_HELP =
  "how long one HTTP request may wait for the answer, and between its body chunks (500ms, 30s, 5m; default 10m); then ERR_TIMEOUT";

/** A duration in words a person reads at a glance: 90s, 15m, 2h30m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ""}`;
}

/** `--provider`: the same choices and environment variable on every command that validates, prepares or uploads. */
export function providerOption(): Option {
  return new Option("--provider <name>", "the provider the data is for: its formats, rules and limits apply (default: the provider of --format, else mistral)")
    .choices([...PROVIDER_NAMES])
    .env("FTPREP_PROVIDER");
}

/**
 * The target from the parsed flags, resolved once: `--provider` (or FTPREP_PROVIDER), else the pipeline file's
 * provider, else the provider of an explicit `--format`, else mistral. A `--format` of another provider than the
 * one named is a usage error.
 */
export function targetFromFlags(
  command: Command,
  flags: { provider?: string | undefined; format?: string | undefined; model?: string | undefined },
  pipeline?: { file: string; provider?: string | undefined; format?: string | undefined },
): TargetSpec {
  const source = command.getOptionValueSource("provider");
  const named = source === "cli" || source === "env";
  const provider = named ? flags.provider : pipeline?.provider;
  const providerFrom = source === "env" ? "FTPREP_PROVIDER" : named ? "--provider" : pipeline ? `the pipeline file ${pipeline.file}` : undefined;
  const formatSource = command.getOptionValueSource("format");
  const format = formatSource === "cli" || formatSource === "env" || pipeline?.format === undefined ? flags.format : pipeline.format;
  const known = flags.model !== undefined ? modelInfo(flags.model) : undefined;
  return resolveTargetSpec({ provider, providerFrom, format, ...(known ? { model: { name: flags.model!, provider: known.provider } } : {}) });
}

/** `--workers N`: the threads that validate (or, as `what` says, rewrite), on every command that reads records. */
export function workersOption(what = "threads that validate"): Option {
  return new Option("--workers <n>", `${what} (default: one per core; 1 for less than 32 MiB of input); the results are the same whatever N`)
    .argParser(positiveInt)
    .env("FTPREP_WORKERS");
}
