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
   * Where to write every counted record of the part, in order, as JSON lines `[line, tokens, trainable, estimated]`
   * (line numbers the part's own; `estimated` 0 or 1), for a token hook's `onCount` on the main thread.
   */
  countsPath?: string;
}

/** Several small files for one worker, validated in order and answered at once: one round trip for all of them. */
export interface ValidateBatch {
  batch: ValidateTask[];
}

/** A file of a batch that could not be validated (the reply's error, for that file alone). */
export interface TaskFailure {
  error: { code?: string; message: string; path?: string };
}
