import { readdir, realpath, stat } from "node:fs/promises";
import { basename, extname, isAbsolute, join, relative, sep } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { FileSystemError } from "../errors.js";

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

/** Options of `discoverFiles`. */
export interface DiscoverOptions {
  /** Which names below a directory or matched by a glob are dataset files (default: `*.jsonl`, `*.json`). */
  isDataset?: (name: string) => boolean;
}

export interface Discovery {
  files: DiscoveredFile[];
  skipped: SkippedPath[];
}

const DATASET_EXTENSIONS = new Set([".jsonl", ".json"]);
/** `val*` (so `valid*`, `validation*`), `eval*`, `dev*`. */
const VALIDATION_NAME = /^(val|eval|dev)/i;

/**
 * Split role from a file name: a name containing `train` → training; else `val*`, `valid*`, `validation*`,
 * `eval*`, `dev*` → validation; anything else → training. Flags and pipeline files override it.
 */
export function splitFromName(path: string): Split {
  const name = basename(path);
  if (/train/i.test(name)) return "train";
  return VALIDATION_NAME.test(name) ? "validation" : "train";
}

/** Whether a name looks like a dataset file (`*.jsonl`, `*.json`). */
export function isDatasetName(path: string): boolean {
  return DATASET_EXTENSIONS.has(extname(path).toLowerCase());
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
 * Expands paths, directories and globs into dataset files, in a stable order: inputs in the order given, each
 * directory's (or glob's) files sorted by path. A file named directly is taken whatever its extension; below a
 * directory or through a glob, only `*.jsonl` / `*.json` that are not hidden, and the rest is listed as skipped. Links are followed;
 * a directory reached again (a link loop) and a file reached twice are listed once.
 */
export async function discoverFiles(inputs: readonly (string | DiscoverInput)[], options: DiscoverOptions = {}): Promise<Discovery> {
  const isDataset = options.isDataset ?? isDatasetName;
  const found: (DiscoveredFile & { viaLink: boolean })[] = [];
  const skipped: SkippedPath[] = [];
  const seenDirs = new Set<string>();

  let weight = 1;
  const addFile = async (path: string, rel: string, split: Split | undefined, viaLink = false): Promise<void> => {
    const real = await realpath(path);
    found.push({ path, relative: rel, realPath: real, split: split ?? splitFromName(path), weight, viaLink });
  };

  const walk = async (dir: string, root: string, split: Split | undefined): Promise<void> => {
    const real = await realpath(dir);
    if (seenDirs.has(real)) {
      skipped.push({ path: dir, reason: "directory already visited (a link loop or a repeated path)" });
      return;
    }
    seenDirs.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // Hidden entries (.git, .ftprep with its shards and store, editors' files) are never datasets.
      if (entry.name.startsWith(".")) {
        skipped.push({ path, reason: "hidden (the name starts with a dot)" });
        continue;
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
          continue;
        }
      }
      if (isDir) await walk(path, root, split);
      else if (isFile && isDataset(entry.name)) await addFile(path, relative(root, path), split, entry.isSymbolicLink());
      else skipped.push({ path, reason: isFile ? "not a dataset file (*.jsonl, *.json)" : "not a regular file" });
    }
  };

  for (const input of inputs) {
    const { path: target, split } = typeof input === "string" ? { path: input, split: undefined } : input;
    weight = typeof input === "string" ? 1 : (input.weight ?? 1);
    if (isDynamicPattern(target)) {
      const base = globBase(target);
      const matches = (await glob(target, { onlyFiles: true, followSymbolicLinks: true, expandDirectories: false, absolute: isAbsolute(target) })).sort();
      if (matches.length === 0) skipped.push({ path: target, reason: "the pattern matches no file" });
      for (const match of matches) {
        if (isDataset(match)) await addFile(match, relative(base, match), split);
        else skipped.push({ path: match, reason: "not a dataset file (*.jsonl, *.json)" });
      }
      continue;
    }
    try {
      const info = await stat(target);
      if (info.isDirectory()) await walk(target, target, split);
      else if (info.isFile()) await addFile(target, basename(target), split);
      else skipped.push({ path: target, reason: "not a regular file or directory" });
    } catch (error) {
      if (error instanceof FileSystemError) throw error;
      throw FileSystemError.from(target, "read", error);
    }
  }
  // The same file reached twice is processed once: as itself rather than through a link, else where first found.
  const keep = new Map<string, (typeof found)[number]>();
  for (const candidate of found) {
    const kept = keep.get(candidate.realPath);
    if (kept === undefined || (kept.viaLink && !candidate.viaLink)) keep.set(candidate.realPath, candidate);
  }
  const files: DiscoveredFile[] = [];
  for (const candidate of found) {
    const { viaLink: _, ...file } = candidate;
    if (keep.get(candidate.realPath) === candidate) files.push(file);
    else skipped.push({ path: candidate.path, reason: "the same file was already listed" });
  }
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}
