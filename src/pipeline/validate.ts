import { realpath } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { discoverFiles, type SkippedPath } from "../discover/discover.js";
import { ConfigError, FtprepError } from "../errors.js";
import { LineFileWriter } from "../guard/line-writer.js";
import { validateFile, type FileReport, type ValidateOptions } from "../validate/file.js";
import { redactedJson } from "../redact.js";

/** Options of `validatePaths`: those of `validateFile`, plus where to stream the full report and the valid records. */
export interface ValidatePathsOptions extends Omit<ValidateOptions, "onIssue" | "onBatch" | "onRecord" | "onChunk" | "label"> {
  /** Write every issue of every file to this file, one JSON object per line, as found. */
  reportPath?: string;
  /** Write each file's valid records to this directory, under the file's path relative to its input. */
  writeValidDir?: string;
  /** Called as each file's report is ready (for progressive output). */
  onFile?: (report: FileReport) => void;
}

/** A file that could not be validated (unreadable, vanished…): an operational failure, not a data problem. */
export interface FileFailure {
  path: string;
  code: string;
  message: string;
}

/** The outcome of validating a set of paths: the shape `ftprep validate --json` prints. */
export interface ValidationSummary {
  files: FileReport[];
  skipped: SkippedPath[];
  failures: FileFailure[];
  /** No file has an error and every file could be read. */
  ok: boolean;
}

/** The output name of a file's valid records: JSON arrays become JSONL. */
function validOutputName(relative: string): string {
  return relative.toLowerCase().endsWith(".json") ? `${relative}l` : relative;
}

/**
 * Discovers the dataset files under `paths` and validates each, streaming issues to `reportPath` and valid records
 * to `writeValidDir`. A file that cannot be read is a failure of its own; the others are still validated.
 */
export async function validatePaths(paths: readonly string[], options: ValidatePathsOptions = {}): Promise<ValidationSummary> {
  const { files, skipped } = await discoverFiles(paths);
  if (files.length === 0) throw new ConfigError(`no dataset files (*.jsonl, *.json) found in ${paths.join(", ")}`);
  const report = options.reportPath !== undefined ? await LineFileWriter.create(options.reportPath) : undefined;
  const summary: ValidationSummary = { files: [], skipped, failures: [], ok: true };
  try {
    for (const file of files) {
      let writer: LineFileWriter | undefined;
      try {
        if (options.writeValidDir !== undefined) {
          const target = join(options.writeValidDir, validOutputName(file.relative));
          writer = await LineFileWriter.create(target);
          // The output lands by rename at the end: refuse before then if it would replace its own input.
          if (join(await realpath(dirname(target)), basename(target)) === file.realPath) {
            throw new ConfigError(`--write-valid would overwrite its input ${file.path}; choose another directory`);
          }
        }
        const out = writer;
        const result = await validateFile(file.path, {
          ...options,
          label: file.path,
          ...(report ? { onIssue: (issue) => report.writeLine(redactedJson(issue)) } : {}),
          ...(out ? { onRecord: (record) => record.valid && out.writeLine(record.raw) } : {}),
          onBatch: async () => {
            if (report?.wantsFlush) await report.flush();
            if (out?.wantsFlush) await out.flush();
          },
        });
        if (out) {
          await out.close();
          result.written = { path: out.path, records: out.lines, dropped: result.records - out.lines };
        }
        summary.files.push(result);
        if (result.errors > 0) summary.ok = false;
        options.onFile?.(result);
      } catch (error) {
        await writer?.abort();
        if (error instanceof ConfigError || !(error instanceof FtprepError)) throw error;
        summary.failures.push({ path: file.path, code: error.code, message: error.message });
        summary.ok = false;
      }
    }
    await report?.close();
  } catch (error) {
    await report?.abort();
    throw error;
  }
  return summary;
}
