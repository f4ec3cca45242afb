/** The Files API as the uploader sees it: the same for every provider. */

export type ProviderName = "mistral" | "openai";

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

/** The fields ftprep keeps of a provider's file object. */
export function toRemoteFile(file: WireFile): RemoteFile {
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
  readonly name: ProviderName;
  readonly baseUrl: string;
  /** The largest file one upload takes: 512 MB on both; OpenAI takes up to 8 GB in parts (the Uploads API). */
  readonly maxUploadBytes: number;
  upload(request: UploadRequest): Promise<RemoteFile>;
  get(id: string, signal?: AbortSignal): Promise<RemoteFile>;
  /** A file already on the provider with this name and size: what an interrupted run may have left. */
  findExisting(filename: string, bytes: number, signal?: AbortSignal): Promise<RemoteFile | undefined>;
  delete(id: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A provider's fine-tuning job object, as it answered (Mistral's JobOut or OpenAI's FineTuningJob). */
export type RemoteJob = Record<string, unknown> & { id: string; status: string };

/** Fine-tuning job routes. */
export interface JobsProvider {
  readonly name: ProviderName;
  /** Creates a job; with `dryRun` (Mistral only) nothing is created and the estimate is returned. */
  createJob(body: Record<string, unknown>, options?: { dryRun?: boolean; signal?: AbortSignal }): Promise<Record<string, unknown>>;
  getJob(id: string, signal?: AbortSignal): Promise<RemoteJob>;
  cancelJob(id: string, signal?: AbortSignal): Promise<RemoteJob>;
}
