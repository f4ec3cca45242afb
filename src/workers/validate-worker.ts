import { parentPort } from "node:worker_threads";
import { FileSystemError } from "../errors.js";
import type { RangeResult } from "../validate/file.js";
import { validateFile, validateSmallFile, type ValidateOptions } from "../validate/file.js";
import type { TokenHook } from "../validate/token-stats.js";
import { optionsOf, PROGRESS_BYTES, runPart } from "./part-run.js";
import type { TaskFailure, ValidateBatch, ValidateTask, WholeResult } from "./validate-task.js";

/**
 * The worker thread of the validation pool: validates the part of a file it is given, reading it from disk itself
 * (no record passes through the main thread), and posts back the part's result for the merge, its issues in a
 * file, and the bytes it has read as it goes.
 */

const port = parentPort;
if (!port) throw new Error("validate-worker.js runs as a worker thread");

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

async function run(id: number, task: ValidateTask): Promise<RangeResult | WholeResult> {
  if (task.whole) return runWhole(id, task);
  return runPart(task, { progress: (n) => port!.postMessage({ id, progress: n }), tokenHook });
}

/**
 * A whole small file, validated as one pass does (`validateFile`): its report as it will be printed, and its issues
 * in order when the main thread streams them. No log file, no merge: nothing of it waits for the main thread. A
 * plain JSONL file read whole is validated in one synchronous step (`validateSmallFile`): a batch's files run one
 * after the other through the same code, with no async step per file.
 */
async function runWhole(id: number, task: ValidateTask): Promise<WholeResult> {
  const issues: (number | string)[] | undefined = task.issues ? [] : undefined;
  const options: ValidateOptions = {
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
  };
  const report = validateSmallFile(task.path, options) ?? (await validateFile(task.path, options));
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
