import { stat } from "node:fs/promises";
import { FileSystemError } from "../errors.js";
import { readFileChunks } from "../read/file.js";
import { readJsonArrayElements } from "../read/json-array.js";
import { DEFAULT_MAX_LINE_BYTES, type Line, readLineBatches } from "../read/lines.js";
import { describeNonText, SNIFF_BYTES } from "../read/sniff.js";
import { type Compression, compressionOf, CorruptInputError, decompress } from "../read/source.js";
import { OPENAI } from "../target/openai.js";
import { targetOf, type TargetSpec } from "../target/target-spec.js";
import type { FormatId, Issue, ProviderName, Severity } from "../types.js";
import { ISSUE_CODES, type IssueCode } from "./codes.js";
import { DigestSet } from "./digest-set.js";
import { CrossProviderCheck, type ProviderHint } from "./cross-provider.js";
import { type LineOutcome, parseLine, type ParsedLine, validateParsed } from "./line.js";
import { detectFormat } from "./record.js";
import { schemaRegistry } from "./schema-registry.js";
import { emptyStats, estimateTokens, type RecordStats } from "./stats.js";
import { type EstimatedTokenStats, type TokenHook, type TokenStats, TokenTally } from "./token-stats.js";
import { FigureTally, type Figures, type RecordTokens } from "./figures.js";
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
  format: FormatId;
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
    } else {
      if (outcome.digest && this.digests && !this.digests.add(outcome.digest)) {
        duplicate = true;
        this.issue(number, "W_DUPLICATE", "", "the record is identical to an earlier record");
      }
      this.valid++;
    }
    if (this.onRecord) {
      const errorCodes = outcome.errors > 0 ? [...new Set(outcome.issues!.filter((d) => ISSUE_CODES[d.code].severity === "error").map((d) => d.code))] : [];
      this.onRecord({ line: number, raw: rawOf(entry), terminator: entry.line.terminator, valid: outcome.errors === 0, duplicate, errorCodes });
    }
  }

  /** Set when the file's structure could not be read (E_JSON_ARRAY): "no records" would only repeat it. */
  unreadable = false;

  finish(stats: RecordStats, figures: FigureTally): FileReport {
    if (this.records === 0 && !this.unreadable) {
      this.issue(0, "E_FILE_EMPTY", "", "the file holds no records");
    }
    const fileStats: FileStats = {
      messagesByRole: { ...stats.messagesByRole },
      toolCallRecords: stats.toolCallRecords,
      imageRecords: stats.imageRecords,
      estimatedTokens: estimateTokens(stats),
    };
    if (this.format === "mistral-classifier") fileStats.labels = stats.labels;
    const hints = this.cross?.hints(this.invalid) ?? [];
    return {
      path: this.file,
      format: this.format,
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

/** A record's bytes as read (a `.json` array element's source text, whitespace outside strings dropped). */
function rawOf(entry: Entry): Uint8Array {
  return entry.line.bytes;
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
  const schemas = schemaRegistry();
  const target = targetOf(options);
  const maxIssues = positiveInteger("maxIssues", options.maxIssues, DEFAULT_MAX_ISSUES);
  const maxLineBytes = positiveInteger("maxLineBytes", options.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
  const digests = options.digests ?? (options.duplicates ? new DigestSet() : undefined);
  const duplicates = digests !== undefined;
  const maxRecordBytes = options.maxRecordBytes;
  const stats = emptyStats();
  let validation: FileValidation | undefined;
  const start = (format: FormatId): FileValidation => {
    const v = new FileValidation(file, format, maxIssues, options.onIssue, digests, options.onRecord);
    v.cross = new CrossProviderCheck(target, format, schemas);
    return v;
  };

  const tally = options.tokens ? new TokenTally(options.tokens) : undefined;
  const gather = options.figures ?? true;
  const figures = new FigureTally(options.tokens?.method ?? "estimate", options.tokens?.tokenizer ?? null, options.tokens?.maxTokens, duplicates);
  const process = (v: FileValidation, entry: Entry): void => {
    const line = entry.line;
    v.current = line;
    if (line) v.lineFlags(line);
    const parsed = (entry.parsed ??= parseLine(line, maxLineBytes));
    // The record's share of the estimate: what its validation adds to the text and message counts.
    const chars = stats.textChars;
    const messages = stats.messages;
    let outcome = validateParsed(parsed, v.format, stats, schemas, duplicates);
    if (outcome.errors > 0 && parsed.kind === "record") v.cross?.check(parsed.value, outcome.issues!);
    if (maxRecordBytes !== undefined && parsed.kind !== "blank") {
      const size = line.length + 1;
      if (size > maxRecordBytes) outcome = withRecordTooLarge(outcome, size, maxRecordBytes);
    }
    v.outcome(entry, outcome);
    if (outcome.errors === 0 && parsed.kind === "record") {
      const counted = tally ? countTokens(v, tally, entry, parsed.value) : undefined;
      if (!gather) {
        v.current = undefined;
        return;
      }
      const textChars = stats.textChars - chars;
      const record: RecordTokens = counted
        ? { tokens: counted.tokens, trainable: counted.trainable, chars: textChars }
        : { tokens: Math.ceil(textChars / 4) + 3 * (stats.messages - messages), trainable: undefined, chars: textChars };
      figures.add(parsed.value, v.format, record);
    }
    v.current = undefined;
  };

  const head: Entry[] = [];
  let headRecords = 0;
  let headBytes = 0;
  const settle = (): FileValidation => {
    const records = head.flatMap((e) => (e.parsed?.kind === "record" ? [e.parsed.value] : []));
    const format = target.format !== "auto" ? target.format : detectFormat(records, target.provider);
    const v = start(format);
    for (const entry of head) process(v, entry);
    head.length = 0;
    return v;
  };
  if (target.format !== "auto") validation = start(target.format);

  for await (const batch of batches) {
    options.signal?.throwIfAborted();
    for (const entry of batch) {
      if (validation) {
        process(validation, entry);
        continue;
      }
      // Look-ahead for format detection: parse now (once), keep a copy of the bytes past this batch.
      const line = entry.line;
      const own: Entry = { number: entry.number, line: { ...line, bytes: Uint8Array.from(line.bytes) }, ...(entry.parsed ? { parsed: entry.parsed } : {}) };
      own.parsed ??= parseLine(own.line, maxLineBytes);
      head.push(own);
      if (own.parsed.kind === "record") headRecords++;
      headBytes += line.length;
      if (headRecords >= DETECT_RECORDS || headBytes >= DETECT_BYTES) validation = settle();
    }
    await options.onBatch?.();
  }
  validation ??= settle();
  afterEntries?.(validation);
  const report = validation.finish(stats, figures);
  if (tally) report.stats.tokens = tally.finish();
  else report.stats.tokens = { method: "estimate", tokenizer: null, records: report.valid, total: report.stats.estimatedTokens };
  await options.onBatch?.();
  return report;
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

/** Validates a `.json` file holding one top-level array: element i is "line" i + 1, its source bytes the record's. */
async function validateJsonArrayFile(path: string, bytes: number, options: ValidateOptions): Promise<FileReport> {
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
  const report = await validateEntries(entries(), options.label ?? path, options, (v) => {
    if (failure !== undefined) {
      v.issue(0, "E_JSON_ARRAY", "", `not a readable JSON array (after ${elements} element(s)): ${failure}`);
      v.unreadable = true;
    }
  });
  report.bytes = bytes;
  return report;
}

/**
 * Validates one dataset file: JSONL line by line, or a `.json` file holding one array, element by element.
 * Memory stays flat whatever the file's size. Throws `FileSystemError` when the file cannot be read; every
 * problem of the data itself is an issue in the returned report.
 */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<FileReport> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    size = info.size;
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  const compression = options.compression === "none" ? undefined : (options.compression ?? compressionOf(path));
  const layout = options.layout ?? (compression === undefined && path.toLowerCase().endsWith(".json") ? "json-array" : "jsonl");
  if (layout === "json-array") return validateJsonArrayFile(path, size, options);
  let chunks: AsyncIterable<Uint8Array> = readFileChunks(path, options.signal ? { signal: options.signal } : {});
  if (options.onChunk) chunks = tap(chunks, options.onChunk);
  // Line numbers and offsets are those of the decompressed text.
  let corrupt: string | undefined;
  if (compression !== undefined) chunks = untilCorrupt(decompress(chunks, compression), (message) => (corrupt = message));
  let notText: string | undefined;
  chunks = unlessBinary(chunks, (what) => (notText = what));
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  return validateEntries(lineEntries(readLineBatches(chunks, { maxLineBytes })), options.label ?? path, options, (v) => {
    if (notText !== undefined) {
      v.issue(0, "E_NOT_JSONL", "", `not JSONL: the file looks like ${notText}`);
      v.unreadable = true;
    }
    if (corrupt !== undefined) {
      v.issue(0, "E_DECOMPRESS", "", `${corrupt}; the ${v.records} record(s) before it were checked`);
      v.unreadable = true;
    }
  });
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
