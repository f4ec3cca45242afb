import { formatBytes } from "../guard/size.js";
import { providerSpec } from "../target/registry.js";
import type { ProviderName } from "../types.js";
import type { FileReport } from "../validate/file.js";
import { printable } from "../printable.js";
import type { Io } from "./io.js";
import { isCounted } from "../validate/token-stats.js";

/** "~1,234 tokens (est.)", or "1,279 tokens (exact, tekken-240718), 110 trainable" when a tokenizer counted them. */
export function estimateLine(report: FileReport): string {
  const t = report.stats.tokens;
  if (!isCounted(t)) return `~${report.stats.estimatedTokens.toLocaleString("en-US")} tokens (est.)`;
  return `${t.total.toLocaleString("en-US")} tokens (${t.method}, ${t.tokenizer}), ${t.trainable.toLocaleString("en-US")} trainable`;
}

/** A file report for people: a summary line, then per code its count and the first `examples` issues. */
export function printFile(io: Io, report: FileReport, examples: number): void {
  const verdict = report.errors > 0 ? `${report.errors} error(s), ${report.warnings} warning(s)` : report.warnings > 0 ? `ok, ${report.warnings} warning(s)` : "ok";
  // A file that is not JSONL at all has no format and no records to speak of: E_NOT_JSONL below says what it is.
  const content =
    report.counts.E_NOT_JSONL !== undefined
      ? `not JSONL, ${formatBytes(report.bytes)}`
      : `${report.format}, ${report.records} records (${report.valid} valid, ${report.invalid} invalid), ${formatBytes(report.bytes)}, ${estimateLine(report)}`;
  io.stdout(`${printable(report.path)}: ${content} — ${verdict}\n`);
  const t = report.stats.tokens;
  if (isCounted(t) && t.records > 0) {
    const longest = t.longest.map((l) => `line ${l.line}: ${l.tokens}`).join(", ");
    io.stdout(`  tokens per record: p50 ${t.p50}, p95 ${t.p95}, max ${t.max}${t.limit !== null ? ` (limit ${t.limit}; ${t.over_limit} over)` : ""}; longest: ${longest}\n`);    if (t.estimated_records) io.stdout(`  ${t.estimated_records} record(s) with an image of unknown size (a URL): counted at the largest image size (est.)\n`);
  }
  const codes = Object.keys(report.counts).sort((a, b) => (a[0] === b[0] ? (a < b ? -1 : 1) : a[0] === "E" ? -1 : 1));
  for (const code of codes) {
    io.stdout(`  ${code} ×${report.counts[code]}\n`);
    let shown = 0;
    for (const issue of report.issues) {
      if (issue.code !== code) continue;
      if (shown++ >= examples) break;
      io.stdout(`    ${printable(report.path)}:${issue.line}: ${issue.path === "" ? "/" : printable(issue.path)} ${issue.code} ${printable(issue.message)}\n`);
    }
  }
  for (const hint of report.hints ?? []) io.stdout(`  hint: ${hint.message}\n`);
  if (report.written) {
    io.stdout(`  wrote ${report.written.records} valid record(s) to ${printable(report.written.path)} (${report.written.dropped} dropped)\n`);
  }
}

/** After every file: one line per other provider whose rules more files' invalid records pass, with what to run. */
export function printHintSummary(io: Io, reports: readonly FileReport[]): void {
  const byProvider = new Map<string, { files: number; records: number }>();
  for (const report of reports) {
    for (const hint of report.hints ?? []) {
      const seen = byProvider.get(hint.provider) ?? { files: 0, records: 0 };
      byProvider.set(hint.provider, { files: seen.files + 1, records: seen.records + hint.records });
    }
  }
  for (const [provider, { files, records }] of byProvider) {
    io.stdout(`hint: ${records} invalid record(s) in ${files} file(s) are valid ${providerSpec(provider as ProviderName).label} data: see the hints above, or run again with --provider ${provider}\n`);
  }
}
