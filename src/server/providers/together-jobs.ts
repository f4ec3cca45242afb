import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerContext } from "../context.js";
import { badRequest as bad, readJson, sendJson } from "../http.js";
import { checkJobFiles, findJob, jobsOf, launchJob, newJob, requestCancel, timeline } from "../jobs.js";
import type { StoredJob } from "../store.js";

/**
 * Together AI's fine-tuning routes (`/v1/fine-tunes`, as its `together-ai` SDK calls them) on the shared job
 * lifecycle: a job's files are checked with ftprep's validator for Together's formats, and the job moves pending →
 * queued → running → completed (or error when its data fails, cancelled when asked), each step one event of the
 * job. Times are strings (ISO 8601) and ids `ft-…`, as Together answers them.
 */

/** Together's words for the shared lifecycle's steps. */
const STATUS: Record<string, string> = {
  QUEUED: "pending",
  VALIDATING: "pending",
  VALIDATED: "queued",
  RUNNING: "running",
  SUCCESS: "completed",
  FAILED_VALIDATION: "error",
  FAILED: "error",
  CANCELLATION_REQUESTED: "cancel_requested",
  CANCELLED: "cancelled",
};

/** Each step as the event Together lists for it: its type (the SDK's `FinetuneEventType`) and message. */
const EVENTS: Record<string, { type: string; message: string }> = {
  QUEUED: { type: "job_pending", message: "Fine-tune job created" },
  VALIDATING: { type: "training_data_downloading", message: "Checking the training data with Together's rules" },
  VALIDATED: { type: "training_data_download_complete", message: "The data passed the checks; the job is queued" },
  RUNNING: { type: "training_start", message: "Training started" },
  SUCCESS: { type: "job_complete", message: "Training completed" },
  FAILED_VALIDATION: { type: "job_error", message: "The data failed the checks" },
  FAILED: { type: "job_error", message: "The job failed" },
  CANCELLATION_REQUESTED: { type: "cancel_requested", message: "Cancellation requested" },
  CANCELLED: { type: "job_stopped", message: "The job was cancelled" },
};

/** The create fields the SDK's `FineTuningCreateParams` has; any other is refused (400), as an unknown parameter. */
const CREATE_KEYS = new Set([
  "model",
  "training_file",
  "validation_file",
  "batch_size",
  "early_stopping_enabled",
  "early_stopping_min_delta",
  "early_stopping_patience",
  "early_stopping_warmup_evals",
  "from_checkpoint",
  "from_hf_model",
  "gradient_accumulation_steps",
  "hf_api_token",
  "hf_model_revision",
  "hf_output_repo_name",
  "learning_rate",
  "lr_scheduler",
  "max_grad_norm",
  "max_seq_length",
  "multimodal_params",
  "n_checkpoints",
  "n_epochs",
  "n_evals",
  "packing",
  "random_seed",
  "suffix",
  "train_on_inputs",
  "training_method",
  "training_type",
  "wandb_api_key",
  "wandb_base_url",
  "wandb_entity",
  "wandb_name",
  "wandb_project_name",
  "warmup_ratio",
  "weight_decay",
]);
/** Keys never stored nor answered: they carry someone's credentials. */
const SECRET_KEYS = new Set(["wandb_api_key", "hf_api_token"]);

/** Together's parameters of a job, as stored (secrets left out). */
export type TogetherParams = Record<string, unknown>;

function integerAtLeast(body: Record<string, unknown>, key: string, min: number): void {
  const v = body[key];
  if (v !== undefined && v !== null && !(typeof v === "number" && Number.isInteger(v) && v >= min)) throw bad(`\`${key}\` must be an integer ≥ ${min}`, key);
}

function numberIn(body: Record<string, unknown>, key: string, min: number, max: number, exclusiveMin = false): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (typeof v !== "number" || !Number.isFinite(v) || (exclusiveMin ? v <= min : v < min) || v > max) throw bad(`\`${key}\` must be a number ${exclusiveMin ? ">" : "≥"} ${min}${Number.isFinite(max) ? ` and ≤ ${max}` : ""}`, key);
}

function checkTrainingType(value: unknown): void {
  if (value === undefined || value === null) return;
  const t = value as Record<string, unknown>;
  if (typeof value !== "object" || Array.isArray(value)) throw bad("`training_type` must be an object", "training_type");
  if (t.type === "Full") return;
  if (t.type !== "Lora") throw bad("`training_type.type` must be Lora or Full", "training_type");
  integerAtLeast(t, "lora_r", 1);
  if (t.lora_r === undefined) throw bad("`training_type.lora_r` is required for LoRA", "training_type.lora_r");
  numberIn(t, "lora_alpha", 0, Infinity, true);
  if (t.lora_alpha === undefined) throw bad("`training_type.lora_alpha` is required for LoRA", "training_type.lora_alpha");
  const dropout = t.lora_dropout;
  if (dropout !== undefined && !(typeof dropout === "number" && dropout >= 0 && dropout < 1)) throw bad("`training_type.lora_dropout` must be ≥ 0 and < 1", "training_type.lora_dropout");
  if (t.lora_trainable_modules !== undefined && typeof t.lora_trainable_modules !== "string") throw bad("`training_type.lora_trainable_modules` must be a string", "training_type.lora_trainable_modules");
}

function checkTrainingMethod(value: unknown): "sft" | "dpo" {
  if (value === undefined || value === null) return "sft";
  const m = value as Record<string, unknown>;
  if (typeof value !== "object" || Array.isArray(value)) throw bad("`training_method` must be an object", "training_method");
  if (m.method === "sft") {
    const inputs = m.train_on_inputs;
    if (inputs !== undefined && inputs !== "auto" && typeof inputs !== "boolean") throw bad("`training_method.train_on_inputs` must be true, false or auto", "training_method.train_on_inputs");
    return "sft";
  }
  if (m.method === "dpo") {
    numberIn(m, "dpo_beta", 0, Infinity, true);
    return "dpo";
  }
  throw bad("`training_method.method` must be sft or dpo", "training_method.method");
}

/** Checks a create (or estimate) body as Together's API does: the files exist, each value is of its kind. */
function checkBody(ctx: ServerContext, body: Record<string, unknown>, keys: ReadonlySet<string>): "sft" | "dpo" {
  for (const key of Object.keys(body)) if (!keys.has(key)) throw bad(`unknown parameter \`${key}\``, key);
  if (typeof body.training_file !== "string" || !ctx.store.files.has(body.training_file)) throw bad(`training_file ${JSON.stringify(body.training_file ?? null)} does not exist`, "training_file");
  const validation = body.validation_file;
  if (validation !== undefined && validation !== null && validation !== "" && (typeof validation !== "string" || !ctx.store.files.has(validation))) {
    throw bad(`validation_file ${JSON.stringify(validation)} does not exist`, "validation_file");
  }
  integerAtLeast(body, "n_epochs", 1);
  integerAtLeast(body, "n_evals", 0);
  integerAtLeast(body, "n_checkpoints", 1);
  integerAtLeast(body, "max_seq_length", 1);
  integerAtLeast(body, "gradient_accumulation_steps", 0);
  numberIn(body, "learning_rate", 0, 1, true);
  numberIn(body, "warmup_ratio", 0, 1);
  numberIn(body, "weight_decay", 0, Infinity);
  numberIn(body, "max_grad_norm", 0, Infinity);
  const batch = body.batch_size;
  if (batch !== undefined && batch !== "max" && !(typeof batch === "number" && Number.isInteger(batch) && batch >= 1)) throw bad("`batch_size` must be max or an integer ≥ 1", "batch_size");
  if (body.suffix !== undefined && body.suffix !== null && (typeof body.suffix !== "string" || body.suffix.length > 64)) throw bad("`suffix` must be a string of at most 64 characters", "suffix");
  for (const key of ["wandb_base_url", "wandb_entity", "wandb_name", "wandb_project_name", "from_checkpoint", "from_hf_model"]) {
    if (body[key] !== undefined && body[key] !== null && typeof body[key] !== "string") throw bad(`\`${key}\` must be a string`, key);
  }
  checkTrainingType(body.training_type);
  return checkTrainingMethod(body.training_method);
}

const iso = (ms: number) => new Date(ms).toISOString();

function outputName(job: StoredJob): string {
  const suffix = job.suffix ? `-${job.suffix}` : "";
  return `ftprep-local/${job.model.split("/").pop()}${suffix}-${job.id.slice(3, 11)}`;
}

/** Together's FinetuneResponse (with `events`), or the truncated one its create, list and cancel answer. */
function togetherJob(ctx: ServerContext, job: StoredJob, full: boolean): Record<string, unknown> {
  const steps = timeline(ctx, job);
  const last = steps.at(-1)!;
  const status = STATUS[last.status]!;
  const params = job.together ?? {};
  const v = job.validation;
  const epochs = typeof params.n_epochs === "number" ? params.n_epochs : 1;
  const out: Record<string, unknown> = {
    id: job.id,
    status,
    user_id: "ftprep-local",
    created_at: iso(job.created_ms),
    updated_at: iso(last.ms),
    model: job.model,
    training_file: job.training_files[0]!.file_id,
    validation_file: job.validation_files[0] ?? "",
    n_epochs: epochs,
    n_evals: params.n_evals ?? 0,
    n_checkpoints: params.n_checkpoints ?? 1,
    batch_size: params.batch_size ?? "max",
    learning_rate: params.learning_rate ?? 0.00001,
    warmup_ratio: params.warmup_ratio ?? 0,
    weight_decay: params.weight_decay ?? 0,
    max_grad_norm: params.max_grad_norm ?? 1,
    lr_scheduler: params.lr_scheduler ?? { lr_scheduler_type: "linear", lr_scheduler_args: { min_lr_ratio: 0 } },
    training_type: params.training_type ?? { type: "Lora", lora_r: 8, lora_alpha: 16, lora_dropout: 0, lora_trainable_modules: "all-linear" },
    training_method: params.training_method ?? { method: "sft", train_on_inputs: "auto" },
    suffix: job.suffix ?? undefined,
    wandb_project_name: params.wandb_project_name,
    model_output_name: status === "completed" ? outputName(job) : undefined,
    token_count: v?.ok ? v.data_tokens * epochs : undefined,
    trainingfile_numlines: ctx.store.files.get(job.training_files[0]!.file_id)?.num_lines,
    trainingfile_size: ctx.store.files.get(job.training_files[0]!.file_id)?.bytes,
    total_price: 0,
    epochs_completed: status === "completed" ? epochs : 0,
    queue_depth: 0,
  };
  if (full) {
    out.events = steps.map((s) => {
      const e = EVENTS[s.status]!;
      const failed = s.status === "FAILED_VALIDATION" && v && !v.ok;
      return {
        object: "fine-tune-event",
        created_at: iso(s.ms),
        type: e.type,
        level: failed ? "error" : "info",
        message: failed ? `${e.message}: ${v.reasons.join("; ")}` : s.status === "SUCCESS" ? `${e.message}: ${outputName(job)}` : e.message,
      };
    });
  }
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

/** `POST /v1/fine-tunes` */
export async function createTogetherJob(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  if (typeof body.model !== "string" || body.model === "") throw bad("`model` is required", "model");
  const method = checkBody(ctx, body, CREATE_KEYS);
  const params: TogetherParams = {};
  for (const [key, value] of Object.entries(body)) if (!SECRET_KEYS.has(key) && value !== null && value !== undefined) params[key] = value;
  params.dpo = method === "dpo";
  const validation = typeof body.validation_file === "string" && body.validation_file !== "" ? [body.validation_file] : [];
  const job = newJob(ctx, {
    id: `ft-${randomUUID()}`,
    flavor: "together",
    model: body.model,
    training_files: [{ file_id: body.training_file as string, weight: 1 }],
    validation_files: validation,
    suffix: typeof body.suffix === "string" ? body.suffix : null,
    together: params,
  });
  await launchJob(ctx, job);
  sendJson(res, 200, togetherJob(ctx, job, false));
}

function findTogetherJob(ctx: ServerContext, id: string): StoredJob {
  return findJob(ctx, id, ["together"]);
}

/** `GET /v1/fine-tunes/{id}`: the job with its events. */
export function retrieveTogetherJob(ctx: ServerContext, id: string, res: ServerResponse): void {
  sendJson(res, 200, togetherJob(ctx, findTogetherJob(ctx, id), true));
}

/** `GET /v1/fine-tunes`: every Together job, newest first. */
export function listTogetherJobs(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, { data: jobsOf(ctx, "together").map((j) => togetherJob(ctx, j, false)) });
}

/** `POST /v1/fine-tunes/{id}/cancel`: a job that has ended cannot be cancelled (409). */
export async function cancelTogetherJob(ctx: ServerContext, id: string, res: ServerResponse): Promise<void> {
  const job = await requestCancel(ctx, findTogetherJob(ctx, id));
  sendJson(res, 200, togetherJob(ctx, job, false));
}

/** `GET /v1/fine-tunes/{id}/events` */
export function togetherEvents(ctx: ServerContext, id: string, res: ServerResponse): void {
  sendJson(res, 200, { data: togetherJob(ctx, findTogetherJob(ctx, id), true).events });
}

/** `GET /v1/fine-tunes/{id}/checkpoints`: the simulation trains nothing, so there are none. */
export function togetherCheckpoints(ctx: ServerContext, id: string, res: ServerResponse): void {
  findTogetherJob(ctx, id);
  sendJson(res, 200, { data: [] });
}

const ESTIMATE_KEYS = new Set(["training_file", "validation_file", "model", "n_epochs", "n_evals", "training_method", "training_type", "from_checkpoint"]);

/**
 * `POST /v1/fine-tunes/estimate-price`: the files are checked as a job's would be; data that would fail is
 * `estimation_available: false` with Together's reason, else the token counts (estimated) at a price of 0 — the
 * local server charges nothing.
 */
export async function estimateTogetherPrice(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const method = checkBody(ctx, body, ESTIMATE_KEYS);
  const epochs = typeof body.n_epochs === "number" ? body.n_epochs : 1;
  // The files checked as a job of this kind would check them; the job is never stored.
  const probe = (file: string): StoredJob =>
    newJob(ctx, {
      id: "estimate",
      flavor: "together",
      model: typeof body.model === "string" ? body.model : "",
      training_files: [{ file_id: file, weight: 1 }],
      together: { dpo: method === "dpo" },
    });
  const train = await checkJobFiles(ctx, probe(body.training_file as string));
  if (!train.ok) {
    sendJson(res, 200, { estimation_available: false, unavailable_reason: "train_file_invalid" });
    return;
  }
  const validation = typeof body.validation_file === "string" && body.validation_file !== "" ? body.validation_file : undefined;
  let evalTokens = 0;
  if (validation !== undefined) {
    const checked = await checkJobFiles(ctx, probe(validation));
    if (!checked.ok) {
      sendJson(res, 200, { estimation_available: false, unavailable_reason: "eval_file_invalid" });
      return;
    }
    evalTokens = checked.data_tokens * (typeof body.n_evals === "number" ? body.n_evals : 0);
  }
  sendJson(res, 200, {
    estimation_available: true,
    allowed_to_proceed: true,
    estimated_train_token_count: train.data_tokens * epochs,
    estimated_eval_token_count: evalTokens,
    estimated_total_price: 0,
    user_limit: 0,
  });
}
