import { ConfigError } from "../errors.js";
import { MISTRAL_HYPERPARAMETERS } from "../fine-tuning.js";
import { MISTRAL_BASE_URL } from "../target/mistral.js";
import { checkRanges, type JobEvent, oldestFirst, type ProviderJobs } from "./provider-jobs.js";

/**
 * Mistral's jobs (`POST /v1/fine_tuning/jobs`): every training file with its weight, every validation file, and
 * `invalid_sample_skip_percentage` when the uploads left invalid records out. Retired on Mistral's public API (410
 * since August 2026); compatible deployments and the local server still serve them.
 */
export const MISTRAL_JOBS: ProviderJobs = {
  name: "mistral",
  request(manifest, { train, validation }, spec) {
    const hyper = spec.hyperparameters ?? {};
    checkRanges("mistral", MISTRAL_HYPERPARAMETERS, hyper);
    if (spec.suffix !== undefined && spec.suffix.length > 18) throw new ConfigError("Mistral's --suffix takes at most 18 characters");
    const skipped = manifest.sources.some((s) => s.skip_invalid);
    const fraction = typeof manifest.options.max_invalid_fraction === "number" ? manifest.options.max_invalid_fraction : 0.05;
    return {
      model: spec.model,
      training_files: train.map((f) => ({ file_id: f.remote.id, weight: f.weight })),
      validation_files: validation.map((f) => f.remote.id),
      hyperparameters: { learning_rate: 0.0001, ...hyper },
      ...(spec.suffix !== undefined ? { suffix: spec.suffix } : {}),
      auto_start: spec.autoStart ?? false,
      // Records left out client-side were counted there; let the server skip the same share, at most its 50%.
      invalid_sample_skip_percentage: skipped ? Math.min(0.5, fraction) : 0,
    };
  },
  notice(baseUrl) {
    let host: string;
    try {
      host = new URL(baseUrl).host;
    } catch {
      return undefined;
    }
    if (host !== new URL(MISTRAL_BASE_URL).host) return undefined;
    return "Mistral's public fine-tuning jobs API is retired (410 Gone since August 2026): this request will most likely be refused. Compatible deployments still serve it (--base-url URL, or MISTRAL_BASE_URL); to train now, upload to a provider that does (--provider together)";
  },
  endStatuses: ["SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"],
  successStatus: "SUCCESS",
  cancelledStatus: "CANCELLED",
  reasons(job) {
    const reasons: string[] = [];
    for (const event of (job.events as { data?: { status?: string; reasons?: unknown; error?: unknown } | null }[] | undefined) ?? []) {
      const data = event?.data;
      if (data && (data.status === "FAILED_VALIDATION" || data.status === "FAILED")) {
        if (Array.isArray(data.reasons)) reasons.push(...data.reasons.map(String));
        else if (data.error) reasons.push(String(data.error));
      }
    }
    return reasons;
  },
  events(job) {
    const out: JobEvent[] = [];
    for (const event of (job.events as { name?: unknown; created_at?: unknown; data?: { status?: unknown } | null }[] | undefined) ?? []) {
      if (typeof event?.created_at !== "number" || typeof event.name !== "string") continue;
      const status = typeof event.data?.status === "string" ? ` ${event.data.status}` : "";
      out.push({ at: new Date(event.created_at * 1000).toISOString(), message: `${event.name}${status}` });
    }
    return oldestFirst(out);
  },
};
