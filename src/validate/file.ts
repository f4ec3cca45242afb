import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { FileSystemError } from "../errors.js";
import { fileSize, readFileChunks } from "../read/file.js";
import { isObjectUrl } from "../storage/s3-url.js";
import { readJsonArrayElements } from "../read/json-array.js";
import { DEFAULT_MAX_LINE_BYTES, type Line, readLineBatches, splitLines } from "../read/lines.js";
import type { ByteRange } from "../read/ranges.js";
import { describeNonText, SNIFF_BYTES } from "../read/sniff.js";
import { type Compression, compressionOf, CorruptInputError, decompress } from "../read/source.js";
import { OPENAI } from "../target/openai.js";
import { targetOf, type TargetSpec } from "../target/target-spec.js";
import type { FormatId, Issue, ProviderName, Severity } from "../types.js";
import { ISSUE_CODES, type IssueCode } from "./codes.js";
import { DigestSet } from "./digest-set.js";
import { CrossProviderCheck, type CrossSnapshot, type ProviderHint } from "./cross-provider.js";
import { type LineOutcome, parseLine, type ParsedLine, validateParsed } from "./line.js";
import { detectFormat } from "./record.js";
import { schemaRegistry, type SchemaRegistry } from "./schema-registry.js";
import { emptyStats, estimateTokens, mergeStats, messagesByRole, type RecordStats, type StatsSnapshot, statsSnapshot } from "./stats.js";
import { type EstimatedTokenStats, type TallySnapshot, type TokenHook, type TokenStats, TokenTally } from "./token-stats.js";
import { FigureTally, type FigureSnapshot, type Figures } from "./figures.js";
import { issueSnippet, type Snippet } from "./snippet.js";

import { DEFAULT_MAX_ISSUES } from "../defaults.js";

export { DEFAULT_MAX_ISSUES };
/** Format detection looks at this many records at the most… */
export const DETECT_RECORDS = 32;
/** …or at this many bytes of lines, whichever comes first. */
export const DETECT_BYTES = 8 * 1024 * 1024;
/** OpenAI refuses training files with fewer records (a plan-time rule: see `target/job-rules.ts`). */
export const OPENAI_MIN_EXAMPLES = OPENAI.job.minTrainingExamples!;

/** Options of `validateFile` and `validateLines`. */
export interface ValidateOptions {
  /**
   * The target: the provider whose formats and rules apply, and the format. Resolved once by the caller (see
   * `resolveTargetSpec`); without it, `provider` and `format` below say the same thing.
   */
  target?: TargetSpec;
  /** The provider the data is for (default: the provider of an explicit `format`, else `mistral`); ignored with `target`. */
  provider?: ProviderName;
  /** The records' format; `"auto"` (default) detects it from the first records, among the provider's formats only. */
  format?: FormatId | "auto";
  /** Issues kept per code in the report's `issues` (default 20); `counts` always counts them all. */
  maxIssues?: number;
  /** Longest line read, in bytes (default 64 MiB); longer lines are E_LINE_TOO_LONG. */
  maxLineBytes?: number;
  /**
   * Report records identical to an earlier one (W_DUPLICATE; default off). Costs a re-serialisation and a hash per
   * record, and 21–43 bytes of memory per distinct valid record: the one part of validation that grows with the file.
   */
  duplicates?: boolean;
  /** Called with every issue, in file order: for streaming reports. */
  onIssue?: (issue: Issue) => void;
  /** Awaited after each batch of lines: where `onIssue`'s consumer applies backpressure. */
  onBatch?: () => Promise<void>;
  /**
   * Called with every record (not blank lines), in order, once its validation is done: for writing records out
   * (`--write-valid`, the size guard). `raw` is only valid during the call (it may view a read buffer).
   */
  onRecord?: (record: RecordEvent) => void;
  /**
   * Called with the file's bytes as read, in order (for hashing the source in the same pass; compressed bytes for a
   * compressed file). `validateFile` only.
   */
  onChunk?: (bytes: Uint8Array) => void;
  /** A duplicate table shared across files (one split's), instead of one per file; implies `duplicates`. */
  digests?: DigestSet;
  /** Records longer than this many bytes (terminator included) are E_RECORD_TOO_LARGE: no upload can hold them. */
  maxRecordBytes?: number;
  /** Counts each valid record's tokens (`src/tokens` provides counters); without it, the file has only the estimate. */
  tokens?: TokenHook;
  /**
   * Gather the figures of the valid records (histograms, roles, tools; default true). Off, `figures` describes no
   * record: the benchmark's baseline for what they cost.
   */
  figures?: boolean;
  /** The file name used in issues (default: the path, or `"<input>"` for `validateLines`). */
  label?: string;
  /** `validateFile`: how the records are laid out (default: a `.json` array for `*.json`, else JSON Lines). */
  layout?: "jsonl" | "json-array";
  /** `validateFile`: the file's compression (default: from its name, `*.jsonl.gz` / `*.jsonl.zst`; `"none"` for none). */
  compression?: Compression | "none";
  /**
   * `validateFile`: read only bytes `start` to `end` (exclusive) of the file — a unit of a shard plan, cut at line
   * boundaries. Line numbers then count from the range's first line.
   */
  range?: ByteRange;
  signal?: AbortSignal;
}

/** A record as the validation pass leaves it. */
export interface RecordEvent {
  line: number;
  /** The record's bytes as read, without terminator; a `.json` element's source bytes (whitespace outside strings dropped); empty for a too-long line. */
  raw: Uint8Array | string;
  /** The line terminator as read (`"\n"`, `"\r\n"`, or `""` for a last line without one). */
  terminator: string;
  valid: boolean;
  /** Identical to an earlier record (only when duplicates are looked for). */
  duplicate: boolean;
  /** The distinct error codes of an invalid record. */
  errorCodes: readonly IssueCode[];
}

/** An issue inside a file report (the file is the report's `path`). */
export interface ReportedIssue {
  line: number;
  code: string;
  severity: Severity;
  path: string;
  message: string;
  /** The examples kept: a short excerpt of the record with the part the issue is about marked. */
  snippet?: Snippet;
}

/** Statistics of a validated file. */
export interface FileStats {
  messagesByRole: Record<string, number>;
  toolCallRecords: number;
  imageRecords: number;
  estimatedTokens: number;
  /** Token counts: exact, cookbook or approximate with a tokenizer; with none, the estimate only. */
  tokens?: TokenStats | EstimatedTokenStats;
  /** Classifier files: label values per target, with their counts. */
  labels?: Record<string, Record<string, number>>;
}

/** The validation report of one file: the shape `ftprep validate --json` prints per file. */
export interface FileReport {
  path: string;
  /** The file's split, when it was found by discovery (`validatePaths`): from its name, or `--train` / `--validation`. */
  split?: "train" | "validation";
  /** The format detected or given; `"unknown"` for a file that is plainly not JSONL (`E_NOT_JSONL`): it has none. */
  format: FormatId | "unknown";
  records: number;
  valid: number;
  invalid: number;
  bytes: number;
  errors: number;
  warnings: number;
  blankLines: number;
  /** The first `maxIssues` issues of each code, in file order. */
  issues: ReportedIssue[];
  /** Every issue, counted per code. */
  counts: Record<string, number>;
  stats: FileStats;
  /** Histograms and counts of the valid records (see `Figures`). */
  figures: Figures;
  /** With `--write-valid`: where the valid records went, and how many records were left out. */
  written?: { path: string; records: number; dropped: number };
  /** Invalid records that another provider's format would take, and what to do (present only when there are some). */
  hints?: ProviderHint[];
}

/** One unit of input: a line of a JSONL file, or an element of a `.json` array (already parsed). */
interface Entry {
  number: number;
  line: Line;
  parsed?: ParsedLine;
}

/** Folds line outcomes, in order, into a file report: counts, kept examples, streamed issues, duplicates. */
class FileValidation {
  records = 0;
  valid = 0;
  invalid = 0;
  bytes = 0;
  errors = 0;
  warnings = 0;
  blankLines = 0;
  private readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly kept: ReportedIssue[] = [];
  private readonly digests: DigestSet | undefined;
  private sawCrlf = false;
  /** A byte range's pass: digests of valid records are logged for the merge instead of looked up here. */
  digestLog: DigestLog | undefined;
  /** A byte range's pass: "no records" is the whole file's finding, made at the merge. */
  partial = false;
  /** The line of the W_CRLF reported, or 0. */
  private crlfLine = 0;
  /** A byte range's pass for `prepare`: each invalid record's line and error codes, for the merge's `onRejected`. */
  rejectLog: { lines: number[]; codes: string[] } | undefined;
  /** A merge for `prepare`: told each invalid or duplicate record, in order. */
  onRejected: ((line: number, duplicate: boolean, errorCodes: readonly IssueCode[]) => void) | undefined;

  /** Set when failing records are re-checked against the other providers' formats. */
  cross: CrossProviderCheck | undefined;

  constructor(
    readonly file: string,
    readonly format: FormatId,
    private readonly maxIssues: number,
    private readonly onIssue: ((issue: Issue) => void) | undefined,
    digests: DigestSet | undefined,
    private readonly onRecord: ((record: RecordEvent) => void) | undefined,
  ) {
    this.digests = digests;
  }

  /** The line being validated: the source of the kept examples' snippets. */
  current: Line | undefined;

  issue(line: number, code: IssueCode, path: string, message: string): void {
    const severity = ISSUE_CODES[code].severity;
    if (severity === "error") this.errors++;
    else this.warnings++;
    const seen = (this.counts[code] ?? 0) + 1;
    this.counts[code] = seen;
    if (seen <= this.maxIssues) {
      const kept: ReportedIssue = { line, code, severity, path, message };
      const current = this.current;
      if (current !== undefined && current.number === line && current.length > 0 && code !== "W_BLANK_LINE") {
        kept.snippet = issueSnippet(Buffer.from(current.bytes.buffer, current.bytes.byteOffset, current.bytes.length).toString("utf8"), path, message);
      }
      this.kept.push(kept);
    }
    this.onIssue?.({ code, severity, file: this.file, line, path, message });
  }

  /** Line-level findings that depend on the line's place in the file, not on its content. */
  lineFlags(line: Line): void {
    this.bytes += line.length + line.terminator.length + (line.bom ? 3 : 0);
    if (line.bom) this.issue(line.number, "W_BOM", "", "the file starts with a UTF-8 byte-order mark (stripped)");
    if (line.terminator === "\r\n" && !this.sawCrlf) {
      this.sawCrlf = true;
      this.crlfLine = line.number;
      this.issue(line.number, "W_CRLF", "", "the file uses \\r\\n line endings (accepted; reported at the first only)");
    }
    if (line.terminator === "") this.issue(line.number, "W_NO_FINAL_NEWLINE", "", "the last line has no final \\n (accepted)");
  }

  outcome(entry: Entry, outcome: LineOutcome): void {
    const number = entry.number;
    if (outcome.issues) for (const d of outcome.issues) this.issue(number, d.code, d.path, d.message);
    if (!outcome.record) {
      this.blankLines++;
      return;
    }
    this.records++;
    let duplicate = false;
    if (outcome.errors > 0) {
      this.invalid++;
      if (this.rejectLog) {
        this.rejectLog.lines.push(number);
        this.rejectLog.codes.push(errorCodesOf(outcome).join(","));
      }
    } else {
      if (outcome.digest && this.digestLog) this.digestLog.push(number, outcome.digest, entry.line.offset, entry.line.length);
      else if (outcome.digest && this.digests && !this.digests.add(outcome.digest)) {
        duplicate = true;
        this.issue(number, "W_DUPLICATE", "", "the record is identical to an earlier record");
      }
      this.valid++;
    }
    if (this.onRecord) {
      const errorCodes = outcome.errors > 0 ? errorCodesOf(outcome) : [];
      this.onRecord({ line: number, raw: rawOf(entry), terminator: entry.line.terminator, valid: outcome.errors === 0, duplicate, errorCodes });
    }
  }

  /** Set when the file's structure could not be read (E_JSON_ARRAY): "no records" would only repeat it. */
  unreadable = false;

  /**
   * Folds in the pass over the byte range that follows what this validation has seen (`part`, its lines numbered
   * from 1, now from `offset + 1`), as the single pass would have: counts and sums add up; W_CRLF stays the first
   * one's; each valid record's digest is looked up here, in order, and a duplicate becomes W_DUPLICATE where the
   * single pass puts it (after the line's other issues, before its W_TOO_MANY_TOKENS); examples are kept per code
   * up to the limit, in file order. `log` replays every issue of the range, in order, for `onIssue`.
   */
  async absorb(
    part: RangeResult,
    offset: number,
    log?: AsyncIterable<RangeIssue>,
    onBatch?: () => Promise<void>,
    readLine?: (offset: number, length: number) => string,
  ): Promise<void> {
    const dropCrlf = part.crlfLine > 0 && this.sawCrlf;
    if (part.crlfLine > 0) this.sawCrlf = true;
    const duplicates: number[] = [];
    const spans = new Map<number, number>();
    if (part.digests) {
      const { lines, bytes } = part.digests;
      for (let i = 0; i < lines.length; i++) {
        if (this.digests && !this.digests.add(bytes.subarray(16 * i, 16 * i + 16))) {
          duplicates.push(lines[i]!);
          spans.set(lines[i]!, i);
        }
      }
    }
    this.records += part.records;
    this.valid += part.valid;
    this.invalid += part.invalid;
    this.bytes += part.bytes;
    this.blankLines += part.blankLines;
    this.errors += part.errors;
    this.warnings += part.warnings - (dropCrlf ? 1 : 0) + duplicates.length;
    // Examples: the i-th issue of a code in this range is the file's (count before it + i)-th. The first issue of
    // every code is among the examples, so codes enter `counts` in the order they first occur, as in one pass.
    const before = { ...this.counts };
    const within: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const issue of placeDuplicates(part.kept, duplicates, dropCrlf)) {
      const k = (within[issue.code] = (within[issue.code] ?? 0) + 1);
      if ((before[issue.code] ?? 0) + k <= this.maxIssues) {
        const kept = { ...issue, line: issue.line + offset };
        // One pass shows the duplicate record's start: read back from the file, for the few examples kept.
        const at = issue.code === "W_DUPLICATE" ? spans.get(issue.line) : undefined;
        if (at !== undefined && readLine) {
          const length = part.digests!.spans[2 * at + 1]!;
          if (length > 0) kept.snippet = issueSnippet(readLine(part.start + part.digests!.spans[2 * at]!, length), issue.path, issue.message);
        }
        this.kept.push(kept);
      }
      this.counts[issue.code] ??= 0;
    }
    for (const [code, n] of Object.entries(part.counts)) this.counts[code] = (this.counts[code] ?? 0) + n - (dropCrlf && code === "W_CRLF" ? 1 : 0);
    if (duplicates.length > 0) this.counts.W_DUPLICATE = (this.counts.W_DUPLICATE ?? 0) + duplicates.length;
    if (this.onIssue && log) {
      let n = 0;
      for await (const issue of placeDuplicatesAsync(log, duplicates, dropCrlf)) {
        this.onIssue({ code: issue.code, severity: issue.severity, file: this.file, line: issue.line + offset, path: issue.path, message: issue.message });
        // The consumer's backpressure, as often as one pass gives it (a batch of lines has about this many).
        if (++n % REPLAY_BATCH === 0) await onBatch?.();
      }
    }
    this.cross?.absorb(part.cross);
    if (this.onRejected) {
      // Invalid and duplicate records, in line order (a duplicate is valid: the two lists never share a line).
      const invalid = part.rejected ?? { lines: [], codes: [] };
      let d = 0;
      for (let i = 0; i <= invalid.lines.length; i++) {
        const line = i < invalid.lines.length ? invalid.lines[i]! : Infinity;
        while (d < duplicates.length && duplicates[d]! < line) this.onRejected(duplicates[d++]! + offset, true, []);
        if (i < invalid.lines.length) this.onRejected(line + offset, false, invalid.codes[i]!.split(",") as IssueCode[]);
      }
    }
  }

  /** This pass as a part of a file, for `absorb` (see `validateRange`). */
  rangeResult(stats: RecordStats, tally: TokenTally | undefined, figures: FigureTally, lines: number): RangeResult {
    return {
      start: 0,
      format: this.format,
      lines,
      records: this.records,
      valid: this.valid,
      invalid: this.invalid,
      bytes: this.bytes,
      errors: this.errors,
      warnings: this.warnings,
      blankLines: this.blankLines,
      counts: { ...this.counts },
      kept: this.kept,
      crlfLine: this.crlfLine,
      unreadable: this.unreadable,
      stats: statsSnapshot(stats),
      figures: figures.snapshot(),
      cross: this.cross!.snapshot(),
      ...(tally ? { tally: tally.snapshot() } : {}),
      ...(this.digestLog ? { digests: this.digestLog.packed() } : {}),
      ...(this.rejectLog ? { rejected: this.rejectLog } : {}),
    };
  }

  finish(stats: RecordStats, figures: FigureTally): FileReport {
    if (this.records === 0 && !this.unreadable && !this.partial) {
      this.issue(0, "E_FILE_EMPTY", "", "the file holds no records");
    }
    const fileStats: FileStats = {
      messagesByRole: messagesByRole(stats),
      toolCallRecords: stats.toolCallRecords,
      imageRecords: stats.imageRecords,
      estimatedTokens: estimateTokens(stats),
    };
    if (this.format === "mistral-classifier") fileStats.labels = stats.labels;
    const hints = this.cross?.hints(this.invalid) ?? [];
    return {
      path: this.file,
      format: this.counts.E_NOT_JSONL !== undefined ? "unknown" : this.format,
      records: this.records,
      valid: this.valid,
      invalid: this.invalid,
      bytes: this.bytes,
      errors: this.errors,
      warnings: this.warnings,
      blankLines: this.blankLines,
      issues: this.kept,
      counts: { ...this.counts },
      stats: fileStats,
      figures: {
        ...figures.finish(),
        duplicates: { checked: figures.duplicatesChecked, count: this.counts.W_DUPLICATE ?? 0 },
        ...(fileStats.labels ? { labels: fileStats.labels } : {}),
      },
      ...(hints.length > 0 ? { hints } : {}),
    };
  }
}

/** The distinct error codes of an invalid record's outcome. */
function errorCodesOf(outcome: LineOutcome): IssueCode[] {
  return [...new Set(outcome.issues!.filter((d) => ISSUE_CODES[d.code].severity === "error").map((d) => d.code))];
}

/** A record's bytes as read (a `.json` array element's source text, whitespace outside strings dropped). */
function rawOf(entry: Entry): Uint8Array {
  return entry.line.bytes;
}

const NO_SCHEMAS: SchemaRegistry = {
  record: () => {
    throw new Error("a merge checks no record");
  },
  checkJsonSchema: () => {
    throw new Error("a merge checks no record");
  },
};

/** Issues replayed from a part's log between two calls of `onBatch`. */
const REPLAY_BATCH = 1024;

/** An issue of a byte range's pass, its line numbered within the range. */
export type RangeIssue = ReportedIssue;

/** W_DUPLICATE of a line, placed as one pass does: after the line's other issues, before its W_TOO_MANY_TOKENS. */
function duplicateIssue(line: number): RangeIssue {
  return { line, code: "W_DUPLICATE", severity: "warning", path: "", message: "the record is identical to an earlier record" };
}

function comesAfterDuplicate(issue: RangeIssue, line: number): boolean {
  // Line 0: a finding about the whole file, made after its last record.
  return issue.line === 0 || issue.line > line || (issue.line === line && issue.code === "W_TOO_MANY_TOKENS");
}

/** A range's issues in order with its duplicates' W_DUPLICATE placed among them (and its W_CRLF left out if dropped). */
function* placeDuplicates(issues: Iterable<RangeIssue>, duplicates: readonly number[], dropCrlf: boolean): Generator<RangeIssue> {
  let d = 0;
  for (const issue of issues) {
    while (d < duplicates.length && comesAfterDuplicate(issue, duplicates[d]!)) yield duplicateIssue(duplicates[d++]!);
    if (!(dropCrlf && issue.code === "W_CRLF")) yield issue;
  }
  while (d < duplicates.length) yield duplicateIssue(duplicates[d++]!);
}

async function* placeDuplicatesAsync(issues: AsyncIterable<RangeIssue>, duplicates: readonly number[], dropCrlf: boolean): AsyncGenerator<RangeIssue> {
  let d = 0;
  for await (const issue of issues) {
    while (d < duplicates.length && comesAfterDuplicate(issue, duplicates[d]!)) yield duplicateIssue(duplicates[d++]!);
    if (!(dropCrlf && issue.code === "W_CRLF")) yield issue;
  }
  while (d < duplicates.length) yield duplicateIssue(duplicates[d++]!);
}

/** The digests of a range's valid records with their line numbers, packed for the trip to the merge. */
export class DigestLog {
  private lines = new Uint32Array(1024);
  private bytes = new Uint8Array(16 * 1024);
  /** Each record's byte offset and length in the file: a W_DUPLICATE example's snippet is read back from there. */
  private spans = new Float64Array(2 * 1024);
  private count = 0;

  /** A digest as `crypto.hash(…, "binary")` returns it: 16 latin1 characters. */
  push(line: number, digest: string, offset: number, length: number): void {
    if (this.count === this.lines.length) {
      const lines = new Uint32Array(this.count * 2);
      lines.set(this.lines);
      this.lines = lines;
      const spans = new Float64Array(this.count * 4);
      spans.set(this.spans);
      this.spans = spans;
      const bytes = new Uint8Array(this.count * 32);
      bytes.set(this.bytes);
      this.bytes = bytes;
    }
    this.lines[this.count] = line;
    this.spans[2 * this.count] = offset;
    this.spans[2 * this.count + 1] = length;
    const at = 16 * this.count;
    for (let i = 0; i < 16; i++) this.bytes[at + i] = digest.charCodeAt(i);
    this.count++;
  }

  packed(): { lines: Uint32Array; bytes: Uint8Array; spans: Float64Array } {
    return { lines: this.lines.slice(0, this.count), bytes: this.bytes.slice(0, 16 * this.count), spans: this.spans.slice(0, 2 * this.count) };
  }
}

/** Counts a valid record's tokens into the tally; over the limit, W_TOO_MANY_TOKENS. */
function countTokens(v: FileValidation, tally: TokenTally, entry: Entry, record: Record<string, unknown>): { tokens: number; trainable: number } | undefined {
  const hook = tally.hook;
  const raw = (): string => {
    const r = rawOf(entry);
    return Buffer.from(r.buffer, r.byteOffset, r.length).toString("utf8");
  };
  const counted = hook.count(record, v.format, raw);
  if (!counted) return undefined;
  tally.add(entry.number, counted.tokens, counted.trainable, counted.estimated === true);
  hook.onCount?.(v.file, entry.number, counted.tokens, counted.trainable, counted.estimated === true);
  if (hook.maxTokens !== undefined && counted.tokens > hook.maxTokens) {
    tally.overLimit++;
    v.issue(entry.number, "W_TOO_MANY_TOKENS", "", `the record has ${counted.tokens} tokens (${hook.tokenizer}), more than the ${hook.maxTokens} the model trains at; ${hook.overLimit ?? "a trainer splits or truncates it"}`);
  }
  return counted;
}

/** Adds E_RECORD_TOO_LARGE to a line's outcome. */
function withRecordTooLarge(outcome: LineOutcome, size: number, limit: number): LineOutcome {
  const issue = { code: "E_RECORD_TOO_LARGE" as const, path: "", message: `the record is ${size} bytes; no file of at most ${limit} bytes can hold it` };
  return { ...outcome, errors: outcome.errors + 1, issues: [...(outcome.issues ?? []), issue], digest: undefined };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  return value;
}

/**
 * The validation pass over entries: detects the format from the first records (bounded look-ahead), then checks
 * every entry with the per-line function and folds the outcomes into the report.
 */
async function validateEntries(
  batches: AsyncIterable<Entry[]>,
  file: string,
  options: ValidateOptions,
  afterEntries?: (validation: FileValidation) => void,
): Promise<FileReport> {
  const pass = await runPass(batches, file, options, afterEntries);
  return reportOf(pass);
}

/** What a validation pass leaves: the fold of its lines, their statistics and token tally, and how many lines it read. */
interface Pass {
  validation: FileValidation;
  stats: RecordStats;
  tally: TokenTally | undefined;
  figures: FigureTally;
  lines: number;
}

function reportOf(pass: Pass): FileReport {
  const report = pass.validation.finish(pass.stats, pass.figures);
  if (pass.tally) report.stats.tokens = pass.tally.finish();
  else report.stats.tokens = { method: "estimate", tokenizer: null, records: report.valid, total: report.stats.estimatedTokens };
  return report;
}

/**
 * What a pass does with each entry: parse, check, fold the outcome, count tokens, add to the figures. A method of
 * an object made per pass, not a closure made per pass: V8 compiles a new closure's code again, and a worker makes
 * a pass per byte range — each of its ranges after the first recompiled this hottest function with TurboFan.
 */
class RecordPass {
  constructor(
    private readonly stats: RecordStats,
    private readonly schemas: SchemaRegistry,
    private readonly duplicates: boolean,
    private readonly maxLineBytes: number,
    private readonly maxRecordBytes: number | undefined,
    private readonly tally: TokenTally | undefined,
    private readonly gather: boolean,
    private readonly figures: FigureTally,
  ) {}

  /**
   * The entries of a batch from `from` on. The loop over a batch's entries is here, not in the pass's async loop:
   * V8 optimises that loop where it runs (on-stack) and its code then meets the pass's end, which it never saw, and
   * is thrown away; once per pass — so at each byte range of a worker.
   */
  batch(v: FileValidation, batch: readonly Entry[], from: number): void {
    for (let i = from; i < batch.length; i++) this.process(v, batch[i]!);
  }

  process(v: FileValidation, entry: Entry): void {
    const stats = this.stats;
    const line = entry.line;
    v.current = line;
    if (line) v.lineFlags(line);
    // Not kept on the entry: a record then dies young, not with its batch (which the garbage collector would copy).
    const parsed = entry.parsed ?? parseLine(line, this.maxLineBytes);
    // The record's share of the estimate: what its validation adds to the text and message counts.
    const chars = stats.textChars;
    const messages = stats.messages;
    let outcome = validateParsed(parsed, v.format, stats, this.schemas, this.duplicates);
    if (outcome.errors > 0 && parsed.kind === "record") v.cross?.check(parsed.value, outcome.issues!);
    const maxRecordBytes = this.maxRecordBytes;
    if (maxRecordBytes !== undefined && parsed.kind !== "blank") {
      const size = line.length + 1;
      if (size > maxRecordBytes) outcome = withRecordTooLarge(outcome, size, maxRecordBytes);
    }
    v.outcome(entry, outcome);
    if (outcome.errors === 0 && parsed.kind === "record") {
      const tally = this.tally;
      const counted = tally ? countTokens(v, tally, entry, parsed.value) : undefined;
      if (!this.gather) {
        v.current = undefined;
        return;
      }
      const textChars = stats.textChars - chars;
      if (counted) this.figures.addRecord(parsed.value, v.format, counted.tokens, counted.trainable, textChars);
      else this.figures.addRecord(parsed.value, v.format, Math.ceil(textChars / 4) + 3 * (stats.messages - messages), undefined, textChars);
    }
    v.current = undefined;
  }
}

/**
 * A validation pass fed a batch of entries at a time: detects the format from the first records (bounded
 * look-ahead), then checks every entry with the per-line function and folds the outcomes in. `runPass` feeds it
 * from an async source, awaiting `onBatch` between batches; a small file read whole feeds it its one batch at once
 * (`smallFilePass`), with no async step per file.
 */
class PassRun {
  readonly stats: RecordStats = emptyStats();
  readonly tally: TokenTally | undefined;
  readonly figures: FigureTally;
  lines = 0;
  private validation: FileValidation | undefined;
  private readonly schemas: SchemaRegistry;
  private readonly target: TargetSpec;
  private readonly maxIssues: number;
  private readonly maxLineBytes: number;
  private readonly digests: DigestSet | undefined;
  private readonly duplicates: boolean;
  private readonly perRecord: RecordPass;
  private readonly head: Entry[] = [];
  private headRecords = 0;
  private headBytes = 0;

  constructor(
    private readonly file: string,
    private readonly options: ValidateOptions,
    private readonly partial: false | { rejected: boolean },
    /** The entries' bytes stay as they are for the whole pass (a small file read whole): the look-ahead keeps them uncopied. */
    private readonly stable: boolean,
  ) {
    this.schemas = schemaRegistry();
    this.target = targetOf(options);
    this.maxIssues = positiveInteger("maxIssues", options.maxIssues, DEFAULT_MAX_ISSUES);
    this.maxLineBytes = positiveInteger("maxLineBytes", options.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
    // A byte range's pass logs its valid records' digests for the merge, which looks them up in file order.
    this.digests = partial ? undefined : (options.digests ?? (options.duplicates ? new DigestSet() : undefined));
    this.duplicates = partial ? options.digests !== undefined || options.duplicates === true : this.digests !== undefined;
    this.tally = options.tokens ? new TokenTally(options.tokens) : undefined;
    this.figures = new FigureTally(options.tokens?.method ?? "estimate", options.tokens?.tokenizer ?? null, options.tokens?.maxTokens, this.duplicates);
    this.perRecord = new RecordPass(this.stats, this.schemas, this.duplicates, this.maxLineBytes, options.maxRecordBytes, this.tally, options.figures ?? true, this.figures);
    if (this.target.format !== "auto") this.validation = this.start(this.target.format);
  }

  private start(format: FormatId): FileValidation {
    const options = this.options;
    const partial = this.partial;
    const v = new FileValidation(this.file, format, this.maxIssues, options.onIssue, this.digests, options.onRecord);
    v.cross = new CrossProviderCheck(this.target, format, this.schemas, undefined, partial !== false);
    if (partial) {
      v.partial = true;
      if (this.duplicates) v.digestLog = new DigestLog();
      if (partial.rejected) v.rejectLog = { lines: [], codes: [] };
    }
    return v;
  }

  private settle(): FileValidation {
    const records = this.head.flatMap((e) => (e.parsed?.kind === "record" ? [e.parsed.value] : []));
    const format = this.target.format !== "auto" ? this.target.format : detectFormat(records, this.target.provider);
    const v = this.start(format);
    // Through the loop a large file's batches take: a small file's records are all in its look-ahead, and this loop,
    // hot from the first files on, is the one V8 optimises with the per-record work inlined.
    this.perRecord.batch(v, this.head, 0);
    this.head.length = 0;
    return v;
  }

  /** The next batch of entries, in order. */
  feed(batch: readonly Entry[]): void {
    this.lines += batch.length;
    let from = 0;
    while (this.validation === undefined && from < batch.length) {
      const entry = batch[from++]!;
      // Look-ahead for format detection: parse now (once), keep a copy of the bytes past this batch.
      const line = entry.line;
      // (Buffer.from copies at once; Uint8Array.from would iterate the bytes one by one.)
      const own: Entry = this.stable ? entry : { number: entry.number, line: { ...line, bytes: Buffer.from(line.bytes) }, ...(entry.parsed ? { parsed: entry.parsed } : {}) };
      own.parsed ??= parseLine(own.line, this.maxLineBytes);
      this.head.push(own);
      if (own.parsed.kind === "record") this.headRecords++;
      this.headBytes += line.length;
      if (this.headRecords >= DETECT_RECORDS || this.headBytes >= DETECT_BYTES) this.validation = this.settle();
    }
    if (this.validation !== undefined) this.perRecord.batch(this.validation, batch, from);
  }

  /** The pass once every entry is in (`afterEntries`: the file-level findings made after its last record). */
  end(afterEntries?: (validation: FileValidation) => void): Pass {
    const validation = (this.validation ??= this.settle());
    afterEntries?.(validation);
    return { validation, stats: this.stats, tally: this.tally, figures: this.figures, lines: this.lines };
  }
}

async function runPass(
  batches: AsyncIterable<Entry[]>,
  file: string,
  options: ValidateOptions,
  afterEntries?: (validation: FileValidation) => void,
  partial: false | { rejected: boolean } = false,
): Promise<Pass> {
  const run = new PassRun(file, options, partial, false);
  for await (const batch of batches) {
    options.signal?.throwIfAborted();
    run.feed(batch);
    await options.onBatch?.();
  }
  const pass = run.end(afterEntries);
  await options.onBatch?.();
  return pass;
}

async function* tap(chunks: AsyncIterable<Uint8Array>, see: (bytes: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    see(chunk);
    yield chunk;
  }
}

async function* lineEntries(lines: AsyncIterable<Line[]>): AsyncGenerator<Entry[]> {
  for await (const batch of lines) yield batch.map((line) => ({ number: line.number, line }));
}

/** A `.json` file holding one top-level array: element i is "line" i + 1, its source bytes the record's. */
async function jsonArrayPass(path: string, bytes: number, options: ValidateOptions, partial: false | { rejected: boolean }): Promise<Pass> {
  let failure: string | undefined;
  let elements = 0;
  const maxElementBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  async function* entries(): AsyncGenerator<Entry[]> {
    let chunks: AsyncIterable<Uint8Array> = readFileChunks(path, options.signal ? { signal: options.signal } : {});
    if (options.onChunk) chunks = tap(chunks, options.onChunk);
    for await (const items of readJsonArrayElements(chunks, { maxElementBytes })) {
      const batch: Entry[] = [];
      for (const item of items) {
        if (item.kind === "error") failure = item.message;
        else batch.push({ number: item.line.number, line: item.line });
      }
      elements += batch.length;
      if (batch.length > 0) yield batch;
    }
  }
  const pass = await runPass(entries(), options.label ?? path, options, (v) => {
    if (failure !== undefined) {
      v.issue(0, "E_JSON_ARRAY", "", `not a readable JSON array (after ${elements} element(s)): ${failure}`);
      v.unreadable = true;
    }
  }, partial);
  pass.validation.bytes = bytes;
  return pass;
}


/** How a file is read: its compression (from the options, else its name) and its layout (a `.json` array or JSONL). */
function readingOf(path: string, options: ValidateOptions): { compression: Compression | undefined; layout: "json-array" | "jsonl" } {
  const compression = options.compression === "none" ? undefined : (options.compression ?? compressionOf(path));
  const layout = options.layout ?? (compression === undefined && path.toLowerCase().endsWith(".json") ? "json-array" : "jsonl");
  return { compression, layout };
}

/** The one pass over a file (or, with `range`, over a byte range of a plain JSONL file). */
async function filePass(path: string, options: ValidateOptions, partial: false | { rejected: boolean }, range?: ByteRange): Promise<Pass> {
  const { compression, layout } = readingOf(path, options);
  // A whole plain local file is opened first and its size read from the open file: a small one is then read at once.
  const opened = range === undefined && compression === undefined && layout === "jsonl" && !isObjectUrl(path) ? readIfSmall(path, options.signal) : undefined;
  const size = opened?.size ?? (await fileSize(path, options.signal));
  if (layout === "json-array") return jsonArrayPass(path, size, options, partial);
  const first = range === undefined || range.start === 0;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let notText: string | undefined;
  const finishFile = (v: FileValidation): void => {
    // Nothing was read as lines: the size is the file's (a compressed file's text is what was looked at).
    if (notText !== undefined) notJsonl(v, notText, compression === undefined ? size : undefined);
    if (corrupt !== undefined) {
      v.issue(0, "E_DECOMPRESS", "", `${corrupt}; the ${v.records} record(s) before it were checked`);
      v.unreadable = true;
    }
  };
  let corrupt: string | undefined;
  if (opened?.bytes !== undefined) {
    const pass = smallFilePass(path, opened.bytes, opened.size, options, partial);
    await options.onBatch?.();
    return pass;
  }
  let chunks: AsyncIterable<Uint8Array> =
    range === undefined && size <= SMALL_FILE_BYTES && !isObjectUrl(path)
      ? wholeFile(path, options.signal)
      : // A part of a file (a pool's task) is read by synchronous reads: every core has a validating thread then, and a
        // pool thread's hand-off per chunk costs them CPU. One pass alone keeps its reads on the otherwise idle core.
        readFileChunks(path, { sync: partial !== false, ...(options.signal ? { signal: options.signal } : {}), ...(range ?? {}) });
  if (options.onChunk) chunks = tap(chunks, options.onChunk);
  // Line numbers and offsets are those of the decompressed text.
  if (compression !== undefined) chunks = untilCorrupt(decompress(chunks, compression), (message) => (corrupt = message));
  // A whole file's head is sniffed; a byte range's never is, even the first: the caller cut the file into ranges
  // because the file's head, sniffed over the same `SNIFF_BYTES` as one pass (`detectFileFormat`), was text.
  if (range === undefined) chunks = unlessBinary(chunks, (what) => (notText = what));
  return runPass(lineEntries(readLineBatches(chunks, { maxLineBytes, start: first })), options.label ?? path, options, finishFile, partial);
}

/** E_NOT_JSONL: the file's head is plainly not text (`what` it looks like); nothing of it was read as lines. */
function notJsonl(v: FileValidation, what: string, size: number | undefined): void {
  v.issue(0, "E_NOT_JSONL", "", `not JSONL: the file looks like ${what}`);
  v.unreadable = true;
  if (size !== undefined) v.bytes = size;
}

/**
 * A small plain file read whole (`readIfSmall`), validated in one synchronous step: split into lines at once and fed
 * to the pass as one batch — what `wholeFile`, `unlessBinary`, `readLineBatches`, `lineEntries` and `runPass` do
 * for a larger file, without an async generator, an `await` or a closure per file (a directory of 10 kB files spent
 * more in those, and in warming them up in each thread, than in its records). `onBatch` is not called.
 */
function smallFilePass(path: string, bytes: Buffer, size: number, options: ValidateOptions, partial: false | { rejected: boolean }): Pass {
  const run = new PassRun(options.label ?? path, options, partial, true);
  let notText: string | undefined;
  if (bytes.length > 0) {
    options.onChunk?.(bytes);
    notText = describeNonText(bytes);
    const lines = notText === undefined ? splitLines(bytes, { maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES }) : [];
    if (lines.length > 0) {
      options.signal?.throwIfAborted();
      // Built by push, not `lines.map`: the pass's code, optimised on the first files' arrays, was deoptimised (a
      // wrong map at its batch's length) after some hundreds of files made by `map`, and compiled again in every worker.
      const entries: Entry[] = [];
      for (let i = 0; i < lines.length; i++) entries.push({ number: lines[i]!.number, line: lines[i]! });
      run.feed(entries);
    }
  }
  return notText === undefined ? run.end() : run.end((v) => notJsonl(v, notText!, size));
}

/**
 * Validates a whole plain local JSONL file of at most 256 KiB (`SMALL_FILE_BYTES`) in one synchronous step: the
 * report `validateFile` gives, without an async step per file (`onBatch` is not called). Undefined when the file is
 * larger, compressed, a `.json` array or an object-storage URL: `validateFile` validates those. For workers that
 * validate batches of small files one after the other.
 */
export function validateSmallFile(path: string, options: ValidateOptions = {}): FileReport | undefined {
  const { compression, layout } = readingOf(path, options);
  if (options.range !== undefined || compression !== undefined || layout !== "jsonl" || isObjectUrl(path)) return undefined;
  const opened = readIfSmall(path, options.signal);
  return opened.bytes === undefined ? undefined : reportOf(smallFilePass(path, opened.bytes, opened.size, options, false));
}

/**
 * The format one pass over a plain JSONL file would detect, from the same look-ahead (the first `DETECT_RECORDS`
 * records or `DETECT_BYTES` bytes of lines); undefined when the file's head is not text (then it goes whole to
 * one pass, which says so). For validating byte ranges apart: each must know the format before it starts.
 */
export async function detectFileFormat(path: string, options: ValidateOptions): Promise<FormatId | undefined> {
  const target = targetOf(options);
  const maxLineBytes = positiveInteger("maxLineBytes", options.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
  let notText = false;
  const chunks = unlessBinary(readFileChunks(path, options.signal ? { signal: options.signal } : {}), () => (notText = true));
  const records: Record<string, unknown>[] = [];
  let bytes = 0;
  look: for await (const batch of readLineBatches(chunks, { maxLineBytes })) {
    for (const line of batch) {
      const parsed = parseLine(line, maxLineBytes);
      if (parsed.kind === "record") records.push(parsed.value);
      bytes += line.length;
      if (records.length >= DETECT_RECORDS || bytes >= DETECT_BYTES) break look;
    }
  }
  if (notText) return undefined;
  return target.format !== "auto" ? target.format : detectFormat(records, target.provider);
}

/**
 * Files up to this size are read in one synchronous call: a directory of many small files would otherwise spend
 * more time in the round trips of opening, reading and closing each through the thread pool than in validating.
 */
const SMALL_FILE_BYTES = 256 * 1024;

/**
 * A local file's size, from the file once open (an `fstat`, not a `stat` by name: one path lookup per file, not
 * two), and its bytes when it is at most `SMALL_FILE_BYTES`. Errors as `fileSize` and `readFileSync` give them.
 */
function readIfSmall(path: string, signal: AbortSignal | undefined): { size: number; bytes?: Buffer } {
  signal?.throwIfAborted();
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    if (info.size > SMALL_FILE_BYTES) return { size: info.size };
    // A size of 0 may be a pipe or a /proc file: read those to their end.
    if (info.size === 0) return { size: 0, bytes: readFileSync(fd) };
    const bytes = Buffer.allocUnsafe(info.size);
    let filled = 0;
    for (let n = -1; filled < bytes.length && n !== 0; filled += n) n = readSync(fd, bytes, filled, bytes.length - filled, null);
    return { size: info.size, bytes: filled === bytes.length ? bytes : bytes.subarray(0, filled) };
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  } finally {
    closeSync(fd);
  }
}

async function* wholeFile(path: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  signal?.throwIfAborted();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  if (bytes.length > 0) yield bytes;
}

/**
 * Validates one dataset file: JSONL line by line, or a `.json` file holding one array, element by element.
 * Memory stays flat whatever the file's size. Throws `FileSystemError` when the file cannot be read; every
 * problem of the data itself is an issue in the returned report.
 */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<FileReport> {
  return reportOf(await filePass(path, options, false, options.range));
}

/**
 * What validating a part of a file leaves for the merge that makes the file's report out of its parts (see
 * `mergeRanges`): plain data, so a worker thread can send it. Line numbers are the part's own, from 1.
 */
export interface RangeResult {
  format: FormatId;
  /** The part's first byte in the file (its lines' offsets count from there). */
  start: number;
  /** Lines read (blank ones included): the next part's line 1 is the file's line `lines + 1` after this one's. */
  lines: number;
  records: number;
  valid: number;
  invalid: number;
  bytes: number;
  errors: number;
  warnings: number;
  blankLines: number;
  counts: Record<string, number>;
  /** The first issues of each code, up to the limit, in order. */
  kept: RangeIssue[];
  /** The line of this part's W_CRLF, or 0. */
  crlfLine: number;
  /** The file's structure could not be read (E_NOT_JSONL, E_DECOMPRESS, E_JSON_ARRAY). */
  unreadable: boolean;
  stats: StatsSnapshot;
  figures: FigureSnapshot;
  cross: CrossSnapshot;
  tally?: TallySnapshot;
  /** With duplicates looked for: each valid record's line and digest (16 bytes each), in order. */
  digests?: { lines: Uint32Array; bytes: Uint8Array; spans: Float64Array };
  /** When asked (`prepare`): each invalid record's line and its distinct error codes (comma-separated), in order. */
  rejected?: { lines: number[]; codes: string[] };
}

/**
 * Validates a part of a file for a merge: a byte range of a plain JSONL file (`range`, at line boundaries; with
 * `options.format` set, since detection looks at the file's head), or the whole file (compressed, `.json`). Issues
 * go to `options.onIssue` with the part's line numbers; duplicates are looked up at the merge, not here.
 */
export async function validateRange(path: string, range: ByteRange | undefined, options: ValidateOptions, want: { rejected?: boolean } = {}): Promise<RangeResult> {
  const pass = await filePass(path, options, { rejected: want.rejected === true }, range);
  return { ...pass.validation.rangeResult(pass.stats, pass.tally, pass.figures, pass.lines), start: range?.start ?? 0 };
}

/**
 * The report of a file validated in parts, each `validateRange`'s, in file order: exactly the report one pass
 * gives (see `FileValidation.absorb`). `logs[i]`, when given, replays part i's issues in order for `onIssue`.
 */
export async function mergeRanges(
  parts: readonly (RangeResult | Promise<RangeResult>)[],
  options: ValidateOptions & {
    label: string;
    /** The plain JSONL file the ranges are of: kept W_DUPLICATE examples' snippets are read back from it. */
    source?: string;
    onRejected?: (line: number, duplicate: boolean, errorCodes: readonly IssueCode[]) => void;
  },
  logs?: readonly (AsyncIterable<RangeIssue> | undefined)[],
): Promise<FileReport> {
  const target = targetOf(options);
  const maxIssues = positiveInteger("maxIssues", options.maxIssues, DEFAULT_MAX_ISSUES);
  const digests = options.digests ?? (options.duplicates ? new DigestSet() : undefined);
  const stats = emptyStats();
  const tally = options.tokens ? new TokenTally(options.tokens) : undefined;
  const figures = new FigureTally(options.tokens?.method ?? "estimate", options.tokens?.tokenizer ?? null, options.tokens?.maxTokens, digests !== undefined);
  let v: FileValidation | undefined;
  let offset = 0;
  let fd: number | undefined;
  const source = options.source;
  const readLine = source === undefined ? undefined : (at: number, length: number): string => {
    fd ??= openSync(source, "r");
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, at);
    return buffer.toString("utf8");
  };
  try {
  // Each part is folded in as soon as it and those before it are done, while later ones may still be running.
  for (const [i, pending] of parts.entries()) {
    const part = await pending;
    options.signal?.throwIfAborted();
    if (!v) {
      v = new FileValidation(options.label, part.format, maxIssues, options.onIssue, digests, undefined);
      // The merge re-checks no record: the registry (and its schema compilation) is never needed here.
      v.cross = new CrossProviderCheck(target, part.format, NO_SCHEMAS);
      v.onRejected = options.onRejected;
    }
    await v.absorb(part, offset, logs?.[i], options.onBatch, readLine);
    mergeStats(stats, part.stats);
    if (tally && part.tally) tally.absorb(part.tally, offset);
    figures.absorb(part.figures);
    if (part.unreadable) v.unreadable = true;
    offset += part.lines;
    await options.onBatch?.();
  }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (!v) throw new TypeError("Expected at least one part to merge");
  return reportOf({ validation: v, stats, tally, figures, lines: offset });
}

/** Ends the stream where the compressed data turns out to be invalid, and says why (a finding, not a failure). */
async function* untilCorrupt(chunks: AsyncIterable<Uint8Array>, onCorrupt: (message: string) => void): AsyncGenerator<Uint8Array> {
  try {
    yield* chunks;
  } catch (error) {
    if (!(error instanceof CorruptInputError)) throw error;
    onCorrupt(error.message);
  }
}

/**
 * Looks at the first `SNIFF_BYTES` before anything is read as lines: a file that is plainly not text ends the
 * stream at once, with what it looks like, instead of becoming one E_UTF8 per "line".
 */
async function* unlessBinary(chunks: AsyncIterable<Uint8Array>, onBinary: (what: string) => void): AsyncGenerator<Uint8Array> {
  let head: Uint8Array | undefined;
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      // A first chunk long enough is judged as it is; shorter ones are copied (the reader reuses its buffers).
      head = head === undefined && next.value.length >= SNIFF_BYTES ? next.value : Buffer.concat([head ?? new Uint8Array(0), next.value]);
      if (head.length >= SNIFF_BYTES) break;
    }
    if (head === undefined) return;
    const what = describeNonText(head);
    if (what !== undefined) {
      onBinary(what);
      return;
    }
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/**
 * One unit for `validateItems`: a line (parsed by the validator), an already-parsed value, or both — then the value
 * is what is checked and the line's bytes are what `onRecord` sees as `raw` (a record parsed once, copied as read).
 * A value without a line is serialised once, as its line.
 */
export interface ValidateItem {
  number: number;
  line?: Line;
  value?: Record<string, unknown>;
}

/**
 * Validates batches of items (lines and/or parsed records) from any async source, a batch at a time: for producers
 * that parse or build records themselves (`fix`, `convert`) and should not pay a second parse or a hand-off per
 * record. Line numbers are the items' own. Returns the same report as `validateFile`.
 */
export async function validateItems(batches: AsyncIterable<readonly ValidateItem[]>, options: ValidateOptions = {}): Promise<FileReport> {
  async function* entries(): AsyncGenerator<Entry[]> {
    for await (const batch of batches) {
      yield batch.map((item): Entry => {
        let line = item.line;
        if (line === undefined) {
          const bytes = Buffer.from(JSON.stringify(item.value ?? null), "utf8");
          line = { number: item.number, offset: 0, bytes, length: bytes.length, terminator: "\n", bom: false, tooLong: false };
        }
        return item.value !== undefined ? { number: item.number, line, parsed: { kind: "record", value: item.value } } : { number: item.number, line };
      });
    }
  }
  return validateEntries(entries(), options.label ?? "<input>", options);
}

/**
 * Validates lines from any async source: strings or byte arrays (one line each, numbered from 1, as if each ended
 * with `\n`), or `Line` objects from `readLines`. Returns the same report as `validateFile`.
 */
export async function validateLines(
  source: AsyncIterable<string | Uint8Array | Line> | Iterable<string | Uint8Array | Line>,
  options: ValidateOptions = {},
): Promise<FileReport> {
  async function* entries(): AsyncGenerator<Entry[]> {
    let number = 0;
    let offset = 0;
    for await (const item of source) {
      number++;
      let line: Line;
      if (typeof item === "string" || item instanceof Uint8Array) {
        const bytes = typeof item === "string" ? Buffer.from(item, "utf8") : item;
        line = { number, offset, bytes, length: bytes.length, terminator: "\n", bom: false, tooLong: false };
        if (options.maxLineBytes !== undefined && bytes.length > options.maxLineBytes) line = { ...line, bytes: new Uint8Array(0), tooLong: true };
      } else {
        line = item;
        number = item.number;
      }
      offset += line.length + line.terminator.length;
      yield [{ number, line }];
    }
  }
  return validateEntries(entries(), options.label ?? "<input>", options);
}
