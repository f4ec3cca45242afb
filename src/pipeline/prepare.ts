import { createHash } from "node:crypto";
import { basename, dirname } from "node:path";
import { type DiscoverInput, type DiscoveredFile, type SkippedPath, type Split } from "../discover/discover.js";
import { ConfigError, FtprepError } from "../errors.js";
import { copyRecords } from "../guard/copy.js";
import { defaultMaxFileBytes, type Provider } from "../guard/limits.js";
import { LineFileWriter } from "../guard/line-writer.js";
import { LineSet } from "../guard/line-set.js";
import { ShardWriter, type WrittenFile } from "../guard/shard-writer.js";
import { fileSize } from "../read/file.js";
import { DEFAULT_MAX_LINE_BYTES } from "../read/lines.js";
import { dirnameLocation, isObjectUrl, joinLocation } from "../storage/s3-url.js";
import { datasetStem } from "../read/source.js";
import { checkMaxFileBytes, tooFewExamples } from "../target/job-rules.js";
import type { ProviderSpec } from "../target/provider-spec.js";
import { targetOf, type TargetSpec } from "../target/target-spec.js";
import type { FormatId, Issue } from "../types.js";
import { ISSUE_CODES, type IssueCode } from "../validate/codes.js";
import { DigestSet } from "../validate/digest-set.js";
import { type FileReport, type RecordEvent, validateFile } from "../validate/file.js";
import type { TokenHook } from "../validate/token-stats.js";
import type { FileFailure } from "./validate.js";
import { redactedJson } from "../redact.js";
import { discoverDatasets, type PassEvent } from "./progress.js";
import { removeStaleTemps, removeStaleTempsOf } from "../temp-files.js";
import { readFileChunks } from "../read/file.js";
import { defaultWorkers, ParallelValidation, rangeCount, workersCanRun } from "../workers/validate.js";

/** Options of `prepare` (`ftprep prepare`). */
export interface PrepareOptions {
  /** Where cleaned files, converted files and shards are written (a clean file small enough stays where it is). */
  outDir: string;
  /**
   * The target: the provider whose formats, rules and limits apply, and the format (see `resolveTargetSpec`).
   * Without it, `provider` and `format` say the same thing.
   */
  target?: TargetSpec;
  /** Whose formats, rules and limits apply (default: the provider of an explicit `format`, else mistral); ignored with `target`. */
  provider?: Provider;
  /** Largest file to upload, in bytes (default: what the provider takes in one upload less a 1 MB margin: 511,000,000 for Mistral, 7,999,000,000 for OpenAI). */
  maxFileBytes?: number;
  /**
   * Where a job of the provider takes one file of a split (OpenAI), join the plan's files of each split into one
   * (`DIR/merged-train.jsonl`), so that one job can train on all of them (default false: each file stays as it is,
   * fit for a job of its own, and the plan notes it; `run` turns it on when the run creates a job).
   */
  merge?: boolean;
  /** Split files over the limit into shards (default true); when false they are E_FILE_TOO_LARGE. */
  split?: boolean;
  /** Leave invalid records out instead of refusing the file. */
  skipInvalid?: boolean;
  /** With `skipInvalid`: refuse a file when more than this fraction of its records are invalid (default 0.05). */
  maxInvalidFraction?: number;
  /** Drop records identical (after JSON normalisation) to an earlier record of the same split. */
  dedupe?: boolean;
  /** When no validation file is given: carve this fraction of the training records out as a validation set. */
  validationSplit?: number;
  /** Seed of the validation split (default 0): the same seed, files and records give the same split. */
  seed?: number;
  format?: FormatId | "auto";
  maxIssues?: number;
  maxLineBytes?: number;
  /** Write every issue as NDJSON to this file. */
  reportPath?: string;
  /** Counts each valid record's tokens (`resolveTokenHook` in src/tokens/hook.ts); the estimate without it. */
  tokens?: TokenHook;
  /** Called as each source file's plan is ready. */
  onSource?: (source: SourcePlan) => void;
  /** Told how discovery and each file's pass go (for progress displays). */
  onProgress?: (event: PassEvent) => void;
  /** The files to prepare, already found (a shard plan's units, byte ranges among them): `paths` are then not discovered. */
  files?: readonly DiscoveredFile[];
  /**
   * Called before each file is read (a shard plan's worker checks that the unit's source is still the one planned);
   * an `FtprepError` it throws fails that file alone, as an unreadable one does. It may leave the rest of the check to
   * the file's validating pass: the function it returns is called with the sha256 of the bytes the pass read and
   * their count, before anything of the file is written for good (and so before any upload); a throw fails the file.
   */
  checkFile?: (file: DiscoveredFile, signal?: AbortSignal) => Promise<void | ((sha256: string, hashedBytes: number, signal?: AbortSignal) => Promise<void>)>;
  /** More paths discovery never walks or takes (the manifest, the store); `outDir` and `reportPath` always are. */
  exclude?: readonly string[];
  signal?: AbortSignal;
  /**
   * Threads that validate (default: one per core, or 1 for less than 32 MiB of input in all). A JSONL file of 16 MiB
   * or more that is not written during its pass (not split, converted or carved) is validated by all of them in
   * byte ranges while the main thread hashes it; the plan and every output file are the same whatever the number.
   */
  workers?: number;
  /** Tuning (and tests): the size of the byte ranges (default 32 MiB). */
  rangeBytes?: number;
}

/** What a planned upload file is. */
export type OutputKind = "original" | "cleaned" | "converted" | "shard" | "validation-split" | "merged";

/** One file to upload: a written file (or the untouched original) with where it comes from and what it is. */
export interface PlannedFile extends WrittenFile {
  /** The source file it comes from (undefined for the carved validation split, which takes from every training file). */
  source: string | undefined;
  split: Split;
  kind: OutputKind;
  /** The source's weight in a job. */
  weight: number;
  /** A `merged` file: the files it joins, in order (the provider takes one file of this split per job). */
  merged?: string[];
}

/** Why a source file yields nothing to upload, when it does not. */
export type SourceStatus = "ready" | "invalid" | "refused" | "too-large";

/** One source file: its validation, what was left out and why, and what it yields. */
export interface SourcePlan {
  path: string;
  split: Split;
  /** The format it was checked as; `"unknown"` for a file that is not JSONL (`E_NOT_JSONL`, never ready). */
  format: FormatId | "unknown";
  sha256: string;
  bytes: number;
  records: number;
  valid: number;
  invalid: number;
  dropped: {
    /** Invalid records left out (with `skipInvalid`), counted per error code (a record counts once per code it has). */
    invalid: number;
    byCode: Record<string, number>;
    duplicates: number;
    blankLines: number;
    /** Records moved to the carved validation split. */
    carved: number;
  };
  status: SourceStatus;
  /** Why the file is not ready. */
  reason?: string;
  report: FileReport;
  outputs: PlannedFile[];
}

/** The plan: what `ftprep prepare --json` prints and what the uploader consumes. */
export interface Plan {
  outDir: string;
  provider: Provider;
  maxFileBytes: number;
  sources: SourcePlan[];
  /** Every file to upload, in order. */
  files: PlannedFile[];
  /** Findings of the size guard and the provider's per-job rules (E_FILE_TOO_LARGE, E_JOB_FILES, E_TOO_FEW_EXAMPLES, W_VALIDATION_FILE_SIZE). */
  issues: Issue[];
  /** What the plan changed to fit the provider, in words (a merge of several training files into one, …). */
  notes: string[];
  skipped: SkippedPath[];
  failures: FileFailure[];
  /** Every source is ready, nothing failed, and there is something to upload. */
  ok: boolean;
}

const DEFAULT_MAX_INVALID_FRACTION = 0.05;

/** Deterministic per-record draw for the validation split: a 32-bit mix of (seed, file, line) → [0, 1). */
export function splitDraw(seed: number, file: string, line: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  const text = `${file}\u0000${line}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  // murmur3's finaliser: neighbouring lines land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

function fraction(name: string, value: number | undefined, fallback: number, inclusive: boolean): number {
  if (value === undefined) return fallback;
  const ok = Number.isFinite(value) && value >= 0 && (inclusive ? value <= 1 : value > 0 && value < 1);
  if (!ok) throw new ConfigError(`Expected \`${name}\` to be a number ${inclusive ? "from 0 to 1" : "between 0 and 1"}, got ${String(value)}`);
  return value;
}

function fileIssue(file: string, code: IssueCode, message: string): Issue {
  return { code, severity: ISSUE_CODES[code].severity, file, line: 0, path: "", message };
}

/** Adds a guard finding about a source to its report, so the report's counts stay complete. */
function addToReport(report: FileReport, issue: Issue): void {
  report.issues.push({ line: issue.line, code: issue.code, severity: issue.severity, path: issue.path, message: issue.message });
  report.counts[issue.code] = (report.counts[issue.code] ?? 0) + 1;
  if (issue.severity === "error") report.errors++;
  else report.warnings++;
}

/**
 * Turns dataset paths into upload-ready files: discovers them, validates each in one pass that also hashes it
 * and writes its shards when it must be split, and decides what to upload — the original when it is clean and
 * small enough, else a cleaned copy, a conversion of a `.json` array, or shards of at most `maxFileBytes`.
 * Returns the plan; nothing is uploaded.
 */
export async function prepare(paths: readonly (string | DiscoverInput)[], options: PrepareOptions): Promise<Plan> {
  const target = targetOf(options);
  const spec = target.provider;
  const provider = spec.name;
  const maxFileBytes = options.maxFileBytes ?? defaultMaxFileBytes(provider);
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 2) throw new ConfigError(`Expected \`maxFileBytes\` to be a whole number of bytes, got ${String(maxFileBytes)}`);
  checkMaxFileBytes(spec, maxFileBytes);
  if (!spec.job.weights) {
    const weighted = paths.find((p) => typeof p !== "string" && p.weight !== undefined && p.weight !== 1);
    if (weighted !== undefined) {
      throw new ConfigError(`${spec.label} fine-tuning has no per-file weights; ${(weighted as DiscoverInput).path} has weight ${(weighted as DiscoverInput).weight}: remove it`);
    }
  }
  const splitting = options.split ?? true;
  const skipInvalid = options.skipInvalid ?? false;
  const maxInvalidFraction = fraction("maxInvalidFraction", options.maxInvalidFraction, DEFAULT_MAX_INVALID_FRACTION, true);
  const validationSplit = options.validationSplit === undefined ? undefined : fraction("validationSplit", options.validationSplit, 0, false);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`Expected \`seed\` to be an integer, got ${String(seed)}`);
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;

  const progress = options.onProgress;
  const exclude = [options.outDir, ...(options.reportPath !== undefined ? [options.reportPath] : []), ...(options.exclude ?? [])];
  // A shard plan's worker hands over its units, already found: no discovery then.
  const { files, skipped, unreadable } = options.files
    ? { files: [...options.files], skipped: [], unreadable: [] }
    : await discoverDatasets(paths, { exclude, signal: options.signal, onProgress: progress });
  const carving = validationSplit !== undefined && !files.some((f) => f.split === "validation");

  const plan: Plan = { outDir: options.outDir, provider, maxFileBytes, sources: [], files: [], issues: [], notes: [], skipped, failures: [...unreadable], ok: unreadable.length === 0 };
  const outputs = new Map<string, string>(); // output base path → source, to refuse two sources writing one file
  const digests = new Map<Split, DigestSet>();
  // Litter of killed runs (temporary shards and copies, up to 511 MB each): removed once their process is gone.
  if (!isObjectUrl(options.outDir)) await removeStaleTemps(options.outDir, { recursive: true });
  if (options.reportPath !== undefined) await removeStaleTempsOf(options.reportPath);
  const report = options.reportPath !== undefined ? await LineFileWriter.create(options.reportPath) : undefined;
  let carved: ShardWriter | undefined;
  const carvedFrom: string[] = [];
  let carvedSpoiled: string | undefined;
  const workers = options.workers ?? defaultWorkers(files.reduce((n, f) => n + f.bytes, 0));
  if (!Number.isSafeInteger(workers) || workers < 1) throw new ConfigError(`Expected \`workers\` to be a positive integer, got ${String(workers)}`);
  // Opened when a file first needs it: idle threads would only add to the peak memory of a run that shards.
  let parallel: ParallelValidation | undefined;
  const useWorkers = workers > 1 && workersCanRun({ ...(options.tokens ? { tokens: options.tokens } : {}) });
  const openParallel = async (): Promise<ParallelValidation> =>
    (parallel ??= await ParallelValidation.open(workers, { ...(options.signal ? { signal: options.signal } : {}), ...(options.rangeBytes !== undefined ? { rangeBytes: options.rangeBytes } : {}) }));

  try {
    for (const [index, file] of files.entries()) {
      const outBase = joinLocation(options.outDir, dirname(file.relative), datasetStem(basename(file.relative)));
      const other = outputs.get(outBase);
      if (other !== undefined) throw new ConfigError(`${file.path} and ${other} would both be written to ${outBase}.jsonl; rename one of them`);
      outputs.set(outBase, file.path);
      const carveHere = carving && file.split === "train";
      if (carveHere) carved ??= new ShardWriter({ dir: options.outDir, name: "validation-split", maxBytes: maxFileBytes });
      let dedupe: DigestSet | undefined;
      if (options.dedupe) {
        dedupe = digests.get(file.split) ?? new DigestSet();
        digests.set(file.split, dedupe);
      }
      try {
        const confirm = (await options.checkFile?.(file, options.signal)) ?? undefined;
        const source = await prepareFile(file, outBase, {
          confirm,
          target,
          maxFileBytes,
          splitting,
          skipInvalid,
          maxInvalidFraction,
          maxLineBytes,
          seed,
          carving: carveHere ? { writer: carved!, fraction: validationSplit! } : undefined,
          digests: dedupe,
          report,
          options,
          index,
          files: files.length,
          parallel: useWorkers ? { open: openParallel, splits: (bytes: number) => rangeCount(bytes, workers, options.rangeBytes) > 1 } : undefined,
        });
        if (carveHere) {
          carvedFrom.push(file.path);
          if (source.status !== "ready") carvedSpoiled ??= file.path;
        }
        plan.sources.push(source);
        plan.files.push(...source.outputs);
        if (source.status !== "ready") plan.ok = false;
        for (const issue of source.report.issues) if (issue.code === "E_FILE_TOO_LARGE") plan.issues.push({ ...issue, file: file.path });
        options.onSource?.(source);
      } catch (error) {
        if (error instanceof ConfigError || !(error instanceof FtprepError)) throw error;
        plan.failures.push({ path: file.path, code: error.code, message: error.message });
        plan.ok = false;
        if (carveHere) carvedSpoiled ??= file.path;
      }
    }

    if (carved) {
      if (carvedSpoiled !== undefined) {
        // A training file is not ready, so the plan fails; a split carved from part of the files would mislead.
        await carved.abort();
      } else {
        for (const written of await carved.finish()) {
          plan.files.push(planned(written, undefined, "validation", written.parts > 1 ? "shard" : "validation-split"));
        }
        if (carved.records === 0) {
          plan.issues.push(fileIssue(joinLocation(options.outDir, "validation-split.jsonl"), "E_FILE_EMPTY", `the validation split of ${validationSplit} took no record from ${carvedFrom.length} training file(s)`));
        }
      }
    }
    if (plan.sources.every((s) => s.status === "ready") && plan.failures.length === 0 && !carvedSpoiled) {
      await applyJobRules(plan, spec, outputs, options, maxLineBytes);
    }
    const advice = spec.limits.validationAdviceBytes;
    if (advice !== undefined) {
      for (const out of plan.files) {
        if (out.split === "validation" && out.bytes > advice) {
          plan.issues.push(fileIssue(out.path, "W_VALIDATION_FILE_SIZE", `the validation file is ${out.bytes} bytes; ${spec.label} advises at most ${advice / 1e6} MB (about 5% of the training data)`));
        }
      }
    }
    if (plan.issues.some((i) => i.severity === "error") || plan.files.length === 0) plan.ok = false;
    for (const issue of plan.issues) report?.writeLine(redactedJson(issue));
    await report?.close();
  } catch (error) {
    await carved?.abort();
    await report?.abort();
    throw error;
  } finally {
    await parallel?.close(options.signal?.reason);
  }
  return plan;
}

/**
 * The provider's per-job rules on the plan, before anything is sent. Where a job takes one file of a split
 * (OpenAI) and the plan has several: with `merge`, they are joined into `DIR/merged-<split>.jsonl` — the records as
 * they are, in plan order — when that fits the per-file limit, else the plan is refused (E_JOB_FILES); without it,
 * each stays a file for a job of its own and the plan says so. Then the training data of a job is counted against
 * the provider's minimum (E_TOO_FEW_EXAMPLES): the merged file, or each training file.
 */
async function applyJobRules(plan: Plan, spec: ProviderSpec, outputs: Map<string, string>, options: PrepareOptions, maxLineBytes: number): Promise<void> {
  const perJob: Record<Split, number | undefined> = { train: spec.job.trainingFiles, validation: spec.job.validationFiles };
  let separate = false;
  for (const split of ["train", "validation"] as const) {
    const files = plan.files.filter((f) => f.split === split);
    const most = perJob[split];
    if (most === undefined || files.length <= most) continue;
    const words = split === "train" ? "training" : "validation";
    if (!options.merge) {
      if (split === "train") separate = true;
      plan.notes.push(`${spec.label} takes ${most} ${words} file per job; the plan has ${files.length}, each fit for a job of its own: to train one job on all of them, merge them (--merge)`);
      continue;
    }
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    if (bytes > plan.maxFileBytes) {
      const issue = fileIssue(
        files[0]!.path,
        "E_JOB_FILES",
        `${spec.label} takes ${most} ${words} file per job; the plan has ${files.length} and together they are ${bytes} bytes, over the limit of ${plan.maxFileBytes}: they cannot be merged (raise --max-file-bytes, up to ${spec.limits.uploadBytes})`,
      );
      plan.issues.push(issue);
      plan.ok = false;
      continue;
    }
    const name = `merged-${split}`;
    const base = joinLocation(plan.outDir, name);
    const other = outputs.get(base);
    if (other !== undefined) throw new ConfigError(`${other} would be overwritten by the merged ${words} file ${base}.jsonl; rename it`);
    const writer = new ShardWriter({ dir: plan.outDir, name, maxBytes: plan.maxFileBytes, expectedBytes: bytes });
    let written: WrittenFile[];
    try {
      for (const f of files) await copyRecords(f.path, new LineSet(), writer, { maxLineBytes, ...(options.signal ? { signal: options.signal } : {}) });
      written = await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    const merged: PlannedFile = { ...planned(written[0]!, undefined, split, "merged"), merged: files.map((f) => f.path) };
    plan.files = [...plan.files.filter((f) => f.split !== split), merged];
    plan.notes.push(`${spec.label} takes ${most} ${words} file per job: merged ${files.length} ${words} files (${merged.records} records) into ${merged.path}`);
  }
  // A job's training data: the one merged file (counted over every training source), or each file on its own.
  const sources = plan.sources.filter((s) => s.split === "train");
  const jobs = separate ? sources.map((s) => [s]) : [sources];
  for (const group of jobs) {
    const records = plan.files.filter((f) => f.split === "train" && (separate ? f.source === group[0]!.path : true)).reduce((n, f) => n + f.records, 0);
    const message = group.length > 0 ? tooFewExamples(spec, records, group.length) : undefined;
    if (message === undefined) continue;
    for (const source of group) {
      const issue = fileIssue(source.path, "E_TOO_FEW_EXAMPLES", message);
      addToReport(source.report, issue);
      plan.issues.push(issue);
      source.status = "invalid";
      source.reason = message;
    }
    plan.ok = false;
  }
}

const NO_BYTES = new Uint8Array(0);

function planned(written: WrittenFile, source: string | undefined, split: Split, kind: OutputKind, weight = 1): PlannedFile {
  return { ...written, source, split, kind, weight };
}

interface FileContext {
  /** Checks the pass's hash of the file (`checkFile`'s answer), before any output is kept. */
  confirm: ((sha256: string, hashedBytes: number, signal?: AbortSignal) => Promise<void>) | undefined;
  target: TargetSpec;
  maxFileBytes: number;
  splitting: boolean;
  skipInvalid: boolean;
  maxInvalidFraction: number;
  maxLineBytes: number;
  seed: number;
  carving: { writer: ShardWriter; fraction: number } | undefined;
  digests: DigestSet | undefined;
  report: LineFileWriter | undefined;
  options: PrepareOptions;
  /** The file's place among the sources, for progress. */
  index: number;
  files: number;
  /** Worker threads, when the run has them. */
  parallel: { open: () => Promise<ParallelValidation>; splits: (bytes: number) => boolean } | undefined;
}

/** One source file through the validating pass, and the second pass when a cleaned copy turns out to be needed. */
async function prepareFile(file: DiscoveredFile, outBase: string, ctx: FileContext): Promise<SourcePlan> {
  // A plan unit that is a byte range reads its part of the real file; its path names the range.
  const readPath = file.range ? file.realPath : file.path;
  const size = file.range ? file.range.end - file.range.start : await fileSize(file.path, ctx.options.signal);
  const isJsonArray = file.layout === "json-array";
  const compressed = file.compression !== undefined;
  // A compressed file's text size is known only once it is read; it goes as a decompressed copy in any case.
  const tooBig = !compressed && size > ctx.maxFileBytes;
  // Written during the validating pass when the output is certain to differ from the source: a conversion (a `.json`
  // array, a compressed file), shards, or a training file that gives records to the validation split.
  // A byte range is never a file the provider can take as it is: it is always written.
  const writeInPass = file.range !== undefined || isJsonArray || compressed || (tooBig && ctx.splitting) || ctx.carving !== undefined;
  const outDir = dirnameLocation(outBase);
  const name = basename(outBase);
  const expected = compressed ? {} : { expectedBytes: size };
  let writer: ShardWriter | undefined = writeInPass ? new ShardWriter({ dir: outDir, name, maxBytes: ctx.maxFileBytes, ...expected }) : undefined;
  const progress = ctx.options.onProgress;
  const action = tooBig && ctx.splitting ? "split" : compressed ? "decompress" : isJsonArray ? "convert" : "validate";
  progress?.({ type: "file", path: file.path, index: ctx.index, files: ctx.files, bytes: size, action });
  const hash = createHash("sha256");
  let hashedBytes = 0;
  const drop = new LineSet();
  const dropped: SourcePlan["dropped"] = { invalid: 0, byCode: {}, duplicates: 0, blankLines: 0, carved: 0 };
  let spoiled = false; // an invalid record without skipInvalid: nothing of this file will be uploaded
  const carving = ctx.carving;

  const onRecord = (r: RecordEvent): void => {
    if (!r.valid) {
      dropped.invalid++;
      for (const code of r.errorCodes) dropped.byCode[code] = (dropped.byCode[code] ?? 0) + 1;
      drop.add(r.line);
      if (!ctx.skipInvalid) spoiled = true;
      return;
    }
    if (ctx.digests && r.duplicate) {
      dropped.duplicates++;
      drop.add(r.line);
      return;
    }
    if (spoiled) return;
    if (carving && splitDraw(ctx.seed, file.relative, r.line) < carving.fraction) {
      dropped.carved++;
      carving.writer.write(r.raw, r.terminator);
      return;
    }
    writer?.write(r.raw, r.terminator);
  };

  let report: FileReport;
  const validateOptions = {
    label: file.path,
    target: ctx.target,
    ...(ctx.options.maxIssues !== undefined ? { maxIssues: ctx.options.maxIssues } : {}),
    maxLineBytes: ctx.maxLineBytes,
    ...(ctx.options.tokens ? { tokens: ctx.options.tokens } : {}),
    ...(ctx.splitting || compressed ? { maxRecordBytes: ctx.maxFileBytes } : {}),
    ...(ctx.digests ? { digests: ctx.digests } : {}),
    ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
    ...(ctx.report ? { onIssue: (issue: Issue) => ctx.report!.writeLine(redactedJson(issue)) } : {}),
  };
  try {
    if (ctx.parallel && !writeInPass && !file.range && !isJsonArray && !compressed && ctx.parallel.splits(size)) {
      const parallel = await ctx.parallel.open();
      // The workers validate the file's byte ranges while this thread hashes it; nothing is written in this pass, so
      // the records that matter here are the ones to leave out: invalid ones and duplicates, told in order.
      const finish = await parallel.start(
        { path: file.path, bytes: size, layout: "jsonl" },
        {
          ...validateOptions,
          onRejected: (line, duplicate, errorCodes) => onRecord({ line, raw: NO_BYTES, terminator: "\n", valid: duplicate, duplicate, errorCodes }),
          onBatch: async () => {
            if (ctx.report?.wantsFlush) await ctx.report.flush();
          },
        },
      );
      const hashing = (async () => {
        for await (const bytes of readFileChunks(file.path, ctx.options.signal ? { signal: ctx.options.signal } : {})) {
          hash.update(bytes);
          hashedBytes += bytes.length;
          progress?.({ type: "read", n: bytes.length });
        }
      })();
      hashing.catch(() => undefined);
      report = await finish();
      await hashing;
    } else report = await validateFile(readPath, {
      ...validateOptions,
      ...(file.range ? { range: file.range } : {}),
      layout: file.layout,
      compression: file.compression ?? "none",
      onChunk: progress
        ? (bytes) => {
            hash.update(bytes);
            hashedBytes += bytes.length;
            progress({ type: "read", n: bytes.length });
          }
        : (bytes) => {
            hash.update(bytes);
            hashedBytes += bytes.length;
          },
      onRecord,
      onBatch: async () => {
        if (ctx.report?.wantsFlush) await ctx.report.flush();
        if (writer?.wantsFlush) await writer.flush();
        if (carving?.writer.wantsFlush) await carving.writer.flush();
      },
    });
  } catch (error) {
    await writer?.abort();
    throw error;
  }
  dropped.blankLines = report.blankLines;
  const sha256 = hash.digest("hex");
  if (ctx.confirm) {
    try {
      await ctx.confirm(sha256, hashedBytes, ctx.options.signal);
    } catch (error) {
      await writer?.abort();
      throw error;
    }
  }

  const source: SourcePlan = {
    path: file.path,
    split: file.split,
    format: report.format,
    sha256,
    bytes: size,
    records: report.records,
    valid: report.valid,
    invalid: report.invalid,
    dropped,
    status: "ready",
    report,
    outputs: [],
  };
  const fileErrors = report.issues.filter((i) => i.line === 0 && i.severity === "error").map((i) => i.code);
  const textBytes = compressed ? report.bytes : size;
  if (textBytes > ctx.maxFileBytes && !ctx.splitting) {
    const what = compressed ? `decompressed, the file is ${textBytes} bytes` : `the file is ${size} bytes`;
    const issue = fileIssue(file.path, "E_FILE_TOO_LARGE", `${what}, over the limit of ${ctx.maxFileBytes}, and splitting is off`);
    addToReport(report, issue);
    source.status = "too-large";
    source.reason = issue.message;
  } else if (fileErrors.length > 0) {
    source.status = "invalid";
    source.reason = `the file has ${[...new Set(fileErrors)].join(", ")}`;
  } else if (report.invalid > 0 && !ctx.skipInvalid) {
    source.status = "invalid";
    source.reason = `${report.invalid} of ${report.records} records are invalid; fix them, or leave them out with --skip-invalid`;
  } else if (report.invalid > 0 && report.invalid / report.records > ctx.maxInvalidFraction) {
    source.status = "refused";
    const pct = ((100 * report.invalid) / report.records).toFixed(1);
    source.reason = `${report.invalid} of ${report.records} records (${pct}%) are invalid, more than --max-invalid-fraction ${ctx.maxInvalidFraction} allows; fix the file or raise the fraction`;
  }
  if (source.status !== "ready") {
    await writer?.abort();
    return source;
  }

  const needsCleaning = drop.size > 0 || report.blankLines > 0 || (report.counts.W_BOM ?? 0) > 0;
  if (!writer && needsCleaning) {
    // The second read: only now is it known that this file, small enough to go as it is, must be cleaned first.
    writer = new ShardWriter({ dir: outDir, name, maxBytes: ctx.maxFileBytes, expectedBytes: size });
    try {
      await copyRecords(readPath, drop, writer, { maxLineBytes: ctx.maxLineBytes, ...(ctx.options.signal ? { signal: ctx.options.signal } : {}), ...(file.range ? { range: file.range } : {}) });
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }
  if (writer) {
    const written = await writer.finish();
    const kind: OutputKind = written.length > 1 || file.range ? "shard" : isJsonArray || compressed ? "converted" : "cleaned";
    source.outputs = written.map((w) => planned(w, file.path, file.split, kind, file.weight));
  } else {
    source.outputs = [
      { path: file.path, source: file.path, split: file.split, kind: "original", part: 1, parts: 1, records: report.records, bytes: size, sha256: source.sha256, reused: false, weight: file.weight },
    ];
  }
  return source;
}
