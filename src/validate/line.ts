import { isUtf8 } from "node:buffer";
import { hash } from "node:crypto";
import { isBlankLine, type Line } from "../read/lines.js";
import type { FormatId } from "../types.js";
import { describeType, Findings, type IssueDraft, isObject } from "./findings.js";
import { describeJsonError } from "./json-error.js";
import { checkRecord } from "./record.js";
import type { SchemaRegistry } from "./schema-registry.js";
import type { RecordStats } from "./stats.js";
import { checkStructure } from "./structure.js";

/**
 * The per-line work: a pure function of (line bytes, line number, format). It touches no shared state but the
 * additive stats, so byte ranges of one file can be validated apart and merged, in order, into the single-pass
 * report (the duplicate check, which needs earlier records, happens at the merge: see FileValidation).
 */

/** What a line is once read: a blank line, a line that is not a JSON object (with its issues), or a record. */
export type ParsedLine =
  | { kind: "blank"; issues: IssueDraft[] }
  | { kind: "invalid"; issues: IssueDraft[] }
  | { kind: "record"; value: Record<string, unknown> };

/** The outcome of validating one line. */
export interface LineOutcome {
  /** A record (anything but a blank line). */
  record: boolean;
  /** Error issues of this line. */
  errors: number;
  issues: IssueDraft[] | undefined;
  /** Digest of the normalised record (16 latin1 characters), for the duplicate check; only for records without errors. */
  digest: string | undefined;
}

const BLANK: LineOutcome = Object.freeze({ record: false, errors: 0, issues: undefined, digest: undefined });
/** The outcome of most lines: shared, so a clean record allocates no outcome. */
const CLEAN: LineOutcome = Object.freeze({ record: true, errors: 0, issues: undefined, digest: undefined });

/** Byte index of the first invalid UTF-8 sequence (only called once a line is known to be invalid). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Reads one line: blank, not a JSON object, or a record. */
export function parseLine(line: Line, maxLineBytes: number): ParsedLine {
  if (line.tooLong) {
    return {
      kind: "invalid",
      issues: [{ code: "E_LINE_TOO_LONG", path: "", message: `the line is ${line.length} bytes, longer than the maximum of ${maxLineBytes}; skipped` }],
    };
  }
  const bytes = line.bytes;
  if (isBlankLine(bytes)) {
    return { kind: "blank", issues: [{ code: "W_BLANK_LINE", path: "", message: "blank line (skipped)" }] };
  }
  // The line reader's bytes are Buffers already: decoding them needs no wrapper object per line.
  const text = Buffer.isBuffer(bytes) ? bytes.toString("utf8") : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8");
  // The decoder puts U+FFFD for every invalid sequence, so a text without one came from valid UTF-8: the search is
  // all a line costs (none at all on a one-byte string), where a validation of the bytes is a binding call per line.
  if (text.indexOf("\uFFFD") !== -1 && !isUtf8(bytes)) {
    return {
      kind: "invalid",
      issues: [{ code: "E_UTF8", path: "", message: `the line is not valid UTF-8 (first bad byte at column ${firstInvalidUtf8(bytes) + 1})` }],
    };
  }
  const tooComplex = checkStructure(bytes, text);
  if (tooComplex !== undefined) return { kind: "invalid", issues: [tooComplex] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: "invalid", issues: [{ code: "E_JSON", path: "", message: describeJsonError(text, error as Error) }] };
  }
  if (!isObject(value)) {
    return { kind: "invalid", issues: [{ code: "E_NOT_OBJECT", path: "", message: `a record must be a JSON object, got ${describeType(value)}` }] };
  }
  return { kind: "record", value };
}

/** Validates a parsed line against a format. */
export function validateParsed(
  parsed: ParsedLine,
  format: FormatId,
  stats: RecordStats,
  schemas: SchemaRegistry,
  digests: boolean,
): LineOutcome {
  if (parsed.kind === "blank") return { ...BLANK, issues: parsed.issues };
  if (parsed.kind === "invalid") return { record: true, errors: parsed.issues.length, issues: parsed.issues, digest: undefined };
  return validateRecordValue(parsed.value, format, stats, schemas, digests);
}

const SCRATCH = new Findings();

/** Validates one already-parsed record (a JSON line's or a `.json` array element's). */
export function validateRecordValue(
  value: Record<string, unknown>,
  format: FormatId,
  stats: RecordStats,
  schemas: SchemaRegistry,
  digests: boolean,
): LineOutcome {
  // One collector for every record (an outcome keeps the issues array, never the collector).
  const findings = SCRATCH;
  findings.issues = undefined;
  findings.errors = 0;
  checkRecord(value, format, findings, stats, schemas);
  // Normalised = re-serialised: insignificant whitespace and escapes no longer tell two records apart.
  if (findings.issues === undefined && !digests) return CLEAN;
  const digest = digests && findings.errors === 0 ? hash("md5", JSON.stringify(value), "binary") : undefined;
  return { record: true, errors: findings.errors, issues: findings.issues, digest };
}

/** Validates one line: the pure per-line function. */
export function validateLine(
  line: Line,
  format: FormatId,
  stats: RecordStats,
  schemas: SchemaRegistry,
  options: { maxLineBytes: number; digests: boolean },
): LineOutcome {
  return validateParsed(parseLine(line, options.maxLineBytes), format, stats, schemas, options.digests);
}
