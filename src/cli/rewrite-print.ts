import { CHANGE_EXAMPLES } from "../convert/change-log.js";
import type { RewriteOptions, RewriteSummary, RewrittenFile } from "../convert/rewrite.js";
import { withInterrupt } from "./interrupt.js";
import type { Io } from "./io.js";
import { printJson } from "./json-output.js";

/** Human output of `fix` and `convert`: per file what changed (stdout), then the totals. */

function lines(entry: { count: number; lines: number[] }): string {
  const more = entry.count > entry.lines.length && entry.lines.length >= CHANGE_EXAMPLES ? ", …" : "";
  return entry.lines.length === 0 ? "" : ` (line${entry.lines.length > 1 ? "s" : ""} ${entry.lines.join(", ")}${more})`;
}

/** One file's outcome. */
export function printRewrittenFile(io: Io, file: RewrittenFile, dryRun: boolean): void {
  const where = file.output === null ? "(dry run: nothing written)" : `→ ${file.output}`;
  const formats = Object.entries(file.source_formats)
    .map(([format, n]) => `${format} ×${n}`)
    .join(", ");
  io.stdout(
    `${file.path} ${where}: ${file.records_in} record(s) in${formats ? ` (${formats})` : ""}, ${file.records_out} ${dryRun ? "would be written" : "out"}, ${file.changed} changed` +
      (file.skipped_invalid > 0 ? `, ${file.skipped_invalid} left out as invalid` : "") +
      "\n",
  );
  for (const [kind, entry] of Object.entries(file.changes)) io.stdout(`  ${kind} ×${entry.count}${lines(entry)}\n`);
  for (const [reason, entry] of Object.entries(file.unconvertible)) io.stdout(`  not converted: ${reason} ×${entry.count}${lines(entry)}\n`);
  if (file.read_error !== null) io.stdout(`  stopped early: ${file.read_error}\n`);
  const check = file.check;
  const verdict = check.errors === 0 ? "valid" : `${check.errors} error(s) in ${check.invalid} record(s)`;
  io.stdout(`  ${dryRun ? "would validate" : "output validated"} as ${check.format}: ${check.records} record(s), ${verdict}${check.warnings > 0 ? `, ${check.warnings} warning(s)` : ""}\n`);
  for (const issue of check.issues) {
    if (!issue.code.startsWith("E_")) continue;
    io.stdout(`    ${file.output ?? file.path}:${issue.line}: ${issue.path === "" ? "/" : issue.path} ${issue.code} ${issue.message}\n`);
  }
}

/** The run's totals, skipped paths and failures. */
export function printRewriteSummary(io: Io, summary: RewriteSummary, skipInvalid: boolean): void {
  for (const skip of summary.skipped) io.stderr(`skipped ${skip.path}: ${skip.reason}\n`);
  for (const failure of summary.failures) io.stderr(`ftprep: ${failure.message}\n`);
  const t = summary.totals;
  io.stdout(
    `${t.files} file(s) ${summary.dry_run ? "checked (dry run)" : summary.command === "fix" ? "fixed" : "converted"} for ${summary.target}: ` +
      `${t.records_in} record(s) in, ${t.records_out} out, ${t.changed} changed, ${t.skipped_invalid} left out as invalid, ${t.unconvertible} not converted\n`,
  );
  if (!summary.ok && summary.failures.length === 0) {
    const invalidRecords = summary.files.some((f) => f.check.invalid > 0 || Object.keys(f.unconvertible).length > 0);
    io.stderr(
      invalidRecords && !skipInvalid
        ? "ftprep: some records are invalid for the target or could not be converted (see above); --skip-invalid leaves them out\n"
        : "ftprep: the output has errors (see above)\n",
    );
  }
}

/** The exit code of a rewrite: 3 when a file could not be read, 1 when the output has errors, else 0. */
export function rewriteExitCode(summary: RewriteSummary): number {
  return summary.failures.length > 0 ? 3 : summary.ok ? 0 : 1;
}

/** The flags `fix` and `convert` share. */
export interface RewriteFlags {
  out: string;
  seed?: number;
  skipInvalid?: boolean;
  dryRun?: boolean;
  json?: boolean;
  maxLineBytes?: number;
  workers?: number;
}

/**
 * Runs a rewrite (`fixPaths` or `convertPaths`) as both commands do: Ctrl-C handled, each file printed as it is done
 * (or one JSON document), the totals, and the exit code.
 */
export async function runRewrite(io: Io, flags: RewriteFlags, rewrite: (common: RewriteOptions & { seed?: number }) => Promise<RewriteSummary>): Promise<void> {
  const dryRun = flags.dryRun ?? false;
  const skipInvalid = flags.skipInvalid ?? false;
  const summary = await withInterrupt(io, "the file being written is removed; finished files stay", (signal) =>
    rewrite({
      signal,
      out: flags.out,
      skipInvalid,
      dryRun,
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      ...(flags.maxLineBytes !== undefined ? { maxLineBytes: flags.maxLineBytes } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...(flags.json ? {} : { onFile: (file: RewrittenFile) => printRewrittenFile(io, file, dryRun) }),
    }),
  );
  if (flags.json) printJson(io, summary);
  else printRewriteSummary(io, summary, skipInvalid);
  io.exitCode = rewriteExitCode(summary);
}
