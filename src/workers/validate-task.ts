import type { ByteRange } from "../read/ranges.js";
import type { Compression } from "../read/source.js";
import type { FormatId, ProviderName } from "../types.js";
import type { TokenHook } from "../validate/token-stats.js";

/** A part of a file for a worker thread to validate: plain data, both ways. */
export interface ValidateTask {
  path: string;
  /** A byte range of a plain JSONL file; absent: the whole file (compressed, `.json`, or small). */
  range?: ByteRange;
  provider: ProviderName;
  format: FormatId | "auto";
  maxIssues?: number;
  maxLineBytes?: number;
  maxRecordBytes?: number;
  duplicates: boolean;
  /** Gather the records' figures (default true). */
  figures?: boolean;
  layout: "jsonl" | "json-array";
  compression: Compression | "none";
  /** Resolves the same token hook in the worker (`TokenHook.choice`). */
  tokens?: NonNullable<TokenHook["choice"]>;
  /** Send each invalid record's line and error codes (for `prepare`'s drop list). */
  rejected?: boolean;
  /** Where to write every issue of the part, in order, as JSON lines `[line, code, path, message]`. */
  logPath?: string;
  /**
   * Where to write every counted record of the part, in order (`CountsWriter`: line, tokens, trainable, estimated;
   * line numbers the part's own), for a token hook's `onCount` on the main thread.
   */
  countsPath?: string;
  /**
   * A whole small file whose report needs nothing of the main thread (no duplicate table, no drop list, no token
   * hook): the worker makes the file's report itself, as one pass does, and sends it (`WholeResult`).
   */
  whole?: boolean;
  /** With `whole`: send every issue too, in order (for `onIssue` on the main thread). */
  issues?: boolean;
}

/**
 * A whole file's report made by the worker (`ValidateTask.whole`), and its issues in order when asked, flat:
 * `line, code, path, message` for each (absent when there are none).
 */
export interface WholeResult {
  /**
   * The report as JSON text: written and read by V8's own JSON code, which costs the main thread less than a
   * structured clone of the report's sixty-odd objects (and no JavaScript to warm up in each thread, as a codec
   * of our own would). The report holds only what `--json` prints, so the text is all of it.
   */
  json: string;
  issues?: (number | string)[];
}

/** Several small files for one worker, validated in order and answered at once: one round trip for all of them. */
export interface ValidateBatch {
  batch: ValidateTask[];
}

/** A file of a batch that could not be validated (the reply's error, for that file alone). */
export interface TaskFailure {
  error: { code?: string; message: string; path?: string };
}
