import { Command, Option } from "commander";
import { ConfigError, FtprepError } from "../errors.js";
import { parseHyperparameters } from "../jobs/jobs.js";
import { readManifest, writeManifest, type Manifest } from "../manifest/manifest.js";
import type { RunOptions } from "../pipeline/run.js";
import { checkUnitSource, unitFile } from "../plan/shard-plan.js";
import { printable } from "../printable.js";
import { DEFAULT_QUEUE_NAME } from "../defaults.js";
import type { JobMessage, QueueLocation, UnitContext, UnitMessage } from "../queue/queue.js";
import type { ProviderName } from "../types.js";
import type { Io } from "./io.js";
import type { UploadFlags } from "./upload.js";
import { interruptible } from "./interrupt.js";
import { printJson } from "./json-output.js";

/** `--queue-name`: every command that talks to the queue takes it. */
export function queueNameOption(): Option {
  return new Option("--queue-name <name>", "the BullMQ queue's name").default(DEFAULT_QUEUE_NAME);
}

/** The fine-tuning job the final merge creates, from `plan --enqueue`'s flags; null without `--job-model`. */
export function jobFromFlags(flags: { jobModel?: string; suffix?: string; hyperparameter?: string[]; autoStart?: boolean }): JobMessage | null {
  if (flags.jobModel === undefined) {
    if (flags.suffix !== undefined || (flags.hyperparameter?.length ?? 0) > 0 || flags.autoStart) throw new ConfigError("--suffix, --hyperparameter and --auto-start go with --job-model");
    return null;
  }
  return {
    model: flags.jobModel,
    ...(flags.suffix !== undefined ? { suffix: flags.suffix } : {}),
    ...((flags.hyperparameter?.length ?? 0) > 0 ? { hyperparameters: parseHyperparameters(flags.hyperparameter!) } : {}),
    ...(flags.autoStart ? { auto_start: true } : {}),
  };
}

/** `work --queue`: its own flags and the upload flags a unit runs with. */
interface QueueWorkFlags extends Pick<UploadFlags, "baseUrl" | "apiKey" | "concurrency" | "requestTimeout" | "manifest" | "out" | "store" | "json" | "quiet"> {
  queue: string;
  /** `--workers`: the threads that validate a unit (default: the cores shared among this machine's workers). */
  workers?: number;
  queueName: string;
  keepRunning?: boolean;
  stalledAfter?: number;
}

/**
 * The threads that validate a unit: `--workers`, else the machine's cores shared among the queue's workers running
 * on it (each process pulls its own units: two workers on two cores validate with one thread each), and one for a
 * unit under 32 MiB as anywhere else.
 */
export async function unitThreads(bytes: number, context: UnitContext): Promise<number> {
  const { availableParallelism } = await import("node:os");
  const { defaultWorkers } = await import("../workers/validate.js");
  if (defaultWorkers(bytes) === 1) return 1;
  return Math.max(1, Math.floor(availableParallelism() / (await context.localWorkers())));
}

/** `ftprep work --queue redis://…`: pulls units (and the final merge) from the queue until it is empty. */
export async function queueWork(io: Io, flags: QueueWorkFlags): Promise<void> {
  const where: QueueLocation = { url: flags.queue, name: flags.queueName };
  const say = (line: string): void => {
    if (!flags.quiet) io.stderr(`${line}\n`);
  };
  // BullMQ and ioredis load only when a queue is used.
  const { describeRedis, runQueueWorker, unrecoverable } = await import("../queue/queue.js");
  const { run } = await import("../pipeline/run.js");
  const { openTarget } = await import("../pipeline/target.js");
  const { createJob } = await import("../jobs/jobs.js");
  const base = (provider: string): RunOptions => ({
    provider: provider as ProviderName,
    ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
    ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}),
    concurrency: flags.concurrency,
    ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout } : {}),
    outDir: flags.out,
    store: flags.store,
  });
  // The target is asked whether it takes files before the first unit only: later units save that round trip.
  let targetChecked = false;
  const summary = await interruptible(undefined, (signal) =>
    runQueueWorker(where, {
      workDir: `${flags.manifest}.units`,
      manifestPath: flags.manifest,
      ...(flags.keepRunning ? { keepRunning: true } : {}),
      ...(flags.stalledAfter !== undefined ? { stalledMs: flags.stalledAfter } : {}),
      signal,
      runUnit: async (message: UnitMessage, manifestPath: string, unitSignal: AbortSignal, stillMine: () => Promise<void>, context: UnitContext) => {
        const unit = message.unit;
        let result;
        try {
          result = await run([{ path: unit.source }], {
            ...base(message.options.provider),
            workers: flags.workers ?? (await unitThreads(unit.bytes, context)),
            format: message.options.format as RunOptions["format"] & string,
            maxFileBytes: message.options.max_file_bytes,
            skipInvalid: message.options.skip_invalid,
            maxInvalidFraction: message.options.max_invalid_fraction,
            files: [unitFile(unit)],
            checkFile: async (_file, checkSignal) => checkUnitSource(unit, checkSignal, { afterPass: true }),
            beforeUpload: stillMine,
            ...(targetChecked ? { preflight: false } : {}),
            manifestPath,
            signal: AbortSignal.any([signal, unitSignal]),
            ...(flags.quiet ? {} : { onNotice: (m: string) => io.stderr(`ftprep: ${m}\n`) }),
          });
        } catch (error) {
          // A wrong option or a refused key is not cured by another attempt; connections and servers may be.
          if (error instanceof ConfigError) throw unrecoverable(error.message);
          throw error;
        }
        targetChecked = true;
        if (!result.plan.ok) {
          const reason = result.plan.sources[0]?.reason;
          const failures = result.plan.failures;
          const message = reason !== undefined || failures.length === 0 ? `${unit.source}: ${reason ?? "not ready to upload"}` : failures[0]!.message;
          // An object store that did not answer may answer the next attempt; data errors and a changed source stay.
          const transient = failures.length > 0 && failures.every((f) => /^ERR_(CONNECTION|TIMEOUT|HTTP_(5\d\d|429))$/.test(f.code));
          throw transient ? new Error(message) : unrecoverable(message);
        }
        const upload = result.upload!;
        if (upload.failed.length > 0 || upload.aborted) throw new Error(upload.failed.map((f) => `${f.path}: ${f.message}`).join("; ") || "interrupted");
        say(`unit ${unit.id} (${printable(unitFile(unit).path)}): done, ${upload.uploaded} uploaded, ${upload.adopted} found already uploaded, ${upload.skipped} skipped`);
        // The unit's result, kept by the queue for the merge: its manifest, which never holds a secret.
        return JSON.parse(JSON.stringify(result.manifest ?? (await readManifest(manifestPath)))) as Manifest;
      },
      createJob: async (manifestPath: string, job: JobMessage) => {
        const manifest = (await readManifest(manifestPath))!;
        const target = await openTarget(manifest.provider as ProviderName, { ...base(manifest.provider), manifest });
        try {
          const created = await createJob(target.provider, manifest, manifestPath, {
            model: job.model,
            ...(job.suffix !== undefined ? { suffix: job.suffix } : {}),
            ...(job.hyperparameters ? { hyperparameters: Object.fromEntries(Object.entries(job.hyperparameters).map(([k, v]) => [k, typeof v === "boolean" ? String(v) : v])) } : {}),
            ...(job.auto_start ? { autoStart: true } : {}),
          });
          return String(created.response?.id ?? "");
        } finally {
          await target.close();
        }
      },
      onEvent: (event) => {
        if (event.type === "unit-start") say(`unit ${event.unit.id} (${printable(unitFile(event.unit).path)}): started, attempt ${event.attempt}`);
        else if (event.type === "unit-failed") say(`ftprep: ${event.unit ? `unit ${event.unit.id}` : "a job"} failed${event.final ? " for good" : " (it will be tried again)"}: ${printable(event.message)}`);
        else if (event.type === "unit-taken") say(`unit ${event.unit.id} (${printable(unitFile(event.unit).path)}): another worker has taken it over (this one stalled longer than --stalled-after); left to it, nothing more sent from here`);
        else if (event.type === "merged") say(`merged the units' manifests: ${event.files} file(s) → ${event.manifest}${event.job ? `; job ${event.job} created` : ""}`);
      },
    }),
  );
  if (flags.json) printJson(io, { ok: summary.failed === 0, queue: describeRedis(flags.queue), queue_name: flags.queueName, units: summary.units, failed: summary.failed, merged: summary.merged, manifest: summary.merged ? flags.manifest : null });
  else io.stdout(`worker done: ${summary.units} unit(s) processed here, ${summary.failed} failed for good${summary.merged ? `; merged manifest: ${flags.manifest}` : ""}\n`);
  io.exitCode = summary.failed === 0 ? 0 : 3;
}

/** `ftprep queue status --queue redis://…` */
export function queueCommand(io: Io): Command {
  const queue = new Command("queue").description("the BullMQ queue of ftprep plan --enqueue and ftprep work --queue");
  queue
    .command("status")
    .description("units waiting, running, done and failed (with reasons), and the merge; --manifest-out writes the merged manifest")
    .requiredOption("--queue <url>", "the Redis URL (redis://host:port)")
    .addOption(queueNameOption())
    .option("--manifest-out <file>", "write the merged manifest (once the merge is done) to FILE")
    .option("--json", "print one JSON document on stdout")
    .action(async (flags: { queue: string; queueName: string; manifestOut?: string; json?: boolean }) => {
      const { queueStatus } = await import("../queue/queue.js");
      const status = await queueStatus({ url: flags.queue, name: flags.queueName });
      if (flags.manifestOut !== undefined) {
        if (!status.manifest) throw new FtprepError("ERR_NOT_READY", `no merged manifest yet in ${status.queue} (${status.name}): ${status.units.completed} of ${status.units.total} unit(s) done`);
        await writeManifest(flags.manifestOut, status.manifest);
      }
      const c = status.counts;
      if (flags.json) {
        const { manifest, ...rest } = status;
        printJson(io, { ok: status.units.failed === 0, ...rest, merged_files: manifest ? manifest.files.length : null, manifest_out: flags.manifestOut ?? null });
      } else {
        io.stdout(`queue ${status.name} at ${status.queue}: ${status.units.total} unit(s) — ${status.units.completed} done, ${c.active ?? 0} running, ${(c.waiting ?? 0) + (c.prioritized ?? 0)} waiting, ${c.delayed ?? 0} waiting to retry, ${status.units.failed} failed\n`);
        for (const m of status.merges) io.stdout(`  merge of plan ${m.plan_id}: ${m.state === "waiting-children" ? "waiting for units" : m.state}${m.files !== null ? `, ${m.files} file(s)` : ""}\n`);
        for (const f of status.failed.slice(0, 10)) io.stdout(`  failed: ${f.id} ${f.source ? printable(f.source) : ""} after ${f.attempts} attempt(s): ${printable(f.reason)}\n`);
        if (flags.manifestOut !== undefined) io.stdout(`manifest: ${flags.manifestOut}\n`);
      }
      io.exitCode = status.units.failed === 0 ? 0 : 1;
    });
  return queue;
}

