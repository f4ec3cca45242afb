import { Command, InvalidArgumentError } from "commander";
import { readManifest, writeManifest } from "../manifest/manifest.js";
import { mergeManifests } from "../manifest/merge.js";
import { checkUnitSource, createShardPlan, DEFAULT_UNIT_BYTES, readShardPlan, shardUnits, type ShardPlan, unitFile } from "../plan/shard-plan.js";
import { toolVersion } from "../pipeline/target.js";
import { writeFileAtomically } from "../temp-files.js";
import { ConfigError, FileSystemError } from "../errors.js";
import { printable } from "../printable.js";
import type { Io } from "./io.js";
import { printJson } from "./json-output.js";
import { byteSize, duration, providerOption, targetFromFlags } from "./options.js";
import { jobFromFlags, queueNameOption, queueWork } from "./queue.js";
import type { enqueuePlan } from "../queue/queue.js";
import { addStorageOptions } from "./storage-options.js";
import { uploadLike } from "./upload.js";

/** commander argument parser: a whole number ≥ 0. */
function indexArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("Expected a whole number (0, 1, 2…).");
  return n;
}

interface PlanFlags {
  out: string;
  enqueue?: string;
  queueName: string;
  jobModel?: string;
  suffix?: string;
  hyperparameter?: string[];
  autoStart?: boolean;
  unitBytes?: number;
  provider?: string;
  format?: string;
  maxFileBytes?: number;
  skipInvalid?: boolean;
  maxInvalidFraction?: number;
  json?: boolean;
}

/** `ftprep plan <sources...> --out plan.json`: the units of work, for `ftprep work` on many machines. */
export function planCommand(io: Io): Command {
  const command: Command = new Command("plan")
    .description("cut datasets (local or s3://) into units of work — files, and byte ranges of large files — for ftprep work on many machines")
    .argument("<sources...>", "files, directories, globs or s3:// locations")
    .requiredOption("--out <file>", "where the plan is written (JSON, schemas/plan.schema.json)")
    .option("--unit-bytes <size>", `cut uncompressed JSONL files larger than this into line-aligned byte ranges of about this size (default ${DEFAULT_UNIT_BYTES / 1024 / 1024}MiB)`, byteSize)
    .addOption(providerOption())
    .option("--format <format>", "record format every worker applies (default auto)", "auto")
    .option("--max-file-bytes <size>", "largest file a worker uploads (default: the provider's)", byteSize)
    .option("--skip-invalid", "workers leave invalid records out instead of refusing the unit")
    .option("--max-invalid-fraction <f>", "with --skip-invalid, refuse a unit with more invalid records than this (default 0.05)", Number)
    .option("--enqueue <url>", "also add the units to the BullMQ queue on this Redis (redis://host:port), with a final merge job, for ftprep work --queue")
    .addOption(queueNameOption())
    .option("--job-model <model>", "with --enqueue: the final merge also creates the fine-tuning job for this model")
    .option("--suffix <suffix>", "with --job-model: the job's suffix")
    .option("--hyperparameter <k=v>", "with --job-model: a hyperparameter (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option("--auto-start", "with --job-model: start training as soon as validation passes (Mistral)")
    .option("--json", "print one JSON document on stdout");
  addStorageOptions(command);
  return command.action(async (sources: string[], flags: PlanFlags) => {
    const job = jobFromFlags(flags);
    if (job !== null && flags.enqueue === undefined) throw new ConfigError("--job-model goes with --enqueue (with an array job: ftprep jobs create after ftprep manifest merge)");
    const target = targetFromFlags(command, flags);
    const { plan, failures } = await createShardPlan(sources, {
      target,
      ...(flags.unitBytes !== undefined ? { unitBytes: flags.unitBytes } : {}),
      ...(flags.maxFileBytes !== undefined ? { maxFileBytes: flags.maxFileBytes } : {}),
      ...(flags.skipInvalid ? { skipInvalid: true } : {}),
      ...(flags.maxInvalidFraction !== undefined ? { maxInvalidFraction: flags.maxInvalidFraction } : {}),
      exclude: [flags.out],
      toolVersion: toolVersion(),
    });
    // A plan that leaves out what could not be read would let the workers finish "everything" without it.
    if (failures.length === 0) {
      try {
        await writeFileAtomically(flags.out, `${JSON.stringify(plan, null, 1)}\n`);
      } catch (error) {
        throw FileSystemError.from(flags.out, "write", error);
      }
    }
    let enqueued: Awaited<ReturnType<typeof enqueuePlan>> | undefined;
    if (failures.length === 0 && flags.enqueue !== undefined) enqueued = await (await import("../queue/queue.js")).enqueuePlan(plan, { url: flags.enqueue, name: flags.queueName }, { job });
    const ranges = plan.units.filter((u) => u.range !== null).length;
    const bytes = plan.units.reduce((n, u) => n + u.bytes, 0);
    if (flags.json) {
      printJson(io, {
        ok: failures.length === 0,
        plan: failures.length === 0 ? flags.out : null,
        units: plan.units.length,
        ranges,
        bytes,
        enqueued: enqueued ? { plan_id: enqueued.planId, queue_name: flags.queueName, units: enqueued.units } : null,
        skipped: plan.skipped ?? [],
        failures,
      });
    } else {
      for (const f of failures) io.stderr(`ftprep: ${printable(f.message)}\n`);
      if (failures.length === 0) io.stdout(`plan: ${plan.units.length} unit(s) (${plan.units.length - ranges} whole file(s), ${ranges} byte range(s)), ${bytes} bytes → ${flags.out}\n`);
      if (enqueued) io.stdout(`enqueued plan ${enqueued.planId}: ${enqueued.units} unit(s) and their merge on queue ${flags.queueName}; run ftprep work --queue on any number of machines\n`);
      else if (failures.length > 0) io.stdout(`no plan written: ${failures.length} entr${failures.length === 1 ? "y" : "ies"} could not be read\n`);
    }
    io.exitCode = failures.length === 0 ? 0 : 3;
  });
}

/** The shard index and count from the flags, else from what array-job schedulers set. */
export function shardFromEnv(flags: { shardIndex?: number; shardCount?: number }, env: NodeJS.ProcessEnv = process.env): { index: number; count: number } {
  const fromEnv = (names: string[]): number | undefined => {
    for (const name of names) {
      const value = env[name];
      if (value !== undefined && value !== "") {
        if (!/^\d+$/.test(value)) throw new ConfigError(`${name} is not a whole number: ${value}`);
        return Number(value);
      }
    }
    return undefined;
  };
  // Kubernetes Indexed Jobs, AWS Batch array jobs and Slurm arrays each name the task's index their own way.
  const index = flags.shardIndex ?? fromEnv(["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "SLURM_ARRAY_TASK_ID"]);
  const count = flags.shardCount ?? fromEnv(["SLURM_ARRAY_TASK_COUNT"]);
  if (index === undefined || count === undefined) {
    throw new ConfigError("give --shard-index I and --shard-count N (the index may also come from JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID)");
  }
  if (count < 1 || index >= count) throw new ConfigError(`--shard-index must be from 0 to --shard-count - 1 (${count - 1}), got ${index}`);
  return { index, count };
}

/** The run options a plan fixes, so that every worker applies the same target and limits. */
export function planRunOptions(plan: ShardPlan): { provider: string; format: string; maxFileBytes: number; skipInvalid: boolean; maxInvalidFraction: number } {
  return {
    provider: plan.options.provider,
    format: plan.options.format,
    maxFileBytes: plan.options.max_file_bytes,
    skipInvalid: plan.options.skip_invalid,
    maxInvalidFraction: plan.options.max_invalid_fraction,
  };
}

/** `ftprep work --plan plan.json --shard-index I --shard-count N`: one shard of a plan, uploaded, into a partial manifest. */
export function workCommand(io: Io): Command {
  return uploadLike("work", "process one shard of a plan (validate, guard, upload) into a partial manifest; ftprep manifest merge joins the partial manifests", io, {
    configure: (command) =>
      command
        .option("--plan <file>", "the plan (ftprep plan --out)")
        .option("--queue <url>", "pull units from the BullMQ queue on this Redis (redis://host:port) instead of a plan's shard, until it is empty")
        .addOption(queueNameOption())
        .option("--keep-running", "with --queue: wait for new units when the queue is empty (default: stop)")
        .option("--stalled-after <duration>", "with --queue: a unit whose worker stops renewing its lock this long is given to another worker (default 30s)", duration)
        .option("--shard-index <i>", "which shard: 0 to N-1 (default JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID)", indexArg)
        .option("--shard-count <n>", "how many shards the plan is dealt into (default SLURM_ARRAY_TASK_COUNT)", indexArg)
        .option("--allow-local-paths", "read local files the plan names outside the working directory (absolute paths, ..)"),
    takeOver: async (flags) => {
      const f = flags as { queue?: string; plan?: string; shardIndex?: number; shardCount?: number };
      if (f.queue === undefined) {
        if (f.plan === undefined) throw new ConfigError("give --plan FILE (with --shard-index and --shard-count) or --queue redis://HOST:PORT");
        return false;
      }
      if (f.plan !== undefined || f.shardIndex !== undefined || f.shardCount !== undefined) throw new ConfigError("--queue takes its units from the queue: leave out --plan, --shard-index and --shard-count");
      await queueWork(io, flags as unknown as Parameters<typeof queueWork>[1]);
      return true;
    },
    units: async (flags) => {
      const f = flags as { plan: string; shardIndex?: number; shardCount?: number; allowLocalPaths?: boolean; manifest: string; manifestGiven: boolean };
      const plan = await readShardPlan(f.plan, { allowLocalPaths: Boolean(f.allowLocalPaths) });
      const { index, count } = shardFromEnv(f);
      const units = shardUnits(plan, index, count);
      // Each unit's source is checked against the plan just before it is read: a changed one fails alone.
      const byPath = new Map(units.map((u) => [unitFile(u).path, u]));
      return {
        files: units.map(unitFile),
        options: planRunOptions(plan),
        defaultManifest: `ftprep-manifest.shard-${index}-of-${count}.json`,
        checkFile: async (file, signal) => checkUnitSource(byPath.get(file.path)!, signal, { afterPass: true }),
      };
    },
  });
}

/** `ftprep manifest merge <manifests...> --out FILE`. */
export function manifestCommand(io: Io): Command {
  const manifest = new Command("manifest").description("work with manifests");
  manifest
    .command("merge")
    .description("merge partial manifests (of ftprep work shards or queue units) into one that jobs create takes; refuses conflicts, dedupes files by sha256")
    .argument("<manifests...>", "partial manifests")
    .requiredOption("-o, --out <file>", "the merged manifest")
    .option("--json", "print one JSON document on stdout")
    .action(async (paths: string[], flags: { out: string; json?: boolean }) => {
      const inputs = [];
      for (const path of paths) {
        const read = await readManifest(path, { onProblem: (m) => io.stderr(`ftprep: warning: ${m}\n`) });
        if (read === undefined) throw new ConfigError(`${path}: no such manifest`);
        inputs.push({ name: path, manifest: read });
      }
      const merged = mergeManifests(inputs);
      await writeManifest(flags.out, merged);
      const total = inputs.reduce((n, i) => n + i.manifest.files.length, 0);
      if (flags.json) printJson(io, { ok: true, manifest: flags.out, inputs: paths.length, files: merged.files.length, duplicates: total - merged.files.length });
      else io.stdout(`merged ${paths.length} manifest(s): ${merged.files.length} file(s) (${total - merged.files.length} duplicate entr${total - merged.files.length === 1 ? "y" : "ies"} dropped) → ${flags.out}\n`);
    });
  return manifest;
}
