import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The one naming of the temporary files ftprep writes beside an output before renaming it into place:
 * `.NAME.ftprep-PID-HEX.tmp` in the output's directory. Hidden (discovery never walks them), unique per writer, and
 * recognisable with the process that wrote it, so a later run can tell what a killed run left behind (a shard can
 * be 511 MB) and remove it once that process is gone — only names of this form, never one a live process may
 * still be writing.
 */
const TEMP_NAME = /^\.(.+)\.ftprep-(\d+)-([0-9a-f]{12})\.tmp$/;

/** A fresh temporary path for `path` (same directory, so the final rename stays on one file system). */
export function tempPathFor(path: string, pid: number = process.pid): string {
  return join(dirname(path), tempNameFor(basename(path), pid));
}

/** The temporary name (no directory) for `name`: hidden, with the writer's pid, so `parseTempName` knows it. */
export function tempNameFor(name: string, pid: number = process.pid): string {
  return `.${name}.ftprep-${pid}-${randomBytes(6).toString("hex")}.tmp`;
}

/** What a temporary file's name says: the output it was for (its base name) and the writing process's id. */
export interface TempName {
  target: string;
  pid: number;
}

/** Parses a file name made by `tempPathFor`; undefined for any other name. */
export function parseTempName(name: string): TempName | undefined {
  const match = TEMP_NAME.exec(name);
  return match ? { target: match[1]!, pid: Number(match[2]) } : undefined;
}

/** Whether a process of this machine with this id is running (EPERM: it is, as another user's). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * How earlier versions named their temporary files, with no process id: `.NAME.HEX.tmp` for cleaned copies,
 * converted and merged files, shards, the shard list (`.ftprep-shards.json`) and reports, `MANIFEST.HEX.tmp` for a
 * manifest. Such a name says nothing of its writer, so one is removed only where ftprep writes (the `--out` tree,
 * beside the manifest and the report), only for what ftprep writes there (see `oldTempTarget`), and only once it has
 * not changed for `OLD_TEMP_AGE_MS` — a run of an older version still writing it changes it all the time.
 */
const OLD_HIDDEN_TEMP = /^\.(.+)\.([0-9a-f]{12})\.tmp$/;
const OLD_TEMP = /^(.+)\.([0-9a-f]{12})\.tmp$/;
export const OLD_TEMP_AGE_MS = 60 * 60 * 1000;

/**
 * The output an old-style temporary name was for, if ftprep could have made it: in an output tree (no `target`), a
 * hidden `.NAME.HEX.tmp` whose NAME is a `.jsonl` output, a numbered shard part (`train.1`) or the shard list; beside
 * a manifest or a report (`target`), that file's own `.TARGET.HEX.tmp` or `TARGET.HEX.tmp`. Undefined otherwise.
 */
export function oldTempTarget(name: string, target?: string): string | undefined {
  const hidden = OLD_HIDDEN_TEMP.exec(name);
  if (target !== undefined) {
    const plain = OLD_TEMP.exec(name);
    if (hidden?.[1] === target) return target;
    return plain?.[1] === target ? target : undefined;
  }
  const output = hidden?.[1];
  if (output === undefined) return undefined;
  return /\.jsonl$/i.test(output) || /^[^.].*\.\d+$/.test(output) || output === "ftprep-shards.json" ? output : undefined;
}

/** What a clean-up removed. */
export interface StaleTemps {
  files: number;
  bytes: number;
}

/** Never walked when cleaning a directory tree: not where ftprep writes, and possibly huge. */
const SKIPPED_DIRS = new Set(["node_modules", ".git"]);

/**
 * Removes the temporary files of dead processes in `dir` (and its subdirectories with `recursive`), and those of
 * earlier versions untouched for an hour (`oldTempTarget`); with `target`, only those made for that output name. A missing directory has none. Errors on single entries are ignored:
 * cleaning litter must never stop a run.
 */
export async function removeStaleTemps(dir: string, options: { recursive?: boolean; target?: string; now?: () => number } = {}): Promise<StaleTemps> {
  const found: StaleTemps = { files: 0, bytes: 0 };
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (options.recursive && !SKIPPED_DIRS.has(entry.name)) {
        const inner = await removeStaleTemps(path, options);
        found.files += inner.files;
        found.bytes += inner.bytes;
      }
      continue;
    }
    if (!entry.isFile()) continue;
    const owner = parseTempName(entry.name);
    const old = owner === undefined ? oldTempTarget(entry.name, options.target) : undefined;
    if (owner !== undefined && ((options.target !== undefined && owner.target !== options.target) || processAlive(owner.pid))) continue;
    if (owner === undefined && old === undefined) continue;
    try {
      const { size, mtimeMs } = await stat(path);
      if (old !== undefined && (options.now ?? Date.now)() - mtimeMs < OLD_TEMP_AGE_MS) continue;
      await rm(path, { force: true });
      found.files++;
      found.bytes += size;
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return found;
}

/** Removes the stale temporary files of one output path (a manifest, a report) from its directory. */
export function removeStaleTempsOf(path: string): Promise<StaleTemps> {
  return removeStaleTemps(dirname(path), { target: basename(path) });
}

/**
 * Writes a whole file atomically: a temporary file beside it (named by `tempPathFor`), fsync, rename. A reader
 * never sees half of it, and a failed write leaves the old file as it was. Errors are the file system's own.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
