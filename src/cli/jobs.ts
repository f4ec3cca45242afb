import { Command, Option } from "commander";
import { ConfigError } from "../errors.js";
import { DEFAULT_STORE } from "../defaults.js";
import { createJob, jobState, parseHyperparameters, retiredJobsMessage, waitForJob, type JobState } from "../jobs/jobs.js";
import type { Manifest } from "../manifest/manifest.js";
import type { Target } from "../pipeline/target.js";
import { GoneError } from "../providers/errors.js";
import type { ProviderName, RemoteJob } from "../providers/types.js";
import type { Io } from "./io.js";
import { positiveInt } from "./options.js";

interface TargetFlags {
  manifest?: string;
  provider?: ProviderName;
  baseUrl?: string;
  apiKey?: string;
  store?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function targetOptions(command: Command): Command {
  return command
    .option("--manifest <file>", "the manifest: its provider and target (reopening the embedded server on its store)")
    .addOption(new Option("--provider <provider>", "the API, without a manifest (default mistral)").choices(["mistral", "openai"]))
    .option("--base-url <url>", "the API's base URL (default: the manifest's, or MISTRAL_BASE_URL / OPENAI_BASE_URL)")
    .option("--api-key <key>", "API key (default: MISTRAL_API_KEY / OPENAI_API_KEY); never printed")
    .option("--store <dir>", "the embedded server's store, with no manifest, key or base URL", DEFAULT_STORE)
    .option("--json", "print the provider's job object as one JSON document on stdout");
}

async function loadManifest(path: string | undefined): Promise<Manifest | undefined> {
  if (path === undefined) return undefined;
  const { readManifest } = await import("../manifest/manifest.js");
  const manifest = await readManifest(path);
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

function printJob(io: Io, job: RemoteJob): void {
  const state = jobState(job);
  io.stderr(`job ${job.id}: ${state.status}${state.fineTunedModel ? ` → ${state.fineTunedModel}` : ""}\n`);
  for (const event of (job.events as { name: string; created_at: number; data?: { status?: string } | null }[] | undefined) ?? []) {
    io.stderr(`  ${new Date(event.created_at * 1000).toISOString()} ${event.name}${event.data?.status ? ` ${event.data.status}` : ""}\n`);
  }
  for (const reason of state.reasons) io.stderr(`  reason: ${reason}\n`);
}

function finalExit(state: JobState): number {
  return state.succeeded ? 0 : state.done ? 1 : 0;
}

/** `ftprep jobs create|status|wait|cancel` */
export function jobsCommand(io: Io): Command {
  const jobs = new Command("jobs").description("fine-tuning jobs from a manifest: create, status, wait, cancel");

  const create = targetOptions(new Command("create"))
    .description("create a fine-tuning job from the manifest's uploaded files")
    .requiredOption("--model <model>", "the base model, e.g. open-mistral-7b or gpt-4o-mini-2024-07-18")
    .option("--suffix <suffix>", "part of the fine-tuned model's name")
    .option("--hyperparameter <k=v>", "a hyperparameter (repeatable): training_steps=10, learning_rate=0.0001, n_epochs=3…", collect, [])
    .option("--auto-start", "Mistral: start training as soon as validation passes")
    .option("--dry-run", "print the request (and Mistral's estimate) without creating the job")
    .action(async (flags: TargetFlags & { model: string; suffix?: string; hyperparameter: string[]; autoStart?: boolean; dryRun?: boolean }) => {
      if (flags.manifest === undefined) throw new ConfigError("jobs create needs --manifest FILE (written by `ftprep run`)");
      const manifest = (await loadManifest(flags.manifest))!;
      const spec = {
        model: flags.model,
        ...(flags.suffix !== undefined ? { suffix: flags.suffix } : {}),
        hyperparameters: parseHyperparameters(flags.hyperparameter),
        ...(flags.autoStart ? { autoStart: true } : {}),
      };
      await withTarget(io, flags, manifest, async (target) => {
        const result = await createJob(target.provider, manifest, flags.manifest!, spec, { dryRun: flags.dryRun ?? false });
        if (flags.json) {
          io.stdout(`${JSON.stringify(result.dryRun ? { request: result.request, estimate: result.response ?? null } : result.response)}\n`);
        } else if (result.dryRun) {
          io.stderr(`dry run: the request to ${target.baseUrl}:\n${JSON.stringify(result.request, null, 2)}\n`);
          if (result.response) io.stderr(`estimate: ${JSON.stringify(result.response, null, 2)}\n`);
        } else {
          const r = result.response as RemoteJob;
          io.stderr(`job ${r.id} created (${r.status}); recorded in ${flags.manifest}\nfollow it with: ftprep jobs wait ${r.id} --manifest ${flags.manifest}\n`);
        }
      });
    });

  /** A command that makes one call about a job and prints the job the provider answers. */
  const oneCall = (name: string, description: string, call: (target: Target, id: string) => Promise<RemoteJob>): Command =>
    targetOptions(new Command(name))
      .description(description)
      .argument("<job-id>")
      .action(async (id: string, flags: TargetFlags) => {
        await withTarget(io, flags, await loadManifest(flags.manifest), async (target) => {
          const job = await call(target, id);
          if (flags.json) io.stdout(`${JSON.stringify(job)}\n`);
          else printJob(io, job);
        });
      });

  const status = oneCall("status", "a job's status and events", (target, id) => target.provider.getJob(id));

  const wait = targetOptions(new Command("wait"))
    .description("poll a job until it ends: exit 0 on success, 1 on failure (with the reasons), 3 on operational errors")
    .argument("<job-id>")
    .option("--poll-ms <ms>", "first pause between polls (default 2000; then ×1.5 up to 30 s)", positiveInt)
    .action(async (id: string, flags: TargetFlags & { pollMs?: number }) => {
      await withTarget(io, flags, await loadManifest(flags.manifest), async (target) => {
        const { state, job } = await waitForJob(target.provider, id, {
          ...(flags.pollMs !== undefined ? { intervalMs: flags.pollMs } : {}),
          onChange: (s) => flags.json || io.stderr(`job ${id}: ${s.status}\n`),
        });
        if (flags.json) io.stdout(`${JSON.stringify(job)}\n`);
        else printJob(io, job);
        io.exitCode = finalExit(state);
      });
    });

  const cancel = oneCall("cancel", "cancel a job", (target, id) => target.provider.cancelJob(id));

  for (const sub of [create, status, wait, cancel]) {
    sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    jobs.addCommand(sub);
  }
  return jobs;
}
