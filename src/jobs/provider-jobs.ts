import { ConfigError } from "../errors.js";
import { type Range, rangeProblem } from "../fine-tuning.js";
import type { Manifest, ManifestFile } from "../manifest/manifest.js";
import type { ProviderName, RemoteJob } from "../providers/types.js";

/** What a job is to be made of, besides the manifest's files. */
export interface JobSpec {
  model: string;
  suffix?: string;
  /** Hyperparameters by their API names (Mistral: training_steps, learning_rate…; OpenAI: n_epochs, batch_size…). */
  hyperparameters?: Record<string, number | string>;
  /** Mistral: start training as soon as validation passes. */
  autoStart?: boolean;
}

/** One event of a job, as progress: when, and what in one line. */
export interface JobEvent {
  /** ISO 8601. */
  at: string;
  message: string;
}

/** The manifest's files that went to its current target, by split. */
export interface JobFiles {
  train: ManifestFile[];
  validation: ManifestFile[];
}

/**
 * One provider's fine-tuning jobs, as data and pure functions: how a manifest becomes its create request (checked
 * before anything is sent), which statuses end a job and which of them is success, why a job failed, and its
 * estimate when it offers one. One module per provider (`mistral.ts`, `openai.ts`, `together.ts`), one line in
 * `registry.ts`; the HTTP calls are the provider client's (`providers/`).
 */
export interface ProviderJobs {
  readonly name: ProviderName;
  /** The create request for a manifest's files; a ConfigError (usage) when the spec or the files do not fit. */
  request(manifest: Manifest, files: JobFiles, spec: JobSpec): Record<string, unknown>;
  /** Statuses a job ends in, in the provider's words. */
  readonly endStatuses: readonly string[];
  /** The status of a job that trained. */
  readonly successStatus: string;
  /** The status of a cancelled job. */
  readonly cancelledStatus: string;
  /** Why a job failed, from the job object (its error, its events). */
  reasons(job: RemoteJob): string[];
  /**
   * A line to show before a job is created at `baseUrl`, when the provider has something to say first (Mistral: its
   * public jobs API is retired); undefined otherwise.
   */
  notice?(baseUrl: string): string | undefined;
  /** The events the job object lists, oldest first (none when the provider's job object has none: OpenAI). */
  events(job: RemoteJob): JobEvent[];
}

/**
 * Checks hyperparameters against a provider's ranges before anything is sent: an unknown name or a value out of
 * range is a ConfigError naming it. `accepts` lets a provider take a word for a number (OpenAI's `auto`).
 */
export function checkRanges(provider: ProviderName, ranges: Readonly<Record<string, Range>>, given: Record<string, number | string>, accepts?: (value: number | string) => boolean): void {
  for (const [key, value] of Object.entries(given)) {
    const range = ranges[key];
    if (!range) throw new ConfigError(`unknown ${provider} hyperparameter ${JSON.stringify(key)}; known: ${Object.keys(ranges).join(", ")}`);
    if (accepts?.(value)) continue;
    const problem = rangeProblem(range, value);
    if (problem) throw new ConfigError(`hyperparameter ${key}=${String(value)} ${problem}`);
  }
}

/** Events in time order (a provider may list them newest first); ties keep the provider's order. */
export function oldestFirst(events: JobEvent[]): JobEvent[] {
  return events.map((e, i) => ({ e, i, t: Date.parse(e.at) })).sort((a, b) => (a.t - b.t) || (a.i - b.i)).map(({ e }) => e);
}
