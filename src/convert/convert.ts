import { guessRecordFormat } from "../validate/record.js";
import type { ChangeLog } from "./change-log.js";
import { applyColumnMap, type ColumnMap, detectSourceFormat, type SourceFormat, translate } from "./formats.js";
import { applyPolicies, defaultPolicies, type Policies } from "./policies.js";
import { type ChatTarget, IdMinter, repairChatRecord } from "./repairs.js";
import { type FileTransform, type RewriteOptions, type RewriteSummary, rewritePaths } from "./rewrite.js";

/** Options of `convertPaths`. */
export interface ConvertOptions extends RewriteOptions {
  /** The chat format to write. */
  to: ChatTarget;
  /** The source format; `auto` (default) detects it per record. */
  from?: SourceFormat | "auto";
  /** Column mapping: our key ← the source's (`{ messages: "conversations" }`). */
  map?: ColumnMap;
  /** What to do with what the target cannot hold (defaults: `defaultPolicies()`). */
  policies?: Partial<Policies>;
  /** Seed of fresh tool-call ids (default: random ids). */
  seed?: number;
}

/**
 * `ftprep convert`: reads records of any source format (OpenAI or Mistral chat, ShareGPT, Alpaca, prompt/completion)
 * from JSONL, gzip JSONL, `.json` arrays or Parquet, writes them as `to` chat records (JSONL, same relative names)
 * under `options.out`, and validates the output. What the target cannot hold follows the policies, counted;
 * the safe repairs of `fix` follow.
 */
export async function convertPaths(paths: readonly string[], options: ConvertOptions): Promise<RewriteSummary> {
  const spec: ConvertSpec = {
    to: options.to,
    from: options.from ?? "auto",
    policies: { ...defaultPolicies(), ...options.policies },
    map: options.map ?? {},
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  return rewritePaths("convert", paths, spec.to, { make: { command: "convert", spec }, build: () => convertTransform(spec) }, options);
}

/** What a file's convert transform is made from: plain data, so a worker thread makes the same one. */
export interface ConvertSpec {
  to: ChatTarget;
  from: SourceFormat | "auto";
  policies: Policies;
  map: ColumnMap;
  seed?: number;
}

/** A fresh transform for one file (its own id minter: a seeded run gives each file the same ids as alone). */
export function convertTransform(spec: ConvertSpec): FileTransform {
  const { to: target, from, policies, map } = spec;
  const mapping = Object.keys(map).length > 0;
  const ids = new IdMinter(spec.seed);
  // Detection happens once per record, in formatOf, and is reused by the transform that follows it.
  let detected: SourceFormat | undefined;
  return {
    formatOf: (record) => {
      if (mapping) applyColumnMap(record, map);
      detected = from === "auto" ? detectSourceFormat(record) : from;
      // A chat record with no sign of either provider is reported as plain "chat".
      if (from === "auto" && (detected === "openai-chat" || detected === "mistral-chat") && guessRecordFormat(record)?.certain !== true) return "chat";
      return detected ?? "unknown";
    },
    transform: (record, line, log: ChangeLog) => {
      if (detected === undefined) return { kind: "failed", reason: "unknown_format" };
      const before = log.changes;
      const translation = translate(record, detected, ids);
      if (!translation.ok) return { kind: "failed", reason: translation.reason };
      const out = translation.record;
      const extras = Object.keys(record).filter((key) => !translation.used.has(key));
      // A translated record is new: extra columns kept by policy are carried over to it.
      if (out !== record && policies.extra_columns === "keep") for (const key of extras) out[key] ??= record[key];
      const refused = applyPolicies(out, extras, target, policies, log, line);
      if (refused !== undefined) return { kind: "failed", reason: `policy_${refused}` };
      // A record of another shape is translated (one count per record); a chat record changes only by what is counted.
      if (out !== record) log.note(`from_${detected.replace("-", "_")}`, line);
      repairChatRecord(out, target, { line, log, ids });
      return { kind: "record", record: out, changed: log.changes !== before };
    },
  };
}
