import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { MISTRAL_HYPERPARAMETERS, rangeProblem } from "../fine-tuning.js";
import { validateFile } from "../validate/file.js";
import { tooFewExamples } from "../target/job-rules.js";
import { targetFor, type TargetSpec } from "../target/target-spec.js";
import type { ServerContext } from "./context.js";
import { badRequest as bad, HttpError, queryInt, readJson, sendJson, unprocessable } from "./http.js";
import { processAlive, type StoredJob } from "./store.js";

/**
 * Fine-tuning jobs, Mistral's and OpenAI's, on one store (Together's routes, `providers/together-jobs.ts`, use the
 * same lifecycle). A job's lifecycle is simulated but its validation is
 * real: its files go through ftprep's validator in the background. State is derived from the job's timestamps
 * and the server's clock, so a job created by one process advances while another reads it.
 *
 * Mistral: QUEUED → VALIDATING → VALIDATED | FAILED_VALIDATION → (start, or auto_start) RUNNING → SUCCESS;
 * cancel → CANCELLATION_REQUESTED → CANCELLED. OpenAI: validating_files → running → succeeded | failed; cancelled.
 */

const ACTIVE = new Set(["QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING"]);
const TERMINAL = new Set(["SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"]);

const MISTRAL_DEFAULTS: Record<string, unknown> = {
  training_steps: null,
  learning_rate: 0.0001,
  weight_decay: 0.1,
  warmup_fraction: 0.05,
  epochs: null,
  seq_len: null,
  fim_ratio: 0.9,
};

const MISTRAL_JOB_KEYS = new Set([
  "model",
  "training_files",
  "validation_files",
  "hyperparameters",
  "suffix",
  "integrations",
  "auto_start",
  "invalid_sample_skip_percentage",
  "job_type",
  "repositories",
  "classifier_targets",
]);

export interface Step {
  status: string;
  ms: number;
  data?: Record<string, unknown>;
}

/** The job's history up to now: every status it has reached, with when (the shared lifecycle's words). */
export function timeline(ctx: ServerContext, job: StoredJob): Step[] {
  const { queuedMs, validationMs, queueMs, trainingMs } = ctx.jobTimings;
  // A job waits in QUEUED for `queuedMs` (as Mistral's do until a worker takes them), then validates.
  const validating = job.created_ms + queuedMs;
  const steps: Step[] = [
    { status: "QUEUED", ms: job.created_ms },
    { status: "VALIDATING", ms: validating },
  ];
  const v = job.validation;
  if (v) {
    const validated = Math.max(validating + validationMs, v.done_ms);
    if (!v.ok) {
      steps.push({ status: "FAILED_VALIDATION", ms: validated, data: { error: v.reasons.join("; "), reasons: v.reasons } });
    } else {
      steps.push({ status: "VALIDATED", ms: validated });
      const start = job.auto_start ? validated + queueMs : job.started_ms;
      if (start !== null) {
        steps.push({ status: "RUNNING", ms: Math.max(start, validated) });
        steps.push({ status: "SUCCESS", ms: Math.max(start, validated) + trainingMs });
      }
    }
  }
  const now = ctx.now();
  let reached = steps.filter((s) => s.ms <= now);
  if (job.cancelled_ms !== null) {
    reached = reached.filter((s) => s.ms <= job.cancelled_ms!);
    reached.push({ status: "CANCELLATION_REQUESTED", ms: job.cancelled_ms }, { status: "CANCELLED", ms: job.cancelled_ms });
  }
  return reached;
}

function statusOf(ctx: ServerContext, job: StoredJob): string {
  return timeline(ctx, job).at(-1)!.status;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

function fineTunedModel(job: StoredJob): string {
  const day = new Date(job.created_ms).toISOString().slice(0, 10).replace(/-/g, "");
  return `ft:${job.model}:${job.suffix ?? "ftprep"}:${day}:${job.id.slice(0, 8)}`;
}

function epochs(job: StoredJob): number {
  const e = job.hyperparameters.epochs ?? job.hyperparameters.n_epochs;
  return typeof e === "number" && e > 0 ? e : 1;
}

/** Mistral's DetailedJobOut. */
function mistralJob(ctx: ServerContext, job: StoredJob): Record<string, unknown> {
  const steps = timeline(ctx, job);
  const status = steps.at(-1)!.status;
  const v = job.validation;
  const out: Record<string, unknown> = {
    id: job.id,
    object: "job",
    job_type: job.job_type,
    auto_start: job.auto_start,
    model: job.model,
    status,
    created_at: seconds(job.created_ms),
    modified_at: seconds(steps.at(-1)!.ms),
    training_files: job.training_files.map((f) => f.file_id),
    validation_files: job.validation_files,
    fine_tuned_model: status === "SUCCESS" ? fineTunedModel(job) : null,
    suffix: job.suffix,
    integrations: job.integrations,
    trained_tokens: status === "SUCCESS" && v ? v.data_tokens * epochs(job) : null,
    metadata: {
      expected_duration_seconds: Math.round(ctx.jobTimings.trainingMs / 1000),
      cost: 0,
      cost_currency: "EUR",
      train_tokens_per_step: null,
      train_tokens: v ? v.data_tokens * epochs(job) : null,
      data_tokens: v ? v.data_tokens : null,
      estimated_start_time: null,
    },
    hyperparameters: job.hyperparameters,
    events: steps.map((s) => ({ name: "status-updated", data: { status: s.status, ...s.data }, created_at: seconds(s.ms) })),
    checkpoints: [],
  };
  if (job.job_type === "classifier") out.classifier_targets = job.classifier_targets ?? [];
  else out.repositories = [];
  return out;
}

const OPENAI_STATUS: Record<string, string> = {
  QUEUED: "validating_files",
  VALIDATING: "validating_files",
  VALIDATED: "queued",
  RUNNING: "running",
  SUCCESS: "succeeded",
  FAILED_VALIDATION: "failed",
  FAILED: "failed",
  CANCELLATION_REQUESTED: "cancelled",
  CANCELLED: "cancelled",
};

/** OpenAI's FineTuningJob. */
function openaiJob(ctx: ServerContext, job: StoredJob): Record<string, unknown> {
  const steps = timeline(ctx, job);
  const last = steps.at(-1)!;
  const status = OPENAI_STATUS[last.status]!;
  const v = job.validation;
  const o = job.openai!;
  const method = o.method ?? { type: "supervised", supervised: { hyperparameters: job.hyperparameters } };
  return {
    id: job.id,
    object: "fine_tuning.job",
    created_at: seconds(job.created_ms),
    error:
      status === "failed" && v
        ? { code: "invalid_training_file", message: v.reasons.join("; "), param: "training_file" }
        : null,
    fine_tuned_model: status === "succeeded" ? fineTunedModel(job) : null,
    finished_at: ["succeeded", "failed", "cancelled"].includes(status) ? seconds(last.ms) : null,
    hyperparameters: job.hyperparameters,
    model: job.model,
    organization_id: "org-ftprep-local",
    result_files: [],
    seed: o.seed,
    status,
    trained_tokens: status === "succeeded" && v ? v.data_tokens * epochs(job) : null,
    training_file: job.training_files[0]!.file_id,
    validation_file: job.validation_files[0] ?? null,
    estimated_finish: null,
    integrations: null,
    metadata: o.metadata,
    method,
    user_provided_suffix: o.suffix,
  };
}

/**
 * Validates, in the background, the jobs of the store whose validation no running process is doing: left unfinished
 * by a stopped server, or by another process on the same store that has exited since (an embedded run killed
 * mid-validation). Each is marked as this process's work first, so it is taken over once.
 */
export async function adoptUnvalidatedJobs(ctx: ServerContext): Promise<void> {
  for (const job of ctx.store.jobs.values()) {
    if (job.validation !== null || (job.validator_pid !== undefined && processAlive(job.validator_pid))) continue;
    const mine = await ctx.store.updateJob(job.id, (latest) => {
      latest.validator_pid = process.pid;
    });
    if (mine && mine.validation === null) ctx.track(validateJob(ctx, mine));
  }
}

/**
 * A new job of any provider: its own fields over the lifecycle's starting point — created now, nothing validated,
 * started or cancelled, its validation this process's work.
 */
export function newJob(ctx: ServerContext, fields: Pick<StoredJob, "id" | "flavor" | "model" | "training_files"> & Partial<StoredJob>): StoredJob {
  const { id, flavor, model, training_files, ...own } = fields;
  return {
    id,
    flavor,
    model,
    created_ms: ctx.now(),
    training_files,
    validation_files: [],
    hyperparameters: {},
    suffix: null,
    auto_start: true,
    job_type: "completion",
    invalid_sample_skip_percentage: 0,
    integrations: [],
    classifier_targets: null,
    started_ms: null,
    cancelled_ms: null,
    validation: null,
    validator_pid: process.pid,
    openai: null,
    ...own,
  };
}

/** Stores a new job and starts checking its files in the background: the lifecycle runs from there. */
export async function launchJob(ctx: ServerContext, job: StoredJob): Promise<void> {
  await ctx.store.saveJob(job);
  ctx.track(validateJob(ctx, job));
}

/** Validates a job's files and records the verdict in the job's record. */
export async function validateJob(ctx: ServerContext, job: StoredJob): Promise<void> {
  const verdict = await checkJobFiles(ctx, job);
  await ctx.store.updateJob(job.id, (latest) => {
    latest.validation = verdict;
  });
}

/**
 * The target a job's files are checked for: the job's provider, and the format its kind of job takes (OpenAI: DPO
 * for a `dpo` method, else chat; Mistral: classifier for a classifier job, else detected among Mistral's formats).
 */
function jobTarget(job: StoredJob): TargetSpec {
  if (job.flavor === "openai") return targetFor("openai", job.openai?.method?.type === "dpo" ? "openai-dpo" : "openai-chat");
  if (job.flavor === "together") return targetFor("together", job.together?.dpo === true ? "together-preference" : "auto");
  return targetFor("mistral", job.job_type === "classifier" ? "mistral-classifier" : "auto");
}

/**
 * Checks a job's files with ftprep's validator, for the job's provider: the same formats, record rules and per-job
 * rules (E_TOO_FEW_EXAMPLES on the training data) the client applies, so a job never succeeds here on data the real
 * provider would refuse. The verdict, with reasons a person can act on.
 */
export async function checkJobFiles(ctx: ServerContext, job: StoredJob): Promise<NonNullable<StoredJob["validation"]>> {
  const reasons: string[] = [];
  let dataTokens = 0;
  let trainingRecords = 0;
  const target = jobTarget(job);
  const files = [...job.training_files.map((f) => ({ id: f.file_id, training: true })), ...job.validation_files.map((id) => ({ id, training: false }))];
  for (const { id, training } of files) {
    const file = ctx.store.files.get(id);
    if (!file) {
      reasons.push(`file ${id} no longer exists`);
      continue;
    }
    try {
      const report = await validateFile(ctx.store.dataPath(id), { target, maxIssues: 3, label: file.filename });
      if (training) {
        dataTokens += report.stats.estimatedTokens;
        trainingRecords += report.valid;
      }
      const fileLevel = report.issues.filter((i) => i.line === 0 && i.severity === "error");
      const share = report.records > 0 ? report.invalid / report.records : 1;
      if (fileLevel.length > 0 || (report.invalid > 0 && share > job.invalid_sample_skip_percentage)) {
        const codes = Object.entries(report.counts)
          .filter(([code]) => code.startsWith("E_"))
          .map(([code, n]) => `${code} ×${n}`)
          .join(", ");
        const example = report.issues.find((i) => i.severity === "error");
        const where = example ? `; e.g. line ${example.line}: ${example.path || "/"} ${example.code} ${example.message}` : "";
        const hint = report.hints?.[0] ? `; hint: ${report.hints[0].message}` : "";
        reasons.push(`${file.filename}: ${report.invalid} of ${report.records} records invalid (${codes})${where}${hint}`);
      }
    } catch (error) {
      reasons.push(`${file.filename}: could not be read (${(error as Error).message})`);
    }
  }
  const tooFew = tooFewExamples(target.provider, trainingRecords, job.training_files.length);
  if (tooFew !== undefined) reasons.push(`E_TOO_FEW_EXAMPLES: ${tooFew}`);
  return { ok: reasons.length === 0, reasons, data_tokens: dataTokens, done_ms: ctx.now() };
}

function hyperparameters(input: unknown): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw unprocessable("Field required", ["body", "hyperparameters"], input ?? null, "missing");
  }
  const out: Record<string, unknown> = { ...MISTRAL_DEFAULTS };
  for (const [key, value] of Object.entries(input)) {
    const range = MISTRAL_HYPERPARAMETERS[key];
    if (!range) throw unprocessable("Extra inputs are not permitted", ["body", "hyperparameters", key], value, "extra_forbidden");
    if (value === null) {
      out[key] = null;
      continue;
    }
    const problem = rangeProblem(range, value);
    if (problem) throw unprocessable(`Input ${problem}`, ["body", "hyperparameters", key], value, "value_error");
    out[key] = value;
  }
  return out;
}

function requireFile(ctx: ServerContext, id: unknown, loc: (string | number)[]): string {
  if (typeof id !== "string" || !ctx.store.files.has(id)) {
    throw unprocessable(`File with id ${JSON.stringify(id)} not found`, loc, id ?? null, "value_error");
  }
  return id;
}

/** `POST /v1/fine_tuning/jobs[?dry_run=true]` (Mistral). */
export async function createMistralJob(ctx: ServerContext, body: Record<string, unknown>, query: URLSearchParams, res: ServerResponse): Promise<void> {
  for (const key of Object.keys(body)) {
    if (!MISTRAL_JOB_KEYS.has(key)) throw unprocessable("Extra inputs are not permitted", ["body", key], body[key], "extra_forbidden");
  }
  if (typeof body.model !== "string" || body.model === "") throw unprocessable("Field required", ["body", "model"], body.model ?? null, "missing");
  const hyper = hyperparameters(body.hyperparameters);
  const jobType = body.job_type === "classifier" ? "classifier" : "completion";
  if (jobType === "classifier") delete hyper.fim_ratio;
  const training = body.training_files ?? [];
  if (!Array.isArray(training)) throw unprocessable("Input should be a valid list", ["body", "training_files"], training, "list_type");
  if (Array.isArray(body.repositories) && body.repositories.length > 0) {
    throw unprocessable("GitHub repositories are not supported by the local server", ["body", "repositories"], body.repositories);
  }
  if (training.length === 0) throw unprocessable("At least one training file or repository is required.", ["body", "job_in"], body);
  const trainingFiles = training.map((t: unknown, i: number) => {
    const entry = (typeof t === "string" ? { file_id: t } : t) as { file_id?: unknown; weight?: unknown };
    const weight = entry.weight ?? 1;
    if (typeof weight !== "number" || !(weight > 0)) throw unprocessable("Input should be greater than 0", ["body", "training_files", i, "weight"], weight);
    return { file_id: requireFile(ctx, entry.file_id, ["body", "training_files", i, "file_id"]), weight };
  });
  const validation = body.validation_files ?? [];
  if (!Array.isArray(validation)) throw unprocessable("Input should be a valid list", ["body", "validation_files"], validation, "list_type");
  const validationFiles = validation.map((id: unknown, i: number) => requireFile(ctx, id, ["body", "validation_files", i]));
  const suffix = body.suffix ?? null;
  if (suffix !== null && (typeof suffix !== "string" || suffix.length > 18)) {
    throw unprocessable("String should have at most 18 characters", ["body", "suffix"], suffix, "string_too_long");
  }
  const skip = body.invalid_sample_skip_percentage ?? 0;
  if (typeof skip !== "number" || skip < 0 || skip > 0.5) {
    throw unprocessable("Input should be between 0 and 0.5", ["body", "invalid_sample_skip_percentage"], skip);
  }
  const integrations = Array.isArray(body.integrations)
    ? body.integrations.map((i: Record<string, unknown>) => ({ type: "wandb", project: i.project, name: i.name ?? null, run_name: i.run_name ?? null, url: null }))
    : [];
  const job = newJob(ctx, {
    id: randomUUID(),
    flavor: "mistral",
    model: body.model,
    training_files: trainingFiles,
    validation_files: validationFiles,
    hyperparameters: hyper,
    suffix: suffix as string | null,
    auto_start: body.auto_start === true,
    job_type: jobType,
    invalid_sample_skip_percentage: skip,
    integrations,
    classifier_targets: Array.isArray(body.classifier_targets) ? body.classifier_targets : null,
  });

  if (query.get("dry_run") === "true") {
    // A dry run creates nothing: it checks the files and answers the estimate.
    sendJson(res, 200, dryRunEstimate(ctx, job, await checkJobFiles(ctx, job)));
    return;
  }

  const same = (other: StoredJob) =>
    other.flavor === "mistral" &&
    other.model === job.model &&
    JSON.stringify(other.training_files) === JSON.stringify(job.training_files) &&
    JSON.stringify(other.validation_files) === JSON.stringify(job.validation_files) &&
    JSON.stringify(other.hyperparameters) === JSON.stringify(job.hyperparameters) &&
    other.suffix === job.suffix &&
    ACTIVE.has(statusOf(ctx, other));
  const duplicate = [...ctx.store.jobs.values()].find(same);
  if (duplicate) {
    throw new HttpError(409, `A job with the same parameters is already ${statusOf(ctx, duplicate)}: ${duplicate.id}`, { code: "duplicate_job" });
  }
  await launchJob(ctx, job);
  sendJson(res, 200, mistralJob(ctx, job));
}

/** LegacyJobMetadataOut: what a dry run answers (`details` tells the SDK it is not a job). */
function dryRunEstimate(ctx: ServerContext, job: StoredJob, v: StoredJob["validation"]): Record<string, unknown> {
  const tokens = v?.data_tokens ?? 0;
  const verdict = v?.ok ? "the files pass validation" : `validation would fail: ${(v?.reasons ?? []).join("; ")}`;
  return {
    object: "job.metadata",
    details: `dry run on the ftprep local server: ${tokens} data tokens (estimated); ${verdict}`,
    expected_duration_seconds: Math.round(ctx.jobTimings.trainingMs / 1000),
    cost: 0,
    cost_currency: "EUR",
    train_tokens_per_step: null,
    train_tokens: tokens * epochs(job),
    data_tokens: tokens,
    estimated_start_time: null,
    deprecated: true,
    epochs: typeof job.hyperparameters.epochs === "number" ? job.hyperparameters.epochs : null,
    training_steps: typeof job.hyperparameters.training_steps === "number" ? job.hyperparameters.training_steps : null,
  };
}

/** `POST /v1/fine_tuning/jobs` (OpenAI: a single `training_file`). */
export async function createOpenAIJob(ctx: ServerContext, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  if (typeof body.model !== "string" || body.model === "") throw bad("`model` is required", "model");
  if (typeof body.training_file !== "string" || !ctx.store.files.has(body.training_file)) {
    throw bad(`invalid training_file: ${String(body.training_file)}`, "training_file");
  }
  const validation = body.validation_file;
  if (validation !== undefined && validation !== null && (typeof validation !== "string" || !ctx.store.files.has(validation))) {
    throw bad(`invalid validation_file: ${String(validation)}`, "validation_file");
  }
  if (body.suffix !== undefined && body.suffix !== null && (typeof body.suffix !== "string" || body.suffix.length > 64)) {
    throw bad("`suffix` must be a string of at most 64 characters", "suffix");
  }
  const method = typeof body.method === "object" && body.method !== null ? (body.method as Record<string, unknown>) : null;
  if (method && !["supervised", "dpo", "reinforcement"].includes(method.type as string)) throw bad("`method.type` must be supervised, dpo or reinforcement", "method");
  const given = (method?.[method.type as string] as { hyperparameters?: Record<string, unknown> } | undefined)?.hyperparameters ?? (body.hyperparameters as Record<string, unknown> | undefined) ?? {};
  const hyper = { batch_size: "auto", learning_rate_multiplier: "auto", n_epochs: "auto", ...given };
  const job = newJob(ctx, {
    id: `ftjob-${randomBytes(12).toString("hex")}`,
    flavor: "openai",
    model: body.model,
    training_files: [{ file_id: body.training_file, weight: 1 }],
    validation_files: typeof validation === "string" ? [validation] : [],
    hyperparameters: hyper,
    suffix: (body.suffix as string | undefined) ?? null,
    openai: {
      method: method ? { ...method, [method.type as string]: { hyperparameters: hyper } } : null,
      seed: typeof body.seed === "number" ? body.seed : Math.floor(Math.random() * 2 ** 31),
      metadata: (body.metadata as Record<string, string> | undefined) ?? null,
      suffix: (body.suffix as string | undefined) ?? null,
    },
  });
  await launchJob(ctx, job);
  sendJson(res, 200, openaiJob(ctx, job));
}

export function jobNotFound(id: string): HttpError {
  return new HttpError(404, `No fine tuning job matches the given query (${id}).`, { code: "job_not_found", detail: "No fine tuning job matches the given query." });
}

/**
 * A stored job by id, or 404 when there is none of those `flavors` (default Mistral's and OpenAI's, which share
 * `/v1/fine_tuning/jobs`; Together's jobs are served by its own routes).
 */
export function findJob(ctx: ServerContext, id: string, flavors: readonly StoredJob["flavor"][] = ["mistral", "openai"]): StoredJob {
  const job = ctx.store.jobs.get(id);
  if (!job || !flavors.includes(job.flavor)) throw jobNotFound(id);
  return job;
}

/** The stored jobs of one flavor, newest first. */
export function jobsOf(ctx: ServerContext, flavor: StoredJob["flavor"]): StoredJob[] {
  return [...ctx.store.jobs.values()].filter((j) => j.flavor === flavor).sort((a, b) => b.created_ms - a.created_ms);
}

export function sendJob(ctx: ServerContext, job: StoredJob, res: ServerResponse): void {
  sendJson(res, 200, job.flavor === "mistral" ? mistralJob(ctx, job) : openaiJob(ctx, job));
}

/** `POST /v1/fine_tuning/jobs/{id}/start` (Mistral): only a VALIDATED job starts. */
export async function startJob(ctx: ServerContext, job: StoredJob, res: ServerResponse): Promise<void> {
  const started = await ctx.store.updateJob(job.id, (latest) => {
    const status = statusOf(ctx, latest);
    if (status !== "VALIDATED") throw new HttpError(409, `Only a VALIDATED job can be started; this one is ${status}`, { code: "invalid_state" });
    latest.started_ms = ctx.now();
  });
  sendJob(ctx, started ?? job, res);
}

/** Marks a job cancelled now; a job that has ended cannot be (409). Returns the job as stored. */
export async function requestCancel(ctx: ServerContext, job: StoredJob): Promise<StoredJob> {
  const cancelled = await ctx.store.updateJob(job.id, (latest) => {
    const status = statusOf(ctx, latest);
    if (TERMINAL.has(status)) throw new HttpError(409, `The job is already ${status}`, { code: "invalid_state" });
    latest.cancelled_ms = ctx.now();
  });
  return cancelled ?? job;
}

/** `POST /v1/fine_tuning/jobs/{id}/cancel` */
export async function cancelJob(ctx: ServerContext, job: StoredJob, res: ServerResponse): Promise<void> {
  sendJob(ctx, await requestCancel(ctx, job), res);
}

/** `GET /v1/fine_tuning/jobs` with Mistral's parameters: page, page_size, filters; `total` always. */
export function listMistralJobs(ctx: ServerContext, query: URLSearchParams, res: ServerResponse): void {
  let jobs = jobsOf(ctx, "mistral");
  const model = query.get("model");
  if (model) jobs = jobs.filter((j) => j.model === model);
  const status = query.get("status");
  if (status) jobs = jobs.filter((j) => statusOf(ctx, j) === status);
  const suffix = query.get("suffix");
  if (suffix) jobs = jobs.filter((j) => j.suffix === suffix);
  const after = query.get("created_after");
  if (after) jobs = jobs.filter((j) => j.created_ms > Date.parse(after));
  const before = query.get("created_before");
  if (before) jobs = jobs.filter((j) => j.created_ms < Date.parse(before));
  const size = queryInt(query, "page_size", 100, 1);
  const page = queryInt(query, "page", 0, 0);
  sendJson(res, 200, { object: "list", data: jobs.slice(page * size, page * size + size).map((j) => mistralJob(ctx, j)), total: jobs.length });
}

/** `GET /v1/fine_tuning/jobs` with OpenAI's cursor: after, limit (default 20). */
export function listOpenAIJobs(ctx: ServerContext, query: URLSearchParams, res: ServerResponse): void {
  let jobs = jobsOf(ctx, "openai");
  const after = query.get("after");
  if (after) {
    const at = jobs.findIndex((j) => j.id === after);
    jobs = at === -1 ? [] : jobs.slice(at + 1);
  }
  const limit = queryInt(query, "limit", 20, 1);
  sendJson(res, 200, { object: "list", data: jobs.slice(0, limit).map((j) => openaiJob(ctx, j)), has_more: jobs.length > limit });
}

/** `GET /v1/fine_tuning/jobs/{id}/events` (OpenAI). */
export function openaiEvents(ctx: ServerContext, job: StoredJob, res: ServerResponse): void {
  const steps = timeline(ctx, job).reverse();
  const data = steps.map((s, i) => ({
    id: `ftevent-${job.id.slice(6, 18)}${String(steps.length - i).padStart(4, "0")}`,
    object: "fine_tuning.job.event",
    created_at: seconds(s.ms),
    level: s.status === "FAILED_VALIDATION" ? "error" : "info",
    message: s.data?.error ? `${OPENAI_STATUS[s.status]}: ${String(s.data.error)}` : `status: ${OPENAI_STATUS[s.status]}`,
    type: "message",
    data: {},
  }));
  sendJson(res, 200, { object: "list", data, has_more: false });
}

/** `GET /v1/fine_tuning/jobs/{id}/checkpoints` (OpenAI): the simulation trains nothing, so there are none. */
export function openaiCheckpoints(res: ServerResponse): void {
  sendJson(res, 200, { object: "list", data: [], has_more: false, first_id: null, last_id: null });
}

/** Reads a job-creation body once and routes it by shape: OpenAI's has a single `training_file`. */
export async function createJob(ctx: ServerContext, req: IncomingMessage, query: URLSearchParams, res: ServerResponse, retired: () => void): Promise<void> {
  const body = await readJson(req);
  if (body.training_file !== undefined) {
    await createOpenAIJob(ctx, body, res);
    return;
  }
  retired();
  await createMistralJob(ctx, body, query, res);
}
