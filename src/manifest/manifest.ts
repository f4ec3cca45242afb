import type { Figures } from "../validate/figures.js";
import { type FileHandle, mkdir, open, readFile, rm } from "node:fs/promises";
import type { EstimatedTokenStats, TokenStats } from "../validate/token-stats.js";
import { dirname } from "node:path";
import { documentValidator } from "../document-schemas.js";
import { ConfigError, FileSystemError } from "../errors.js";
import { printable } from "../printable.js";
import { redactedJson } from "../redact.js";
import { writeFileAtomically } from "../temp-files.js";
import type { ProviderName } from "../types.js";

/**
 * The manifest: every uploaded file with its provider id, for job creation; versioned JSON
 * (`schemas/manifest.schema.json`), written atomically. During uploads each recorded file is appended to a journal
 * beside it (`<manifest>.journal`, one JSON line per file, fsynced), so the cost of recording a file does not grow
 * with the files already recorded; the manifest is rewritten once at the end, which removes the journal. A run
 * killed at any point leaves a valid manifest and/or a journal: `readManifest` merges the two. It never holds an
 * API key.
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
  /** The file's token counts as validation found them (`FileStats.tokens`). */
  tokens?: TokenStats | EstimatedTokenStats;
  /** The figures of its valid records (`schemas/figures.schema.json`), so `ftprep report` on the manifest draws them. */
  figures?: Figures;
}

export interface ManifestFile {
  path: string;
  source: string | null;
  kind: "original" | "cleaned" | "converted" | "shard" | "validation-split" | "merged";
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
  provider: ProviderName;
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

/** The manifest schema's validator (generated at build, or compiled once). */
function manifestValidator() {
  return documentValidator("manifest.schema.json");
}

/** The problems of a value as a manifest: undefined when it is one. */
export function checkManifest(value: unknown): string | undefined {
  const validate = manifestValidator();
  if (validate(value)) return undefined;
  const error = validate.errors![0]!;
  return `${error.instancePath || "/"} ${error.message ?? "is invalid"}`;
}

/** The journal of a manifest: the files recorded since the manifest was last written. */
export function journalPath(manifestPath: string): string {
  return `${manifestPath}.journal`;
}

/** A journal line: the manifest's fields as the run began (files aside), or one recorded file. */
type JournalLine = { manifest: Omit<Manifest, "files"> } | { file: ManifestFile };

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw FileSystemError.from(path, "read", error);
  }
}

/** Options of `readManifest`. */
export interface ReadManifestOptions {
  /**
   * Called once per journal line that cannot be used and is not a line a kill cut short (one line of text each):
   * that line's upload is not in the result; the next run finds the file on the provider by name and size.
   */
  onProblem?: (message: string) => void;
}

/** Whether a journal line is the header a run writes as it opens the journal (after a newline that ends a torn line). */
function isHeaderLine(line: string): boolean {
  try {
    const value = JSON.parse(line) as unknown;
    return value !== null && typeof value === "object" && "manifest" in value;
  } catch {
    return false;
  }
}

/**
 * Reads a manifest, with the files its journal recorded since it was written (a run killed before its final
 * write); undefined when there is neither. The result is checked against the schema: a file that is not a valid
 * manifest is a ConfigError. A line cut short by a kill — the journal's last line, or one a later run's header
 * follows (each run starts its part with a newline and a header) — is ignored. Any other line that is not JSON, not
 * a header or a file, or a file entry the schema refuses, is left out and reported through `onProblem`: the rest
 * of the journal still counts.
 */
export async function readManifest(path: string, options: ReadManifestOptions = {}): Promise<Manifest | undefined> {
  // The journal first: a run that compacts in between leaves a manifest with everything the journal had.
  const journal = await readText(journalPath(path));
  const text = await readText(path);
  if (text === undefined && journal === undefined) return undefined;
  let value: unknown;
  if (text !== undefined) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${path} is not a manifest: ${(error as Error).message}`);
    }
    const problem = checkManifest(value);
    if (problem !== undefined) throw new ConfigError(`${path} is not a valid ftprep manifest: ${problem}`);
  }
  if (journal === undefined) return value as Manifest;
  let header: Omit<Manifest, "files"> | undefined;
  const files: ManifestFile[] = [...((value as Manifest | undefined)?.files ?? [])];
  const fromJournal = new Map<ManifestFile, number>(); // journal entries → their line numbers
  const known = new Set(files.map((f) => `${f.target}\n${f.sha256}`));
  const lines = journal.split("\n");
  const report = (index: number, what: string): void =>
    options.onProblem?.(
      `${printable(journalPath(path))} line ${index + 1} ${what} and more lines follow it (not a write cut short by a kill): left out; run and upload find the file it recorded on the provider by name and size and record it again, without sending it twice`,
    );
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let entry: JournalLine | undefined;
    let bad: string | undefined;
    try {
      entry = JSON.parse(line) as JournalLine;
      if (entry === null || typeof entry !== "object" || (!("manifest" in entry) && !("file" in entry))) bad = "is neither a manifest header nor a file entry";
    } catch {
      bad = "is not valid JSON";
    }
    if (bad !== undefined) {
      const next = lines.slice(index + 1).find((l) => l.trim() !== "");
      // The last line, or one a later run's header follows: a write a kill cut short, tolerated.
      if (next !== undefined && !isHeaderLine(next)) report(index, bad);
      continue;
    }
    if ("manifest" in entry!) header = entry.manifest;
    else if ("file" in entry!) {
      const key = `${entry.file?.target}\n${entry.file?.sha256}`;
      if (!known.has(key)) {
        known.add(key);
        files.push(entry.file);
        fromJournal.set(entry.file, index);
      }
    }
  }
  const base = header ?? (value as Manifest | undefined);
  if (!base) throw new ConfigError(`${journalPath(path)} is not an ftprep manifest journal (no manifest line)`);
  let merged = { ...base, files };
  if (checkManifest(merged) !== undefined && checkManifest({ ...base, files: [] }) === undefined) {
    // A file entry the schema refuses (a line damaged yet still JSON) is left out like a line that is not JSON.
    const kept = files.filter((file) => {
      const index = fromJournal.get(file);
      const problem = index === undefined ? undefined : checkManifest({ ...base, files: [file] });
      if (problem !== undefined) report(index!, `is not a valid file entry (${problem})`);
      return problem === undefined;
    });
    merged = { ...base, files: kept };
  }
  const problem = checkManifest(merged);
  if (problem !== undefined) throw new ConfigError(`${path} with its journal is not a valid ftprep manifest: ${problem}`);
  return merged as Manifest;
}

/**
 * Writes a manifest atomically: a temporary file beside it, fsync, rename. A reader never sees half of one. The
 * journal, whose files the manifest now holds, is removed.
 */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  manifest.updated_at = new Date().toISOString();
  try {
    // Whatever reached it (a URL, a provider's answer, a job request), a manifest never holds a secret.
    await writeFileAtomically(path, `${redactedJson(manifest, 2)}\n`);
    await rm(journalPath(path), { force: true });
  } catch (error) {
    throw FileSystemError.from(path, "write", error);
  }
}

/**
 * The append-only journal of a run's uploads: each recorded file is one line, written and fsynced before the
 * upload counts as done — a constant cost per file, where rewriting the manifest costs in proportion to the files
 * it holds. `close` then `writeManifest` compacts it into the manifest.
 */
export class ManifestJournal {
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Opens (appending to) the journal of `manifestPath` and records the manifest's fields as the run began. */
  static async open(manifestPath: string, manifest: Manifest): Promise<ManifestJournal> {
    const path = journalPath(manifestPath);
    try {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, "a");
      const journal = new ManifestJournal(path, handle);
      const { files: _, ...header } = manifest;
      // A leading newline ends a line a killed run may have cut short.
      await journal.write(`\n${redactedJson({ manifest: header })}\n`);
      return journal;
    } catch (error) {
      throw FileSystemError.from(path, "write", error);
    }
  }

  /** Appends one recorded file; resolves once it is on disk. Calls are written in order. */
  append(file: ManifestFile): Promise<void> {
    return this.write(`${redactedJson({ file })}\n`);
  }

  private write(text: string): Promise<void> {
    const next = this.queue.then(async () => {
      try {
        await this.handle.write(text);
        await this.handle.datasync();
      } catch (error) {
        throw FileSystemError.from(this.path, "write", error);
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
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

/** The upload of this content to this target, if the manifest has one (a scan: index it for many look-ups). */
export function findUploaded(manifest: Manifest, target: string, sha256: string): ManifestFile | undefined {
  return manifest.files.find((f) => f.target === target && f.sha256 === sha256);
}
