import { existsSync } from "node:fs";
import { readdir, realpath, rm, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { discoverFiles, type DiscoveredFile, type SkippedPath } from "../discover/discover.js";
import { AbortedError, ConfigError, FileSystemError, FtprepError } from "../errors.js";
import { LineFileWriter } from "../guard/line-writer.js";
import { DEFAULT_MAX_LINE_BYTES, type Line } from "../read/lines.js";
import { type FileReport, validateFile, validateItems, type ValidateItem } from "../validate/file.js";
import { parseLine } from "../validate/line.js";
import { ChangeLog, type ChangeCount } from "./change-log.js";
import { isSourceName, outputName, readSource, type SourceItem } from "./source.js";
import type { ChatTarget } from "./repairs.js";
import { fileURLToPath } from "node:url";
import { parseTempName } from "../temp-files.js";
import { WorkerPool } from "../workers/pool.js";
import { defaultWorkers } from "../workers/validate.js";
import type { ConvertSpec } from "./convert.js";
import type { FixSpec } from "./fix.js";

/**
 * The pass `fix` and `convert` share: each source file streams through a per-record transform into the project's
 * validator (the target's rules, every record) and, record by record as the validator passes them, into the line
 * writer. Then the written file is validated again from disk. Memory stays flat: one batch of records at a time.
 */

/** What a transform makes of one record. */
export type TransformResult =
  /** The record as it now is; `changed` false means its bytes as read are written unchanged. */
  | { kind: "record"; record: Record<string, unknown>; changed: boolean }
  /** The record cannot be turned into the target's form: `reason` is a stable snake_case word. */
  | { kind: "failed"; reason: string };

/**
 * Turns one parsed record into the target's form (in place or as a new object), counting its changes in `log`.
 * When it fails, it must leave the record as it was: the record is then written (or left out) as read.
 */
export type RecordTransform = (record: Record<string, unknown>, line: number, log: ChangeLog) => TransformResult;

/** Options common to `fixPaths` and `convertPaths`. */
export interface RewriteOptions {
  /** Output file (one input file) or directory (relative names kept; every output is JSONL). */
  out: string;
  /** Leave out records that are still invalid for the target (counted); otherwise they are written and the run fails. */
  skipInvalid?: boolean;
  /** Show what would change; write nothing. */
  dryRun?: boolean;
  /** Longest line read (default 64 MiB). */
  maxLineBytes?: number;
  signal?: AbortSignal;
  /** Called as each file is done (for progressive output). */
  onFile?: (file: RewrittenFile) => void;
  /**
   * Threads that rewrite (default: one per core, or 1 for less than 32 MiB of input in all). Each file is rewritten
   * whole by one thread — its fresh tool-call ids are one seeded sequence in record order, and its change log keeps
   * each kind's first lines — so workers take several files at once; the outputs and the summary are the same
   * whatever N.
   */
  workers?: number;
}

/** A file's transform (`fixTransform`, `convertTransform`): made fresh for each file. */
export interface FileTransform {
  transform: RecordTransform;
  formatOf: (record: Record<string, unknown>) => string;
}

/** What a file's transform is made from, as plain data (a worker thread makes the same one). */
export type TransformSpec = { command: "fix"; spec: FixSpec } | { command: "convert"; spec: ConvertSpec };

/** One file for a worker thread to rewrite: plain data, both ways. */
export interface RewriteTask {
  file: DiscoveredFile;
  output: string | null;
  target: ChatTarget;
  make: TransformSpec;
  options: Pick<RewriteOptions, "skipInvalid" | "maxLineBytes">;
}

/** A validation report, shortened to what a summary needs. */
export interface CheckSummary {
  format: string;
  records: number;
  valid: number;
  invalid: number;
  errors: number;
  warnings: number;
  /** Every issue, counted per code. */
  counts: Record<string, number>;
  /** The first issues of each code: line, code, JSON Pointer, message. */
  issues: { line: number; code: string; path: string; message: string }[];
}

/** One source file's outcome: the shape `--json` prints per file (snake_case, as on the wire). */
export interface RewrittenFile {
  path: string;
  /** Where the output went; null on a dry run. */
  output: string | null;
  /** Records per source format found (convert), or per target (fix). */
  source_formats: Record<string, number>;
  records_in: number;
  records_out: number;
  /** Records with at least one change. */
  changed: number;
  /** Records left out because they were still invalid (only with skip-invalid). */
  skipped_invalid: number;
  /** Every change, per kind, with the source lines of the first few. */
  changes: Record<string, ChangeCount>;
  /** Records that could not be converted, per reason (they are written as they were, or left out with skip-invalid). */
  unconvertible: Record<string, ChangeCount>;
  /** Why the source stopped early (a broken JSON array), if it did. */
  read_error: string | null;
  /** Validation of the output as written (of the records that would be written, on a dry run). */
  check: CheckSummary;
}

/** The outcome of `fix` / `convert`: the document `--json` prints. */
export interface RewriteSummary {
  command: "fix" | "convert";
  target: ChatTarget;
  dry_run: boolean;
  /** Every output validates for the target and every file could be read. */
  ok: boolean;
  files: RewrittenFile[];
  totals: {
    files: number;
    records_in: number;
    records_out: number;
    changed: number;
    skipped_invalid: number;
    unconvertible: number;
    changes: Record<string, number>;
  };
  skipped: SkippedPath[];
  failures: { path: string; code: string; message: string }[];
}

const ISSUE_EXAMPLES = 5;

function checkOf(report: FileReport): CheckSummary {
  const perCode = new Map<string, number>();
  const issues = report.issues.filter((i) => {
    const n = (perCode.get(i.code) ?? 0) + 1;
    perCode.set(i.code, n);
    return n <= ISSUE_EXAMPLES;
  });
  return {
    format: report.format,
    records: report.records,
    valid: report.valid,
    invalid: report.invalid,
    errors: report.errors,
    warnings: report.warnings,
    counts: report.counts,
    issues: issues.map(({ line, code, path, message }) => ({ line, code, path, message })),
  };
}

function lineOf(number: number, text: string | Uint8Array): Line {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  return { number, offset: 0, bytes, length: bytes.length, terminator: "\n", bom: false, tooLong: false };
}

/** Where each file's output goes: `out` itself for one file given as a `.jsonl` path, else `out/<relative>.jsonl`. */
async function outputPaths(inputs: readonly string[], files: readonly DiscoveredFile[], out: string): Promise<string[]> {
  let outIsDir = true;
  try {
    outIsDir = (await stat(out)).isDirectory();
  } catch {
    const single = inputs.length === 1 && files.length === 1 && !(await stat(inputs[0]!)).isDirectory();
    outIsDir = !(single && [".jsonl", ".ndjson"].includes(extname(out).toLowerCase()));
  }
  const paths = outIsDir ? files.map((f) => join(out, outputName(f.relative))) : [out];
  const seen = new Map<string, string>();
  for (let i = 0; i < paths.length; i++) {
    const target = resolve(paths[i]!);
    const other = seen.get(target);
    if (other !== undefined) throw new ConfigError(`${other} and ${files[i]!.path} would both be written to ${paths[i]}; convert them separately`);
    seen.set(target, files[i]!.path);
  }
  return paths;
}

/** Refuses an output that is its own input: the rename at the end would replace the data being read. */
async function refuseOverwrite(output: string, file: DiscoveredFile): Promise<void> {
  let dir: string;
  try {
    dir = await realpath(dirname(output));
  } catch {
    return; // the directory does not exist yet: it cannot hold the input
  }
  if (join(dir, basename(output)) === file.realPath) throw new ConfigError(`the output ${output} is the input ${file.path}; choose another -o`);
}

/** Rewrites one file: source → transform → validator → writer, then the output validated again from disk. */
export async function rewriteFile(
  file: DiscoveredFile,
  output: string | null,
  target: ChatTarget,
  { transform, formatOf }: FileTransform,
  options: Pick<RewriteOptions, "skipInvalid" | "maxLineBytes" | "signal">,
): Promise<RewrittenFile> {
  const log = new ChangeLog();
  const unconvertible = new ChangeLog();
  const formats: Record<string, number> = {};
  let readError: string | null = null;
  let recordsIn = 0;
  let changed = 0;
  let skipped = 0;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;

  async function* items(): AsyncGenerator<ValidateItem[]> {
    const source = readSource(file.path, {
      maxLineBytes,
      ...(options.signal ? { signal: options.signal } : {}),
      onProblem: (problem) => void (readError = problem.message),
    });
    for await (const batch of source) {
      options.signal?.throwIfAborted();
      const out: ValidateItem[] = [];
      for (const item of batch) {
        const result = rewriteItem(item);
        if (result !== undefined) out.push(result);
      }
      yield out;
    }
  }

  // One source item → what the validator gets (undefined for a blank line, which is dropped and counted, or a record
  // left out). A record is parsed once: the validator checks the value it is given; `line` carries bytes to copy.
  const rewriteItem = (item: SourceItem): ValidateItem | undefined => {
    let record: Record<string, unknown>;
    if ("line" in item) {
      const parsed = parseLine(item.line, maxLineBytes);
      if (parsed.kind === "blank") {
        log.note("blank_line", item.number);
        return undefined;
      }
      recordsIn++;
      // Not a JSON object (or too long): handed on as it is, for the validator to report.
      if (parsed.kind === "invalid") return { number: item.number, line: item.line.tooLong ? { ...item.line } : lineOf(item.number, item.line.bytes) };
      record = parsed.value;
    } else {
      recordsIn++;
      if (item.value === null || typeof item.value !== "object" || Array.isArray(item.value)) return { number: item.number, line: lineOf(item.number, JSON.stringify(item.value) ?? "null") };
      record = item.value as Record<string, unknown>;
    }
    const format = formatOf(record);
    formats[format] = (formats[format] ?? 0) + 1;
    const result = transform(record, item.number, log);
    if (result.kind === "failed") {
      unconvertible.note(result.reason, item.number);
      if (options.skipInvalid) {
        skipped++;
        return undefined;
      }
      // Written as it was read (a transform that fails leaves its record untouched).
      return { number: item.number, line: lineOf(item.number, "line" in item ? item.line.bytes : JSON.stringify(record)) };
    }
    if (result.changed) changed++;
    // Unchanged JSONL records keep their bytes; everything else is written as the validator serialises the value.
    if (!result.changed && "line" in item) return { number: item.number, line: lineOf(item.number, item.line.bytes), value: result.record };
    return { number: item.number, value: result.record };
  };

  const writer = output !== null ? await LineFileWriter.create(output) : undefined;
  let tooLongLeftOut = 0;
  let recordsOut = 0;
  try {
    const inline = await validateItems(items(), {
      format: target,
      maxLineBytes,
      label: file.path,
      ...(options.signal ? { signal: options.signal } : {}),
      onRecord: (record) => {
        if (!record.valid && options.skipInvalid) {
          skipped++;
          return;
        }
        if (record.raw.length === 0 && record.errorCodes.includes("E_LINE_TOO_LONG")) {
          tooLongLeftOut++; // its bytes were never held: it cannot be copied
          return;
        }
        writer?.writeLine(record.raw);
        recordsOut++;
      },
      onBatch: async () => {
        if (writer?.wantsFlush) await writer.flush();
      },
    });
    if (tooLongLeftOut > 0) unconvertible.note("line_too_long", 0, tooLongLeftOut);
    let check = checkOf(inline);
    if (writer) {
      await writer.close();
      check = checkOf(await validateFile(writer.path, { format: target, maxLineBytes, ...(options.signal ? { signal: options.signal } : {}) }));
    }
    return {
      path: file.path,
      output,
      source_formats: formats,
      records_in: recordsIn,
      records_out: recordsOut,
      changed,
      skipped_invalid: skipped,
      changes: log.toJSON(),
      unconvertible: unconvertible.toJSON(),
      read_error: readError,
      check,
    };
  } catch (error) {
    await writer?.abort();
    throw error;
  }
}

/** The compiled worker script (under a TypeScript runner — the tests — the one `npm run build` wrote). */
function workerScript(): URL {
  const here = new URL("../workers/rewrite-worker.js", import.meta.url);
  return existsSync(fileURLToPath(here)) ? here : new URL("../../dist/workers/rewrite-worker.js", import.meta.url);
}

/**
 * The files' outcomes, in file order, each as soon as it and those before it are done: rewritten by `workers`
 * threads, several files at once. An abort stops every thread at once and removes the outputs they were writing.
 */
async function* rewrittenInWorkers(
  files: readonly DiscoveredFile[],
  outputs: readonly (string | null)[],
  target: ChatTarget,
  make: TransformSpec,
  options: RewriteOptions,
  workers: number,
): AsyncGenerator<{ file: DiscoveredFile; result: RewrittenFile } | { file: DiscoveredFile; error: unknown }> {
  const pool = new WorkerPool(workers, workerScript(), {
    reviveError: (e) => (e.code === "ERR_FS" && e.path !== undefined ? new FileSystemError(e.path, e.message) : e.code === "ERR_CONFIG" ? new ConfigError(e.message) : new FtprepError(e.code ?? "ERR_WORKER", e.message)),
  });
  const stop = (): void => void pool.close(options.signal?.reason);
  options.signal?.addEventListener("abort", stop, { once: true });
  const taskOptions = { ...(options.skipInvalid !== undefined ? { skipInvalid: options.skipInvalid } : {}), ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}) };
  const pending = files.map((file, i) => {
    const task: RewriteTask = { file, output: outputs[i]!, target, make, options: taskOptions };
    const result = pool.run<RewrittenFile>(task, `rewriting ${file.path}`);
    result.catch(() => undefined);
    return result;
  });
  let done = 0;
  try {
    for (const [i, file] of files.entries()) {
      try {
        yield { file, result: await pending[i]! };
      } catch (error) {
        yield { file, error };
      }
      done = i + 1;
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await pool.close();
    // A thread stopped mid-file leaves its output's temporary file (this process's name for it): removed here.
    await Promise.all(pending.map((p) => p.catch(() => undefined)));
    for (const output of outputs.slice(done)) if (output !== null) await removeOwnTemps(output);
  }
}

/** Removes this process's temporary files for `output` (a writer in a thread that was stopped never removed its own). */
async function removeOwnTemps(output: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dirname(output));
  } catch {
    return;
  }
  for (const name of names) {
    const temp = parseTempName(name);
    if (temp?.pid === process.pid && temp.target === basename(output)) await rm(join(dirname(output), name), { force: true });
  }
}

/**
 * Discovers the source files under `paths` (`.jsonl`, `.jsonl.gz`, `.json`, `.parquet`) and rewrites each with
 * `transform` for `target`. A file that cannot be read is a failure of its own; the others are still rewritten.
 */
export async function rewritePaths(
  command: "fix" | "convert",
  paths: readonly string[],
  target: ChatTarget,
  transform: { make: TransformSpec; build: () => FileTransform },
  options: RewriteOptions,
): Promise<RewriteSummary> {
  if (paths.length === 0) throw new ConfigError("no input paths given");
  const { files, skipped } = await discoverFiles(paths, { isDataset: isSourceName });
  if (files.length === 0) throw new ConfigError(`no dataset files (*.jsonl, *.jsonl.gz, *.json, *.parquet) found in ${paths.join(", ")}`);
  const outputs = await outputPaths(paths, files, options.out);
  const summary: RewriteSummary = {
    command,
    target,
    dry_run: options.dryRun ?? false,
    ok: true,
    files: [],
    totals: { files: 0, records_in: 0, records_out: 0, changed: 0, skipped_invalid: 0, unconvertible: 0, changes: {} },
    skipped,
    failures: [],
  };
  const outputOf = (i: number): string | null => (options.dryRun ? null : outputs[i]!);
  // Every output is checked before any is written: a run that refuses one writes none, whatever the worker count.
  for (let i = 0; i < files.length; i++) if (outputOf(i) !== null) await refuseOverwrite(outputOf(i)!, files[i]!);
  const workers = options.workers ?? defaultWorkers(files.reduce((n, f) => n + f.bytes, 0));
  if (!Number.isSafeInteger(workers) || workers < 1) throw new TypeError(`Expected \`workers\` to be a positive integer, got ${String(workers)}`);
  const outcomes =
    workers > 1 && files.length > 1
      ? rewrittenInWorkers(files, files.map((_, i) => outputOf(i)), target, transform.make, options, Math.min(workers, files.length))
      : rewrittenHere(files, outputOf, target, transform.build, options);
  let finished = 0;
  for await (const outcome of outcomes) {
    const file = outcome.file;
    if ("error" in outcome) {
      const error = outcome.error;
      // Stopped (Ctrl-C): the file being written is gone (its writer aborted); finished files stay.
      if (options.signal?.aborted) throw new AbortedError(`stopped while reading ${file.path}; ${finished} file(s) were finished`, { cause: error });
      if (error instanceof ConfigError || !(error instanceof FtprepError)) throw error;
      summary.failures.push({ path: file.path, code: error.code, message: error.message });
      summary.ok = false;
      continue;
    }
    const result = outcome.result;
    finished++;
    summary.files.push(result);
    const t = summary.totals;
    t.files++;
    t.records_in += result.records_in;
    t.records_out += result.records_out;
    t.changed += result.changed;
    t.skipped_invalid += result.skipped_invalid;
    for (const entry of Object.values(result.unconvertible)) t.unconvertible += entry.count;
    for (const [kind, entry] of Object.entries(result.changes)) t.changes[kind] = (t.changes[kind] ?? 0) + entry.count;
    const leftUnconverted = !options.skipInvalid && Object.keys(result.unconvertible).length > 0;
    if (result.check.errors > 0 || result.read_error !== null || leftUnconverted) summary.ok = false;
    options.onFile?.(result);
  }
  return summary;
}

/** The files' outcomes, in order, rewritten on this thread one after the other. */
async function* rewrittenHere(
  files: readonly DiscoveredFile[],
  outputOf: (i: number) => string | null,
  target: ChatTarget,
  build: () => FileTransform,
  options: RewriteOptions,
): AsyncGenerator<{ file: DiscoveredFile; result: RewrittenFile } | { file: DiscoveredFile; error: unknown }> {
  for (const [i, file] of files.entries()) {
    try {
      // Fresh state (id minter) per file: seeded runs repeat per file.
      yield { file, result: await rewriteFile(file, outputOf(i), target, build(), options) };
    } catch (error) {
      yield { file, error };
    }
  }
}
