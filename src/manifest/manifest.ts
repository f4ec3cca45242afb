import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { ConfigError, FileSystemError } from "../errors.js";
import { redactedJson } from "../redact.js";
import { loadSchemaFile } from "../schema-files.js";
import { tempPathFor } from "../temp-files.js";

/**
 * The manifest: every uploaded file with its provider id, for job creation; versioned JSON
 * (`schemas/manifest.schema.json`), rewritten atomically after every upload. It never holds an API key.
 */

export const MANIFEST_VERSION = 1;
export const MANIFEST_SCHEMA_ID = "https://ftprep.dev/schemas/manifest.schema.json";
export { DEFAULT_MANIFEST } from "../defaults.js";

export type Split = "train" | "validation";

export interface ManifestSource {
  path: string;
  sha256: string;
  bytes: number;
  records: number;
  valid: number;
  invalid: number;
  split: Split;
  format: string;
  skip_invalid: boolean;
}

export interface ManifestFile {
  path: string;
  source: string | null;
  kind: "original" | "cleaned" | "converted" | "shard" | "validation-split";
  part?: number;
  parts?: number;
  split: Split;
  weight: number;
  sha256: string;
  bytes: number;
  lines: number;
  target: string;
  remote: { id: string; filename: string; bytes: number; num_lines: number | null; sample_type: string | null; created_at: number };
  uploaded_at: string;
  adopted?: boolean;
}

export interface Manifest {
  $schema?: string;
  version: 1;
  tool: { name: "ftprep"; version: string };
  provider: "mistral" | "openai";
  base_url: string;
  target: string;
  embedded_store: string | null;
  created_at: string;
  updated_at: string;
  options: Record<string, unknown>;
  sources: ManifestSource[];
  files: ManifestFile[];
  validation: { files: number; records: number; valid: number; invalid: number; errors: number; warnings: number; counts: Record<string, number> };
  jobs: Record<string, unknown>[];
}

// ajv-formats is CommonJS: under ESM its plugin is the module object's `default`.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv, formats: string[]) => Ajv }).default;

let validator: ValidateFunction | undefined;

/** The manifest schema, compiled once. */
function manifestValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats(ajv, ["date-time"]);
    validator = ajv.compile(loadSchemaFile("manifest.schema.json"));
  }
  return validator;
}

/** The problems of a value as a manifest: undefined when it is one. */
export function checkManifest(value: unknown): string | undefined {
  const validate = manifestValidator();
  if (validate(value)) return undefined;
  const error = validate.errors![0]!;
  return `${error.instancePath || "/"} ${error.message ?? "is invalid"}`;
}

/** Reads a manifest; undefined when there is none at `path`. A file that is not a valid manifest is a ConfigError. */
export async function readManifest(path: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw FileSystemError.from(path, "read", error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not a manifest: ${(error as Error).message}`);
  }
  const problem = checkManifest(value);
  if (problem !== undefined) throw new ConfigError(`${path} is not a valid ftprep manifest: ${problem}`);
  return value as Manifest;
}

/** Writes a manifest atomically: a temporary file beside it, fsync, rename. A reader never sees half of one. */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  manifest.updated_at = new Date().toISOString();
  const temp = tempPathFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, "w");
    try {
      // Whatever reached it (a URL, a provider's answer, a job request), a manifest never holds a secret.
      await handle.writeFile(`${redactedJson(manifest, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw FileSystemError.from(path, "write", error);
  }
}

/** A new, empty manifest. */
export function newManifest(fields: Pick<Manifest, "provider" | "base_url" | "target" | "embedded_store" | "options">, toolVersion: string): Manifest {
  const now = new Date().toISOString();
  return {
    $schema: MANIFEST_SCHEMA_ID,
    version: MANIFEST_VERSION,
    tool: { name: "ftprep", version: toolVersion },
    ...fields,
    created_at: now,
    updated_at: now,
    sources: [],
    files: [],
    validation: { files: 0, records: 0, valid: 0, invalid: 0, errors: 0, warnings: 0, counts: {} },
    jobs: [],
  };
}

/** The upload of this content to this target, if the manifest has one. */
export function findUploaded(manifest: Manifest, target: string, sha256: string): ManifestFile | undefined {
  return manifest.files.find((f) => f.target === target && f.sha256 === sha256);
}
