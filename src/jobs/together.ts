import { ConfigError } from "../errors.js";
import { type Range, rangeProblem } from "../fine-tuning.js";
import { type JobEvent, oldestFirst, type ProviderJobs } from "./provider-jobs.js";

/**
 * Together's jobs (`POST /fine-tunes`, the `together-ai` SDK's `FineTuningCreateParams`): one training file and at
 * most one validation file; `--hyperparameter` names Together's own fields. LoRA is Together's default: `lora_r`,
 * `lora_alpha` (default 2 × r, as Together's CLI), `lora_dropout`, `lora_trainable_modules` make its
 * `training_type`; `lora=false` asks for full training. The method is DPO for preference data, else SFT
 * (`train_on_inputs`, default `auto`). Every value is checked here, before anything is sent.
 */

type Kind = Range | "max-or-int" | "boolean" | "auto-or-boolean" | "string";

/** Together's create fields that `--hyperparameter` may set, with what each takes. */
export const TOGETHER_HYPERPARAMETERS: Readonly<Record<string, Kind>> = {
  n_epochs: { integer: true, min: 1, max: 100 },
  learning_rate: { min: 0, exclusiveMin: true, max: 1 },
  batch_size: "max-or-int",
  n_evals: { integer: true, min: 0 },
  n_checkpoints: { integer: true, min: 1 },
  warmup_ratio: { min: 0, max: 1 },
  weight_decay: { min: 0 },
  max_grad_norm: { min: 0 },
  min_lr_ratio: { min: 0, max: 1 },
  max_seq_length: { integer: true, min: 1 },
  gradient_accumulation_steps: { integer: true, min: 0 },
  random_seed: { integer: true, min: 0 },
  lora: "boolean",
  lora_r: { integer: true, min: 1 },
  lora_alpha: { min: 0, exclusiveMin: true },
  lora_dropout: { min: 0, max: 0.999999 },
  lora_trainable_modules: "string",
  train_on_inputs: "auto-or-boolean",
  dpo_beta: { min: 0, exclusiveMin: true },
  packing: "boolean",
  from_checkpoint: "string",
  wandb_project_name: "string",
  wandb_name: "string",
  wandb_entity: "string",
  wandb_base_url: "string",
};

const LORA_KEYS = ["lora_r", "lora_alpha", "lora_dropout", "lora_trainable_modules"];
/** Fields sent as they are (the rest become `training_type`, `training_method` or `lr_scheduler`). */
const PLAIN = ["n_epochs", "learning_rate", "batch_size", "n_evals", "n_checkpoints", "warmup_ratio", "weight_decay", "max_grad_norm", "max_seq_length", "gradient_accumulation_steps", "random_seed", "packing", "from_checkpoint", "wandb_project_name", "wandb_name", "wandb_entity", "wandb_base_url"];
/** At most 64 characters (`suffix` in the SDK's create params). */
const SUFFIX_MAX = 64;

function value(key: string, raw: number | string): number | string | boolean {
  const kind = TOGETHER_HYPERPARAMETERS[key];
  if (kind === undefined) throw new ConfigError(`unknown together hyperparameter ${JSON.stringify(key)}; known: ${Object.keys(TOGETHER_HYPERPARAMETERS).join(", ")}`);
  const bad = (what: string) => new ConfigError(`hyperparameter ${key}=${String(raw)} must be ${what}`);
  if (kind === "string") {
    if (typeof raw !== "string" || raw === "") throw bad("a non-empty string");
    return raw;
  }
  if (kind === "boolean" || kind === "auto-or-boolean") {
    if (raw === "true" || raw === "false") return raw === "true";
    if (kind === "auto-or-boolean" && raw === "auto") return raw;
    throw bad(kind === "boolean" ? "true or false" : "true, false or auto");
  }
  if (kind === "max-or-int") {
    if (raw === "max") return raw;
    if (typeof raw === "number" && Number.isInteger(raw) && raw >= 1) return raw;
    throw bad("max or an integer ≥ 1");
  }
  const problem = rangeProblem(kind, raw);
  if (problem) throw new ConfigError(`hyperparameter ${key}=${String(raw)} ${problem}`);
  return raw;
}

export const TOGETHER_JOBS: ProviderJobs = {
  name: "together",
  request(manifest, { train, validation }, spec) {
    if (train.length !== 1) {
      throw new ConfigError(`Together fine-tuning takes one training file; the manifest has ${train.length}: upload again with --merge (on by itself when run creates the job), or a larger --max-file-bytes`);
    }
    if (validation.length > 1) throw new ConfigError(`Together fine-tuning takes at most one validation file; the manifest has ${validation.length}: upload again with --merge`);
    if (spec.suffix !== undefined && spec.suffix.length > SUFFIX_MAX) throw new ConfigError(`Together's --suffix takes at most ${SUFFIX_MAX} characters`);
    if (spec.autoStart) throw new ConfigError("--auto-start is Mistral's: Together's jobs start on their own");
    const given: Record<string, number | string | boolean> = {};
    for (const [key, raw] of Object.entries(spec.hyperparameters ?? {})) given[key] = value(key, raw);
    const dpo = manifest.sources.some((s) => s.format === "together-preference");
    if (given.dpo_beta !== undefined && !dpo) throw new ConfigError("hyperparameter dpo_beta is for preference data (DPO) only; the manifest's data is not together-preference");
    if (given.train_on_inputs !== undefined && dpo) throw new ConfigError("hyperparameter train_on_inputs is for SFT only; the manifest's data is preference data (DPO)");
    const lora = LORA_KEYS.filter((k) => given[k] !== undefined);
    if (given.lora === false && lora.length > 0) throw new ConfigError(`lora=false asks for full training; ${lora.join(", ")} ${lora.length === 1 ? "is" : "are"} for LoRA only`);
    if (given.lora_r === undefined && lora.length > 0) throw new ConfigError(`${lora.join(", ")} need${lora.length === 1 ? "s" : ""} lora_r (the adapter's rank) too`);

    const body: Record<string, unknown> = {
      model: spec.model,
      training_file: train[0]!.remote.id,
      ...(validation[0] ? { validation_file: validation[0].remote.id } : {}),
    };
    for (const key of PLAIN) if (given[key] !== undefined) body[key] = given[key];
    if (given.min_lr_ratio !== undefined) body.lr_scheduler = { lr_scheduler_type: "linear", lr_scheduler_args: { min_lr_ratio: given.min_lr_ratio } };
    if (given.lora === false) body.training_type = { type: "Full" };
    else if (given.lora_r !== undefined) {
      const r = given.lora_r as number;
      body.training_type = {
        type: "Lora",
        lora_r: r,
        lora_alpha: given.lora_alpha ?? 2 * r,
        ...(given.lora_dropout !== undefined ? { lora_dropout: given.lora_dropout } : {}),
        ...(given.lora_trainable_modules !== undefined ? { lora_trainable_modules: given.lora_trainable_modules } : {}),
      };
    }
    body.training_method = dpo
      ? { method: "dpo", ...(given.dpo_beta !== undefined ? { dpo_beta: given.dpo_beta } : {}) }
      : { method: "sft", train_on_inputs: given.train_on_inputs ?? "auto" };
    if (spec.suffix !== undefined) body.suffix = spec.suffix;
    return body;
  },
  endStatuses: ["completed", "error", "cancelled"],
  successStatus: "completed",
  cancelledStatus: "cancelled",
  reasons(job) {
    const reasons: string[] = [];
    for (const event of (job.events as { type?: unknown; level?: unknown; message?: unknown }[] | undefined) ?? []) {
      if ((event?.type === "job_error" || event?.level === "error") && typeof event.message === "string" && event.message !== "") reasons.push(event.message);
    }
    return reasons;
  },
  events(job) {
    const out: JobEvent[] = [];
    for (const event of (job.events as { created_at?: unknown; message?: unknown; type?: unknown }[] | undefined) ?? []) {
      if (typeof event?.created_at !== "string" || Number.isNaN(Date.parse(event.created_at))) continue;
      const message = typeof event.message === "string" && event.message !== "" ? event.message : String(event.type ?? "event");
      out.push({ at: new Date(Date.parse(event.created_at)).toISOString(), message });
    }
    return oldestFirst(out);
  },
};
