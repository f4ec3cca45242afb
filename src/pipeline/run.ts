import type { DiscoverInput } from "../discover/discover.js";
import { defaultMaxFileBytes } from "../guard/limits.js";
import { DEFAULT_OUT_DIR, DEFAULT_MANIFEST } from "../defaults.js";
import { findUploaded, type Manifest, newManifest, readManifest, writeManifest } from "../manifest/manifest.js";
import type { ProviderName } from "../providers/types.js";
import { removeStaleTempsOf } from "../temp-files.js";
import { targetOf, type TargetSpec } from "../target/target-spec.js";
import { checkTarget } from "./preflight.js";
import { openTarget, resolveTarget, type TargetOptions, toolVersion } from "./target.js";
import { createJob, type CreateJobResult, type JobSpec, type JobState, retiredJobsMessage, waitForJob, type WaitOutcome } from "../jobs/jobs.js";
import { ConfigError, FtprepError } from "../errors.js";
import { GoneError } from "../providers/errors.js";
import type { JobsProvider } from "../providers/types.js";
import { type UploadEvent, type UploadItem, uploadFiles, type UploadSummary } from "../upload/uploader.js";
import type { RetryPolicy } from "../upload/retry-policy.js";
import { type UploadOutcome, UploadOutcomes } from "../upload/outcomes.js";
import { type Plan, type PlannedFile, prepare, type PrepareOptions } from "./prepare.js";

export { DEFAULT_OUT_DIR } from "../defaults.js";

/** Options of `run` (`ftprep upload`, `ftprep run`, `npm run validate-and-upload`). */
export interface RunOptions
  extends Omit<PrepareOptions, "outDir" | "provider">,
    Pick<TargetOptions, "baseUrl" | "pipelineBaseUrl" | "trustPipelineUrl" | "apiKey" | "env" | "store" | "requestTimeoutMs" | "onNotice"> {
  outDir?: string;
  provider?: ProviderName;
  /** The manifest (default `ftprep-manifest.json`). */
  manifestPath?: string;
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  verifyRemote?: boolean;
  /** Everything but the upload. */
  dryRun?: boolean;
  /** Told of problems that lose no data of this run but deserve a line even when quiet (a damaged journal line). */
  onWarning?: (message: string) => void;
  onEvent?: (event: UploadEvent) => void;
  /** Create a fine-tuning job from the manifest once everything is uploaded. */
  job?: RunJobSpec;
  /** Create a new job even when the manifest records one from the same files and parameters (default: reuse it). */
  newJob?: boolean;
  /** Told of each job status seen while waiting, with the job's id. */
  onJobStatus?: (state: JobState, id?: string) => void;
  /**
   * Ask the target whether it takes files before validating (default true); false when this process has just done so
   * (a queue worker after its first unit: one round trip less per unit). The URL is still checked.
   */
  preflight?: boolean;
  /** Awaited just before each upload request (a queue worker's check that its unit is still its own); a throw sends nothing. */
  beforeUpload?: (path: string) => Promise<void>;
}

export interface RunResult {
  plan: Plan;
  provider: ProviderName;
  /** Where the files went (or would go). */
  baseUrl: string | undefined;
  embedded: boolean;
  manifestPath: string;
  /** Written when anything was uploaded or recorded. */
  manifest: Manifest | undefined;
  /** With `dryRun`: the files that would be sent, and those the manifest already has. */
  wouldUpload: PlannedFile[];
  alreadyUploaded: PlannedFile[];
  upload: UploadSummary | undefined;
  /** What became of each file of the upload (its id, its retries), in plan order; empty when nothing was uploaded. */
  uploads: UploadOutcome[];
  /** With a job step: the job created (and its end when waited for), or why it could not be. */
  job?: RunJobResult;
}

/** The job step of a run (a pipeline file's `job` section). */
export interface RunJobSpec extends JobSpec {
  /** Wait for the job to end (default false). */
  wait?: boolean;
  /** First pause between polls when waiting (default 2 s). */
  pollMs?: number;
}

export interface RunJobResult {
  created?: CreateJobResult;
  final?: JobState;
  /** How the wait ended, when waited for. */
  outcome?: WaitOutcome;
  /**
   * The job could not be created or followed (a refused request, a rule of the provider, the connection): the
   * uploads stand and are in the manifest. `usage` when the job's own parameters were wrong.
   */
  error?: { code: string; message: string; usage: boolean };
  /** Mistral's public API answered 410: the clear message, the manifest untouched. */
  retired?: string;
}

async function runJob(provider: JobsProvider, manifest: Manifest, manifestPath: string, spec: RunJobSpec, options: RunOptions): Promise<RunJobResult> {
  try {
    const created = await createJob(provider, manifest, manifestPath, spec, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.newJob ? { newJob: true } : {}),
    });
    const out: RunJobResult = { created };
    if (spec.wait && created.response) {
      const id = String(created.response.id);
      const { state, outcome } = await waitForJob(provider, id, {
        manifestPath,
        ...(spec.pollMs !== undefined ? { intervalMs: spec.pollMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onJobStatus ? { onChange: (state: JobState) => options.onJobStatus!(state, id) } : {}),
      });
      out.final = state;
      out.outcome = outcome;
    }
    return out;
  } catch (error) {
    if (error instanceof GoneError) return { retired: retiredJobsMessage(manifestPath) };
    // An interrupted run stops as it does elsewhere; any other failure of the job step leaves the uploads standing.
    if (options.signal?.aborted || !(error instanceof FtprepError)) throw error;
    return { error: { code: error.code, message: error.message, usage: error instanceof ConfigError } };
  }
}

/** The options a manifest records: what the run did, without secrets. */
function recordedOptions(paths: readonly (string | DiscoverInput)[], options: RunOptions, maxFileBytes: number, target: TargetSpec): Record<string, unknown> {
  return {
    paths: paths.map((p) => (typeof p === "string" ? p : p.split ? { path: p.path, split: p.split } : p.path)),
    out_dir: options.outDir ?? DEFAULT_OUT_DIR,
    max_file_bytes: maxFileBytes,
    skip_invalid: options.skipInvalid ?? false,
    max_invalid_fraction: options.maxInvalidFraction ?? 0.05,
    dedupe: options.dedupe ?? false,
    validation_split: options.validationSplit ?? null,
    seed: options.seed ?? null,
    format: target.format,
    concurrency: options.concurrency ?? 4,
  };
}

function summarise(manifest: Manifest, plan: Plan, skipInvalid: boolean): void {
  const bySource = new Map(manifest.sources.map((s) => [s.path, s]));
  for (const s of plan.sources) {
    bySource.set(s.path, {
      path: s.path,
      sha256: s.sha256,
      bytes: s.bytes,
      records: s.records,
      valid: s.valid,
      invalid: s.invalid,
      split: s.split,
      format: s.format,
      skip_invalid: skipInvalid && s.invalid > 0,
      ...(s.report.stats.tokens ? { tokens: s.report.stats.tokens } : {}),
      figures: s.report.figures,
    });
  }
  manifest.sources = [...bySource.values()];
  const counts: Record<string, number> = {};
  let errors = 0;
  let warnings = 0;
  for (const s of plan.sources) {
    for (const [code, n] of Object.entries(s.report.counts)) counts[code] = (counts[code] ?? 0) + n;
    errors += s.report.errors;
    warnings += s.report.warnings;
  }
  manifest.validation = {
    files: plan.sources.length,
    records: plan.sources.reduce((n, s) => n + s.records, 0),
    valid: plan.sources.reduce((n, s) => n + s.valid, 0),
    invalid: plan.sources.reduce((n, s) => n + s.invalid, 0),
    errors,
    warnings,
    counts,
  };
}

/** Whether the plan's only problems are entries that could not be read: every source read is ready, no error. */
function onlyUnreadable(plan: Plan): boolean {
  return (
    plan.failures.length > 0 &&
    plan.files.length > 0 &&
    plan.sources.every((s) => s.status === "ready") &&
    !plan.issues.some((i) => i.severity === "error")
  );
}

/**
 * The main job: discover → validate → guard (`prepare`) → upload → manifest. Nothing is uploaded unless every
 * source file is ready (errors without `skipInvalid` stop the run before any upload). With no API key and no
 * base URL, the embedded local server is started on `store` and the files go there.
 */
export async function run(paths: readonly (string | DiscoverInput)[], options: RunOptions = {}): Promise<RunResult> {
  // The target, resolved once: the provider whose formats, rules, limits and upload protocol apply.
  const spec = targetOf(options);
  const providerName = spec.provider.name;
  // The guard asks the provider what it can take: OpenAI takes up to 8 GB through its Uploads API.
  const maxFileBytes = options.maxFileBytes ?? defaultMaxFileBytes(providerName);
  const manifestPath = options.manifestPath ?? DEFAULT_MANIFEST;
  // Before validating gigabytes: a bad base URL, a refused connection or key, a doubled /v1 fail now, in one line.
  await checkTarget(providerName, { ...options, offline: (options.dryRun ?? false) || options.preflight === false });
  // The manifest and the embedded store are outputs too: never taken as data when they lie inside a dataset folder.
  const exclude = [manifestPath, ...(options.store !== undefined ? [options.store] : []), ...(options.exclude ?? [])];
  const plan = await prepare(paths, { ...options, outDir: options.outDir ?? DEFAULT_OUT_DIR, target: spec, maxFileBytes, exclude, merge: options.merge ?? options.job !== undefined });
  const result: RunResult = {
    plan,
    provider: providerName,
    baseUrl: undefined,
    embedded: false,
    manifestPath,
    manifest: undefined,
    wouldUpload: [],
    alreadyUploaded: [],
    upload: undefined,
    uploads: [],
  };
  // An entry that could not be read is a failure of its own: when everything else is ready, the files that are go
  // up (the exit code still says 3), but no job is made from part of the data.
  const partial = !plan.ok && onlyUnreadable(plan);
  if (!plan.ok && !partial) return result;

  if (!options.dryRun) await removeStaleTempsOf(manifestPath);
  const existing = await readManifest(manifestPath, options.onWarning ? { onProblem: options.onWarning } : {});
  if (options.dryRun) {
    const resolved = resolveTarget(providerName, options);
    result.embedded = resolved.embedded;
    result.baseUrl = resolved.embedded ? undefined : resolved.baseUrl;
    for (const file of plan.files) {
      if (existing && findUploaded(existing, resolved.target, file.sha256)) result.alreadyUploaded.push(file);
      else result.wouldUpload.push(file);
    }
    return result;
  }

  const target = await openTarget(providerName, options);
  result.baseUrl = target.baseUrl;
  result.embedded = target.server !== undefined;
  try {
    const manifest =
      existing ??
      newManifest({ provider: providerName, base_url: target.baseUrl, target: target.target, embedded_store: target.store, options: {} }, toolVersion());
    manifest.provider = providerName;
    manifest.base_url = target.baseUrl;
    manifest.target = target.target;
    manifest.embedded_store = target.store;
    manifest.options = recordedOptions(paths, options, maxFileBytes, spec);
    summarise(manifest, plan, options.skipInvalid ?? false);
    const items: UploadItem[] = plan.files.map((f) => ({
      path: f.path,
      source: f.source,
      kind: f.kind,
      part: f.part,
      parts: f.parts,
      split: f.split,
      records: f.records,
      bytes: f.bytes,
      sha256: f.sha256,
      weight: f.weight,
    }));
    const outcomes = new UploadOutcomes();
    result.upload = await uploadFiles(items, {
      provider: target.provider,
      target: target.target,
      manifest,
      manifestPath,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.verifyRemote ? { verifyRemote: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.beforeUpload ? { beforeSend: options.beforeUpload } : {}),
      onEvent: (event) => {
        outcomes.see(event);
        options.onEvent?.(event);
      },
    });
    result.uploads = outcomes.list(items);
    // The sources and the validation summary, also when every file was already uploaded; but no manifest at all
    // when nothing was recorded (a run that uploaded nothing leaves nothing that looks like a result).
    if (manifest.files.length > 0 || existing) {
      await writeManifest(manifestPath, manifest);
      result.manifest = manifest;
    }
    if (options.job && partial) {
      const n = plan.failures.length;
      result.job = { error: { code: "ERR_FS", message: `${n} ${n === 1 ? "entry" : "entries"} could not be read (listed above); a job is created only from all of the data: fix ${n === 1 ? "it" : "them"} and run again`, usage: false } };
    } else if (options.job && result.manifest && result.upload && result.upload.failed.length === 0 && !result.upload.aborted) {
      result.job = await runJob(target.provider, result.manifest, manifestPath, options.job, options);
    }
  } finally {
    await target.close();
  }
  return result;
}
