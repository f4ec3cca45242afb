import { isObject } from "../validate/findings.js";
import { type ChatTarget, IdMinter, repairChatRecord } from "./repairs.js";
import { type FileTransform, type RewriteOptions, type RewriteSummary, rewritePaths } from "./rewrite.js";

/** Options of `fixPaths`. */
export interface FixOptions extends RewriteOptions {
  /** The chat format to repair for (default `mistral-chat`). */
  target?: ChatTarget;
  /** Seed of the fresh tool-call ids: the same seed gives the same ids (default: random ids). */
  seed?: number;
}

/**
 * `ftprep fix`: applies the safe repairs for the target to every record of the files under `paths`, writes the
 * result (JSONL, same relative names) under `options.out`, and validates it again. Unchanged records are written
 * byte for byte; every change is counted per kind. See `repairChatRecord` for the repairs.
 */
export async function fixPaths(paths: readonly string[], options: FixOptions): Promise<RewriteSummary> {
  const spec: FixSpec = { target: options.target ?? "mistral-chat", ...(options.seed !== undefined ? { seed: options.seed } : {}) };
  return rewritePaths("fix", paths, spec.target, { make: { command: "fix", spec }, build: () => fixTransform(spec) }, options);
}

/** What a file's fix transform is made from: plain data, so a worker thread makes the same one. */
export interface FixSpec {
  target: ChatTarget;
  seed?: number;
}

/** A fresh transform for one file (its own id minter: a seeded run gives each file the same ids as alone). */
export function fixTransform(spec: FixSpec): FileTransform {
  const ids = new IdMinter(spec.seed);
  return {
    formatOf: (record) => (isObject(record) && (record.messages !== undefined || record.interactions !== undefined) ? "chat" : "other"),
    transform: (record, line, log) => ({ kind: "record", record, changed: repairChatRecord(record, spec.target, { line, log, ids }) }),
  };
}
