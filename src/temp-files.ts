import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

/**
 * The one naming of the temporary files ftprep writes beside an output before renaming it into place:
 * `.NAME.ftprep-PID-HEX.tmp` in the output's directory. Hidden (discovery never walks them), unique per writer, and
 * recognisable with the process that wrote it, so a later run can tell what a killed run left behind.
 */
const TEMP_NAME = /^\.(.+)\.ftprep-(\d+)-([0-9a-f]{12})\.tmp$/;

/** A fresh temporary path for `path` (same directory, so the final rename stays on one file system). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.ftprep-${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
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
