import { realpathSync, statSync } from "node:fs";
import { open, readdir, realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { isUtf8 } from "node:buffer";
import { describeErrno, FileSystemError } from "../errors.js";
import { printable } from "../printable.js";
import { classifyJsonHead } from "../read/sniff.js";
import { type Compression, compressionOf, isDatasetName } from "../read/source.js";
import { NotFoundError } from "../providers/errors.js";
import { isObjectUrl, listObjects, readObject, statObject } from "../storage/object-storage.js";
import { parseObjectUrl } from "../storage/s3-url.js";

export { isDatasetName };

/** The role a dataset file plays in a job. */
export type Split = "train" | "validation";

/** A dataset file found under the given paths. */
export interface DiscoveredFile {
  /** The path as the user would write it (the input path, joined with what was found below it). */
  path: string;
  /** Path relative to the input directory it was found in (the file's name for a file given directly). */
  relative: string;
  /** The resolved path; the same file reached twice (links) is listed once. */
  realPath: string;
  /** Split role: given with the input, else from the file name. */
  split: Split;
  /** Relative weight of the file's records in a job (default 1; a pipeline file's sources may set it). */
  weight: number;
  /** Size on disk, in bytes (compressed bytes for a compressed file). */
  bytes: number;
  /** How the records are laid out: JSON Lines (also a `.json` file that holds JSON Lines), or one `.json` array. */
  layout: "jsonl" | "json-array";
  /** Set for `.jsonl.gz` / `.jsonl.zst`: read through the decompressor. */
  compression?: Compression;
  /** An `s3://` object's ETag as listed (its identity, with the size, for a plan's unit ids). */
  etag?: string;
  /**
   * A unit of a shard plan: only bytes `start` to `end` (exclusive) of `realPath`, cut at line boundaries; `path`
   * then names the range (`SOURCE#bytes=START-END`), so that each range is a source of its own.
   */
  range?: { start: number; end: number };
}

/** Options of `discoverFiles`. */
export interface DiscoverOptions {
  /**
   * Paths never walked or taken, whatever their names: ftprep's own outputs (the output directory, the manifest,
   * the report, the embedded store) when they lie inside a dataset folder.
   */
  exclude?: readonly string[];
  signal?: AbortSignal;
  /** Called as files are found: how many so far, and their bytes. */
  onProgress?: (found: { files: number; bytes: number }) => void;
  /**
   * Told each dataset file as it is found, before the walk ends (a caller may start on it meanwhile). A file reached
   * twice (through a link) is told twice; the list returned keeps one of them.
   */
  onFile?: (file: DiscoveredFile) => void;
  /** Which names below a directory or matched by a glob are dataset files (default: `isDatasetName`). */
  isDataset?: (name: string) => boolean;
}

/** A path, directory or glob to discover, optionally with the split of everything found there. */
export interface DiscoverInput {
  path: string;
  split?: Split;
  /** Weight of the files found there in a job (default 1). */
  weight?: number;
}

/** Something found that is not processed, with the reason. */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** An entry below a folder that could not be read (permissions, I/O errors, a name that is not UTF-8). */
export interface UnreadablePath {
  path: string;
  code: string;
  message: string;
}

export interface Discovery {
  files: DiscoveredFile[];
  skipped: SkippedPath[];
  /** Entries that could not be read: failures of their own, reported while the rest of the folder goes on. */
  unreadable: UnreadablePath[];
}

/** Bytes of a `.json` file read to tell an array of records from metadata (dataset_info.json, a manifest…). */
const JSON_HEAD_BYTES = 64 * 1024;
/** Entries of a folder taken between two turns of the event loop. */
const YIELD_EVERY = 256;
/** Folders of other tools that hold no datasets of the user's, never walked (hidden ones are never walked either). */
const NEVER_WALKED = new Set(["node_modules"]);
/** What a directory listing says of an entry. */
interface EntryKind {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

const UNREADABLE_NAME = "the name is not valid UTF-8 (shown with \\xNN for its bytes); rename it";
const NOT_A_DATASET = "not a dataset file (*.jsonl, *.jsonl.gz, *.jsonl.zst, *.json)";
/**
 * A name that starts with `val`, `eval` or `dev` (so `valid*`, `validation*`), or has one of the words `val`, `valid`,
 * `validation`, `eval`, `evaluation`, `dev` after a `-`, `_`, `.` or space (`foo_validation.jsonl`, `x-valid.jsonl`,
 * `sft.dev.jsonl`). Words only, mid-name: `interval.jsonl` and `my-devices.jsonl` are not validation.
 */
const VALIDATION_NAME = /^(val|eval|dev)|[-_. ](val|valid|validation|eval|evaluation|dev)([-_. ]|$)/i;

/**
 * Split role from a file name: a name containing `train` → training; else a validation name (above) →
 * validation; anything else → training. Flags and pipeline files override it.
 */
export function splitFromName(path: string): Split {
  const name = basename(path);
  if (/train/i.test(name)) return "train";
  return VALIDATION_NAME.test(name) ? "validation" : "train";
}

/** Reads up to `JSON_HEAD_BYTES` of a file: the head, and whether it is the whole file. */
async function readHead(path: string): Promise<{ head: Uint8Array; complete: boolean }> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(JSON_HEAD_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { head: buffer.subarray(0, Math.min(bytesRead, JSON_HEAD_BYTES)), complete: bytesRead <= JSON_HEAD_BYTES };
  } finally {
    await handle.close();
  }
}

/** The part of a glob before its first dynamic segment: where its matches are relative to. */
function globBase(pattern: string): string {
  const parts = pattern.split(/[\\/]/);
  const fixed: string[] = [];
  for (const part of parts) {
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  return fixed.join(sep) || ".";
}

/**
 * Code units in the order of code points (the order of UTF-8 bytes): surrogates (U+10000 and up) after U+E000–U+FFFF.
 */
function codePointOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const fix = (c: number): number => (c < 0xd800 ? c : c < 0xe000 ? c + 0x2000 : c - 0x800);
    return fix(x) - fix(y);
  }
  return a.length - b.length;
}

/**
 * A folder's entries in the order of their names' bytes. Names are listed as text: a name that is not valid UTF-8
 * has no string that names it (the listing shows U+FFFD for its bad bytes), so a folder with such a name is listed
 * again as bytes, and each such name is reported in `unreadable`, not opened. (Listing every folder as bytes gave
 * each name a `Buffer` of its own and a wrapper: a third of discovery's cost in a folder of 10,000 files.)
 */
async function listDir(dir: string, unreadable: UnreadablePath[]): Promise<EntryKind[]> {
  const listed = await readdir(dir, { withFileTypes: true });
  if (listed.some((d) => d.name.includes("\ufffd"))) {
    const entries: EntryKind[] = [];
    for (const raw of (await readdir(dir, { withFileTypes: true, encoding: "buffer" })).sort((a, b) => Buffer.compare(a.name, b.name))) {
      if (!isUtf8(raw.name)) {
        const shown = join(dir, raw.name.toString("latin1").replace(/[\u0080-\u00ff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`));
        unreadable.push({ path: shown, code: "ERR_FS", message: `cannot read ${printable(shown)}: ${UNREADABLE_NAME}` });
        continue;
      }
      entries.push({ name: raw.name.toString("utf8"), isDirectory: () => raw.isDirectory(), isFile: () => raw.isFile(), isSymbolicLink: () => raw.isSymbolicLink() });
    }
    return entries;
  }
  // Plain code-unit order is the bytes' order unless a name has a character from U+D800 on.
  return listed.some((d) => /[\ud800-\uffff]/.test(d.name)) ? listed.sort((a, b) => codePointOrder(a.name, b.name)) : listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Expands paths, directories and globs into dataset files, in a stable order: inputs in the order given, each
 * directory's (or glob's) files sorted by path. A file named directly is taken whatever its extension; below a
 * directory or through a glob, only `*.jsonl`, `*.jsonl.gz`, `*.jsonl.zst` and `*.json`, and the rest is listed as
 * skipped. Hidden entries (`.git`, `.ftprep`…), `node_modules` and the `exclude`d paths are never walked. A `.json`
 * file is looked into: an array of records is a dataset, JSON Lines under a `.json` name are read as JSONL, and
 * anything else (`dataset_info.json`, `state.json`, a manifest) is skipped with its reason. Links are followed;
 * a directory reached again (a link loop) and a file reached twice are listed once.
 */
export async function discoverFiles(inputs: readonly (string | DiscoverInput)[], options: DiscoverOptions = {}): Promise<Discovery> {
  const isDataset = options.isDataset ?? isDatasetName;
  const found: DiscoveredFile[] = [];
  const skipped: SkippedPath[] = [];
  const unreadable: UnreadablePath[] = [];
  const seenDirs = new Set<string>();
  const excluded = new Set<string>();
  for (const path of options.exclude ?? []) {
    if (isObjectUrl(path)) {
      excluded.add(path);
      continue;
    }
    excluded.add(resolve(path));
    excluded.add(await realpath(path).catch(() => resolve(path)));
  }
  const isExcluded = (path: string, real: string): boolean => {
    if (excluded.size === 0) return false;
    if (isObjectUrl(path)) return [...excluded].some((e) => isObjectUrl(e) && (path === e || path.startsWith(e.endsWith("/") ? e : `${e}/`)));
    return excluded.has(resolve(path)) || excluded.has(real);
  };
  let foundBytes = 0;

  let weight = 1;
  /** Files found through a symbolic link (rare): the same file found as itself is kept instead. */
  const viaLinks = new Set<DiscoveredFile>();
  const take = (file: DiscoveredFile, viaLink: boolean): void => {
    found.push(file);
    if (viaLink) viaLinks.add(file);
    foundBytes += file.bytes;
    options.onFile?.(file);
    options.onProgress?.({ files: found.length, bytes: foundBytes });
  };
  /**
   * A dataset file: synchronous (two system calls of a few microseconds each, where a round trip through the thread
   * pool per file made discovering a directory of 10,000 small files cost more than validating them) except for a
   * `.json` file, whose head is read to tell what it holds. A plain file listed in a folder whose real path is known
   * needs no `realpath` of its own: it is that folder's real path and its name.
   */
  const addFile = (path: string, rel: string, split: Split | undefined, viaLink = false, knownReal?: string): Promise<void> | undefined => {
    options.signal?.throwIfAborted();
    const real = knownReal ?? realpathSync.native(path);
    if (isExcluded(path, real)) {
      skipped.push({ path, reason: "an output of ftprep (the manifest, the report or the output directory)" });
      return undefined;
    }
    const bytes = statSync(real).size;
    const compression = compressionOf(path);
    if (compression === undefined && path.toLowerCase().endsWith(".json")) return addJson(path, rel, split, viaLink, real, bytes);
    take({ path, relative: rel, realPath: real, split: split ?? splitFromName(path), weight, bytes, layout: "jsonl", ...(compression ? { compression } : {}) }, viaLink);
    return undefined;
  };
  const addJson = async (path: string, rel: string, split: Split | undefined, viaLink: boolean, real: string, bytes: number): Promise<void> => {
    const { head, complete } = await readHead(real);
    const kind = classifyJsonHead(head, complete);
    if (kind.kind === "other") {
      skipped.push({ path, reason: kind.reason });
      return;
    }
    take({ path, relative: rel, realPath: real, split: split ?? splitFromName(path), weight, bytes, layout: kind.kind }, viaLink);
  };

  /** `relDir`: `dir` relative to `root` ("" for the root itself), built name by name as the walk goes down. */
  const walk = async (dir: string, root: string, split: Split | undefined, relDir = ""): Promise<void> => {
    options.signal?.throwIfAborted();
    const real = await realpath(dir);
    if (isExcluded(dir, real)) {
      skipped.push({ path: dir, reason: "an output of ftprep (the output directory or the store): never walked" });
      return;
    }
    if (seenDirs.has(real)) {
      skipped.push({ path: dir, reason: "directory already visited (a link loop or a repeated path)" });
      return;
    }
    seenDirs.add(real);
    // `join(dir, name)` for every name: a name has no separator and is never "." or "..", so it is the folder's
    // joined prefix and the name (no normalisation of the whole path per file).
    const prefix = join(dir, "x").slice(0, -1);
    let taken = 0;
    for (const entry of await listDir(dir, unreadable)) {
      // A big folder's files are taken without an asynchronous step: let the event loop run now and then (a caller
      // that starts on the files found meanwhile hears back from its workers).
      if (++taken % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      const path = prefix + entry.name;
      try {
        // A plain dataset file (most entries of a big folder) is taken here, without an asynchronous step per file.
        if (entry.isFile() && !entry.name.startsWith(".") && isDataset(entry.name)) {
          const pending = addFile(path, relDir === "" ? entry.name : `${relDir}${sep}${entry.name}`, split, false, real.endsWith(sep) ? real + entry.name : `${real}${sep}${entry.name}`);
          if (pending) await pending;
        } else await visit(entry, path, root, split, real, relDir);
      } catch (error) {
        // One entry that cannot be read (permissions, gone since listed) is reported; the rest of the folder goes on.
        if (options.signal?.aborted || (error as Error).name === "AbortError") throw error;
        const cause = error instanceof FileSystemError ? error.cause : error;
        const code = (cause as NodeJS.ErrnoException | undefined)?.code;
        unreadable.push({ path, code: "ERR_FS", message: `cannot read ${printable(path)}: ${code ? describeErrno(code) : (error as Error).message}` });
      }
    }
  };

  const visit = async (entry: EntryKind, path: string, root: string, split: Split | undefined, realDir: string, relDir: string): Promise<void> => {
      // Hidden entries (.git, .ftprep with its shards and store, editors' files) are never datasets.
      if (entry.name.startsWith(".")) {
        skipped.push({ path, reason: "hidden (the name starts with a dot): never walked" });
        return;
      }
      if (NEVER_WALKED.has(entry.name)) {
        skipped.push({ path, reason: `${entry.name} is never walked` });
        return;
      }
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await stat(path);
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          skipped.push({ path, reason: code === "ELOOP" ? "symbolic link loop" : `broken symbolic link (${code ?? "unknown"})` });
          return;
        }
      }
      // The relative path and the real path of an entry are its folder's and its name (a name has no separator and
      // is never "." or ".."): no path resolution per file, which cost as much as the file's two system calls.
      const rel = relDir === "" ? entry.name : `${relDir}${sep}${entry.name}`;
      if (isDir) await walk(path, root, split, rel);
      else if (isFile && isDataset(entry.name)) {
        const link = entry.isSymbolicLink();
        const pending = addFile(path, rel, split, link, link ? undefined : realDir.endsWith(sep) ? realDir + entry.name : `${realDir}${sep}${entry.name}`);
        if (pending) await pending;
      }
      else skipped.push({ path, reason: isFile ? NOT_A_DATASET : "not a regular file" });
  };

  /** An s3:// object found by listing or named: taken like a file (no links, no real path but its URL). */
  const addObject = async (url: string, rel: string, bytes: number, etag: string, split: Split | undefined): Promise<void> => {
    options.signal?.throwIfAborted();
    const compression = compressionOf(url);
    let layout: DiscoveredFile["layout"] = "jsonl";
    if (compression === undefined && url.toLowerCase().endsWith(".json")) {
      const parts: Uint8Array[] = [];
      for await (const chunk of readObject(url, { start: 0, end: Math.min(bytes, JSON_HEAD_BYTES + 1), etag, signal: options.signal })) parts.push(Uint8Array.from(chunk));
      const all = Buffer.concat(parts);
      const kind = classifyJsonHead(all.subarray(0, JSON_HEAD_BYTES), bytes <= JSON_HEAD_BYTES);
      if (kind.kind === "other") {
        skipped.push({ path: url, reason: kind.reason });
        return;
      }
      layout = kind.kind;
    }
    take({ path: url, relative: rel, realPath: url, split: split ?? splitFromName(url), weight, bytes, layout, ...(compression ? { compression } : {}), ...(etag ? { etag } : {}) }, false);
  };

  /**
   * `s3://bucket/prefix/` (or an empty key): every object below, listed page by page, as a folder is walked — dataset
   * names taken, hidden segments and node_modules never, the rest skipped with the reason. `s3://bucket/key` that
   * names an object is that object, whatever its name; one that names none is read as the folder `key/`.
   */
  const walkObjects = async (url: string, split: Split | undefined): Promise<void> => {
    const { key } = parseObjectUrl(url);
    if (key !== "" && !key.endsWith("/")) {
      try {
        const info = await statObject(url, options.signal);
        await addObject(url, basename(key), info.size, info.etag, split);
        return;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      url = `${url}/`;
    }
    const prefix = parseObjectUrl(url).key;
    let any = false;
    for await (const object of listObjects(url, options.signal)) {
      any = true;
      const rel = object.key.slice(prefix.length);
      const segments = rel.split("/");
      const name = segments.at(-1)!;
      if (name === "" ) continue; // a "folder" placeholder object
      if (segments.some((segment) => segment.startsWith("."))) {
        skipped.push({ path: object.url, reason: "hidden (a name in its key starts with a dot): never walked" });
      } else if (segments.slice(0, -1).some((segment) => NEVER_WALKED.has(segment))) {
        skipped.push({ path: object.url, reason: "node_modules is never walked" });
      } else if (isExcluded(object.url, object.url)) {
        skipped.push({ path: object.url, reason: "an output of ftprep (the manifest, the report or the output directory)" });
      } else if (isDataset(name)) {
        await addObject(object.url, rel, object.size, object.etag, split);
      } else {
        skipped.push({ path: object.url, reason: NOT_A_DATASET });
      }
    }
    if (!any) skipped.push({ path: url, reason: "no object has this prefix" });
  };

  for (const input of inputs) {
    const { path: target, split } = typeof input === "string" ? { path: input, split: undefined } : input;
    weight = typeof input === "string" ? 1 : (input.weight ?? 1);
    if (isObjectUrl(target)) {
      await walkObjects(target, split);
      continue;
    }
    if (isDynamicPattern(target)) {
      const base = globBase(target);
      const matches = (await glob(target, { onlyFiles: true, followSymbolicLinks: true, expandDirectories: false, absolute: isAbsolute(target), ignore: ["**/node_modules/**"] })).sort();
      if (matches.length === 0) skipped.push({ path: target, reason: "the pattern matches no file" });
      for (const match of matches) {
        if (isDataset(match)) await addFile(match, relative(base, match), split);
        else skipped.push({ path: match, reason: NOT_A_DATASET });
      }
      continue;
    }
    try {
      const info = await stat(target);
      if (info.isDirectory()) await walk(target, target, split);
      else if (info.isFile()) await addFile(target, basename(target), split);
      else skipped.push({ path: target, reason: "not a regular file or directory" });
    } catch (error) {
      if (error instanceof FileSystemError || options.signal?.aborted) throw error;
      throw FileSystemError.from(target, "read", error);
    }
  }
  // The same file reached twice is processed once: as itself rather than through a link, else where first found.
  const keep = new Map<string, DiscoveredFile>();
  for (const candidate of found) {
    const kept = keep.get(candidate.realPath);
    if (kept === undefined || (viaLinks.has(kept) && !viaLinks.has(candidate))) keep.set(candidate.realPath, candidate);
  }
  const files: DiscoveredFile[] = keep.size === found.length ? found : [];
  if (files !== found) {
    for (const candidate of found) {
      if (keep.get(candidate.realPath) === candidate) files.push(candidate);
      else skipped.push({ path: candidate.path, reason: "the same file was already listed" });
    }
  }
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped, unreadable };
}
