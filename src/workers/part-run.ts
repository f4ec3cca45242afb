import { LineFileWriter } from "../guard/line-writer.js";
import { targetFor } from "../target/target-spec.js";
import type { RangeResult, ValidateOptions } from "../validate/file.js";
import { validateRange } from "../validate/file.js";
import type { TokenHook } from "../validate/token-stats.js";
import { CountsWriter } from "./counts-file.js";
import type { ValidateTask } from "./validate-task.js";

/**
 * A part of a file validated for the merge (`ValidateTask`, not `whole`): what a worker thread runs, and what the
 * main thread runs for the ranges it takes itself (`WorkerPool`'s local runner) — one function, so both give the
 * same result, issue log and counts.
 */

/** Progress is told at most this often, in bytes. */
export const PROGRESS_BYTES = 4 * 1024 * 1024;

/** The validation options a task gives (hooks apart). */
export function optionsOf(task: ValidateTask): ValidateOptions {
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

export interface PartHooks {
  /** Bytes read since the last call (at least `PROGRESS_BYTES`, and what is left at the end). */
  progress: (bytes: number) => void;
  /** The token hook a task's `tokens` choice names. */
  tokenHook: (choice: NonNullable<ValidateTask["tokens"]>) => Promise<TokenHook | undefined>;
  signal?: AbortSignal;
}

export async function runPart(task: ValidateTask, hooks: PartHooks): Promise<RangeResult> {
  const log = task.logPath !== undefined ? await LineFileWriter.create(task.logPath) : undefined;
  const counts = task.countsPath !== undefined ? await CountsWriter.create(task.countsPath) : undefined;
  let unreported = 0;
  try {
    const shared = task.tokens ? await hooks.tokenHook(task.tokens) : undefined;
    const hook: TokenHook | undefined =
      shared && counts ? { ...shared, onCount: (_file, line, tokens, trainable, estimated) => counts.add(line, tokens, trainable, estimated === true) } : shared;
    const options: ValidateOptions = {
      ...optionsOf(task),
      ...(hook ? { tokens: hook } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(log ? { onIssue: (i) => log.writeLine(JSON.stringify([i.line, i.code, i.path, i.message])) } : {}),
      onChunk: (bytes) => {
        unreported += bytes.length;
        if (unreported >= PROGRESS_BYTES) {
          hooks.progress(unreported);
          unreported = 0;
        }
      },
      onBatch: async () => {
        if (log?.wantsFlush) await log.flush();
        if (counts?.wantsFlush) await counts.flush();
      },
    };
    const result = await validateRange(task.path, task.range, options, { rejected: task.rejected === true });
    await log?.close();
    await counts?.close();
    if (unreported > 0) hooks.progress(unreported);
    return result;
  } catch (error) {
    await log?.abort();
    await counts?.abort();
    throw error;
  }
}
