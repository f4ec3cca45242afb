import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, posix } from "node:path";
import { documentValidator } from "../document-schemas.js";
import type { DiscoverInput, DiscoveredFile, SkippedPath } from "../discover/discover.js";
import { ConfigError, FileSystemError, FtprepError } from "../errors.js";
import { readJsonFile } from "../json-file.js";
import { defaultMaxFileBytes } from "../guard/limits.js";
import { discoverDatasets } from "../pipeline/progress.js";
import type { FileFailure } from "../pipeline/validate.js";
import { readFileChunks, readFileRange } from "../read/file.js";
import { datasetStem } from "../read/source.js";
import { statObject } from "../storage/object-storage.js";
import { isObjectUrl } from "../storage/s3-url.js";
import { targetOf, type TargetSpec } from "../target/target-spec.js";
import type { ProviderName } from "../types.js";

/**
 * A shard plan: the units of work a dataset is cut into, so that many machines (an array job's tasks, a queue's
 * workers) each process some of them. A unit is a file, or — for a large uncompressed JSONL file — a byte range of
 * it cut at a line boundary. Its id comes from what the source *is* (ETag and size for an object, sha256 and size
 * for a local file), its split and its range: planning the same data again gives the same ids, and a changed
 * source gives new ones. Processing a unit is idempotent: its output has the same bytes every time, so the
 * uploader's sha256 look-ups send it once however often the unit runs.
 */

export const PLAN_VERSION = 1;
export const PLAN_SCHEMA_ID = "https://ftprep.dev/schemas/plan.schema.json";
/** Default size of a byte-range unit: big enough that per-unit overhead vanishes, small enough to spread work. */
export const DEFAULT_UNIT_BYTES = 64 * 1024 * 1024;
/** Bytes read at a time around a cut point while looking for the end of a line. */
const BOUNDARY_WINDOW = 64 * 1024;

export interface PlanUnit {
  id: string;
  /** The file or object read (a local path or an `s3://` URL). */
  source: string;
  /** Its name below the input it was found in: outputs are named after it. */
  relative: string;
  identity: { etag: string; size: number } | { sha256: string; size: number };
  split: "train" | "validation";
  weight: number;
  layout: "jsonl" | "json-array";
  compression: "gzip" | "zstd" | null;
  /** Bytes `start` to `end` (exclusive) of the source, or null for the whole file. */
  range: { start: number; end: number } | null;
  /** Bytes the unit reads. */
  bytes: number;
}

export interface ShardPlan {
  $schema?: string;
  version: 1;
  tool: { name: "ftprep"; version: string };
  created_at: string;
  inputs: string[];
  /** What every worker applies, so that they agree: the target, the limits, and whether invalid records are left out. */
  options: { provider: ProviderName; format: string; unit_bytes: number; max_file_bytes: number; skip_invalid: boolean; max_invalid_fraction: number };
  units: PlanUnit[];
  skipped?: SkippedPath[];
}

export interface CreatePlanOptions {
  target?: TargetSpec;
  provider?: ProviderName;
  /** Files larger than this (uncompressed JSONL) are cut into byte ranges of about this size (default 64 MiB). */
  unitBytes?: number;
  maxFileBytes?: number;
  skipInvalid?: boolean;
  maxInvalidFraction?: number;
  /** Paths discovery never takes (the plan file itself). */
  exclude?: readonly string[];
  toolVersion: string;
  signal?: AbortSignal;
}

/** The id of a unit: a digest of its source's identity, its split and its range. */
export function unitId(identity: PlanUnit["identity"], split: PlanUnit["split"], range: PlanUnit["range"]): string {
  const who = "etag" in identity ? `etag:${identity.etag}:${identity.size}` : `sha256:${identity.sha256}:${identity.size}`;
  const where = range ? `${range.start}-${range.end}` : "all";
  return `u${createHash("sha256").update(`${who}\u0000${split}\u0000${where}`).digest("hex").slice(0, 20)}`;
}

async function sha256Of(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of readFileChunks(path, signal ? { signal } : {})) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * The first line boundary at or after `at`: the offset just past the first `\n` at or after `at - 1`, or `size`
 * when there is none. Reads windows of 64 KiB from `at - 1` (ranged GETs for an object), not the file.
 */
export async function lineBoundary(path: string, at: number, size: number, signal?: AbortSignal): Promise<number> {
  let from = Math.max(0, at - 1);
  while (from < size) {
    const to = Math.min(size, from + BOUNDARY_WINDOW);
    let offset = from;
    for await (const chunk of readFileRange(path, from, to, { signal })) {
      const i = chunk.indexOf(0x0a);
      if (i !== -1) return offset + i + 1;
      offset += chunk.length;
    }
    from = to;
  }
  return size;
}

/** Line-aligned ranges of about `unitBytes` covering a file. */
async function cutRanges(path: string, size: number, unitBytes: number, signal?: AbortSignal): Promise<{ start: number; end: number }[]> {
  const ranges: { start: number; end: number }[] = [];
  let start = 0;
  while (start < size) {
    const end = start + unitBytes >= size ? size : await lineBoundary(path, start + unitBytes, size, signal);
    ranges.push({ start, end });
    start = end;
  }
  return ranges;
}

/** The name a range unit's outputs take: `train.bytes-0000000000-0067108864.jsonl` below the source's folder. */
function rangeName(relative: string, range: { start: number; end: number }): string {
  const pad = (n: number) => String(n).padStart(10, "0");
  const dir = dirname(relative);
  const name = `${datasetStem(basename(relative))}.bytes-${pad(range.start)}-${pad(range.end)}.jsonl`;
  return dir === "." ? name : posix.join(dir, name);
}

/** Makes a shard plan of the inputs (discovered as `prepare` does); unreadable entries are failures, not units. */
export async function createShardPlan(inputs: readonly (string | DiscoverInput)[], options: CreatePlanOptions): Promise<{ plan: ShardPlan; failures: FileFailure[] }> {
  const target = targetOf(options);
  const unitBytes = options.unitBytes ?? DEFAULT_UNIT_BYTES;
  if (!Number.isSafeInteger(unitBytes) || unitBytes < 1024) throw new ConfigError(`Expected \`unitBytes\` to be at least 1024 bytes, got ${String(unitBytes)}`);
  const { files, skipped, unreadable } = await discoverDatasets(inputs, { exclude: options.exclude ?? [], signal: options.signal });
  const failures: FileFailure[] = [...unreadable];
  const units: PlanUnit[] = [];
  const seen = new Map<string, string>();
  const skippedOut: SkippedPath[] = [...skipped];
  for (const file of files) {
    const identity: PlanUnit["identity"] = file.etag ? { etag: file.etag, size: file.bytes } : { sha256: await sha256Of(file.path, options.signal), size: file.bytes };
    const cuttable = file.compression === undefined && file.layout === "jsonl" && file.bytes > unitBytes;
    const ranges = cuttable ? await cutRanges(file.path, file.bytes, unitBytes, options.signal) : [null];
    for (const range of ranges) {
      const id = unitId(identity, file.split, range);
      const first = seen.get(id);
      if (first !== undefined) {
        // The same content again (a copy under another name): one unit, so it is sent once.
        skippedOut.push({ path: file.path, reason: `the same content as ${first}: planned once` });
        continue;
      }
      seen.set(id, file.path);
      units.push({
        id,
        source: file.path,
        relative: range ? rangeName(file.relative, range) : file.relative,
        identity,
        split: file.split,
        weight: file.weight,
        layout: file.layout,
        compression: file.compression ?? null,
        range,
        bytes: range ? range.end - range.start : file.bytes,
      });
    }
  }
  const provider = target.provider.name;
  const plan: ShardPlan = {
    $schema: PLAN_SCHEMA_ID,
    version: PLAN_VERSION,
    tool: { name: "ftprep", version: options.toolVersion },
    created_at: new Date().toISOString(),
    inputs: inputs.map((i) => (typeof i === "string" ? i : i.path)),
    options: {
      provider,
      format: target.format,
      unit_bytes: unitBytes,
      max_file_bytes: options.maxFileBytes ?? defaultMaxFileBytes(provider),
      skip_invalid: options.skipInvalid ?? false,
      max_invalid_fraction: options.maxInvalidFraction ?? 0.05,
    },
    units,
    skipped: skippedOut,
  };
  return { plan, failures };
}

/** The problems of a value as a shard plan (schema, then every id recomputed, ranges inside their source): undefined when it is one. */
export function checkShardPlan(value: unknown): string | undefined {
  const validator = documentValidator("plan.schema.json");
  if (!validator(value)) {
    const error = validator.errors![0]!;
    return `${error.instancePath || "/"} ${error.message ?? "is invalid"}`;
  }
  const plan = value as ShardPlan;
  const ids = new Set<string>();
  for (const [i, unit] of plan.units.entries()) {
    if (ids.has(unit.id)) return `/units/${i}/id ${unit.id} appears twice`;
    ids.add(unit.id);
    if (unit.id !== unitId(unit.identity, unit.split, unit.range)) return `/units/${i}/id does not match the unit's source identity, split and range`;
    const size = unit.identity.size;
    if (unit.range && (unit.range.start >= unit.range.end || unit.range.end > size)) return `/units/${i}/range is not inside its source (${size} bytes)`;
    if (unit.bytes !== (unit.range ? unit.range.end - unit.range.start : size)) return `/units/${i}/bytes does not match its range`;
    if (unit.range && (unit.compression !== null || unit.layout !== "jsonl")) return `/units/${i}/range: only uncompressed JSONL is cut into ranges`;
  }
  return undefined;
}

/**
 * Reads and checks a plan file: its JSON, its schema, its ids. A plan is input — it may come from someone else —
 * so a local source outside the working directory (an absolute path, a `..`) is refused unless `allowLocalPaths`.
 */
export async function readShardPlan(path: string, options: { allowLocalPaths?: boolean } = {}): Promise<ShardPlan> {
  const value = await readJsonFile(path);
  const problem = checkShardPlan(value);
  if (problem !== undefined) throw new ConfigError(`${path} is not a valid shard plan: ${problem}`);
  const plan = value as ShardPlan;
  if (!options.allowLocalPaths) {
    const outside = plan.units.find((u) => !isObjectUrl(u.source) && (isAbsolute(u.source) || u.source.split(/[\\/]/).includes("..")));
    if (outside) {
      throw new ConfigError(`${path} names the local file ${outside.source}, outside the working directory; a plan chooses what is read and uploaded, so such paths need --allow-local-paths`);
    }
  }
  const unsafe = plan.units.find((u) => u.relative.split(/[\\/]/).includes("..") || isAbsolute(u.relative));
  if (unsafe) throw new ConfigError(`${path}: the unit ${unsafe.id} has the output name ${unsafe.relative}, which leaves the output directory`);
  return plan;
}

/**
 * The units of shard `index` of `count`: the plan's units dealt out by size (largest first, each to the shard with
 * the fewest bytes so far, ties to the lower index), so every shard gets about the same work. The same plan, index
 * and count always give the same units, on any machine.
 */
export function shardUnits(plan: ShardPlan, index: number, count: number): PlanUnit[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError(`Expected the shard count to be a positive integer, got ${String(count)}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new ConfigError(`Expected the shard index to be from 0 to ${count - 1}, got ${String(index)}`);
  const order = [...plan.units].sort((a, b) => b.bytes - a.bytes || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const mine = new Set<string>();
  for (const unit of order) {
    let least = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[least]!) least = s;
    load[least]! += Math.max(1, unit.bytes);
    if (least === index) mine.add(unit.id);
  }
  return plan.units.filter((u) => mine.has(u.id));
}

/** A unit's source is no longer what was planned: its ranges and id belong to other bytes (exit 3, plan again). */
export class SourceChangedError extends FtprepError {
  constructor(message: string) {
    super("ERR_SOURCE_CHANGED", message);
  }
}

/** Local files hashed by this process, by what would change with their bytes: a file is hashed once per process. */
const hashed = new Map<string, { key: string; sha256: string }>();

/**
 * What `checkUnitSource` leaves to the unit's own pass over its bytes: called with the sha256 of what the pass read
 * and how many bytes that was, it throws `SourceChangedError` when they are not the planned source.
 */
export type ConfirmSource = (sha256: string, hashedBytes: number, signal?: AbortSignal) => Promise<void>;

/**
 * Checks that a unit's source is still what was planned, before any of it is sent: an object's ETag and size (HEAD),
 * a local file's size and sha256. A changed source fails with `SourceChangedError` (the unit's id and source, in one
 * line): its byte ranges may no longer fall on line boundaries, and its records are not those the plan's other units
 * assume. An object is also read with `If-Match`, so a change after this check stops the read.
 *
 * A local file's sha256: for a byte range, the whole file is hashed before the range is read (once per process for
 * all the units of one unchanged file, whose device, inode, size, mtime and ctime are the cache key). For a whole
 * file, the unit's validating pass hashes every byte anyway: with `afterPass`, only the size is checked here and the
 * returned `ConfirmSource` compares the pass's hash — one read of the file instead of two, and the bytes validated
 * are the very bytes compared. (A pass that stopped short of the end is confirmed by hashing the file.)
 */
export async function checkUnitSource(unit: PlanUnit, signal?: AbortSignal, options: { afterPass?: boolean } = {}): Promise<ConfirmSource | undefined> {
  const changed = (what: string): SourceChangedError => new SourceChangedError(`unit ${unit.id}: ${unit.source} changed since it was planned (${what}); plan again`);
  const planned = unit.identity;
  if ("etag" in planned) {
    const now = await statObject(unit.source, signal);
    if (now.etag !== planned.etag) throw changed(`ETag ${planned.etag}, now ${now.etag}`);
    if (now.size !== planned.size) throw changed(`${planned.size} bytes, now ${now.size}`);
    return undefined;
  }
  let info;
  try {
    info = await stat(unit.source, { bigint: true });
  } catch (error) {
    throw FileSystemError.from(unit.source, "read", error);
  }
  if (Number(info.size) !== planned.size) throw changed(`${planned.size} bytes, now ${info.size}`);
  const key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  const compare = (sha256: string): void => {
    if (sha256 !== planned.sha256) throw changed(`sha256 ${planned.sha256.slice(0, 12)}…, now ${sha256.slice(0, 12)}…`);
  };
  const known = hashed.get(unit.source);
  if (known?.key === key) {
    compare(known.sha256);
    return undefined;
  }
  if (options.afterPass && unit.range === null) {
    return async (sha256, hashedBytes, passSignal) => {
      compare(hashedBytes === planned.size ? sha256 : await sha256Of(unit.source, passSignal));
    };
  }
  const now = { key, sha256: await sha256Of(unit.source, signal) };
  hashed.set(unit.source, now);
  compare(now.sha256);
  return undefined;
}

/** A unit as a discovered file for `prepare`: a range names itself `SOURCE#bytes=START-END`. */
export function unitFile(unit: PlanUnit): DiscoveredFile {
  return {
    path: unit.range ? `${unit.source}#bytes=${unit.range.start}-${unit.range.end}` : unit.source,
    relative: unit.relative,
    realPath: unit.source,
    split: unit.split,
    weight: unit.weight,
    bytes: unit.bytes,
    layout: unit.layout,
    ...(unit.compression ? { compression: unit.compression } : {}),
    ...(unit.range ? { range: unit.range } : {}),
  };
}
