import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileSystemError, FtprepError } from "../errors.js";
import { readFileChunks } from "../read/file.js";
import { readLineBatches } from "../read/lines.js";
import { type ByteRange, lineRangesAt } from "../read/ranges.js";
import type { Compression } from "../read/source.js";
import { targetOf } from "../target/target-spec.js";
import { ISSUE_CODES, type IssueCode } from "../validate/codes.js";
import { detectFileFormat, type FileReport, mergeRanges, type RangeIssue, type RangeResult, validateFile, type ValidateOptions } from "../validate/file.js";
import { COUNT_FIELDS, readCounts } from "./counts-file.js";
import { type LocalRunner, WorkerPool } from "./pool.js";
import { runPart } from "./part-run.js";
import type { TaskFailure, ValidateBatch, ValidateTask, WholeResult } from "./validate-task.js";

/** Issues of a whole file replayed between two calls of `onBatch` (as a merge replays a part's log). */
const REPLAY_ISSUES = 1024;

/**
 * Validation on every core: the files of a run go to a pool of worker threads, several at once, and a large plain
 * JSONL file is cut into byte ranges at line ends, each validated by a worker reading it from disk. The main
 * thread then merges each file's parts, in file order, into exactly the report one pass gives (`mergeRanges`):
 * duplicates are looked up there, in order, from the digests the workers send; every issue is replayed in order
 * from the file each worker wrote it to.
 */

/** Below this many bytes of input in all, one thread validates (starting workers costs more than they save). */
export const MIN_PARALLEL_BYTES = 32 * 1024 * 1024;
/**
 * Ranges are at most about this large (files from half this size on are cut; smaller ones go whole to one worker): the main thread folds each range in (duplicates, the issue replay) as soon
 * as it and those before it are done, while the workers go on with later ranges.
 */
export const RANGE_BYTES = 32 * 1024 * 1024;

/**
 * The sizes of the ranges a file of `size` bytes is cut into for `workers` threads, in file order (before the cuts
 * move to line ends): each at most `rangeBytes` and at most 1/(2 × workers) of what is left from it on, down to
 * `rangeBytes / 32`. Ranges go to the threads in order, each taking the next as it finishes one; smaller and
 * smaller ranges at the end let every thread finish within about the time of one small range of the others
 * (equal ranges left one thread alone with a last large one: 200 MB on 2 threads were 4 + 3 ranges of 28 MB).
 */
export function rangeSizes(size: number, workers: number, rangeBytes = RANGE_BYTES): number[] {
  if (workers < 2 || size < rangeBytes / 2) return [size];
  const least = Math.max(1, Math.floor(rangeBytes / 32));
  const sizes: number[] = [];
  for (let left = size; left > 0; ) {
    let next = Math.min(rangeBytes, Math.max(least, Math.ceil(left / (2 * workers))));
    if (left - next < least) next = left;
    sizes.push(next);
    left -= next;
  }
  return sizes;
}

/** How many ranges a file of `size` bytes is cut into for `workers` threads (see `rangeSizes`). */
export function rangeCount(size: number, workers: number, rangeBytes = RANGE_BYTES): number {
  return rangeSizes(size, workers, rangeBytes).length;
}

/**
 * Files up to this size go to the workers in batches of up to `BATCH_FILES` files (or `BATCH_BYTES` bytes), one
 * message and one reply for all of them: a directory of 10 kB files otherwise spends more in the round trips to the
 * main thread (which, on a busy machine, waits for a core) than in validating.
 */
export const BATCH_FILE_BYTES = 256 * 1024;
export const BATCH_FILES = 32;
const BATCH_BYTES = 4 * 1024 * 1024;

/** The number of workers a run uses when not told: every core, or one for input too small to pay for more. */
export function defaultWorkers(totalBytes: number): number {
  return totalBytes < MIN_PARALLEL_BYTES ? 1 : availableParallelism();
}

/** The compiled worker script (under a TypeScript runner — the tests — the one `npm run build` wrote). */
function workerScript(): URL {
  const here = new URL("./validate-worker.js", import.meta.url);
  return existsSync(fileURLToPath(here)) ? here : new URL("../../dist/workers/validate-worker.js", import.meta.url);
}

/** A file to validate, as discovery describes it. */
export interface FileToValidate {
  path: string;
  bytes: number;
  layout: "jsonl" | "json-array";
  compression?: Compression | undefined;
}

/** Options that reach the workers; hooks other than these run on the main thread, at the merge. */
export type ParallelOptions = Omit<ValidateOptions, "onRecord" | "onChunk" | "layout" | "compression" | "label">;

/**
 * Whether these options can be validated in workers: every record hook must be one a worker can rebuild (a token
 * hook's `onCount` is replayed in order on the main thread from what the workers counted).
 */
export function workersCanRun(options: ValidateOptions): boolean {
  if (options.onRecord || options.onChunk) return false;
  return options.tokens === undefined || options.tokens.choice !== undefined;
}

async function* logIssues(path: string): AsyncGenerator<RangeIssue> {
  for await (const batch of readLineBatches(readFileChunks(path))) {
    for (const line of batch) {
      if (line.length === 0) continue;
      const [number, code, pointer, message] = JSON.parse(Buffer.from(line.bytes).toString("utf8")) as [number, IssueCode, string, string];
      yield { line: number, code, severity: ISSUE_CODES[code].severity, path: pointer, message };
    }
  }
}

/**
 * Tells every counted record of a file's parts, in file order (`ValidateTask.countsPath`), each part as soon as it
 * and the parts before it are done — while the workers count the parts after it, not after the last one (the main
 * thread's share of a run with per-record counts, `ftprep tokens`, was a serial tail: 2.2 s after the workers
 * ended for 150 MB).
 */
async function tellCounts(file: string, parts: readonly { result: Promise<RangeResult>; countsPath?: string | undefined }[], onCount: NonNullable<NonNullable<ValidateOptions["tokens"]>["onCount"]>): Promise<void> {
  let offset = 0;
  for (const part of parts) {
    const { lines } = await part.result;
    for await (const records of readCounts(part.countsPath!)) {
      for (let i = 0; i < records.length; i += COUNT_FIELDS) onCount(file, offset + records[i]!, records[i + 1]!, records[i + 2]!, records[i + 3] === 1);
    }
    offset += lines;
  }
}

function describePart(path: string, range: ByteRange | undefined): string {
  return range ? `validating ${path} (bytes ${range.start}–${range.end})` : `validating ${path}`;
}

/** What every task of a file tells its worker: the file, the target and the limits. */
function taskOf(file: FileToValidate, options: ParallelOptions, format: ValidateTask["format"], duplicates: boolean): ValidateTask {
  return {
    path: file.path,
    provider: targetOf(options).provider.name,
    format,
    duplicates,
    ...(options.figures === false ? { figures: false } : {}),
    layout: file.layout,
    compression: file.compression ?? "none",
    ...(options.maxIssues !== undefined ? { maxIssues: options.maxIssues } : {}),
    ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
    ...(options.maxRecordBytes !== undefined ? { maxRecordBytes: options.maxRecordBytes } : {}),
  };
}

/** A whole small file's report as the main thread takes it: parsed from the worker's JSON text as the batch arrives. */
interface WholeReport {
  report: FileReport;
  issues?: (number | string)[] | undefined;
}

/** A small file waiting in the batch being gathered. */
interface Batched {
  task: ValidateTask;
  resolve: (result: RangeResult | WholeReport) => void;
  reject: (error: unknown) => void;
  /** Sent to a worker (its batch is no longer being gathered). */
  sent: boolean;
  result: Promise<RangeResult | WholeReport>;
}

/**
 * A byte range of a split file the main thread may validate itself: not one with token counting (the main thread
 * would load the tokenizer) nor one of `prepare`'s (they ask for the rejected lines; the main thread hashes the
 * file meanwhile).
 */
function isLocalPart(task: ValidateTask | ValidateBatch): boolean {
  return !("batch" in task) && task.range !== undefined && task.whole !== true && task.tokens === undefined && task.rejected !== true;
}

function noTokenHook(): Promise<undefined> {
  return Promise.reject(new Error("the main thread counts no tokens in a range"));
}

function reviveError(e: { code?: string; message: string; path?: string }): Error {
  return e.code === "ERR_FS" && e.path !== undefined ? new FileSystemError(e.path, e.message) : new FtprepError(e.code ?? "ERR_WORKER", e.message);
}

export class ParallelValidation {
  private logs = 0;
  private batch: Batched[] = [];
  private batchBytes = 0;
  private batchProgress: ((n: number) => void) | undefined;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly dir: string,
    private readonly rangeBytes: number,
    private readonly onAnswered: ((files: number) => void) | undefined,
  ) {}

  /**
   * Starts `workers` threads (as work arrives) and a private directory for the parts' issue logs. `onAnswered` is
   * told how many small files each batch's answer brings (validated or failed), as it arrives.
   */
  static async open(workers: number, options: { signal?: AbortSignal; rangeBytes?: number; onAnswered?: (files: number) => void } = {}): Promise<ParallelValidation> {
    // The main thread takes byte ranges too (see `LocalRunner` and `isLocalPart`).
    const local: LocalRunner | undefined =
      workers > 1
        ? {
            accepts: (task) => isLocalPart(task as ValidateTask | ValidateBatch),
            run: (task, onProgress, signal) => runPart(task as ValidateTask, { progress: onProgress ?? (() => undefined), tokenHook: noTokenHook, signal }),
          }
        : undefined;
    const pool = new WorkerPool(workers, workerScript(), { reviveError, ...(local ? { local } : {}) });
    let dir: string;
    try {
      dir = await mkdtemp(join(tmpdir(), "ftprep-parts-"));
    } catch (error) {
      throw FileSystemError.from(tmpdir(), "write", error);
    }
    const parallel = new ParallelValidation(pool, dir, options.rangeBytes ?? RANGE_BYTES, options.onAnswered);
    pool.warm();
    // Ctrl-C or an abort stops every thread at once; what they were doing rejects with the abort's reason.
    options.signal?.addEventListener("abort", () => void pool.close(options.signal!.reason), { once: true });
    return parallel;
  }

  /** The threads of the pool. */
  get size(): number {
    return this.pool.size;
  }

  /** Whether a file of `bytes` bytes is cut into ranges (else one worker takes it whole). */
  splits(bytes: number): boolean {
    return rangeCount(bytes, this.pool.size, this.rangeBytes) > 1;
  }

  /** The pool's threads (for tests that kill one). */
  get threads() {
    return this.pool.threads;
  }

  /** Byte ranges the main thread validated itself (for tests). */
  get localParts(): number {
    return this.pool.localTasks;
  }

  /**
   * Starts validating a file: its parts are queued at once. Returns the function that waits for them and merges
   * them into the file's report; call those in file order (a split's duplicate table is shared, in order).
   */
  async start(
    file: FileToValidate,
    options: ParallelOptions & { onRead?: (n: number) => void; onRejected?: (line: number, duplicate: boolean, errorCodes: readonly IssueCode[]) => void },
  ): Promise<() => Promise<FileReport>> {
    const small = this.startSmall(file, options);
    if (small !== undefined) return small;
    const target = targetOf(options);
    const fileOptions: ValidateOptions = { ...options, layout: file.layout, compression: file.compression ?? "none" };
    let ranges: (ByteRange | undefined)[] = [undefined];
    let format = target.format;
    const sizes = rangeSizes(file.bytes, this.pool.size, this.rangeBytes);
    const splittable = file.layout === "jsonl" && file.compression === undefined && sizes.length > 1;
    if (splittable) {
      // Every range must know the format before it starts: detected here, from the same look-ahead as one pass.
      const detected = await detectFileFormat(file.path, fileOptions);
      // Classifier label tallies keep the first 1,000 values seen: exact only in one pass.
      if (detected !== undefined && detected !== "mistral-classifier") {
        format = detected;
        let end = 0;
        ranges = await lineRangesAt(file.path, file.bytes, sizes.slice(0, -1).map((n) => (end += n)));
      }
    }
    const duplicates = options.duplicates === true || options.digests !== undefined;
    if (ranges.length === 1 && ranges[0] === undefined && duplicates && !options.onRejected) {
      // A whole file with duplicates looked for is validated here, in file order, when its turn comes: its kept
      // W_DUPLICATE examples show the record, which the merge can read back only from a plain file's byte ranges.
      return () => validateFile(file.path, fileOptions);
    }
    const tokens = options.tokens?.choice;
    const onCount = options.tokens?.onCount;
    if (ranges.length === 1 && ranges[0] === undefined && file.bytes <= BATCH_FILE_BYTES && !duplicates && !options.onRejected && !options.tokens) {
      return this.startWhole(file, options, format);
    }
    const parts = ranges.map((range) => {
      const logPath = options.onIssue ? join(this.dir, `${++this.logs}.ndjson`) : undefined;
      const countsPath = onCount ? join(this.dir, `${++this.logs}.counts`) : undefined;
      const task: ValidateTask = {
        ...taskOf(file, options, format, duplicates),
        ...(range ? { range } : {}),
        ...(tokens ? { tokens } : {}),
        ...(logPath !== undefined ? { logPath } : {}),
        ...(countsPath !== undefined ? { countsPath } : {}),
        ...(options.onRejected ? { rejected: true } : {}),
      };
      const result =
        range === undefined && file.bytes <= BATCH_FILE_BYTES
          ? (this.batched(task, file.bytes, options.onRead).result as Promise<RangeResult>)
          : this.pool.run<RangeResult>(task, describePart(file.path, range), options.onRead);
      // Settled here so a failure waits for `finish` without being an unhandled rejection meanwhile.
      result.catch(() => undefined);
      return { result, logPath, countsPath };
    });
    return async () => {
      // This file's batch goes now if it is still being gathered: its report is wanted.
      if (this.batch.some((b) => b.task.path === file.path)) this.flush();
      // Every counted record, in file order, as one pass tells them: each part's as soon as it can be.
      const told = onCount ? tellCounts(file.path, parts, onCount) : undefined;
      told?.catch(() => undefined);
      try {
        const logs = parts.map((p) => (p.logPath !== undefined ? logIssues(p.logPath) : undefined));
        const report = await mergeRanges(parts.map((p) => p.result), { ...options, label: file.path, source: file.path }, logs);
        await told;
        return report;
      } finally {
        await told?.catch(() => undefined);
        await Promise.all(parts.map((p) => p.result.catch(() => undefined)));
        await Promise.all(parts.flatMap((p) => [p.logPath, p.countsPath]).map((path) => (path !== undefined ? rm(path, { force: true }) : undefined)));
      }
    };
  }

  /**
   * Starts a whole small file whose report needs nothing of the main thread (`startWhole`) at once, with no async
   * step; undefined for any other file (`start` takes those). A directory of 10 kB files passes 10,000 times here.
   */
  startSmall(file: FileToValidate, options: ParallelOptions & { onRead?: (n: number) => void; onRejected?: unknown }): (() => Promise<FileReport>) | undefined {
    if (file.bytes > BATCH_FILE_BYTES || options.duplicates === true || options.digests !== undefined || options.tokens !== undefined || options.onRejected !== undefined) return undefined;
    // A file cut into ranges (a small `rangeBytes`) is `start`'s.
    if (file.layout === "jsonl" && file.compression === undefined && this.splits(file.bytes)) return undefined;
    return this.startWhole(file, options, targetOf(options).format);
  }

  /**
   * A small file whose report needs nothing of the main thread: the worker validates it as one pass does and sends
   * its report (and its issues, in order, when they are streamed), in a batch with other small files; the main thread
   * only replays the issues. A directory of 10 kB files spent more in merging each file's part on the main thread —
   * the one thread every file passes through — than the workers spent validating it.
   */
  private startWhole(file: FileToValidate, options: ParallelOptions & { onRead?: (n: number) => void }, format: ValidateTask["format"]): () => Promise<FileReport> {
    const task: ValidateTask = {
      ...taskOf(file, options, format, false),
      whole: true,
      ...(options.onIssue ? { issues: true } : {}),
    };
    const entry = this.batched(task, file.bytes, options.onRead);
    const result = entry.result as Promise<WholeReport>;
    result.catch(() => undefined);
    return async () => {
      if (!entry.sent) this.flush();
      const { report, issues } = await result;
      const onIssue = options.onIssue;
      if (issues && onIssue) {
        for (let i = 0; i < issues.length; i += 4) {
          const code = issues[i + 1] as IssueCode;
          onIssue({ code, severity: ISSUE_CODES[code].severity, file: file.path, line: issues[i] as number, path: issues[i + 2] as string, message: issues[i + 3] as string });
          // The consumer's backpressure, as often as one pass gives it.
          if ((i / 4 + 1) % REPLAY_ISSUES === 0) await options.onBatch?.();
        }
      }
      await options.onBatch?.();
      return report;
    };
  }

  /** Adds a small whole file to the batch being gathered; the batch goes to a worker once full (or wanted). */
  private batched(task: ValidateTask, bytes: number, onRead: ((n: number) => void) | undefined): Batched {
    // A batch's bytes read are told to one listener: a file told to another (or to none) starts a new batch.
    if (this.batch.length > 0 && this.batchProgress !== onRead) this.flush();
    let resolve!: Batched["resolve"];
    let reject!: Batched["reject"];
    const result = new Promise<RangeResult | WholeReport>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const entry: Batched = { task, resolve, reject, sent: false, result };
    this.batch.push(entry);
    this.batchBytes += bytes;
    this.batchProgress = onRead;
    if (this.batch.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) this.flush();
    return entry;
  }

  /** Sends the gathered small files to the next free worker, as one task. */
  private flush(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    for (const b of batch) b.sent = true;
    this.batch = [];
    this.batchBytes = 0;
    const onRead = this.batchProgress;
    this.batchProgress = undefined;
    const names = batch.length === 1 ? batch[0]!.task.path : `${batch.length} files (${batch[0]!.task.path} … ${batch.at(-1)!.task.path})`;
    const message: ValidateBatch = { batch: batch.map((b) => b.task) };
    this.pool.run<(RangeResult | WholeResult | TaskFailure)[]>(message, `validating ${names}`, onRead).then(
      (results) => {
        for (const [i, b] of batch.entries()) {
          const r = results[i]!;
          if ("error" in r) b.reject(reviveError(r.error));
          // Parsed now, not when its turn comes: the text then dies young, where held until then (a directory's files
          // started during discovery) it was copied by every scavenge with the reports made of it.
          else if ("json" in r) b.resolve({ report: JSON.parse(r.json) as FileReport, issues: r.issues });
          else b.resolve(r);
        }
        this.onAnswered?.(batch.length);
      },
      (error: unknown) => {
        for (const b of batch) b.reject(error);
        this.onAnswered?.(batch.length);
      },
    );
  }

  /** Stops the threads and removes the parts' directory (and any log a stopped thread left in it). */
  async close(reason?: unknown): Promise<void> {
    const waiting = this.batch.splice(0);
    for (const b of waiting) b.reject(reason ?? new FtprepError("ERR_WORKER", "the worker pool was closed"));
    await this.pool.close(reason);
    await rm(this.dir, { recursive: true, force: true });
  }
}
