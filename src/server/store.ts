import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ConfigError, FileSystemError } from "../errors.js";
import { printable } from "../printable.js";
import { processAlive } from "../temp-files.js";

/**
 * The local server's disk store: each file's bytes plus a metadata record, each job and each OpenAI upload as a
 * JSON record. Every record is written atomically (temporary file, fsync, rename) and a file's bytes land before
 * its record, so a restarted server lists exactly the files whose upload completed; bytes without a record and
 * temporary files are removed when the store opens.
 *
 * More than one process may use a store at once (`ftprep serve` and an embedded `ftprep run` on the same folder):
 * `refresh()`, called before every request, reads what the others wrote, so no listing is stale; opening a store
 * removes only temporary files whose writer is gone; a job is re-read before it is changed.
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
  /** Together's `FileType` (`jsonl`, `csv`, `parquet`), for files uploaded through Together's protocol. */
  file_type?: string;
}

/** A fine-tuning job, as the store keeps it (the API responses are derived from it and the clock). */
export interface StoredJob {
  id: string;
  flavor: "mistral" | "openai" | "together";
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
  /** The process validating the job's files: another process on the store takes the work over if it is gone. */
  validator_pid?: number;
  openai: { method: Record<string, unknown> | null; seed: number; metadata: Record<string, string> | null; suffix: string | null } | null;
  /** Together's create parameters (credentials left out), `dpo` for a preference job. */
  together?: Record<string, unknown>;
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
  // Named by the process, so another process opening the store knows whether its writer is still at work.
  const temp = join(dirname(path), `${process.pid}-${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(`${JSON.stringify(value)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** A record by its file; undefined when it cannot be read (never completed, or removed meanwhile). */
async function readRecord<T>(path: string): Promise<(T & { id: string }) | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T & { id: string };
  } catch {
    // Records are renamed into place whole: one that cannot be read was never completed, or is gone.
    return undefined;
  }
}

/** A file's identity on disk: a record renamed into place by any process gets a new inode. */
const versionOf = (s: { ino: bigint; mtimeNs: bigint; size: bigint }): string => `${s.ino}:${s.mtimeNs}:${s.size}`;

/**
 * One folder of records kept in memory and in step with the disk. A rescan happens when the folder changed
 * (its mtime moves with every create, rename and unlink) or when the last scan was too close to a change to be
 * sure of it (two writes within one timestamp tick). Changed records are merged into the objects already held,
 * so work in flight on a record sees the update. This process's own reads and writes of the folder take turns, so
 * a rescan never undoes a write made while it ran.
 */
class RecordFolder<T extends { id: string }> {
  readonly records = new Map<string, T>();
  private readonly versions = new Map<string, string>();
  private seen = "";
  private sure = false;
  private turn: Promise<unknown> = Promise.resolve();

  private inTurn<R>(work: () => Promise<R>): Promise<R> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => undefined);
    return next;
  }

  constructor(
    readonly dir: string,
    /** Whether records change after they are written (jobs, uploads) or only appear and go (files). */
    private readonly mutable: boolean,
  ) {}

  refresh(): Promise<void> {
    return this.inTurn(() => this.rescan());
  }

  private async rescan(): Promise<void> {
    const before = Date.now();
    // Synchronously: a local stat or listing takes microseconds, less than handing it to libuv's pool and back
    // (done before every request, on three folders).
    const dirStat = statSync(this.dir, { bigint: true });
    const seen = versionOf(dirStat);
    if (seen === this.seen && this.sure) return;
    const names = new Set(readdirSync(this.dir).filter((n) => n.endsWith(".json")));
    for (const name of names) {
      const path = join(this.dir, name);
      const known = this.versions.get(name);
      if (known !== undefined && !this.mutable) continue;
      const version = await stat(path, { bigint: true }).then(versionOf, () => undefined);
      if (version === undefined || version === known) continue;
      const record = await readRecord<T>(path);
      if (!record) continue;
      this.versions.set(name, version);
      const held = this.records.get(record.id);
      if (held) Object.assign(held, record);
      else this.records.set(record.id, record);
    }
    for (const name of [...this.versions.keys()]) {
      if (names.has(name)) continue;
      this.versions.delete(name);
      this.records.delete(name.slice(0, -".json".length));
    }
    this.seen = seen;
    // A change within the last two seconds may share the folder's timestamp with one still to come: look again.
    this.sure = before - Number(dirStat.mtimeNs / 1_000_000n) > 2000;
  }

  /** Writes a record atomically and holds it. */
  save(record: T): Promise<void> {
    return this.inTurn(async () => {
      const path = join(this.dir, `${record.id}.json`);
      await writeJsonAtomic(path, record);
      this.records.set(record.id, record);
      this.versions.set(`${record.id}.json`, await stat(path, { bigint: true }).then(versionOf, () => ""));
    });
  }

  /**
   * Re-reads one record from disk into the object held, lets `change` change it, and writes it: a change made to
   * the latest version. Undefined when the record is gone.
   */
  update(id: string, change: (record: T) => void): Promise<T | undefined> {
    return this.inTurn(async () => {
      const path = join(this.dir, `${id}.json`);
      const record = await readRecord<T>(path);
      const held = this.records.get(id);
      if (record && held) Object.assign(held, record);
      const latest = held ?? record;
      if (!latest) return undefined;
      change(latest);
      await writeJsonAtomic(path, latest);
      this.records.set(id, latest);
      this.versions.set(`${id}.json`, await stat(path, { bigint: true }).then(versionOf, () => ""));
      return latest;
    });
  }

  remove(id: string): Promise<void> {
    return this.inTurn(async () => {
      this.records.delete(id);
      this.versions.delete(`${id}.json`);
      await rm(join(this.dir, `${id}.json`), { force: true });
    });
  }
}

/** Whether the process that named a temporary file is still running. */
function writerAlive(name: string): boolean {
  return processAlive(Number(/^(\d+)-/.exec(name)?.[1]));
}

export { processAlive } from "../temp-files.js";

/** How long a temporary file or an unrecorded file's bytes may sit untouched before they count as litter. */
const LITTER_MS = 60 * 60 * 1000;
/** A file's bytes are renamed into place just before its record is written: younger ones may be in flight. */
const IN_FLIGHT_MS = 60 * 1000;

/** What a store directory holds: its folders, its secret, and the secret's temporary file while it is made. */
const STORE_ENTRY = /^(files|jobs|uploads|tmp|secret|secret\.[0-9a-f]{12}\.tmp)$/;

/** Refuses to open as a store a directory that already holds other things and no store secret. */
async function refuseForeignDirectory(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw new ConfigError(`the store ${JSON.stringify(dir)} is a file, not a directory: name a new or empty directory, or an ftprep store`);
    throw FileSystemError.from(dir, "open the store", error);
  }
  if (names.includes("secret")) return;
  const foreign = names.filter((n) => !STORE_ENTRY.test(n));
  if (foreign.length === 0) return;
  const shown = foreign.slice(0, 3).map((n) => printable(n)).join(", ");
  throw new ConfigError(
    `${printable(dir)} is not an ftprep store (it holds ${shown}${foreign.length > 3 ? ", …" : ""}) and opening one cleans its tmp/ and stray files: name a new or empty directory, or an ftprep store`,
  );
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
  // Made with link(), which fails when another process made it first: then that one is the secret.
  const secret = randomBytes(32);
  const temp = join(dir, `secret.${randomBytes(6).toString("hex")}.tmp`);
  await writeJsonAtomic(temp, secret.toString("hex"));
  try {
    await link(temp, path);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return Buffer.from(JSON.parse(await readFile(path, "utf8")) as string, "hex");
  } finally {
    await rm(temp, { force: true });
  }
}

export class Store {
  private readonly fileRecords: RecordFolder<StoredFile>;
  private readonly jobRecords: RecordFolder<StoredJob>;
  private readonly uploadRecords: RecordFolder<StoredUpload>;

  private constructor(
    readonly dir: string,
    private readonly secret: Buffer,
  ) {
    this.fileRecords = new RecordFolder(join(dir, "files"), false);
    this.jobRecords = new RecordFolder(join(dir, "jobs"), true);
    this.uploadRecords = new RecordFolder(join(dir, "uploads"), true);
  }

  /** The files, by id, as of the last `refresh()` and this process's own writes. */
  get files(): ReadonlyMap<string, StoredFile> {
    return this.fileRecords.records;
  }

  get jobs(): ReadonlyMap<string, StoredJob> {
    return this.jobRecords.records;
  }

  get uploads(): ReadonlyMap<string, StoredUpload> {
    return this.uploadRecords.records;
  }

  /**
   * Opens (creating) a store, removing what an interrupted run left half-written. A directory that holds anything but
   * a store's own entries, and no store secret, is refused (ConfigError): opening cleans `tmp/` and stray files, and
   * the directory may have been named by a pipeline file or a typo rather than meant as a store.
   */
  static async open(dir: string): Promise<Store> {
    await refuseForeignDirectory(dir);
    try {
      for (const sub of ["files", "jobs", "uploads", "tmp"]) await mkdir(join(dir, sub), { recursive: true });
      const store = new Store(dir, await storeSecret(dir));
      await store.refresh();
      await store.removeLitter();
      return store;
    } catch (error) {
      throw FileSystemError.from(dir, "open the store", error);
    }
  }

  /** Reads what other processes wrote to the store since the last look. */
  async refresh(): Promise<void> {
    try {
      await Promise.all([this.fileRecords.refresh(), this.jobRecords.refresh(), this.uploadRecords.refresh()]);
    } catch (error) {
      throw FileSystemError.from(this.dir, "read the store", error);
    }
  }

  /**
   * Removes what killed writers left: temporary files whose process is gone (or untouched for an hour), and a
   * file's bytes with no record, once they are old enough not to be an upload finishing in another process.
   */
  private async removeLitter(): Promise<void> {
    const now = Date.now();
    const age = async (path: string): Promise<number> => stat(path).then((s) => now - Math.max(s.mtimeMs, s.ctimeMs), () => 0);
    for (const name of await readdir(join(this.dir, "tmp"))) {
      const path = join(this.dir, "tmp", name);
      if (!writerAlive(name) || (await age(path)) > LITTER_MS) await rm(path, { recursive: true, force: true });
    }
    for (const sub of ["files", "jobs", "uploads"]) {
      for (const name of await readdir(join(this.dir, sub))) {
        const path = join(this.dir, sub, name);
        const unrecorded = sub === "files" && name.endsWith(".data") && !this.files.has(name.slice(0, -".data".length));
        if ((name.endsWith(".tmp") && !writerAlive(name)) || (unrecorded && (await age(path)) > IN_FLIGHT_MS)) await rm(path, { force: true });
      }
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
    // The expiry first: a path with a malformed escape is not decoded unless the rest could be a signed URL.
    if (!match || !Number.isInteger(expires) || expires * 1000 < nowMs) return false;
    return this.verify(decodeURIComponent(match[1]!), expires, signature, nowMs);
  }

  /** Whether `signature` signs `payload` until `expiresAt` (Unix seconds), and that time has not passed. */
  verify(payload: string, expiresAt: number, signature: string, nowMs: number): boolean {
    if (!Number.isInteger(expiresAt) || expiresAt * 1000 < nowMs) return false;
    const expected = Buffer.from(this.sign(payload, expiresAt));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Signs `payload` until `expiresAt` with the store's secret: for URLs that authorise themselves. */
  sign(payload: string, expiresAt: number): string {
    return createHmac("sha256", this.secret).update(`${payload}\n${expiresAt}`).digest("hex");
  }

  /** A fresh path for incoming bytes; it becomes a file's data by `addFile`, or is removed. */
  tempPath(): string {
    // Named by the process, so a store opened by another process while this one receives keeps these bytes.
    return join(this.dir, "tmp", `${process.pid}-${randomUUID()}.part`);
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
    await this.fileRecords.save(file);
  }

  async deleteFile(id: string): Promise<void> {
    await this.fileRecords.remove(id);
    await rm(this.dataPath(id), { force: true });
  }

  async saveJob(job: StoredJob): Promise<void> {
    await this.jobRecords.save(job);
  }

  /**
   * Changes a job: re-reads it first, so a change another process made (a cancel, a finished validation) is kept,
   * then writes it. Undefined when the job is gone.
   */
  updateJob(id: string, change: (job: StoredJob) => void): Promise<StoredJob | undefined> {
    return this.jobRecords.update(id, change);
  }

  async saveUpload(upload: StoredUpload): Promise<void> {
    await mkdir(join(this.dir, "uploads", upload.id), { recursive: true });
    await this.uploadRecords.save(upload);
  }

  async removeUploadParts(id: string): Promise<void> {
    await rm(join(this.dir, "uploads", id), { recursive: true, force: true });
  }
}
