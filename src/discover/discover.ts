import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, extname, join, relative } from "node:path";
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
  /** Split role from the file name. */
  split: Split;
}

/** Something found that is not processed, with the reason. */
export interface SkippedPath {
  path: string;
  reason: string;
}

export interface Discovery {
  files: DiscoveredFile[];
  skipped: SkippedPath[];
}

const DATASET_EXTENSIONS = new Set([".jsonl", ".json"]);
const VALIDATION_NAME = /^(val|valid|validation|eval|dev)([^a-z]|$)/i;

/** Split role from a file name: `val*`, `valid*`, `validation*`, `eval*`, `dev*` → validation; else training. */
export function splitFromName(path: string): Split {
  const name = basename(path);
  if (/train/i.test(name)) return "train";
  return VALIDATION_NAME.test(name) ? "validation" : "train";
}

/** Whether a name looks like a dataset file (`*.jsonl`, `*.json`). */
export function isDatasetName(path: string): boolean {
  return DATASET_EXTENSIONS.has(extname(path).toLowerCase());
}

/**
 * Expands paths into dataset files, in a stable order: inputs in the order given, each directory's files sorted
 * by path. A file named directly is taken whatever its extension; below a directory, only `*.jsonl` / `*.json`,
 * and the rest is listed as skipped. Links are followed; a directory reached again (a link loop) and a file
 * reached twice are listed once.
 */
export async function discoverFiles(inputs: readonly string[]): Promise<Discovery> {
  const files: DiscoveredFile[] = [];
  const skipped: SkippedPath[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();

  const addFile = async (path: string, rel: string): Promise<void> => {
    const real = await realpath(path);
    if (seenFiles.has(real)) {
      skipped.push({ path, reason: "the same file was already listed" });
      return;
    }
    seenFiles.add(real);
    files.push({ path, relative: rel, realPath: real, split: splitFromName(path) });
  };

  const walk = async (dir: string, root: string): Promise<void> => {
    const real = await realpath(dir);
    if (seenDirs.has(real)) {
      skipped.push({ path: dir, reason: "directory already visited (a link loop or a repeated path)" });
      return;
    }
    seenDirs.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
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
      if (isDir) await walk(path, root);
      else if (isFile && isDatasetName(entry.name)) await addFile(path, relative(root, path));
      else skipped.push({ path, reason: isFile ? "not a dataset file (*.jsonl, *.json)" : "not a regular file" });
    }
  };

  for (const input of inputs) {
    try {
      await lstat(input);
      const info = await stat(input);
      if (info.isDirectory()) await walk(input, input);
      else if (info.isFile()) await addFile(input, basename(input));
      else skipped.push({ path: input, reason: "not a regular file or directory" });
    } catch (error) {
      if (error instanceof FileSystemError) throw error;
      throw FileSystemError.from(input, "read", error);
    }
  }
  return { files, skipped };
}
