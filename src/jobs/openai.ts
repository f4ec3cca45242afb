import { ConfigError } from "../errors.js";
import { OPENAI_HYPERPARAMETERS } from "../fine-tuning.js";
import { checkRanges, type ProviderJobs } from "./provider-jobs.js";

const ADVICE = "re-run the upload with --provider openai: its Uploads API takes files up to 8 GB, so nothing is sharded";

/**
 * OpenAI's jobs (`POST /fine_tuning/jobs`): exactly one training and at most one validation file, and `method` from
 * the data's format (dpo for preference data, else supervised), each hyperparameter a number in range or `auto`.
 */
export const OPENAI_JOBS: ProviderJobs = {
  name: "openai",
  request(manifest, { train, validation }, spec) {
    const hyper = spec.hyperparameters ?? {};
    checkRanges("openai", OPENAI_HYPERPARAMETERS, hyper, (value) => value === "auto");
    if (train.length !== 1) throw new ConfigError(`OpenAI fine-tuning takes one training file; the manifest has ${train.length}: ${ADVICE}`);
    if (validation.length > 1) throw new ConfigError(`OpenAI fine-tuning takes at most one validation file; the manifest has ${validation.length}: ${ADVICE}`);
    const type = manifest.sources.some((s) => s.format === "openai-dpo") ? "dpo" : "supervised";
    return {
      model: spec.model,
      training_file: train[0]!.remote.id,
      ...(validation[0] ? { validation_file: validation[0].remote.id } : {}),
      method: { type, [type]: { hyperparameters: hyper } },
      ...(spec.suffix !== undefined ? { suffix: spec.suffix } : {}),
    };
  },
  endStatuses: ["succeeded", "failed", "cancelled"],
  successStatus: "succeeded",
  cancelledStatus: "cancelled",
  reasons(job) {
    const error = job.error as { message?: unknown } | null | undefined;
    return typeof error?.message === "string" && error.message !== "" ? [error.message] : [];
  },
  // OpenAI's job object lists no events (they are a route of their own): status changes are its progress.
  events: () => [],
};
