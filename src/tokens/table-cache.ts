import { createHash } from "node:crypto";
import { lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getEnvironmentData, setEnvironmentData } from "node:worker_threads";
import { crc32 } from "node:zlib";
import { tempPathFor } from "../temp-files.js";
import { VocabTable } from "./vocab-table.js";

/**
 * Prebuilt vocabulary tables on disk. Reading a vocabulary from its npm package (base64 ranks, a piece list) and
 * hashing 100,000–200,000 symbols into a table takes 0.1–1 s of CPU (more on a loaded machine), paid by every
 * process and every worker thread that counts tokens. The first load writes the built table (`VocabTable.toBytes`)
 * with the encoder's few other settings to a cache file; later loads read it back as views of its bytes.
 *
 * A cache file is named after the vocabulary and a SHA-256 of everything it is built from (the package files' sizes
 * and CRC-32s, the tokenizer's name, `BUILD`), so a changed package or build gets a new file, and its first 4 bytes
 * are the CRC-32 of the rest, checked on every load: a truncated, corrupt or foreign file is rebuilt, never used.
 * (CRC-32, not a cryptographic hash: it guards against damage, 5 ms instead of 50 for o200k's 8 MB; what guards
 * against a planted file is that only the user's own unshared folders are used.)
 * A file is written beside its final name and renamed into place, so concurrent first loads (workers) never read
 * half a file. Only folders of the user's that no one else can write are used; where there is none, the table is
 * built in memory every time, as before.
 *
 * Layout: u32 crc32(rest) | rest, where rest = u32 meta length | meta JSON | zero padding to 8 bytes | table bytes
 * (little-endian).
 */

/** Bump when what a table is built from changes in code (the rank rules, `VocabTable`'s layout or hash). */
const BUILD = 2;

/** A vocabulary's table and the settings (plain JSON) its encoder needs besides the table. */
export interface BuiltVocabulary<M> {
  vocab: VocabTable;
  meta: M;
}

/** Where cache files go: `FTPREP_CACHE_DIR`, else `node_modules/.cache/ftprep` beside the packages, else the OS temp dir. */
export function cacheDirs(nodeModules: string | undefined): string[] {
  const env = process.env.FTPREP_CACHE_DIR;
  if (env !== undefined && env !== "") return [env];
  const dirs: string[] = [];
  if (nodeModules !== undefined) dirs.push(join(nodeModules, ".cache", "ftprep"));
  // Per user, so one user's files are never read by another.
  dirs.push(join(tmpdir(), `ftprep-cache-${process.getuid?.() ?? "user"}`));
  return dirs;
}

/** The key of a vocabulary: its name, `BUILD`, `VocabTable`'s layout, and the bytes of its source files. */
async function cacheKey(name: string, sources: readonly string[]): Promise<string> {
  const hash = createHash("sha256").update(`${name}\0${BUILD}\0`);
  for (const source of sources) {
    const bytes = await readFile(source);
    hash.update(`${bytes.length}:${crc32(bytes)}\0`);
  }
  return hash.digest("hex").slice(0, 24);
}

/**
 * Whether files in `dir` can be trusted: a folder of this user's that no one else can write (a table is read as it
 * is, and its pattern becomes a regular expression; the OS temp dir is shared).
 */
async function trusted(dir: string): Promise<boolean> {
  try {
    const info = await lstat(dir);
    if (!info.isDirectory()) return false;
    return process.getuid === undefined || (info.uid === process.getuid() && (info.mode & 0o022) === 0);
  } catch {
    return false;
  }
}

function decode<M>(file: Buffer): BuiltVocabulary<M> | undefined {
  if (file.length < 8 || crc32(file.subarray(4)) !== file.readUInt32LE(0)) return undefined;
  const metaLength = file.readUInt32LE(4);
  const metaEnd = 8 + metaLength;
  const tableStart = Math.ceil(metaEnd / 8) * 8;
  if (tableStart > file.length) return undefined;
  try {
    const meta = JSON.parse(file.toString("utf8", 8, metaEnd)) as M;
    return { vocab: VocabTable.fromBytes(file.subarray(tableStart)), meta };
  } catch {
    return undefined;
  }
}

function encode(built: BuiltVocabulary<unknown>): Buffer {
  const meta = Buffer.from(JSON.stringify(built.meta), "utf8");
  const tableStart = Math.ceil((8 + meta.length) / 8) * 8;
  const table = built.vocab.toBytes();
  const file = Buffer.alloc(tableStart + table.byteLength);
  file.writeUInt32LE(meta.length, 4);
  meta.copy(file, 8);
  file.set(table, tableStart);
  file.writeUInt32LE(crc32(file.subarray(4)), 0);
  return file;
}

/**
 * How a vocabulary was loaded: from a cache file, built from its package (and, if it could be, cached), or the
 * table the thread that started this one had loaded (`sharedVocabulary`).
 */
export type LoadedFrom = "cache" | "package" | "shared";

/** A file read whole into a `SharedArrayBuffer` (so the table in it can be shared with worker threads). */
async function readShared(path: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const size = (await handle.stat()).size;
    const bytes = Buffer.from(new SharedArrayBuffer(size));
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(bytes, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === size ? bytes : bytes.subarray(0, at);
  } finally {
    await handle.close();
  }
}

const SHARED_KEY = "ftprep:vocabulary:";

/**
 * Offers a loaded vocabulary to the worker threads this thread starts from now on: its table's bytes (a
 * `SharedArrayBuffer`, so the threads use the same memory, not a copy) and its settings, through
 * `worker_threads`' environment data, which every new thread receives. A process that counts with N workers then
 * holds one table, not N + 1 (o200k's is 8 MB), and the workers skip reading and checking it.
 */
export function shareVocabulary(name: string, built: BuiltVocabulary<unknown>): void {
  const bytes = built.vocab.toBytes();
  if (bytes.buffer instanceof SharedArrayBuffer) setEnvironmentData(`${SHARED_KEY}${name}`, { bytes, meta: built.meta });
}

/** The vocabulary `name` as the thread that started this one shared it (`shareVocabulary`), if it did. */
export function sharedVocabulary<M>(name: string): BuiltVocabulary<M> | undefined {
  const shared = getEnvironmentData(`${SHARED_KEY}${name}`) as { bytes: Uint8Array; meta: M } | undefined;
  if (shared === undefined) return undefined;
  try {
    return { vocab: VocabTable.fromBytes(shared.bytes), meta: shared.meta };
  } catch {
    return undefined;
  }
}

/**
 * The vocabulary `name`, from its cache file when there is a good one, else `build()` (then written to the first
 * cache directory that takes it). `sources`: the package files it is built from (their bytes key the cache).
 * `dirs`: where to look and write (`cacheDirs`); empty, no cache.
 */
export async function cachedVocabulary<M>(
  name: string,
  sources: readonly string[],
  build: () => Promise<BuiltVocabulary<M>>,
  dirs: readonly string[],
): Promise<BuiltVocabulary<M> & { from: LoadedFrom }> {
  if (dirs.length === 0) return { ...(await build()), from: "package" };
  const fileName = `${name}-${await cacheKey(name, sources)}.bin`;
  for (const dir of dirs) {
    if (!(await trusted(dir))) continue;
    let file: Buffer;
    try {
      file = await readShared(join(dir, fileName));
    } catch {
      continue;
    }
    const cached = decode<M>(file);
    if (cached) return { ...cached, from: "cache" };
  }
  const built = await build();
  const bytes = encode(built);
  for (const dir of dirs) {
    const path = join(dir, fileName);
    const temp = tempPathFor(path);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (!(await trusted(dir))) continue;
      await writeFile(temp, bytes);
      await rename(temp, path);
      // Tables of this vocabulary built from an older package or build are of no more use.
      for (const old of await readdir(dir)) if (old !== fileName && old.startsWith(`${name}-`) && old.endsWith(".bin")) await rm(join(dir, old), { force: true });
      break;
    } catch {
      await rm(temp, { force: true }).catch(() => undefined);
    }
  }
  return { ...built, from: "package" };
}
