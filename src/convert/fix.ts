import { isObject } from "../validate/findings.js";
import { type ChatTarget, IdMinter, repairChatRecord } from "./repairs.js";
import { type RewriteOptions, type RewriteSummary, rewritePaths } from "./rewrite.js";

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
  const target = options.target ?? "mistral-chat";
  return rewritePaths("fix", paths, target, () => {
    const ids = new IdMinter(options.seed);
    return {
      formatOf: (record) => (isObject(record) && (record.messages !== undefined || record.interactions !== undefined) ? "chat" : "other"),
      transform: (record, line, log) => ({ kind: "record", record, changed: repairChatRecord(record, target, { line, log, ids }) }),
    };
  }, options);
}
