import type { FileReport } from "../validate/file.js";

/** "~1,234 tokens (est.)" — the report's token estimate, said as an estimate. */
export function estimateLine(report: FileReport): string {
  return `~${report.stats.estimatedTokens.toLocaleString("en-US")} tokens (est.)`;
}
