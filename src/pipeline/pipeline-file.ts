import { readJsonFile } from "../json-file.js";
import { dirname, isAbsolute, join } from "node:path";
import { documentValidator } from "../document-schemas.js";
import type { DiscoverInput } from "../discover/discover.js";
import { ConfigError } from "../errors.js";
import { parseByteSize } from "../guard/size.js";
import type { FormatId, ProviderName } from "../types.js";
import type { RunOptions } from "./run.js";

/** A pipeline file (`schemas/pipeline.schema.json`). */
export interface PipelineFile {
  $schema?: string;
  name?: string;
  description?: string;
  sources: { path: string; split?: "train" | "validation"; weight?: number }[];
  format?: FormatId | "auto";
  provider?: { name?: ProviderName; base_url?: string };
  limits?: { max_file_bytes?: number | string; max_line_bytes?: number | string; split?: boolean };
  skip_invalid?: boolean;
  max_invalid_fraction?: number;
  dedupe?: boolean;
  validation_split?: number;
  seed?: number;
  upload?: { concurrency?: number; verify_remote?: boolean; retry?: { max_attempts?: number; base_delay_ms?: number; max_delay_ms?: number; max_total_ms?: number } };
  out_dir?: string;
  manifest?: string;
  store?: string;
  job?: { model: string; suffix?: string; hyperparameters?: Record<string, number | string>; auto_start?: boolean; wait?: boolean; poll_ms?: number };
}

/** Reads and validates a pipeline file; problems name the file and the JSON Pointer (`x.json: /sources/0/weight must be > 0`). */
export async function loadPipeline(path: string): Promise<PipelineFile> {
  const value = await readJsonFile(path);
  const validator = documentValidator("pipeline.schema.json");
  if (!validator(value)) {
    const error = validator.errors![0]!;
    const extra = error.keyword === "additionalProperties" ? ` (${String((error.params as { additionalProperty?: string }).additionalProperty)})` : "";
    throw new ConfigError(`${path}: ${error.instancePath || "/"} ${error.message ?? "is invalid"}${extra}`);
  }
  return value as PipelineFile;
}

function size(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === "number" ? value : parseByteSize(value);
}

/**
 * The run a pipeline file describes: its sources (resolved against the file's directory) and the run options it
 * sets. The base URL it names is the lowest-priority one (`pipelineBaseUrl`): the environment's wins over it.
 */
export function pipelineRun(pipeline: PipelineFile, path: string): { inputs: DiscoverInput[]; options: RunOptions } {
  const base = dirname(path);
  const inputs = pipeline.sources.map((s) => ({
    path: isAbsolute(s.path) ? s.path : join(base, s.path),
    ...(s.split ? { split: s.split } : {}),
    ...(s.weight !== undefined ? { weight: s.weight } : {}),
  }));
  const retry = pipeline.upload?.retry;
  const options: RunOptions = {
    ...(pipeline.format ? { format: pipeline.format } : {}),
    ...(pipeline.provider?.name ? { provider: pipeline.provider.name } : {}),
    ...(pipeline.provider?.base_url ? { pipelineBaseUrl: pipeline.provider.base_url } : {}),
    ...(size(pipeline.limits?.max_file_bytes) !== undefined ? { maxFileBytes: size(pipeline.limits?.max_file_bytes)! } : {}),
    ...(size(pipeline.limits?.max_line_bytes) !== undefined ? { maxLineBytes: size(pipeline.limits?.max_line_bytes)! } : {}),
    ...(pipeline.limits?.split !== undefined ? { split: pipeline.limits.split } : {}),
    ...(pipeline.skip_invalid !== undefined ? { skipInvalid: pipeline.skip_invalid } : {}),
    ...(pipeline.max_invalid_fraction !== undefined ? { maxInvalidFraction: pipeline.max_invalid_fraction } : {}),
    ...(pipeline.dedupe !== undefined ? { dedupe: pipeline.dedupe } : {}),
    ...(pipeline.validation_split !== undefined ? { validationSplit: pipeline.validation_split } : {}),
    ...(pipeline.seed !== undefined ? { seed: pipeline.seed } : {}),
    ...(pipeline.upload?.concurrency !== undefined ? { concurrency: pipeline.upload.concurrency } : {}),
    ...(pipeline.upload?.verify_remote !== undefined ? { verifyRemote: pipeline.upload.verify_remote } : {}),
    ...(retry
      ? {
          retry: {
            ...(retry.max_attempts !== undefined ? { maxAttempts: retry.max_attempts } : {}),
            ...(retry.base_delay_ms !== undefined ? { baseDelayMs: retry.base_delay_ms } : {}),
            ...(retry.max_delay_ms !== undefined ? { maxDelayMs: retry.max_delay_ms } : {}),
            ...(retry.max_total_ms !== undefined ? { maxTotalMs: retry.max_total_ms } : {}),
          },
        }
      : {}),
    ...(pipeline.out_dir !== undefined ? { outDir: pipeline.out_dir } : {}),
    ...(pipeline.manifest !== undefined ? { manifestPath: pipeline.manifest } : {}),
    ...(pipeline.store !== undefined ? { store: pipeline.store } : {}),
    ...(pipeline.job
      ? {
          job: {
            model: pipeline.job.model,
            ...(pipeline.job.suffix !== undefined ? { suffix: pipeline.job.suffix } : {}),
            ...(pipeline.job.hyperparameters ? { hyperparameters: pipeline.job.hyperparameters } : {}),
            ...(pipeline.job.auto_start !== undefined ? { autoStart: pipeline.job.auto_start } : {}),
            ...(pipeline.job.wait !== undefined ? { wait: pipeline.job.wait } : {}),
            ...(pipeline.job.poll_ms !== undefined ? { pollMs: pipeline.job.poll_ms } : {}),
          },
        }
      : {}),
  };
  return { inputs, options };
}
