import { realpath } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { DiscoveredFile, Discovery, SkippedPath } from "../discover/discover.js";
import { ConfigError, FtprepError } from "../errors.js";
import { LineFileWriter } from "../guard/line-writer.js";
import { datasetStem, isDatasetName } from "../read/source.js";
import { tooFewExamples } from "../target/job-rules.js";
import { targetOf, type TargetSpec } from "../target/target-spec.js";
import type { Issue, ProviderName } from "../types.js";
import { validateFile, type FileReport, type ValidateOptions } from "../validate/file.js";
import { redactedJson } from "../redact.js";
import { discoverDatasets, type PassEvent } from "./progress.js";
import { removeStaleTempsOf } from "../temp-files.js";
import { BATCH_FILE_BYTES, BATCH_FILES, defaultWorkers, ParallelValidation, workersCanRun } from "../workers/validate.js";
import { StartAhead } from "../workers/start-ahead.js";

/** What a started file's report is waited for with. */
type Finish = () => Promise<FileReport>;

/** Options of `validatePaths`: those of `validateFile`, plus where to stream the full report and the valid records. */
export interface ValidatePathsOptions extends Omit<ValidateOptions, "onIssue" | "onBatch" | "onRecord" | "onChunk" | "label" | "layout" | "compression"> {
  /** Write every issue of every file to this file, one JSON object per line, as found. */
  reportPath?: string;
  /** Write each file's valid records to this directory, under the file's path relative to its input. */
  writeValidDir?: string;
  /** Called as each file's report is ready (for progressive output). */
  onFile?: (report: FileReport) => void;
  /** Told how discovery and each file's pass go (for progress displays). */
  onProgress?: (event: PassEvent) => void;
  /**
   * Threads that validate (default: one per core, or 1 for less than 32 MiB of input in all). With more than one,
   * files are validated several at once and large JSONL files in byte ranges, merged into the same reports;
   * `writeValidDir` and a token hook without `choice` (or with `onCount`) keep to one.
   */
  workers?: number;
  /** Tuning (and tests): the size of the byte ranges large files are cut into for workers (default 32 MiB). */
  rangeBytes?: number;
}

/** A file that could not be validated (unreadable, vanished…): an operational failure, not a data problem. */
export interface FileFailure {
  path: string;
  code: string;
  message: string;
}

/** The outcome of validating a set of paths: the shape `ftprep validate --json` prints. */
export interface ValidationSummary {
  /** The provider whose formats and rules applied. */
  provider: ProviderName;
  files: FileReport[];
  skipped: SkippedPath[];
  failures: FileFailure[];
  /** No file has an error and every file could be read. */
  ok: boolean;
}

/** E_TOO_FEW_EXAMPLES on each training file when, together, they are fewer records than the provider takes in a job. */
function tooFew(target: TargetSpec, training: FileReport[], report: LineFileWriter | undefined): void {
  const message = tooFewExamples(target.provider, training.reduce((n, t) => n + t.records, 0), training.length);
  if (message === undefined) return;
  for (const t of training) {
    if (t.records === 0) continue; // E_FILE_EMPTY says it already
    t.issues.push({ line: 0, code: "E_TOO_FEW_EXAMPLES", severity: "error", path: "", message });
    t.counts.E_TOO_FEW_EXAMPLES = (t.counts.E_TOO_FEW_EXAMPLES ?? 0) + 1;
    t.errors++;
    report?.writeLine(JSON.stringify({ code: "E_TOO_FEW_EXAMPLES", severity: "error", file: t.path, line: 0, path: "", message }));
  }
}

/** The output name of a file's valid records: always JSONL (`.json` arrays and compressed files become `.jsonl`). */
function validOutputName(relative: string): string {
  return isDatasetName(relative) ? join(dirname(relative), `${datasetStem(basename(relative))}.jsonl`) : relative;
}

/**
 * Discovers the dataset files under `paths` and validates each, streaming issues to `reportPath` and valid records
 * to `writeValidDir`. A file that cannot be read is a failure of its own; the others are still validated.
 */
export async function validatePaths(paths: readonly string[], options: ValidatePathsOptions = {}): Promise<ValidationSummary> {
  const target = targetOf(options);
  const progress = options.onProgress;
  const exclude = [...(options.reportPath !== undefined ? [options.reportPath] : []), ...(options.writeValidDir !== undefined ? [options.writeValidDir] : [])];
  const { onFile: _f, onProgress: _p, reportPath: _r, writeValidDir: _w, workers: _n, rangeBytes, ...fileOptions } = options;
  const poolOptions = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(rangeBytes !== undefined ? { rangeBytes } : {}),
    onAnswered: (files: number): void => ahead?.answered(files),
  };
  const mayUseWorkers = options.writeValidDir === undefined && workersCanRun(fileOptions);
  // The threads start while discovery walks the folders (each takes a moment to load the validator), as soon as
  // their number is known: given, or once the files found are enough for the default to be more than one.
  let early: { workers: number; opened: Promise<ParallelValidation> } | undefined;
  // Small files started while discovery runs: as many as keep every thread busy, the next ones as answers come.
  let ahead: StartAhead<DiscoveredFile> | undefined;
  const openEarly = (n: number): void => {
    if (early !== undefined || !mayUseWorkers || !Number.isSafeInteger(n) || n < 2) return;
    const opened = ParallelValidation.open(n, poolOptions);
    opened.catch(() => undefined);
    early = { workers: n, opened };
    ahead = new StartAhead(4 * n * BATCH_FILES, startEarly);
  };
  const closeEarly = async (): Promise<void> => {
    await (await early?.opened.catch(() => undefined))?.close(options.signal?.reason);
  };
  if (options.workers !== undefined) openEarly(options.workers);
  let report: LineFileWriter | undefined;
  // Every issue goes to the report when its file's report is made, in file order: after discovery, once it is open.
  const onIssue = options.reportPath !== undefined ? (issue: Issue) => report!.writeLine(redactedJson(issue)) : undefined;
  const onRead = progress ? (n: number): void => progress({ type: "read", n }) : undefined;
  // What every file's pass is given in workers (one object for all of them).
  const parallelOptions: Parameters<ParallelValidation["start"]>[1] = {
    ...fileOptions,
    target,
    ...(onIssue ? { onIssue } : {}),
    ...(onRead ? { onRead } : {}),
    onBatch: async () => {
      if (report?.wantsFlush) await report.flush();
    },
  };
  // Small files are started as discovery finds them when the workers are already there (their number given, or the
  // files found so far enough for the default): the workers validate while discovery walks on (10,000 small files
  // took about a fifth of the run to discover, the workers idle). Their bytes are told read when their reports are
  // taken, after discovery (the meter starts then), and not at all for a file discovery then leaves out (the same
  // file reached twice). Only four batches a thread are started ahead of the workers (`StartAhead`), the next
  // files as answers come, as the merge's look-ahead does after discovery.
  const { onRead: _, ...earlyOptions } = parallelOptions;
  const startedEarly = new Map<DiscoveredFile, Promise<() => Promise<FileReport>>>();
  let startingEarly = true;
  function startEarly(file: DiscoveredFile): void {
    const started = early!.opened.then((parallel) => parallel.start(file, earlyOptions));
    started.catch(() => undefined);
    startedEarly.set(file, started);
  }
  const offerEarly = (file: DiscoveredFile): void => {
    if (startingEarly && file.bytes <= BATCH_FILE_BYTES) ahead?.offer(file);
  };
  let files: Discovery["files"];
  let summary: ValidationSummary;
  let workers: number;
  let parallel: ParallelValidation | undefined;
  // With workers, files are started ahead of the one being merged, as many as keep every thread busy.
  // (A small file's is started at once, with no async step: its finish, not a promise of it.)
  const started: (Finish | Promise<Finish> | undefined)[] = [];
  // Files started while discovery ran, whose bytes are told read when their reports are taken.
  let tellRead = new Uint8Array(0);
  try {
    const found = await discoverDatasets(paths, {
      exclude,
      signal: options.signal,
      ...(mayUseWorkers ? { onFile: offerEarly } : {}),
      onProgress: (event) => {
        if (event.type === "discover" && options.workers === undefined) openEarly(defaultWorkers(event.bytes));
        progress?.(event);
      },
    });
    startingEarly = false;
    ahead?.stop();
    files = found.files;
    if (options.reportPath !== undefined) await removeStaleTempsOf(options.reportPath);
    report = options.reportPath !== undefined ? await LineFileWriter.create(options.reportPath) : undefined;
    summary = { provider: target.provider.name, files: [], skipped: found.skipped, failures: [...found.unreadable], ok: found.unreadable.length === 0 };
    workers = options.workers ?? defaultWorkers(files.reduce((n, f) => n + f.bytes, 0));
    if (!Number.isSafeInteger(workers) || workers < 1) throw new TypeError(`Expected \`workers\` to be a positive integer, got ${String(workers)}`);
    if (workers > 1 && files.length > 0 && mayUseWorkers) {
      parallel = early?.workers === workers ? await early.opened : await ParallelValidation.open(workers, poolOptions);
    }
    if (parallel === undefined || early?.workers !== workers) await closeEarly();
    else if (startedEarly.size > 0) {
      tellRead = new Uint8Array(files.length);
      for (const [i, file] of files.entries()) {
        started[i] = startedEarly.get(file);
        if (started[i] !== undefined) tellRead[i] = 1;
      }
      startedEarly.clear();
    }
  } catch (error) {
    await report?.abort();
    await closeEarly();
    throw error;
  }
  const training: FileReport[] = [];
  const trainingFiles = files.filter((f) => f.split === "train").length;
  let lookedAhead = 0;
  let nextStart = 0;
  const startUpTo = (last: number): void => {
    for (; nextStart <= Math.min(last, files.length - 1); nextStart++) {
      if (started[nextStart] !== undefined) continue; // started while discovery ran
      const file = files[nextStart]!;
      const small = parallel!.startSmall(file, parallelOptions);
      if (small !== undefined) {
        started[nextStart] = small;
        continue;
      }
      const pending = parallel!.start(file, parallelOptions);
      pending.catch(() => undefined);
      started[nextStart] = pending;
    }
  };
  /** One file's report, in its turn (a failure to read it is its own). */
  const takeFile = async (index: number, file: DiscoveredFile): Promise<void> => {
    let writer: LineFileWriter | undefined;
    try {
      if (options.writeValidDir !== undefined) {
        const target = join(options.writeValidDir, validOutputName(file.relative));
        writer = await LineFileWriter.create(target);
        // The output lands by rename at the end: refuse before then if it would replace its own input.
        if (join(await realpath(dirname(target)), basename(target)) === file.realPath) {
          throw new ConfigError(`--write-valid would overwrite its input ${file.path}; choose another directory`);
        }
      }
      const out = writer;
      const action = file.compression ? "decompress" : file.layout === "json-array" ? "convert" : "validate";
      progress?.({ type: "file", path: file.path, index, files: files.length, bytes: file.bytes, action });
      let result: FileReport;
      if (parallel) {
        // Small files go in batches: far enough ahead that each thread has a batch or two to work on.
        // (From where the last file's look-ahead stopped: what lies before it was looked at already.)
        let last = Math.max(index + 4 * workers, lookedAhead);
        while (last + 1 < files.length && last + 1 <= index + 4 * workers * BATCH_FILES && files[last + 1]!.bytes <= BATCH_FILE_BYTES) last++;
        lookedAhead = last;
        startUpTo(last);
        const pending = started[index]!;
        started[index] = undefined;
        const finish = typeof pending === "function" ? pending : await pending;
        result = await finish();
        if (tellRead[index] === 1) progress?.({ type: "read", n: file.bytes });
        if (report?.wantsFlush) await report.flush();
      } else {
        result = await validateFile(file.path, {
          ...fileOptions,
          target,
          label: file.path,
          layout: file.layout,
          compression: file.compression ?? "none",
          ...(progress ? { onChunk: (bytes: Uint8Array) => progress({ type: "read", n: bytes.length }) } : {}),
          ...(onIssue ? { onIssue } : {}),
          ...(out ? { onRecord: (record) => record.valid && out.writeLine(record.raw) } : {}),
          onBatch: async () => {
            if (report?.wantsFlush) await report.flush();
            if (out?.wantsFlush) await out.flush();
          },
        });
      }
      if (out) {
        await out.close();
        result.written = { path: out.path, records: out.lines, dropped: result.records - out.lines };
      }
      result.split = file.split;
      summary.files.push(result);
      if (file.split === "train") training.push(result);
      // The provider's minimum counts a job's training data; with one training file it is known now.
      if (file.split === "train" && trainingFiles === 1) tooFew(target, training, report);
      if (result.errors > 0) summary.ok = false;
      options.onFile?.(result);
    } catch (error) {
      await writer?.abort();
      if (error instanceof ConfigError || !(error instanceof FtprepError)) throw error;
      summary.failures.push({ path: file.path, code: error.code, message: error.message });
      summary.ok = false;
    }
  };
  /**
   * Every file in turn: a loop of its own, so that what V8 compiles for running it 10,000 times (a directory of small
   * files) is this and `takeFile`, not the whole of `validatePaths` (compiled whole, and twice after a deoptimisation,
   * over such a run before).
   */
  const takeAll = async (): Promise<void> => {
    for (let index = 0; index < files.length; index++) await takeFile(index, files[index]!);
  };
  try {
    await takeAll();
    if (training.length > 1) tooFew(target, training, report);
    if (training.some((t) => t.errors > 0)) summary.ok = false;
    await report?.close();
  } catch (error) {
    await report?.abort();
    throw error;
  } finally {
    await parallel?.close(options.signal?.reason);
  }
  return summary;
}
