import { setTimeout as sleepTimer } from "node:timers/promises";
import { ConfigError } from "../errors.js";
import { type Manifest, readManifest, writeManifest } from "../manifest/manifest.js";
import { ConnectionError, NotFoundError, TimeoutError } from "../providers/errors.js";
import type { JobsProvider, ProviderName, RemoteJob } from "../providers/types.js";
import type { JobEvent, JobFiles, JobSpec } from "./provider-jobs.js";
import { PROVIDER_JOBS, providerJobs } from "./registry.js";

export type { JobEvent, JobSpec } from "./provider-jobs.js";

/** The files of the manifest that went to its current target, by split. */
function filesOf(manifest: Manifest): JobFiles {
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

/**
 * The provider's job request for a manifest, built by the provider's jobs module (`jobs/mistral.ts`, `openai.ts`,
 * `together.ts`): which files it takes and how, and its hyperparameters checked against the API's ranges before
 * anything is sent.
 */
export function jobRequest(manifest: Manifest, spec: JobSpec): Record<string, unknown> {
  const files = filesOf(manifest);
  if (files.train.length === 0) throw new ConfigError(`the manifest has no training file uploaded to ${manifest.target}; run the upload first`);
  return providerJobs(manifest.provider).request(manifest, files, spec);
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

/**
 * A job's state. With the provider named, its own end and success statuses; without (a job object alone), the
 * provider whose end statuses include the job's status.
 */
export function jobState(job: RemoteJob, provider?: ProviderName): JobState {
  const status = job.status;
  const jobs = provider !== undefined ? providerJobs(provider) : (Object.values(PROVIDER_JOBS).find((p) => p.endStatuses.includes(status)) ?? PROVIDER_JOBS.mistral);
  const done = jobs.endStatuses.includes(status);
  return { status, done, succeeded: status === jobs.successStatus, reasons: done ? jobs.reasons(job) : [], fineTunedModel: fineTunedModel(job) };
}

/** The fine-tuned model's name: Mistral's and OpenAI's `fine_tuned_model`, Together's `model_output_name`. */
function fineTunedModel(job: RemoteJob): string | null {
  const name = job.fine_tuned_model ?? job.model_output_name;
  return typeof name === "string" && name !== "" ? name : null;
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
  const model = fineTunedModel(job);
  if (!manifest || !entry || (entry.status === job.status && entry.fine_tuned_model === model)) return false;
  entry.status = job.status;
  entry.fine_tuned_model = model;
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
    return { request, response: await estimateOf(jobs, request, options.signal), dryRun: true, reused: false };
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

/** The statuses a job of the provider ends in, as the provider names them. */
export function endStatuses(provider: ProviderName): string[] {
  return [...providerJobs(provider).endStatuses];
}

/**
 * The provider's estimate for a request, when it offers one (Mistral's dry run, Together's price estimate); undefined
 * when it offers none (OpenAI) or its estimate route cannot be reached (404, no connection, no answer in time): a dry
 * run still shows the request.
 */
async function estimateOf(jobs: JobsProvider, request: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  if (!jobs.estimate) return undefined;
  try {
    return await jobs.estimate(request, signal);
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof ConnectionError || error instanceof TimeoutError) return undefined;
    throw error;
  }
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
  /** Told of each event the job object lists that was not there at the previous poll (its progress), in order. */
  onEvent?: (event: JobEvent, job: RemoteJob) => void;
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
  let seen = 0;
  const module = providerJobs(jobs.name);
  for (;;) {
    let job = await jobs.getJob(id, options.signal);
    if (options.start && needsStart(job) && jobs.startJob) job = await jobs.startJob(id, options.signal);
    const state = jobState(job, jobs.name);
    if (state.status !== last) {
      last = state.status;
      if (options.manifestPath !== undefined) await recordJobStatus(options.manifestPath, job);
      options.onChange?.(state, job);
    }
    // A provider may list events newest first or oldest first: `events` gives them oldest first.
    const events = module.events(job);
    for (const event of events.slice(seen)) options.onEvent?.(event, job);
    seen = Math.max(seen, events.length);
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
    "To train: point at a compatible deployment that still serves the jobs routes (--base-url URL, or MISTRAL_BASE_URL), or upload to a provider that trains today (--provider together).",
  ].join(" ");
}
