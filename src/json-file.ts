import { readFile } from "node:fs/promises";
import { ConfigError, FileSystemError } from "./errors.js";

/**
 * Reads a JSON file that is input (a pipeline file, a shard plan): `ERR_FS` naming the path when it cannot be read,
 * a usage error `PATH: not JSON: …` (then `hint`, what to give instead, when there is one) when it does not parse.
 * The value is unchecked: callers check it with its schema.
 */
export async function readJsonFile(path: string, hint?: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${path}: not JSON: ${(error as Error).message}${hint ? `: ${hint}` : ""}`);
  }
}
