import { readFileSync } from "node:fs";

/** Where the package's JSON Schemas live: `schemas/` at the package root, from `src/` and `dist/` alike. */
export const SCHEMAS_DIR = new URL("../schemas/", import.meta.url);

/** Reads a schema file of the package's `schemas/` folder. */
export function loadSchemaFile(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, SCHEMAS_DIR), "utf8")) as Record<string, unknown>;
}
