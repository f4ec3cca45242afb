import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { FileSystemError } from "../errors.js";

/**
 * The local server's disk store: each file's bytes plus a metadata record, each job and each OpenAI upload as a
 * JSON record. Every record is written atomically (temporary file, fsync, rename) and a file's bytes land before
 * its record, so a restarted server lists exactly the files whose upload completed; bytes without a record and
 * temporary files are removed when the store opens.
 */

/** A stored file, with the fields both APIs report. */
export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  /** Unix seconds. */
  created_at: number;
  /** Milliseconds, to order files created within the same second. */
  created_ms: number;
  sha256: string;
  num_lines: number;
  sample_type: string;
  mimetype: string;
  visibility: string;
  expires_at: number | null;
}

/** A fine-tuning job, as the store keeps it (the API responses are derived from it and the clock). */
export interface StoredJob {
  id: string;
  flavor: "mistral" | "openai";
  model: string;
  /** Milliseconds on the server's clock. */
  created_ms: number;
  training_files: { file_id: string; weight: number }[];
  validation_files: string[];
  hyperparameters: Record<string, unknown>;
  suffix: string | null;
  auto_start: boolean;
  job_type: "completion" | "classifier";
  invalid_sample_skip_percentage: number;
  integrations: unknown[];
  classifier_targets: unknown[] | null;
  started_ms: number | null;
  cancelled_ms: number | null;
  validation: { ok: boolean; reasons: string[]; data_tokens: number; done_ms: number } | null;
  openai: { method: Record<string, unknown> | null; seed: number; metadata: Record<string, string> | null; suffix: string | null } | null;
}

/** An OpenAI upload (the Uploads API, for files sent in parts). */
export interface StoredUpload {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  mime_type: string;
  created_at: number;
  expires_at: number;
  status: "pending" | "completed" | "cancelled" | "expired";
  parts: { id: string; bytes: number; created_at: number }[];
  file_id: string | null;
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(`${JSON.stringify(value)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

async function readRecords<T>(dir: string): Promise<Map<string, T>> {
  const records = new Map<string, T>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".json")) continue;
    try {
      const record = JSON.parse(await readFile(join(dir, name), "utf8")) as T & { id: string };
      records.set(record.id, record);
    } catch {
      // A record that cannot be read was never completed (records are renamed into place whole): ignore it.
    }
  }
  return records;
}

/** The store's signing secret, made once and kept, so signed URLs outlive a restart. */
async function storeSecret(dir: string): Promise<Buffer> {
  const path = join(dir, "secret");
  try {
    const secret = Buffer.from(JSON.parse(await readFile(path, "utf8")) as string, "hex");
    if (secret.length === 32) return secret;
  } catch {
    // None yet.
  }
  const secret = randomBytes(32);
  await writeJsonAtomic(path, secret.toString("hex"));
  return secret;
}

export class Store {
  readonly files: Map<string, StoredFile>;
  readonly jobs: Map<string, StoredJob>;
  readonly uploads: Map<string, StoredUpload>;

  private constructor(
    readonly dir: string,
    files: Map<string, StoredFile>,
    jobs: Map<string, StoredJob>,
    uploads: Map<string, StoredUpload>,
    private readonly secret: Buffer,
  ) {
    this.files = files;
    this.jobs = jobs;
    this.uploads = uploads;
  }

  /** Opens (creating) a store, removing what an interrupted run left half-written. */
  static async open(dir: string): Promise<Store> {
    try {
      for (const sub of ["files", "jobs", "uploads", "tmp"]) await mkdir(join(dir, sub), { recursive: true });
      await rm(join(dir, "tmp"), { recursive: true, force: true });
      await mkdir(join(dir, "tmp"));
      const files = await readRecords<StoredFile>(join(dir, "files"));
      for (const name of await readdir(join(dir, "files"))) {
        const stray = name.endsWith(".tmp") || (name.endsWith(".data") && !files.has(name.slice(0, -".data".length)));
        if (stray) await rm(join(dir, "files", name), { force: true });
      }
      const uploads = await readRecords<StoredUpload>(join(dir, "uploads"));
      return new Store(dir, files, await readRecords<StoredJob>(join(dir, "jobs")), uploads, await storeSecret(dir));
    } catch (error) {
      throw FileSystemError.from(dir, "open the store", error);
    }
  }

  /**
   * A download URL for a file that works without the API key until it expires, as Mistral's signed URLs do:
   * the file id and the expiry, signed with the store's secret (HMAC-SHA256).
   */
  signedUrl(base: string, id: string, expiresAt: number): string {
    return `${base}/v1/files/${id}/content?expires=${expiresAt}&signature=${this.sign(id, expiresAt)}`;
  }

  /** Whether a request URL is an unexpired signed download URL of this store. */
  verifySignedUrl(url: URL, nowMs: number): boolean {
    const match = /^\/v1\/files\/([^/]+)\/content$/.exec(url.pathname);
    const expires = Number(url.searchParams.get("expires"));
    const signature = url.searchParams.get("signature") ?? "";
    if (!match || !Number.isInteger(expires) || expires * 1000 < nowMs) return false;
    const expected = Buffer.from(this.sign(decodeURIComponent(match[1]!), expires));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private sign(id: string, expiresAt: number): string {
    return createHmac("sha256", this.secret).update(`${id}\n${expiresAt}`).digest("hex");
  }

  /** A fresh path for incoming bytes; it becomes a file's data by `addFile`, or is removed. */
  tempPath(): string {
    return join(this.dir, "tmp", `${randomUUID()}.part`);
  }

  dataPath(id: string): string {
    return join(this.dir, "files", `${id}.data`);
  }

  partPath(uploadId: string, partId: string): string {
    return join(this.dir, "uploads", uploadId, `${partId}.data`);
  }

  /** Files being added, by content, name and purpose: concurrent identical uploads wait for the first. */
  private readonly adding = new Map<string, Promise<StoredFile>>();

  /**
   * Adds a received file, unless the store already has one with the same content, name and purpose: then the
   * received bytes are dropped and that file is the answer (Mistral returns the existing file for a re-upload of
   * the same content and name). Race-free: concurrent identical uploads store one file.
   */
  async addFileOnce(temp: string, file: StoredFile): Promise<StoredFile> {
    const key = `${file.sha256}\n${file.purpose}\n${file.filename}`;
    for (;;) {
      const inFlight = this.adding.get(key);
      if (inFlight) {
        await inFlight.catch(() => undefined);
        continue;
      }
      for (const existing of this.files.values()) {
        if (existing.sha256 === file.sha256 && existing.filename === file.filename && existing.purpose === file.purpose) {
          await rm(temp, { force: true });
          return existing;
        }
      }
      const adding = this.addFile(temp, file).then(() => file);
      this.adding.set(key, adding);
      try {
        return await adding;
      } finally {
        this.adding.delete(key);
      }
    }
  }

  /** Moves received bytes into place, then writes the record that makes the file exist. */
  async addFile(temp: string, file: StoredFile): Promise<void> {
    await rename(temp, this.dataPath(file.id));
    await writeJsonAtomic(join(this.dir, "files", `${file.id}.json`), file);
    this.files.set(file.id, file);
  }

  async deleteFile(id: string): Promise<void> {
    this.files.delete(id);
    await rm(join(this.dir, "files", `${id}.json`), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  async saveJob(job: StoredJob): Promise<void> {
    await writeJsonAtomic(join(this.dir, "jobs", `${job.id}.json`), job);
    this.jobs.set(job.id, job);
  }

  async saveUpload(upload: StoredUpload): Promise<void> {
    await mkdir(join(this.dir, "uploads", upload.id), { recursive: true });
    await writeJsonAtomic(join(this.dir, "uploads", `${upload.id}.json`), upload);
    this.uploads.set(upload.id, upload);
  }

  async removeUploadParts(id: string): Promise<void> {
    await rm(join(this.dir, "uploads", id), { recursive: true, force: true });
  }
}
