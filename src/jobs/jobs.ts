import { setTimeout as sleepTimer } from "node:timers/promises";
import { ConfigError } from "../errors.js";
import { MISTRAL_HYPERPARAMETERS, OPENAI_HYPERPARAMETERS, rangeProblem } from "../fine-tuning.js";
import { type Manifest, type ManifestFile, readManifest, writeManifest } from "../manifest/manifest.js";
import { NotFoundError } from "../providers/errors.js";
import type { JobsProvider, ProviderName, RemoteJob } from "../providers/types.js";

/** What a job is to be made of, besides the manifest's files. */
export interface JobSpec {
  model: string;
  suffix?: string;
  /** Hyperparameters by their API names (Mistral: training_steps, learning_rate…; OpenAI: n_epochs, batch_size…). */
  hyperparameters?: Record<string, number | string>;
  /** Mistral: start training as soon as validation passes. */
  autoStart?: boolean;
}

/** The files of the manifest that went to its current target, by split. */
function filesOf(manifest: Manifest): { train: ManifestFile[]; validation: ManifestFile[] } {
  const here = manifest.files.filter((f) => f.target === manifest.target);
  return { train: here.filter((f) => f.split === "train"), validation: here.filter((f) => f.split === "validation") };
}

/** Reads `k=v` pairs: numbers become numbers, `auto` and other words stay strings. */
export function parseHyperparameters(pairs: readonly string[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new ConfigError(`--hyperparameter takes key=value, got ${JSON.stringify(pair)}`);
    const value = pair.slice(at + 1).trim();
    out[pair.slice(0, at).trim()] = value !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

function checkHyperparameters(provider: ProviderName, given: Record<string, number | string>): void {
  const ranges = provider === "mistral" ? MISTRAL_HYPERPARAMETERS : OPENAI_HYPERPARAMETERS;
  for (const [key, value] of Object.entries(given)) {
    const range = ranges[key];
    if (!range) throw new ConfigError(`unknown ${provider} hyperparameter ${JSON.stringify(key)}; known: ${Object.keys(ranges).join(", ")}`);
    if (provider === "openai" && value === "auto") continue;
    const problem = rangeProblem(range, value);
    if (problem) throw new ConfigError(`hyperparameter ${key}=${String(value)} ${problem}`);
  }
}

/**
 * The provider's job request for a manifest. Mistral: every training file with its weight, every validation file,
 * and `invalid_sample_skip_percentage` when the uploads left invalid records out. OpenAI: exactly one training and
 * at most one validation file, and `method` from the data's format (dpo for preference data, else supervised).
 * Hyperparameters are checked against the API's ranges before anything is sent.
 */
export function jobRequest(manifest: Manifest, spec: JobSpec): Record<string, unknown> {
  const { train, validation } = filesOf(manifest);
  if (train.length === 0) throw new ConfigError(`the manifest has no training file uploaded to ${manifest.target}; run the upload first`);
  if (manifest.provider === "together") {
    throw new ConfigError("ftprep jobs create does not create Together jobs yet (POST /fine-tunes): the files are uploaded; create the job with Together's own tools for now");
  }
  const hyper = spec.hyperparameters ?? {};
  checkHyperparameters(manifest.provider, hyper);
  if (manifest.provider === "mistral") {
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
  }
  const advice = "re-run the upload with --provider openai: its Uploads API takes files up to 8 GB, so nothing is sharded";
  if (train.length !== 1) throw new ConfigError(`OpenAI fine-tuning takes one training file; the manifest has ${train.length}: ${advice}`);
  if (validation.length > 1) throw new ConfigError(`OpenAI fine-tuning takes at most one validation file; the manifest has ${validation.length}: ${advice}`);
  const dpo = manifest.sources.some((s) => s.format === "openai-dpo");
  const type = dpo ? "dpo" : "supervised";
  return {
    model: spec.model,
    training_file: train[0]!.remote.id,
    ...(validation[0] ? { validation_file: validation[0].remote.id } : {}),
    method: { type, [type]: { hyperparameters: hyper } },
    ...(spec.suffix !== undefined ? { suffix: spec.suffix } : {}),
  };
}

/** A job's state in words both APIs share. */
export interface JobState {
  status: string;
  done: boolean;
  succeeded: boolean;
  /** Why it failed, from Mistral's events or OpenAI's error. */
  reasons: string[];
  fineTunedModel: string | null;
}

const MISTRAL_DONE = new Set(["SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"]);
const OPENAI_DONE = new Set(["succeeded", "failed", "cancelled"]);

export function jobState(job: RemoteJob): JobState {
  const status = job.status;
  const done = MISTRAL_DONE.has(status) || OPENAI_DONE.has(status);
  const succeeded = status === "SUCCESS" || status === "succeeded";
  const reasons: string[] = [];
  const error = job.error as { message?: string } | null | undefined;
  if (error?.message) reasons.push(error.message);
  for (const event of (job.events as { data?: { status?: string; reasons?: unknown; error?: unknown } | null }[] | undefined) ?? []) {
    const data = event.data;
    if (data && (data.status === "FAILED_VALIDATION" || data.status === "FAILED")) {
      if (Array.isArray(data.reasons)) reasons.push(...data.reasons.map(String));
      else if (data.error) reasons.push(String(data.error));
    }
  }
  return { status, done, succeeded, reasons, fineTunedModel: (job.fine_tuned_model as string | null | undefined) ?? null };
}

export interface CreateJobResult {
  request: Record<string, unknown>;
  /** The job object, or with `dryRun` the estimate (Mistral) / nothing (OpenAI). */
  response: Record<string, unknown> | undefined;
  dryRun: boolean;
  /** The manifest already recorded a job from the same files and parameters on this target: that one, not a new one. */
  reused: boolean;
}

/** JSON with object keys sorted, so two requests built in a different key order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** The job a manifest records for the same request (files, model, hyperparameters…) on its current target, if any. */
export function recordedJob(manifest: Manifest, provider: ProviderName, request: Record<string, unknown>): Record<string, unknown> | undefined {
  const wanted = canonical(request);
  return manifest.jobs.findLast((j) => j.provider === provider && j.target === manifest.target && typeof j.id === "string" && canonical(j.request) === wanted);
}

/**
 * Records a job's latest status in the manifest at `path`, if the manifest lists that job: re-read from disk first
 * (another command may have written it since), then written atomically. Returns whether anything changed.
 */
export async function recordJobStatus(path: string, job: RemoteJob): Promise<boolean> {
  const manifest = await readManifest(path);
  const entry = manifest?.jobs.find((j) => j.id === job.id);
  if (!manifest || !entry || (entry.status === job.status && entry.fine_tuned_model === (job.fine_tuned_model ?? null))) return false;
  entry.status = job.status;
  entry.fine_tuned_model = (job.fine_tuned_model as string | null | undefined) ?? null;
  entry.status_checked_at = new Date().toISOString();
  await writeManifest(path, manifest);
  return true;
}

/**
 * Creates a job from a manifest and appends its id, status and request to the manifest (an atomic write). A
 * manifest that already records a job from the same request on the same target (a pipeline run again) gets that
 * job back, its status refreshed, unless `newJob` is set; a recorded job the provider no longer knows (404) is
 * replaced by a new one. With `dryRun`, sends nothing on OpenAI and asks Mistral for the estimate only
 * (`dry_run=true`); the manifest is left as it was. A failure leaves the manifest as it was too.
 */
export async function createJob(
  jobs: JobsProvider,
  manifest: Manifest,
  manifestPath: string,
  spec: JobSpec,
  options: { dryRun?: boolean; signal?: AbortSignal; newJob?: boolean } = {},
): Promise<CreateJobResult> {
  const request = jobRequest(manifest, spec);
  const signal = options.signal ? { signal: options.signal } : {};
  if (options.dryRun) {
    const response = jobs.name === "mistral" ? await jobs.createJob(request, { dryRun: true, ...signal }) : undefined;
    return { request, response, dryRun: true, reused: false };
  }
  const previous = options.newJob ? undefined : recordedJob(manifest, jobs.name, request);
  if (previous) {
    try {
      const job = await jobs.getJob(String(previous.id), options.signal);
      await recordJobStatus(manifestPath, job);
      previous.status = job.status;
      return { request, response: job, dryRun: false, reused: true };
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  const response = (await jobs.createJob(request, signal)) as RemoteJob;
  manifest.jobs.push({ id: response.id, provider: jobs.name, target: manifest.target, model: spec.model, status: response.status, created_at: new Date().toISOString(), request });
  await writeManifest(manifestPath, manifest);
  return { request, response, dryRun: false, reused: false };
}

/** Whether a job waits for a person: a Mistral job created without auto_start, validated, not started. */
export function needsStart(job: RemoteJob): boolean {
  return job.status === "VALIDATED" && job.auto_start === false;
}

/** The statuses a job ends in, as its provider names them. */
export function endStatuses(job: RemoteJob): string[] {
  return MISTRAL_DONE.has(job.status) || Object.hasOwn(job, "auto_start") ? [...MISTRAL_DONE] : [...OPENAI_DONE];
}

export interface WaitOptions {
  /** First pause between polls (default 2 s); each later one is 1.5× longer, up to `maxIntervalMs` (30 s). */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Give up after this many milliseconds (default: no limit); the job goes on. */
  timeoutMs?: number;
  /** Start a validated job created without auto_start (Mistral), then wait for its end. */
  start?: boolean;
  /** The manifest the job is recorded in: its status there follows each change. */
  manifestPath?: string;
  signal?: AbortSignal;
  /** Told of each new status. */
  onChange?: (state: JobState, job: RemoteJob) => void;
  /** Told once when a job was created without auto_start and is still queued: it will need a start. */
  onNotice?: (message: string, job: RemoteJob) => void;
}

/**
 * How a wait ended: the job ended (`done`), it waits for a person to start it (`needs_start`, Mistral's VALIDATED
 * without auto_start, when `start` is not set), or the time ran out (`timeout`).
 */
export type WaitOutcome = "done" | "needs_start" | "timeout";

/**
 * Polls a job until it ends, needs a start, or `timeoutMs` passes; resolves with its last state. With
 * `manifestPath`, each new status is recorded in that manifest.
 */
export async function waitForJob(jobs: JobsProvider, id: string, options: WaitOptions = {}): Promise<{ state: JobState; job: RemoteJob; outcome: WaitOutcome }> {
  let interval = options.intervalMs ?? 2000;
  const max = options.maxIntervalMs ?? 30_000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let last = "";
  let told = false;
  for (;;) {
    let job = await jobs.getJob(id, options.signal);
    if (options.start && needsStart(job) && jobs.startJob) job = await jobs.startJob(id, options.signal);
    const state = jobState(job);
    if (state.status !== last) {
      last = state.status;
      if (options.manifestPath !== undefined) await recordJobStatus(options.manifestPath, job);
      options.onChange?.(state, job);
    }
    if (state.done) return { state, job, outcome: "done" };
    if (needsStart(job)) return { state, job, outcome: "needs_start" };
    if (!told && !options.start && job.status === "QUEUED" && job.auto_start === false) {
      told = true;
      options.onNotice?.(`job ${id} was created without auto_start: once VALIDATED it waits to be started (ftprep jobs start ${id})`, job);
    }
    const left = deadline - Date.now();
    if (left <= 0) return { state, job, outcome: "timeout" };
    await sleepTimer(Math.min(interval, left), undefined, options.signal ? { signal: options.signal } : {});
    interval = Math.min(max, Math.ceil(interval * 1.5));
  }
}

/** The message for a 410 from Mistral's job routes: what happened, where the files are, what to do instead. */
export function retiredJobsMessage(manifestPath: string | undefined): string {
  return [
    "Mistral has retired its public fine-tuning jobs API (it answers 410 Gone).",
    manifestPath ? `Your files are uploaded; their ids are in ${manifestPath}.` : "Files already uploaded stay available.",
    "To train: point at a compatible deployment that still serves the jobs routes (--base-url URL, or MISTRAL_BASE_URL), or use the OpenAI provider (--provider openai).",
  ].join(" ");
}
