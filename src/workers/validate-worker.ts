import { parentPort } from "node:worker_threads";
import { FileSystemError } from "../errors.js";
import { LineFileWriter } from "../guard/line-writer.js";
import { targetFor } from "../target/target-spec.js";
import type { RangeResult, ValidateOptions } from "../validate/file.js";
import { validateFile, validateRange } from "../validate/file.js";
import type { TokenHook } from "../validate/token-stats.js";
import { CountsWriter } from "./counts-file.js";
import type { TaskFailure, ValidateBatch, ValidateTask, WholeResult } from "./validate-task.js";

/**
 * The worker thread of the validation pool: validates the part of a file it is given, reading it from disk itself
 * (no record passes through the main thread), and posts back the part's result for the merge, its issues in a
 * file, and the bytes it has read as it goes.
 */

const port = parentPort;
if (!port) throw new Error("validate-worker.js runs as a worker thread");

/** Progress is posted at most this often, in bytes. */
const PROGRESS_BYTES = 4 * 1024 * 1024;

/** Bytes of whole small files read and not yet told to the main thread. */
let unsentRead = 0;

const hooks = new Map<string, Promise<TokenHook | undefined>>();
function tokenHook(choice: NonNullable<ValidateTask["tokens"]>): Promise<TokenHook | undefined> {
  const key = JSON.stringify(choice);
  let hook = hooks.get(key);
  if (!hook) {
    // Nothing chosen: the estimate, counted per record (the hook `estimateHook` gave the main thread).
    hook = import("../tokens/hook.js").then(async ({ resolveTokenHook, estimateHook }) => (await resolveTokenHook(choice)) ?? estimateHook());
    hooks.set(key, hook);
  }
  return hook;
}

/** The validation options a task gives (hooks apart). */
function optionsOf(task: ValidateTask): ValidateOptions {
  return {
    target: targetFor(task.provider, task.format),
    duplicates: task.duplicates,
    ...(task.figures === false ? { figures: false } : {}),
    layout: task.layout,
    compression: task.compression,
    label: task.path,
    ...(task.maxIssues !== undefined ? { maxIssues: task.maxIssues } : {}),
    ...(task.maxLineBytes !== undefined ? { maxLineBytes: task.maxLineBytes } : {}),
    ...(task.maxRecordBytes !== undefined ? { maxRecordBytes: task.maxRecordBytes } : {}),
  };
}

async function run(id: number, task: ValidateTask): Promise<RangeResult | WholeResult> {
  if (task.whole) return runWhole(id, task);
  const log = task.logPath !== undefined ? await LineFileWriter.create(task.logPath) : undefined;
  const counts = task.countsPath !== undefined ? await CountsWriter.create(task.countsPath) : undefined;
  let unreported = 0;
  const shared = task.tokens ? await tokenHook(task.tokens) : undefined;
  const hook: TokenHook | undefined =
    shared && counts ? { ...shared, onCount: (_file, line, tokens, trainable, estimated) => counts.add(line, tokens, trainable, estimated === true) } : shared;
  const options: ValidateOptions = {
    ...optionsOf(task),
    ...(hook ? { tokens: hook } : {}),
    ...(log ? { onIssue: (i) => log.writeLine(JSON.stringify([i.line, i.code, i.path, i.message])) } : {}),
    onChunk: (bytes) => {
      unreported += bytes.length;
      if (unreported >= PROGRESS_BYTES) {
        port!.postMessage({ id, progress: unreported });
        unreported = 0;
      }
    },
    onBatch: async () => {
      if (log?.wantsFlush) await log.flush();
      if (counts?.wantsFlush) await counts.flush();
    },
  };
  try {
    const result = await validateRange(task.path, task.range, options, { rejected: task.rejected === true });
    await log?.close();
    await counts?.close();
    if (unreported > 0) port!.postMessage({ id, progress: unreported });
    return result;
  } catch (error) {
    await log?.abort();
    await counts?.abort();
    throw error;
  }
}

/**
 * A whole small file, validated as one pass does (`validateFile`): its report as it will be printed, and its issues
 * in order when the main thread streams them. No log file, no merge: nothing of it waits for the main thread.
 */
async function runWhole(id: number, task: ValidateTask): Promise<WholeResult> {
  const issues: (number | string)[] | undefined = task.issues ? [] : undefined;
  const report = await validateFile(task.path, {
    ...optionsOf(task),
    ...(issues ? { onIssue: (i) => void issues.push(i.line, i.code, i.path, i.message) } : {}),
    onChunk: (bytes) => {
      // Told per batch (or every PROGRESS_BYTES), not per file: a message per 10 kB file would cost more than its bytes.
      unsentRead += bytes.length;
      if (unsentRead >= PROGRESS_BYTES) {
        port!.postMessage({ id, progress: unsentRead });
        unsentRead = 0;
      }
    },
  });
  const result: WholeResult = { json: JSON.stringify(report) };
  if (issues !== undefined && issues.length > 0) result.issues = issues;
  return result;
}

function replyOf(error: unknown): TaskFailure {
  const e = error as { code?: string; message?: string };
  return { error: { code: e.code ?? "ERR_WORKER", message: e.message ?? String(error), ...(error instanceof FileSystemError ? { path: error.path } : {}) } };
}

function transfers(result: RangeResult | WholeResult): ArrayBuffer[] {
  return !("format" in result) ? [] : result.digests ? [result.digests.lines.buffer as ArrayBuffer, result.digests.bytes.buffer as ArrayBuffer] : [];
}

/** Small files, one after the other: each file's result or failure, in order, in one reply. */
async function runBatch(id: number, tasks: ValidateTask[]): Promise<(RangeResult | WholeResult | TaskFailure)[]> {
  const results: (RangeResult | WholeResult | TaskFailure)[] = [];
  for (const task of tasks) results.push(await run(id, task).catch(replyOf));
  if (unsentRead > 0) {
    port!.postMessage({ id, progress: unsentRead });
    unsentRead = 0;
  }
  return results;
}

/**
 * Tasks run one after the other, in the order they came: the pool sends a thread its next task before the current
 * one ends (so it never waits for the main thread), and two ranges validated at once, interleaved batch by batch,
 * would both end late — the merge waits for the first — and hold two passes' buffers at once.
 */
let previous: Promise<void> = Promise.resolve();

async function handle(id: number, task: ValidateTask | ValidateBatch): Promise<void> {
  if ("batch" in task) {
    const results = await runBatch(id, task.batch);
    port!.postMessage({ id, result: results }, results.flatMap((r) => ("error" in r ? [] : transfers(r))));
    return;
  }
  await run(id, task).then(
    (result) => port!.postMessage({ id, result }, transfers(result)),
    (error: unknown) => port!.postMessage({ id, ...replyOf(error) }),
  );
}

port.on("message", ({ id, task }: { id: number; task: ValidateTask | ValidateBatch }) => {
  // A reply that cannot be sent is that task's failure; the tasks after it still run.
  previous = previous.then(() => handle(id, task)).catch((error: unknown) => port.postMessage({ id, ...replyOf(error) }));
});
