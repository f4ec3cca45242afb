import { type DiscoveredFile, type DiscoverInput, type Discovery, discoverFiles, type SkippedPath } from "../discover/discover.js";
import { ConfigError } from "../errors.js";

/**
 * How the work before an upload goes, for progress displays: discovery (files found so far), then one pass per
 * source file (what the pass does, and the source bytes read as it goes).
 */
export type PassEvent =
  | { type: "discover-start" }
  | { type: "discover"; files: number; bytes: number }
  | { type: "discovered"; files: number; bytes: number; skipped: number }
  | {
      type: "file";
      path: string;
      /** 0-based place among the sources, and their number. */
      index: number;
      files: number;
      /** Size on disk. */
      bytes: number;
      /** validate; split into shards; decompress (a `.jsonl.gz` / `.jsonl.zst`); convert (a `.json` array). */
      action: "validate" | "split" | "decompress" | "convert";
    }
  | { type: "read"; n: number };

/** The usage error for inputs that hold no dataset file, naming why the first things found were skipped. */
export function noDatasetFiles(paths: readonly (string | DiscoverInput)[], skipped: readonly SkippedPath[]): ConfigError {
  const where = paths.map((p) => (typeof p === "string" ? p : p.path)).join(", ");
  const shown = skipped.slice(0, 3).map((s) => `${s.path} (${s.reason})`);
  const more = skipped.length > shown.length ? `, and ${skipped.length - shown.length} more` : "";
  return new ConfigError(`no dataset files (*.jsonl, *.jsonl.gz, *.jsonl.zst, *.json) found in ${where}${shown.length ? `; skipped: ${shown.join("; ")}${more}` : ""}`);
}

/**
 * Discovery as `validate` and `prepare` run it: `exclude`d outputs never taken, progress told as files are found,
 * and a usage error when the inputs hold no dataset file (and nothing unreadable to report).
 */
export async function discoverDatasets(
  paths: readonly (string | DiscoverInput)[],
  options: { exclude: readonly string[]; signal?: AbortSignal | undefined; onProgress?: ((event: PassEvent) => void) | undefined; onFile?: ((file: DiscoveredFile) => void) | undefined },
): Promise<Discovery> {
  const progress = options.onProgress;
  progress?.({ type: "discover-start" });
  const found = await discoverFiles(paths, {
    exclude: options.exclude,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onFile ? { onFile: options.onFile } : {}),
    ...(progress ? { onProgress: (count: { files: number; bytes: number }) => progress({ type: "discover", ...count }) } : {}),
  });
  if (found.files.length === 0 && found.unreadable.length === 0) throw noDatasetFiles(paths, found.skipped);
  progress?.({ type: "discovered", files: found.files.length, bytes: found.files.reduce((n, f) => n + f.bytes, 0), skipped: found.skipped.length });
  return found;
}
