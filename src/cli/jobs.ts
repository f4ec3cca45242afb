import { Command, Option } from "commander";
import { ConfigError } from "../errors.js";
import { DEFAULT_STORE } from "../defaults.js";
import { createJob, endStatuses, jobState, parseHyperparameters, recordJobStatus, retiredJobsMessage, waitForJob } from "../jobs/jobs.js";
import { providerJobs } from "../jobs/registry.js";
import type { Manifest } from "../manifest/manifest.js";
import type { Target } from "../pipeline/target.js";
import { ApiError, GoneError } from "../providers/errors.js";
import type { ProviderName, RemoteJob } from "../providers/types.js";
import { PROVIDER_NAMES } from "../types.js";
import type { Io } from "./io.js";
import { interruptible } from "./interrupt.js";
import { Progress } from "./progress.js";
import { printJson } from "./json-output.js";
import { duration, formatDuration, positiveInt, REQUEST_TIMEOUT_FLAG, REQUEST_TIMEOUT_HELP } from "./options.js";
import { jobEstimate, jobEstimateLines } from "../tokens/job-estimate.js";

interface TargetFlags {
  manifest?: string;
  provider?: ProviderName;
  baseUrl?: string;
  apiKey?: string;
  store?: string;
  requestTimeout?: number;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function targetOptions(command: Command): Command {
  return command
    .option("--manifest <file>", "the manifest: its provider and target (reopening the embedded server on its store)")
    .addOption(new Option("--provider <provider>", "the API, without a manifest (default mistral)").choices([...PROVIDER_NAMES]))
    .option("--base-url <url>", "the API's base URL (default: the manifest's, or MISTRAL_BASE_URL / OPENAI_BASE_URL / TOGETHER_BASE_URL)")
    .option("--api-key <key>", "API key (default: MISTRAL_API_KEY / OPENAI_API_KEY / TOGETHER_API_KEY, by provider; an empty one is none); never printed")
    .option("--store <dir>", "the embedded server's store, with no manifest, key or base URL", DEFAULT_STORE)
    .option(REQUEST_TIMEOUT_FLAG, REQUEST_TIMEOUT_HELP, duration)
    .option("--json", "print the provider's job object as one JSON document on stdout");
}

async function loadManifest(path: string | undefined, io: Io): Promise<Manifest | undefined> {
  if (path === undefined) return undefined;
  const { readManifest } = await import("../manifest/manifest.js");
  const manifest = await readManifest(path, { onProblem: (m) => io.stderr(`ftprep: warning: ${m}\n`) });
  if (!manifest) throw new ConfigError(`no manifest at ${path}; run \`ftprep run\` first`);
  return manifest;
}

async function open(flags: TargetFlags, io: Io, manifest: Manifest | undefined): Promise<Target> {
  const provider = manifest?.provider ?? flags.provider ?? "mistral";
  const { openTarget } = await import("../pipeline/target.js");
  return openTarget(provider, {
    ...(manifest ? { manifest } : {}),
    ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
    ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}),
    ...(flags.store !== undefined ? { store: flags.store } : {}),
    ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout } : {}),
    ...(flags.json ? {} : { onNotice: (m: string) => io.stderr(`ftprep: ${m}\n`) }),
  });
}

/** Runs a jobs action; a 410 from Mistral's retired routes becomes the clear message and exit code 3. */
async function guarded(io: Io, manifestPath: string | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof GoneError) {
      io.stderr(`ftprep: ${retiredJobsMessage(manifestPath)}\n`);
      io.exitCode = 3;
      return;
    }
    throw error;
  }
}

/** Opens the target, runs `action` with 410 turned into the clear message, and closes the target. */
async function withTarget(io: Io, flags: TargetFlags, manifest: Manifest | undefined, action: (target: Target) => Promise<void>): Promise<void> {
  const target = await open(flags, io, manifest);
  try {
    await guarded(io, flags.manifest, () => action(target));
  } finally {
    await target.close();
  }
}

function printJob(io: Io, job: RemoteJob, provider: ProviderName): void {
  const state = jobState(job, provider);
  io.stdout(`job ${job.id}: ${state.status}${state.fineTunedModel ? ` → ${state.fineTunedModel}` : ""}\n`);
  for (const event of providerJobs(provider).events(job)) io.stdout(`  ${event.at} ${event.message}\n`);
  for (const reason of state.reasons) io.stdout(`  reason: ${reason}\n`);
}

/** Records a job's status in the manifest, when one was given and lists the job. */
async function record(flags: TargetFlags, job: RemoteJob): Promise<void> {
  if (flags.manifest !== undefined) await recordJobStatus(flags.manifest, job);
}

const manifestFlag = (flags: TargetFlags): string => (flags.manifest !== undefined ? ` --manifest ${flags.manifest}` : "");

/**
 * The provider refused an action on a job (409, or 400/422 from a compatible deployment): reads the job and, when
 * its state explains the refusal, returns the job; otherwise undefined (the error stands).
 */
async function refusedBecauseOfState(target: Target, id: string, error: unknown): Promise<RemoteJob | undefined> {
  if (!(error instanceof ApiError) || ![400, 409, 422].includes(error.status)) return undefined;
  return target.provider.getJob(id).catch(() => undefined);
}

/** `ftprep jobs create|status|start|wait|cancel` */
export function jobsCommand(io: Io): Command {
  const jobs = new Command("jobs").description("fine-tuning jobs from a manifest: create, status, list, start, wait, cancel");

  const create = targetOptions(new Command("create"))
    .description("create a fine-tuning job from the manifest's uploaded files")
    .requiredOption("--model <model>", "the base model, e.g. open-mistral-7b or gpt-4o-mini-2024-07-18")
    .option("--suffix <suffix>", "part of the fine-tuned model's name")
    .option("--hyperparameter <k=v>", "a hyperparameter (repeatable): training_steps=10, learning_rate=0.0001, n_epochs=3…", collect, [])
    .option("--auto-start", "Mistral: start training as soon as validation passes")
    .option("--dry-run", "print the request, Mistral's estimate and the token estimate from the manifest's counts, without creating the job")
    .option("--new-job", "create a new job even when the manifest records one from the same files and parameters (default: reuse it)")
    .action(async (flags: TargetFlags & { model: string; suffix?: string; hyperparameter: string[]; autoStart?: boolean; dryRun?: boolean; newJob?: boolean }) => {
      if (flags.manifest === undefined) throw new ConfigError("jobs create needs --manifest FILE (written by `ftprep run`)");
      const manifest = (await loadManifest(flags.manifest, io))!;
      const spec = {
        model: flags.model,
        ...(flags.suffix !== undefined ? { suffix: flags.suffix } : {}),
        hyperparameters: parseHyperparameters(flags.hyperparameter),
        ...(flags.autoStart ? { autoStart: true } : {}),
      };
      await withTarget(io, flags, manifest, async (target) => {
        const notice = providerJobs(target.provider.name).notice?.(target.baseUrl);
        if (notice !== undefined) io.stderr(`ftprep: ${notice}\n`);
        const result = await createJob(target.provider, manifest, flags.manifest!, spec, { dryRun: flags.dryRun ?? false, newJob: flags.newJob ?? false });
        // The before-the-run estimate from the manifest's token counts (nothing is re-read).
        const tokens = result.dryRun ? jobEstimate(manifest, spec.model, spec.hyperparameters) : undefined;
        if (flags.json) {
          printJson(io, result.dryRun ? { request: result.request, estimate: result.response ?? null, tokens } : result.response);
        } else if (result.dryRun) {
          io.stdout(`dry run: the request to ${target.baseUrl}:\n${JSON.stringify(result.request, null, 2)}\n`);
          if (result.response) io.stdout(`estimate: ${JSON.stringify(result.response, null, 2)}\n`);
          else if (target.provider.estimate) io.stdout(`estimate: not available (${target.baseUrl} did not answer one)\n`);
          for (const line of jobEstimateLines(tokens!)) io.stdout(`${line}\n`);
        } else {
          const r = result.response as RemoteJob;
          if (result.reused) io.stdout(`job ${r.id} (${r.status}) was already created from these files and parameters; reusing it (--new-job creates another)\n`);
          else io.stdout(`job ${r.id} created (${r.status}); recorded in ${flags.manifest}\n`);
          io.stdout(`follow it with: ftprep jobs wait ${r.id} --manifest ${flags.manifest}\n`);
        }
      });
    });

  const status = targetOptions(new Command("status"))
    .description("a job's status and events (recorded in the manifest given with --manifest)")
    .argument("<job-id>")
    .action(async (id: string, flags: TargetFlags) => {
      await withTarget(io, flags, await loadManifest(flags.manifest, io), async (target) => {
        const job = await target.provider.getJob(id);
        await record(flags, job);
        if (flags.json) printJson(io, job);
        else printJob(io, job, target.provider.name);
      });
    });

  const list = targetOptions(new Command("list"))
    .description("the provider's fine-tuning jobs, newest first (its first page): id, status, model")
    .action(async (flags: TargetFlags) => {
      await withTarget(io, flags, await loadManifest(flags.manifest, io), async (target) => {
        const jobs = await target.provider.listJobs();
        if (flags.json) {
          printJson(io, { data: jobs });
          return;
        }
        if (jobs.length === 0) io.stdout(`no jobs on ${target.baseUrl}\n`);
        for (const job of jobs) {
          const state = jobState(job, target.provider.name);
          const model = typeof job.model === "string" ? ` ${job.model}` : "";
          io.stdout(`${job.id} ${state.status}${model}${state.fineTunedModel ? ` → ${state.fineTunedModel}` : ""}\n`);
        }
      });
    });

  const start = targetOptions(new Command("start"))
    .description("start a validated job created without --auto-start (Mistral; OpenAI's jobs start on their own)")
    .argument("<job-id>")
    .action(async (id: string, flags: TargetFlags) => {
      await withTarget(io, flags, await loadManifest(flags.manifest, io), async (target) => {
        const startJob = target.provider.startJob?.bind(target.provider);
        if (!startJob) throw new ConfigError(`${target.provider.name} jobs start on their own once validated; there is nothing to start (follow it with ftprep jobs wait ${id})`);
        let job: RemoteJob;
        try {
          job = await startJob(id);
        } catch (error) {
          const current = await refusedBecauseOfState(target, id, error);
          if (!current) throw error;
          await record(flags, current);
          if (flags.json) printJson(io, current);
          const state = jobState(current, target.provider.name);
          if (["STARTED", "RUNNING", "SUCCESS"].includes(current.status) || current.auto_start === true) {
            io.stdout(`job ${id} is already ${current.status}${current.auto_start === true ? " (created with auto_start)" : ""}; nothing to start\n`);
            io.exitCode = 0;
          } else if (state.done) {
            io.stderr(`ftprep: job ${id} ended ${current.status}; it cannot be started: create another with ftprep jobs create --new-job\n`);
            io.exitCode = 3;
          } else {
            io.stderr(`ftprep: job ${id} is ${current.status}: only a VALIDATED job can be started; ftprep jobs wait ${id} --start${manifestFlag(flags)} starts it once validated\n`);
            io.exitCode = 3;
          }
          return;
        }
        await record(flags, job);
        if (flags.json) printJson(io, job);
        else {
          printJob(io, job, target.provider.name);
          io.stdout(`follow it with: ftprep jobs wait ${id}${manifestFlag(flags)}\n`);
        }
      });
    });

  const wait = targetOptions(new Command("wait"))
    .description(
      "poll a job until it ends: exit 0 on success, 1 when it failed or was cancelled, 3 when it waits to be started, on --timeout and on operational errors",
    )
    .argument("<job-id>")
    .option("--timeout <duration>", "give up after this long (90 = 90s, 15m, 2h); the job goes on (default: no limit)", duration)
    .option("--start", "start the job when it is VALIDATED and waits for a start (Mistral, created without --auto-start)")
    .option("--poll-ms <ms>", "first pause between polls (default 2000; then ×1.5 up to 30 s)", positiveInt)
    .action(async (id: string, flags: TargetFlags & { pollMs?: number; timeout?: number; start?: boolean }) => {
      await withTarget(io, flags, await loadManifest(flags.manifest, io), async (target) => {
        let first = true;
        // Nothing drawn (the status lines say it), but followed: Ctrl-C ends with one line saying where the job is.
        const progress = new Progress(io, false, { silent: true });
        progress.job({ status: "status not yet known" }, id);
        const { state, job, outcome } = await interruptible(progress, (signal) => waitForJob(target.provider, id, {
          signal,
          ...(flags.pollMs !== undefined ? { intervalMs: flags.pollMs } : {}),
          ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
          ...(flags.start ? { start: true } : {}),
          ...(flags.manifest !== undefined ? { manifestPath: flags.manifest } : {}),
          onChange: (s, j) => {
            if (first) {
              first = false;
              const model = typeof j.model === "string" ? ` (${j.model})` : "";
              const limit = flags.timeout !== undefined ? `; giving up after ${formatDuration(flags.timeout)}` : "";
              io.stderr(`waiting for job ${id}${model} on ${target.baseUrl} to end (${endStatuses(target.provider.name).join(", ")})${limit}\n`);
            }
            progress.job(s, id);
            io.stderr(`job ${id}: ${s.status}\n`);
          },
          onEvent: (event) => io.stderr(`  ${event.at} ${event.message}\n`),
          onNotice: (message) => io.stderr(`ftprep: ${message}\n`),
        }));
        if (flags.json) printJson(io, job);
        else if (outcome === "done") printJob(io, job, target.provider.name);
        if (outcome === "needs_start") {
          io.stderr(`ftprep: job ${id} is VALIDATED and waits to be started (created without auto_start): ftprep jobs start ${id}${manifestFlag(flags)}, or wait with --start\n`);
          io.exitCode = 3;
        } else if (outcome === "timeout") {
          io.stderr(`ftprep: job ${id} is still ${state.status} after ${formatDuration(flags.timeout!)} (--timeout); it goes on: ftprep jobs wait ${id}${manifestFlag(flags)} follows it again\n`);
          io.exitCode = 3;
        } else {
          io.exitCode = state.succeeded ? 0 : 1;
        }
      });
    });

  const cancel = targetOptions(new Command("cancel"))
    .description("cancel a job; one that already ended is left as it is and said so")
    .argument("<job-id>")
    .action(async (id: string, flags: TargetFlags) => {
      await withTarget(io, flags, await loadManifest(flags.manifest, io), async (target) => {
        let job: RemoteJob;
        try {
          job = await target.provider.cancelJob(id);
        } catch (error) {
          const current = await refusedBecauseOfState(target, id, error);
          if (!current || !jobState(current, target.provider.name).done) throw error;
          await record(flags, current);
          if (flags.json) printJson(io, current);
          // Already cancelled is what was asked for; a job that ended otherwise cannot be cancelled any more.
          const cancelled = current.status === providerJobs(target.provider.name).cancelledStatus;
          if (cancelled) io.stdout(`job ${id} already ended ${current.status}; nothing to cancel\n`);
          else io.stderr(`ftprep: job ${id} already ended ${current.status}; nothing to cancel\n`);
          io.exitCode = cancelled ? 0 : 3;
          return;
        }
        await record(flags, job);
        if (flags.json) printJson(io, job);
        else printJob(io, job, target.provider.name);
      });
    });

  for (const sub of [create, status, list, start, wait, cancel]) {
    sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    jobs.addCommand(sub);
  }
  return jobs;
}
