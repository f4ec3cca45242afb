import { Command } from "commander";
import type { TokenStats } from "../validate/token-stats.js";
import type { Io } from "./io.js";
import { printJson } from "./json-output.js";
import { workersOption } from "./options.js";

/** Characters of per-record lines gathered before they are written. */
const OUTPUT_CHUNK = 64 * 1024;

interface TokensFlags {
  model?: string;
  tokenizer?: string;
  workers?: number;
}

/**
 * `ftprep tokens <paths...>`: one NDJSON object per valid record (`file`, `line`, `tokens`, `trainable`, `method`,
 * `tokenizer`), then one per file with its totals (no `line`; `records`, `invalid`). Invalid records are not counted.
 * With workers, each counts its part of the files and the records are printed in file order, as one thread prints
 * them.
 */
export function tokensCommand(io: Io): Command {
  return new Command("tokens")
    .description("print every record's token count as NDJSON, then each file's totals")
    .argument("<paths...>", "files or directories (every *.jsonl / *.json below a directory)")
    .option("--model <model>", "count with this model's tokenizer (see the README's model table)")
    .option("--tokenizer <name|path>", "tokenizer to count with: tekken-240718, mistral-sp-v3, mistral-sp-v2, mistral-sp-v1, o200k_base, cl100k_base, or a tokenizer.json")
    .addOption(workersOption())
    .action(async (paths: string[], flags: TokensFlags) => {
      const { resolveTokenHook, estimateHook } = await import("../tokens/hook.js");
      const { validatePaths } = await import("../pipeline/validate.js");
      let method = "estimate";
      let tokenizer: string | null = null;
      // Each record's line is the one `printJson` makes of { file, line, tokens, trainable, method, tokenizer }
      // (keys already snake_case, so the same bytes), built from the file's JSON name made once; lines are
      // written in chunks, not one write (a system call on a file or pipe) each.
      let pending = "";
      const flush = (): void => {
        if (pending !== "") io.stdout(pending);
        pending = "";
      };
      let lastFile: string | undefined;
      let head = "";
      let tail = "";
      let estimatedTail = "";
      // A record with an image of unknown size (a remote URL) is counted at the largest image size: an estimate.
      const onCount = (file: string, line: number, tokens: number, trainable: number, estimated?: boolean): void => {
        if (file !== lastFile) {
          lastFile = file;
          head = `{"file":${JSON.stringify(file)},"line":`;
          tail = `,"method":${JSON.stringify(method)},"tokenizer":${JSON.stringify(tokenizer)}}\n`;
          estimatedTail = `,"method":"estimate","tokenizer":${JSON.stringify(tokenizer)}}\n`;
        }
        pending += `${head}${line},"tokens":${tokens},"trainable":${trainable}${estimated ? estimatedTail : tail}`;
        if (pending.length >= OUTPUT_CHUNK) flush();
      };
      const hook =
        (await resolveTokenHook({
          ...(flags.model !== undefined ? { model: flags.model } : {}),
          ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
          onCount,
        })) ?? estimateHook(onCount);
      method = hook.method;
      tokenizer = hook.method === "estimate" ? null : hook.tokenizer;
      let summary;
      try {
        summary = await validatePaths(paths, { tokens: hook, ...(flags.workers !== undefined ? { workers: flags.workers } : {}) });
      } finally {
        flush();
      }
      for (const report of summary.files) {
        // With a hook, every file's stats are a tally (the estimate's too).
        const t = report.stats.tokens as TokenStats | undefined;
        printJson(io, {
            file: report.path,
            records: t?.records ?? 0,
            invalid: report.invalid,
            tokens: t?.total ?? 0,
            trainable: t?.trainable ?? 0,
            method,
            tokenizer,
            ...(t ? { p50: t.p50, p95: t.p95, max: t.max } : {}),
            ...(t?.estimated_records ? { estimated_records: t.estimated_records } : {}),
        });
        if (report.invalid > 0) io.stderr(`${report.path}: ${report.invalid} invalid record(s) not counted (ftprep validate shows why)\n`);
      }
      for (const failure of summary.failures) io.stderr(`ftprep: ${failure.message}\n`);
      io.exitCode = summary.failures.length > 0 ? 3 : 0;
    });
}
