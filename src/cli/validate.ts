import { addStorageOptions } from "./storage-options.js";
import { printable } from "../printable.js";
import { Command, Option } from "commander";
import { DEFAULT_MAX_ISSUES } from "../defaults.js";
import type { ValidationSummary } from "../pipeline/validate.js";
import { FORMATS, type FormatId } from "../types.js";
import type { FileReport } from "../validate/file.js";
import { printFile, printHintSummary } from "./print.js";
import { byteSize, positiveInt, providerOption, targetFromFlags, workersOption } from "./options.js";
import type { Io } from "./io.js";
import { addTokenOptions, splitLines, splitTokens, type TokenFlags, tokenHook } from "./token-options.js";
import { interruptible } from "./interrupt.js";
import { PROGRESS_FLAG, progressDisplay } from "./progress.js";
import { printJson } from "./json-output.js";
import { addHtmlOption, writeHtmlReport } from "./report.js";
import { figuresBySplit } from "../validate/figures.js";

interface ValidateFlags extends TokenFlags {
  provider?: string;
  format: FormatId | "auto";
  json?: boolean;
  report?: string;
  maxIssues?: number;
  maxLineBytes?: number;
  writeValid?: string;
  duplicates?: boolean;
  quiet?: boolean;
  html?: string;
  workers?: number;
  progress?: boolean;
}

/** Examples printed per code in human output when `--max-issues` is not given. */
const HUMAN_EXAMPLES = 3;

/** `ftprep validate <paths...>` */
export function validateCommand(io: Io): Command {
  const command: Command = new Command("validate")
    .description("validate JSONL (and .json array) fine-tuning files against the chat-format schemas and rules")
    .argument("<paths...>", "files or directories (every *.jsonl / *.json below a directory)")
    .addOption(providerOption())
    .addOption(new Option("--format <format>", "record format; auto detects it per file from the first records, among the provider's formats").choices(["auto", ...FORMATS]).default("auto"))
    .option("--json", "print one JSON document on stdout")
    .option("--report <file>", "write every issue to FILE as NDJSON, as it is found")
    .option("--max-issues <n>", `issues kept as examples per code (default ${DEFAULT_MAX_ISSUES}; counts are always complete)`, positiveInt)
    .option("--max-line-bytes <size>", "longest line read (default 64MiB); longer lines are E_LINE_TOO_LONG", byteSize)
    .option("--write-valid <dir>", "write each file's valid records, byte for byte, to DIR under the same name")
    .option("--duplicates", "also report records identical to an earlier one (W_DUPLICATE; about 32 bytes of memory per record)")
    .option("--quiet", "no progress on stderr (errors are still printed)")
    .addOption(workersOption())
    .option(...PROGRESS_FLAG);
  addStorageOptions(command);
  return addHtmlOption(addTokenOptions(command))
    .action(async (paths: string[], flags: ValidateFlags) => {
      const target = targetFromFlags(command, flags);
      const { validatePaths } = await import("../pipeline/validate.js");
      const tokens = await tokenHook(flags);
      const progress = progressDisplay(io, flags);
      const summary = await interruptible(progress, (signal) => validatePaths(paths, {
        signal,
        onProgress: (e) => progress.pass(e),
        ...(tokens ? { tokens } : {}),
        target,
        duplicates: flags.duplicates ?? false,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        ...(flags.maxIssues !== undefined ? { maxIssues: flags.maxIssues } : {}),
        ...(flags.maxLineBytes !== undefined ? { maxLineBytes: flags.maxLineBytes } : {}),
        ...(flags.report !== undefined ? { reportPath: flags.report } : {}),
        ...(flags.writeValid !== undefined ? { writeValidDir: flags.writeValid } : {}),
        ...(flags.json ? {} : { onFile: (report: FileReport) => {
          progress.finish();
          printFile(io, report, flags.maxIssues ?? HUMAN_EXAMPLES);
        } }),
      }));
      const total = await splitTokens(summary.files, flags, tokens);
      const doc = { ...summary, tokens: total, figures: figuresBySplit(summary.files, flags.seqLen) };
      if (flags.html !== undefined) await writeHtmlReport(io, flags.html, doc, flags.quiet);
      if (flags.json) printJson(io, doc);
      else {
        printSummary(io, summary, flags);
        if (summary.files.length > 0) for (const line of splitLines("tokens of all files", total)) io.stdout(`${line}\n`);
      }
      io.exitCode = summary.failures.length > 0 ? 3 : summary.ok ? 0 : 1;
    });
  return command;
}

function printSummary(io: Io, summary: ValidationSummary, flags: ValidateFlags): void {
  for (const skip of summary.skipped) io.stdout(`skipped ${printable(skip.path)}: ${skip.reason}\n`);
  for (const failure of summary.failures) io.stderr(`ftprep: ${failure.message}\n`);
  const files = summary.files.length;
  const bad = summary.files.filter((f) => f.errors > 0).length;
  const records = summary.files.reduce((n, f) => n + f.records, 0);
  const invalid = summary.files.reduce((n, f) => n + f.invalid, 0);
  io.stdout(
    `${files} file(s) validated: ${files - bad} without errors, ${bad} with errors; ${invalid} invalid record(s) of ${records}` +
      (summary.failures.length > 0 ? `; ${summary.failures.length} file(s) could not be read` : "") +
      "\n",
  );
  printHintSummary(io, summary.files);
  if (flags.report !== undefined) io.stdout(`every issue is in ${flags.report}\n`);
}
