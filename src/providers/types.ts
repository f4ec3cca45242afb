import { ProviderAnswerError } from "./errors.js";

/** The Files API as the uploader sees it: the same for every provider. */

import type { ProviderName } from "../types.js";

export type { ProviderName };

/** Providers with a Files client: every provider. */
export type FilesProviderName = ProviderName;

/** A file as the provider holds it. */
export interface RemoteFile {
  id: string;
  filename: string;
  bytes: number;
  /** Mistral reports lines and sample type; OpenAI does not (null). */
  num_lines: number | null;
  sample_type: string | null;
  purpose: string;
  created_at: number;
}

/** A file object as both APIs answer it (the fields ftprep reads). */
export interface WireFile {
  id: string;
  filename: string;
  bytes: number;
  purpose: string;
  created_at: number;
  num_lines?: number | null;
  sample_type?: string | null;
}

/** A file id ftprep accepts: printable ASCII without spaces (it is printed and sent back in URLs), at most 256. */
export const FILE_ID = /^[\x21-\x7e]{1,256}$/;

/**
 * The fields ftprep keeps of a provider's file object, checked: a provider's answer is untrusted input, and what
 * reaches the manifest must hold (a string id, a byte count, a name…). `what` names the request in the error.
 */
export function toRemoteFile(value: unknown, what = "a request"): RemoteFile {
  const bad = (why: string) => new ProviderAnswerError(`the provider answered ${what} with a file object that ${why}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("is not an object");
  const file = value as Partial<Record<keyof WireFile, unknown>>;
  if (typeof file.id !== "string" || !FILE_ID.test(file.id)) throw bad(typeof file.id === "string" ? "has an id with spaces, control characters or over 256 characters" : "has no string id");
  if (typeof file.filename !== "string") throw bad("has no filename");
  if (!Number.isSafeInteger(file.bytes) || (file.bytes as number) < 0) throw bad("has no byte count");
  if (typeof file.purpose !== "string") throw bad("has no purpose");
  if (!Number.isSafeInteger(file.created_at)) throw bad("has no created_at time");
  if (file.num_lines != null && !Number.isSafeInteger(file.num_lines)) throw bad("has a num_lines that is not an integer");
  if (file.sample_type != null && typeof file.sample_type !== "string") throw bad("has a sample_type that is not a string");
  return wireToRemote(file as WireFile);
}

function wireToRemote(file: WireFile): RemoteFile {
  return {
    id: file.id,
    filename: file.filename,
    bytes: file.bytes,
    num_lines: file.num_lines ?? null,
    sample_type: file.sample_type ?? null,
    purpose: file.purpose,
    created_at: file.created_at,
  };
}

export interface UploadRequest {
  path: string;
  /** The name the provider stores the file under. */
  filename: string;
  bytes: number;
  signal?: AbortSignal;
  /** Told of file bytes as they are handed to the connection (they count again on a retried attempt). */
  onBytes?: (n: number) => void;
}

export interface FilesProvider {
  readonly name: FilesProviderName;
  readonly baseUrl: string;
  /** The largest file one upload takes: 512 MB on both; OpenAI takes up to 8 GB in parts (the Uploads API). */
  readonly maxUploadBytes: number;
  /** Uploads a file; the answer is checked against what was sent (ProviderAnswerError when it does not match). */
  upload(request: UploadRequest): Promise<RemoteFile>;
  get(id: string, signal?: AbortSignal): Promise<RemoteFile>;
  /** A file already on the provider with this name and size: what an interrupted run may have left. */
  findExisting(filename: string, bytes: number, signal?: AbortSignal): Promise<RemoteFile | undefined>;
  delete(id: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A provider's fine-tuning job object, as it answered (Mistral's JobOut, OpenAI's FineTuningJob, Together's FinetuneResponse). */
export type RemoteJob = Record<string, unknown> & { id: string; status: string };

/**
 * A provider's job object, checked: an object with a printable string id (the one asked about, when given) and a
 * string status. Anything else is a ProviderAnswerError: a job answer is recorded in the manifest and printed.
 */
export function toRemoteJob(value: unknown, what: string, expectedId?: string): RemoteJob {
  const bad = (why: string) => new ProviderAnswerError(`the provider answered ${what} with a job object that ${why}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("is not an object");
  const job = value as Record<string, unknown>;
  if (typeof job.id !== "string" || !FILE_ID.test(job.id)) throw bad("has no usable string id");
  if (expectedId !== undefined && job.id !== expectedId) throw bad(`is about job ${JSON.stringify(job.id)}, not ${JSON.stringify(expectedId)}`);
  if (typeof job.status !== "string") throw bad("has no status");
  return job as RemoteJob;
}

/** Fine-tuning job routes. */
export interface JobsProvider {
  readonly name: ProviderName;
  /** Creates a job; with `dryRun` (Mistral only) nothing is created and the estimate is returned. */
  createJob(body: Record<string, unknown>, options?: { dryRun?: boolean; signal?: AbortSignal }): Promise<Record<string, unknown>>;
  getJob(id: string, signal?: AbortSignal): Promise<RemoteJob>;
  cancelJob(id: string, signal?: AbortSignal): Promise<RemoteJob>;
  /** Starts a validated job created without auto_start (Mistral); OpenAI's and Together's jobs start on their own. */
  startJob?(id: string, signal?: AbortSignal): Promise<RemoteJob>;
  /** The provider's estimate for a create request, when it offers one (Mistral's dry run, Together's price estimate). */
  estimate?(body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>>;
  /** The provider's jobs, newest first as it lists them (its first page). */
  listJobs(signal?: AbortSignal): Promise<RemoteJob[]>;
}

/** The purpose every fine-tuning upload is sent with. */
export const FINE_TUNE_PURPOSE = "fine-tune";

/**
 * Checks a provider's answer to an upload against what was sent: the same name, the same number of bytes and the
 * purpose. A mismatch is a ProviderAnswerError: the manifest must not record a file the provider did not take.
 */
export function checkUploaded(file: RemoteFile, sent: Pick<UploadRequest, "filename" | "bytes">, what: string): RemoteFile {
  const differs = (field: string, got: unknown, expected: unknown) =>
    new ProviderAnswerError(`the provider answered ${what} with ${field} ${JSON.stringify(got)}, but ${JSON.stringify(expected)} was sent (file id ${file.id}); nothing recorded`);
  if (file.bytes !== sent.bytes) throw differs("bytes", file.bytes, sent.bytes);
  if (file.filename !== sent.filename) throw differs("filename", file.filename, sent.filename);
  if (file.purpose !== FINE_TUNE_PURPOSE) throw differs("purpose", file.purpose, FINE_TUNE_PURPOSE);
  return file;
}
