import { printable } from "../printable.js";
import { Command } from "commander";
import { ConfigError } from "../errors.js";
import { DEFAULT_MANIFEST, DEFAULT_OUT_DIR, DEFAULT_STORE } from "../defaults.js";
import type { JobState } from "../jobs/jobs.js";
import type { RunJobResult, RunOptions, RunResult } from "../pipeline/run.js";
import type { DiscoveredFile } from "../discover/discover.js";
import type { FormatId, ProviderName } from "../types.js";
import type { Io } from "./io.js";
import { printJson } from "./json-output.js";
import { duration, positiveInt, REQUEST_TIMEOUT_FLAG, REQUEST_TIMEOUT_HELP, targetFromFlags } from "./options.js";
import { addGuardOptions, guardInputs, guardOptions, planFigures, planTokens, printPlan, printPlanTokens, printSource } from "./prepare.js";
import { writeHtmlReport } from "./report.js";
import { type TokenFlags, tokenHook } from "./token-options.js";
import { interruptible } from "./interrupt.js";
import { progressDisplay } from "./progress.js";

/** The flags of `upload`, `run` and `work`. */
export interface UploadFlags extends TokenFlags {
  pipeline?: string;
  trustPipelineUrl?: boolean;
  newJob?: boolean;
  provider?: ProviderName;
  baseUrl?: string;
  apiKey?: string;
  concurrency: number;
  requestTimeout?: number;
  manifest: string;
  out: string;
  store: string;
  verifyRemote?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
  split: boolean;
  merge?: boolean;
  format: FormatId | "auto";
  train: string[];
  validation: string[];
  maxFileBytes?: number;
  skipInvalid?: boolean;
  maxInvalidFraction?: number;
  dedupe?: boolean;
  validationSplit?: number;
  seed?: number;
  report?: string;
  maxIssues?: number;
  maxLineBytes?: number;
  html?: string;
}

/** The command-line option that sets each run option (commander's attribute names), for the precedence rule. */
const FLAG_OF: Partial<Record<keyof RunOptions, string>> = {
  provider: "provider",
  baseUrl: "baseUrl",
  apiKey: "apiKey",
  concurrency: "concurrency",
  requestTimeoutMs: "requestTimeout",
  manifestPath: "manifest",
  outDir: "out",
  store: "store",
  verifyRemote: "verifyRemote",
  maxFileBytes: "maxFileBytes",
  split: "split",
  merge: "merge",
  skipInvalid: "skipInvalid",
  maxInvalidFraction: "maxInvalidFraction",
  dedupe: "dedupe",
  validationSplit: "validationSplit",
  seed: "seed",
  format: "format",
  reportPath: "report",
  maxIssues: "maxIssues",
  maxLineBytes: "maxLineBytes",
  workers: "workers",
};

/** What `ftprep work` adds to the upload pipeline: its own flags, and the units it takes from a plan. */
export interface WorkHooks {
  configure: (command: Command) => Command;
  /** The files to process (instead of discovering paths), the options the plan fixes, and the default manifest. */
  units: (flags: Record<string, unknown>) => Promise<{ files: DiscoveredFile[]; options: PlanFixed; defaultManifest: string; checkFile?: RunOptions["checkFile"] }>;
  /** Runs the command another way (a queue worker) when its flags say so; resolves true when it did. */
  takeOver?: (flags: Record<string, unknown>) => Promise<boolean>;
}

/** The guard options a shard plan fixes for every worker. */
export interface PlanFixed {
  provider: string;
  format: string;
  maxFileBytes: number;
  skipInvalid: boolean;
  maxInvalidFraction: number;
}

/** The flags a plan fixes, by commander attribute → flag name: giving one to `ftprep work` is a usage error. */
const FIXED_BY_PLAN: [keyof UploadFlags, string][] = [
  ["provider", "--provider"],
  ["format", "--format"],
  ["maxFileBytes", "--max-file-bytes"],
  ["skipInvalid", "--skip-invalid"],
  ["maxInvalidFraction", "--max-invalid-fraction"],
  ["dedupe", "--dedupe"],
  ["validationSplit", "--validation-split"],
  ["merge", "--merge"],
];

/** Builds `ftprep upload`, `ftprep run` or `ftprep work`: the same pipeline (run adds pipeline files and jobs; work, a plan's units). */
export function uploadLike(name: "upload" | "run" | "work", description: string, io: Io, work?: WorkHooks): Command {
  const command = new Command(name)
    .description(description)
    .argument(work ? "[paths...]" : "[paths...]", work ? "none: the units come from --plan" : "files, directories or globs")
    .option("--base-url <url>", "the Files API's base URL (default: MISTRAL_BASE_URL / OPENAI_BASE_URL / TOGETHER_BASE_URL, else the provider's public API)")
    .option("--api-key <key>", "API key (default: MISTRAL_API_KEY / OPENAI_API_KEY / TOGETHER_API_KEY, by provider; an empty one is none); never printed")
    .option("--concurrency <n>", "uploads at once", positiveInt, 4)
    .option(REQUEST_TIMEOUT_FLAG, REQUEST_TIMEOUT_HELP, duration)
    .option("--manifest <file>", "the manifest to write (and resume from)", DEFAULT_MANIFEST)
    .option("--out <dir>", "where cleaned copies and shards are written", DEFAULT_OUT_DIR)
    .option("--store <dir>", "the embedded server's store, used with no key and no base URL", DEFAULT_STORE)
    .option("--verify-remote", "check that every file the manifest lists still exists on the provider; upload missing ones again")
    .option("--dry-run", "everything but the upload: print what would be sent")
    .option("--json", "print one JSON document on stdout")
    .option("--quiet", "no progress or notices on stderr (results still go to stdout, errors to stderr)");
  if (name === "run") {
    command
      .option("--pipeline <file>", "a pipeline file: sources, limits, provider, upload, manifest and a job (flags given here win over it)")
      .option("--trust-pipeline-url", "send the files and the API key to the pipeline file's provider.base_url when it is not the provider's public API")
      .option("--new-job", "create a new job even when the manifest records one from the same files and parameters (default: reuse it)");
  }
  work?.configure(command);
  addGuardOptions(command).action(async (paths: string[], flags: UploadFlags) => {
    let inputs = guardInputs(paths, flags);
    let planned: Awaited<ReturnType<WorkHooks["units"]>> | undefined;
    if (work?.takeOver && (await work.takeOver(flags as unknown as Record<string, unknown>))) return;
    if (work) {
      if (inputs.length > 0) throw new ConfigError("ftprep work takes no paths: its units come from --plan");
      for (const [key, flag] of FIXED_BY_PLAN) {
        if (command.getOptionValueSource(key) === "cli") throw new ConfigError(`${flag} is fixed by the plan, so that every worker applies the same (plan again to change it)`);
      }
      planned = await work.units(flags as unknown as Record<string, unknown>);
      Object.assign(flags, planned.options);
      const manifestSource = command.getOptionValueSource("manifest");
      if (manifestSource !== "cli" && manifestSource !== "env") flags.manifest = planned.defaultManifest;
      inputs = [...new Set(planned.files.map((f) => f.realPath))].map((path) => ({ path }));
      if (inputs.length === 0) {
        // More shards than units: an array job's extra task has nothing to do, and that is not a failure.
        if (flags.json) printJson(io, { ok: true, units: 0, manifest: null, upload: null });
        else io.stdout("this shard of the plan has no unit: nothing to do\n");
        return;
      }
    }
    let fromPipeline: RunOptions = {};
    const [{ loadPipeline, pipelineRun }, { run }] = await Promise.all([import("../pipeline/pipeline-file.js"), import("../pipeline/run.js")]);
    if (flags.pipeline !== undefined) {
      const loaded = pipelineRun(await loadPipeline(flags.pipeline), flags.pipeline);
      fromPipeline = loaded.options;
      if (inputs.length === 0) inputs = loaded.inputs;
    }
    if (inputs.length === 0 && !work) throw new ConfigError("give at least one path (or --train / --validation, or --pipeline)");
    // Precedence: a flag given on the command line > the environment > the pipeline file > the defaults.
    const given = (option: string): boolean => {
      const source = command.getOptionValueSource(option);
      return source === "cli" || source === "env";
    };
    const progress = progressDisplay(io, flags);
    const onStop = (): void => {
      if (!flags.quiet && progress.inUpload) io.stderr("\nftprep: stopping: no new uploads; cancelling the running ones…\n");
    };
    let hook: Awaited<ReturnType<typeof tokenHook>>;
    const result: RunResult = await interruptible(progress, async (signal) => {
      const { provider: _, ...guard } = guardOptions(flags);
      const fromFlags: RunOptions = {
        ...guard,
        ...(flags.provider !== undefined ? { provider: flags.provider } : {}),
        ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
        ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}),
        concurrency: flags.concurrency,
        ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout } : {}),
        manifestPath: flags.manifest,
        outDir: flags.out,
        store: flags.store,
        verifyRemote: flags.verifyRemote ?? false,
      };
      const merged: RunOptions = { ...fromFlags };
      for (const [key, value] of Object.entries(fromPipeline) as [keyof RunOptions, unknown][]) {
        const flag = FLAG_OF[key];
        if (flag === undefined || !given(flag)) (merged as Record<string, unknown>)[key] = value;
      }
      // The tokenizer: --model / --tokenizer, else the pipeline's job model (the estimate when it is not in the table).
      const tokens = await tokenHook(flags, {
        ...(merged.job?.model !== undefined ? { jobModel: merged.job.model } : {}),
        onNotice: (m: string) => io.stderr(`ftprep: ${m}\n`),
      });
      hook = tokens;
      const target = targetFromFlags(
        command,
        flags,
        planned
          ? { file: "the plan", provider: planned.options.provider, format: planned.options.format }
          : flags.pipeline !== undefined
            ? { file: flags.pipeline, provider: fromPipeline.provider, format: fromPipeline.format }
            : undefined,
      );
      return run(inputs, {
        ...merged,
        ...(planned ? { files: planned.files } : {}),
        ...(planned?.checkFile ? { checkFile: planned.checkFile } : {}),
        ...(tokens ? { tokens } : {}),
        target,
        dryRun: flags.dryRun ?? false,
        ...(flags.newJob ? { newJob: true } : {}),
        ...(flags.trustPipelineUrl ? { trustPipelineUrl: true } : {}),
        signal,
        onJobStatus: (state: JobState, id?: string) => {
          progress.job(state, id);
          if (!flags.quiet) io.stderr(`job: ${state.status}${state.fineTunedModel ? ` (${state.fineTunedModel})` : ""}\n`);
        },
        onProgress: (e) => progress.pass(e),
        onEvent: (e) => progress.on(e),
        ...(flags.quiet ? {} : { onNotice: (m: string) => io.stderr(`ftprep: ${m}\n`) }),
        onWarning: (m: string) => io.stderr(`ftprep: warning: ${m}\n`),
        ...(flags.json
          ? {}
          : {
              onSource: (s) => {
                progress.finish();
                printSource(io, s, flags.maxIssues ?? 3);
              },
            }),
      });
    }, { onStop });
    await report(io, result, flags, await planTokens(result.plan, flags, hook));
  });
  return command;
}

async function report(io: Io, result: RunResult, flags: UploadFlags, tokens: Awaited<ReturnType<typeof planTokens>>): Promise<void> {
  const { plan, upload } = result;
  const doc = {
    ok: exitCodeOf(result) === 0,
    provider: result.provider,
    base_url: result.baseUrl ?? null,
    embedded: result.embedded,
    manifest: result.manifest ? result.manifestPath : null,
    dry_run: flags.dryRun ?? false,
    plan,
    tokens,
    figures: planFigures(plan, flags),
    ...(flags.dryRun ? { would_upload: result.wouldUpload, already_uploaded: result.alreadyUploaded } : {}),
    upload: upload ?? null,
    uploads: result.uploads,
    job: jobJson(result.job),
  };
  if (flags.html !== undefined) await writeHtmlReport(io, flags.html, doc, flags.quiet);
  if (flags.json) {
    printJson(io, doc);
  } else {
    if (!plan.ok || flags.dryRun) printPlan(io, plan);
    if (!flags.quiet) printPlanTokens(io, tokens);
    if (flags.dryRun && plan.ok) {
      const where = result.embedded ? "the embedded local server" : result.baseUrl;
      io.stdout(`dry run: would upload ${result.wouldUpload.length} file(s) to ${where}; ${result.alreadyUploaded.length} already in ${result.manifestPath}\n`);
    }
    if (upload) {
      const line = `${upload.uploaded} uploaded, ${upload.adopted} found already uploaded, ${upload.skipped} skipped (in the manifest), ${upload.duplicates ? `${upload.duplicates} with the same content as another (sent once), ` : ""}${upload.failed.length} failed${upload.retries ? `, ${upload.retries} retries` : ""}`;
      io.stdout(`${upload.aborted ? "stopped: " : ""}${line}\n`);
      for (const failure of upload.failed) io.stderr(`ftprep: ${printable(failure.path)}: ${printable(failure.message)}\n`);
      io.stdout(`manifest: ${result.manifestPath}\n`);
    }
    const job = result.job;
    if (job?.created?.response) {
      const r = job.created.response;
      const id = String(r.id);
      if (job.created.reused) {
        io.stdout(`job ${id} (${String(r.status)}) was already created from these files and parameters; reusing it (--new-job creates another)\n`);
      } else {
        io.stdout(`job ${id} created (${String(r.status)}); recorded in ${result.manifestPath}\n`);
      }
      if (!job.final) io.stdout(`follow it with: ftprep jobs wait ${id} --manifest ${result.manifestPath}\n`);
    }
    if (job?.final && job.outcome === "done" && !job.final.succeeded) for (const reason of job.final.reasons) io.stdout(`  ${reason}\n`);
  }
  if (result.job?.retired) io.stderr(`ftprep: ${result.job.retired}\n`);
  if (result.job?.outcome === "needs_start") {
    const id = String(result.job.created!.response!.id);
    io.stderr(`ftprep: job ${id} is VALIDATED and waits to be started (created without auto_start): ftprep jobs start ${id} --manifest ${result.manifestPath}\n`);
  }
  // The uploads' summary above stands whatever happened to the job: its files are in the manifest.
  if (result.job?.error) io.stderr(`ftprep: no job: ${result.job.error.message}\n`);
  io.exitCode = exitCodeOf(result);
}

/** The run's exit code: the data's errors, the uploads, then the job step. */
function exitCodeOf(result: RunResult): number {
  const { plan, upload, job } = result;
  if (!plan.ok) return plan.failures.length > 0 ? 3 : 1;
  if (upload && (upload.failed.length > 0 || upload.aborted)) return 3;
  if (job?.retired) return 3;
  if (job?.error) return job.error.usage ? 2 : 3;
  if (job?.outcome === "needs_start" || job?.outcome === "timeout") return 3;
  if (job?.final && !job.final.succeeded) return 1;
  return 0;
}

/** The job step in `--json`: snake_case, null when the run had no job step. */
function jobJson(job: RunJobResult | undefined): Record<string, unknown> | null {
  if (!job) return null;
  const response = job.created?.response;
  return {
    id: response ? String(response.id) : null,
    status: job.final?.status ?? (response ? String(response.status) : null),
    reused: job.created?.reused ?? false,
    outcome: job.outcome ?? null,
    succeeded: job.final ? job.final.succeeded : null,
    fine_tuned_model: job.final?.fineTunedModel ?? null,
    reasons: job.final?.reasons ?? [],
    request: job.created?.request ?? null,
    error: job.error ? { code: job.error.code, message: job.error.message } : null,
    retired: job.retired ?? null,
  };
}

/** `ftprep upload <paths...>`: validate, guard, upload, manifest. */
export function uploadCommand(io: Io): Command {
  return uploadLike("upload", "validate and size-guard, then upload every file to the Files API and record it in the manifest", io);
}

/** `ftprep run <paths...>`: the whole pipeline (what `npm run validate-and-upload` runs). */
export function runCommand(io: Io): Command {
  return uploadLike("run", "the main job: validate → size guard → upload → manifest (→ job, with --pipeline)", io);
}
