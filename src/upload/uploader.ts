import { basename } from "node:path";
import { setTimeout as sleepTimer } from "node:timers/promises";
import pLimit from "p-limit";
import { AbortedError, FtprepError } from "../errors.js";
import { type Manifest, type ManifestFile, ManifestJournal, writeManifest } from "../manifest/manifest.js";
import { ApiError, bytesTaken, NotFoundError } from "../providers/errors.js";
import type { FilesProvider, RemoteFile } from "../providers/types.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelay } from "./retry-policy.js";

/** A file to upload: what the size guard planned. */
export interface UploadItem {
  path: string;
  source: string | undefined;
  kind: ManifestFile["kind"];
  part: number;
  parts: number;
  split: "train" | "validation";
  records: number;
  bytes: number;
  sha256: string;
  /** Relative weight of the file in a job (default 1). */
  weight?: number;
}

/** What the uploader reports as it goes (for progress displays). */
export type UploadEvent =
  /** `bytes` of the `files` to send; `skipped` files (`skippedBytes`) are in the manifest already. */
  | { type: "start"; files: number; bytes: number; skipped: number; skippedBytes?: number }
  | { type: "file-start"; path: string; bytes: number; attempt: number }
  /** Bytes of `path` sent in its current attempt (a failed attempt's bytes are sent again by the next one). */
  | { type: "bytes"; n: number; path?: string }
  | { type: "retry"; path: string; attempt: number; delayMs: number; error: Error }
  /** `bytes`: the file's size, now done (also when it was found already uploaded). */
  | { type: "file-done"; path: string; id: string; adopted: boolean; bytes?: number }
  | { type: "file-skipped"; path: string; id: string }
  /** Another file of this run has the same content: it was sent once, under the first one's name. */
  | { type: "file-duplicate"; path: string; of: string }
  | { type: "file-failed"; path: string; error: Error };

export interface UploaderOptions {
  provider: FilesProvider;
  /** What uploads are deduplicated against (the base URL, or `embedded:<store>`). */
  target: string;
  manifest: Manifest;
  manifestPath: string;
  /** Uploads at once (default 4). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Check with a GET that each file the manifest lists still exists; upload the missing ones again. */
  verifyRemote?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: UploadEvent) => void;
  /** Waits between attempts (tests pass their own). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Awaited just before each upload request, after the look-up that found no copy: a queue worker checks there that
   * its unit is still its own (its lock renewed), so one that stalled and lost it sends nothing. A throw fails the file.
   */
  beforeSend?: (path: string) => Promise<void>;
}

export interface UploadSummary {
  uploaded: number;
  /** Found on the provider already (an earlier run was interrupted after the upload) and recorded, not sent. */
  adopted: number;
  /** Already in the manifest for this target. */
  skipped: number;
  /** Files whose content another file of this run has (sent once, recorded once). */
  duplicates: number;
  failed: { path: string; code: string; message: string }[];
  /** The run was cancelled; what finished is in the manifest. */
  aborted: boolean;
  retries: number;
}

/**
 * The name a file is uploaded under: its own, with the first 12 hex digits of its sha256 (unique per content).
 * Control characters, `"` and `\` are percent-encoded (`%0A`, `%1B`, `%22`…): a multipart header may not carry
 * them raw (the local server and RFC 7230 refuse CTLs; the SDKs' FormData encodes only CR, LF and `"`), and the name sent is
 * then the name the provider stores and answers with.
 */
export function remoteName(item: Pick<UploadItem, "path" | "sha256">): string {
  const name = basename(item.path)
    .replace(/\.jsonl$/i, "")
    .replace(/[\u0000-\u001f\u007f"\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
  return `${name}.${item.sha256.slice(0, 12)}.jsonl`;
}

/**
 * Whether a failed upload may still have been stored by the provider: no answer, a server error, or any failure
 * after the provider said it took the bytes (a request that follows them, as Together's look at the new file).
 */
function mayHaveLanded(error: unknown): boolean {
  if (bytesTaken(error)) return true;
  if (error instanceof ApiError) return error.status >= 500;
  return error instanceof FtprepError && (error.code === "ERR_CONNECTION" || error.code === "ERR_TIMEOUT");
}

const defaultSleep = (ms: number, signal?: AbortSignal) => sleepTimer(ms, undefined, signal ? { signal } : {}).then(() => undefined);

/**
 * Uploads the files with bounded concurrency, each at most once per target: a file whose sha256 the manifest
 * already lists for this target is skipped; before sending, the provider is asked for a file of the same name
 * and size (a run killed between the provider's answer and the manifest write left one) and that one is
 * recorded instead (also before each retry). Failed requests are retried by the retry policy. Every completed
 * upload is appended to the manifest's journal (fsynced), and the manifest is rewritten once at the end, so an
 * interruption loses nothing and a record costs the same however many came before. When `signal` fires, no new
 * upload starts, the running ones are aborted, and the summary says so.
 */
export async function uploadFiles(items: readonly UploadItem[], options: UploaderOptions): Promise<UploadSummary> {
  const { provider, manifest, target } = options;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? defaultSleep;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new TypeError(`Expected \`concurrency\` to be a positive integer, got ${String(concurrency)}`);
  const signal = options.signal;
  const summary: UploadSummary = { uploaded: 0, adopted: 0, skipped: 0, duplicates: 0, failed: [], aborted: false, retries: 0 };
  const emit = (event: UploadEvent) => options.onEvent?.(event);

  // Each recorded file is appended to the manifest's journal (opened at the first), in completion order; the
  // manifest is rewritten once at the end. The cost of a record does not grow with the files already recorded.
  let journal: Promise<ManifestJournal> | undefined;
  const recorded: ManifestFile[] = [];
  const saveEntry = async (entry: ManifestFile): Promise<void> => {
    journal ??= ManifestJournal.open(options.manifestPath, manifest);
    await (await journal).append(entry);
  };

  /** Runs a request with retries; the policy decides whether and how long to wait. */
  const withRetries = async <T>(path: string, attempt: (n: number) => Promise<T>): Promise<T> => {
    const started = Date.now();
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (error) {
        if (signal?.aborted) throw new AbortedError("cancelled", { cause: error });
        const delay = retryDelay(n, error, Date.now() - started, policy);
        if (delay === undefined) throw error;
        summary.retries++;
        emit({ type: "retry", path, attempt: n, delayMs: delay, error: error as Error });
        await sleep(delay, signal);
      }
    }
  };

  const record = async (item: UploadItem, file: RemoteFile, adopted: boolean): Promise<void> => {
    const entry: ManifestFile = {
      path: item.path,
      source: item.source ?? null,
      kind: item.kind,
      part: item.part,
      parts: item.parts,
      split: item.split,
      weight: item.weight ?? 1,
      sha256: item.sha256,
      bytes: item.bytes,
      lines: item.records,
      target,
      remote: { id: file.id, filename: file.filename, bytes: file.bytes, num_lines: file.num_lines, sample_type: file.sample_type, created_at: file.created_at },
      uploaded_at: new Date().toISOString(),
      ...(adopted ? { adopted: true } : {}),
    };
    manifest.files.push(entry);
    recorded.push(entry);
    uploaded.set(item.sha256, entry);
    await saveEntry(entry);
  };

  // What is already done for this target; the same content twice in one run is sent once (never-twice holds per
  // content, also between files uploaded concurrently).
  const todo: UploadItem[] = [];
  const firstOf = new Map<string, string>();
  const uploaded = new Map<string, ManifestFile>();
  for (const file of manifest.files) if (file.target === target && !uploaded.has(file.sha256)) uploaded.set(file.sha256, file);
  for (const item of items) {
    const first = firstOf.get(item.sha256);
    if (first !== undefined) {
      summary.duplicates++;
      emit({ type: "file-duplicate", path: item.path, of: first });
      continue;
    }
    firstOf.set(item.sha256, item.path);
    const done = uploaded.get(item.sha256);
    if (done && options.verifyRemote) {
      try {
        await withRetries(item.path, () => provider.get(done.remote.id, signal));
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        manifest.files.splice(manifest.files.indexOf(done), 1);
        uploaded.delete(item.sha256);
        todo.push(item);
        continue;
      }
    }
    if (done) {
      summary.skipped++;
      emit({ type: "file-skipped", path: item.path, id: done.remote.id });
    } else {
      todo.push(item);
    }
  }
  const skippedBytes = items.reduce((n, i) => n + i.bytes, 0) - todo.reduce((n, i) => n + i.bytes, 0);
  emit({ type: "start", files: todo.length, bytes: todo.reduce((n, i) => n + i.bytes, 0), skipped: summary.skipped, skippedBytes });

  const work = async (item: UploadItem): Promise<void> => {
    if (signal?.aborted) return;
    const name = remoteName(item);
    try {
      const existing = await withRetries(item.path, () => provider.findExisting(name, item.bytes, signal));
      if (existing) {
        await record(item, existing, true);
        summary.adopted++;
        emit({ type: "file-done", path: item.path, id: existing.id, adopted: true, bytes: item.bytes });
        return;
      }
      let found: RemoteFile | undefined;
      let lastError: unknown;
      const file = await withRetries(item.path, async (attempt) => {
        // An upload that failed after the provider may have taken it (a reset, a timeout, a 5xx, a server killed
        // mid-answer) is looked for before it is sent again (with retries of its own), so it is recorded, not sent
        // twice. A 429 or 408 answer came before the upload was taken: no look-up.
        if (attempt > 1 && mayHaveLanded(lastError)) {
          found = await withRetries(item.path, () => provider.findExisting(name, item.bytes, signal));
          if (found) return found;
        }
        // The last word before sending (a queue worker checks that the unit is still its own): a throw sends nothing.
        await options.beforeSend?.(item.path);
        emit({ type: "file-start", path: item.path, bytes: item.bytes, attempt });
        try {
          return await provider.upload({
            path: item.path,
            filename: name,
            bytes: item.bytes,
            ...(signal ? { signal } : {}),
            onBytes: (n) => emit({ type: "bytes", n, path: item.path }),
          });
        } catch (error) {
          lastError = error;
          throw error;
        }
      });
      const adopted = found !== undefined;
      await record(item, file, adopted);
      if (adopted) summary.adopted++;
      else summary.uploaded++;
      emit({ type: "file-done", path: item.path, id: file.id, adopted, bytes: item.bytes });
    } catch (error) {
      if (signal?.aborted || error instanceof AbortedError) {
        summary.aborted = true;
        return;
      }
      const e = error as Error & { code?: string };
      summary.failed.push({ path: item.path, code: e.code ?? "ERR_UNKNOWN", message: e.message });
      emit({ type: "file-failed", path: item.path, error: e });
    }
  };

  // p-limit's queue is unbounded: feed it one file per free slot instead of all at once.
  const limit = pLimit(concurrency);
  const running = new Set<Promise<void>>();
  for (const item of todo) {
    if (signal?.aborted) break;
    const task = limit(() => work(item)).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= concurrency) await Promise.race(running);
  }
  await Promise.all(running);
  if (journal) {
    // Compaction: the whole manifest once, which removes the journal. This run's entries are written in the
    // order of the items (the plan's order), not the order the uploads happened to finish in, so the same
    // dataset gives the same manifest.
    const order = new Map(items.map((item, i) => [item.sha256, i] as const));
    const added = new Set(recorded);
    const kept = manifest.files.filter((f) => !added.has(f));
    recorded.sort((a, b) => (order.get(a.sha256) ?? 0) - (order.get(b.sha256) ?? 0));
    manifest.files.splice(0, manifest.files.length, ...kept, ...recorded);
    await (await journal).close();
    await writeManifest(options.manifestPath, manifest);
  }
  if (signal?.aborted) summary.aborted = true;
  return summary;
}
