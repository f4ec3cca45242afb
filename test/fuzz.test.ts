import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FormatId } from "../src/types.js";
import { type FileReport, validateFile, validateLines } from "../src/validate/file.js";
import { ParallelValidation } from "../src/workers/validate.js";
import { useTempDir } from "./helpers/temp.js";

/**
 * Fuzzing the validator and the `.json` conversion: mutated valid records, deep and wide values, random bytes.
 * Never a throw, never a crash, and the same report from every way of validating the same bytes. Seeded and
 * bounded by a number of runs, so a run is repeatable and takes a few seconds; a failure prints the seed and the
 * shrunk counterexample.
 */

const SEED = 20261201;
const tmp = useTempDir("fuzz", "all");
const root = join(import.meta.dirname, "..", "fixtures");

/** Every line of the valid fixtures: the records the mutations start from. */
const validRecords: string[] = readdirSync(join(root, "valid"))
  .filter((name) => name.endsWith(".jsonl"))
  .flatMap((name) => readFileSync(join(root, "valid", name), "utf8").split("\n"))
  .filter((line) => line.trim() !== "");
const FORMATS: (FormatId | "auto")[] = ["auto", "mistral-chat", "mistral-pretrain", "mistral-classifier", "openai-chat", "openai-dpo"];

/**
 * The ways of validating one sequence of lines; each must give the same report. Written to a file, the lines are
 * also validated by one thread and by 2 worker threads (`validateEveryWay`), which must agree.
 */
const VALIDATORS: { name: string; validate: (lines: Uint8Array[], format: FormatId | "auto", duplicates: boolean) => Promise<FileReport> }[] = [
  { name: "1 worker", validate: (lines, format, duplicates) => validateLines(lines, { format, duplicates, maxLineBytes: 1 << 20 }) },
];

/** Two worker threads for the whole file, cutting files into byte ranges of at most 256 bytes: a cut every few lines. */
let parallel: ParallelValidation;
beforeAll(async () => {
  parallel = await ParallelValidation.open(2, { rangeBytes: 256 });
});
afterAll(async () => {
  await parallel.close();
});

async function validateEveryWay(lines: Uint8Array[], format: FormatId | "auto", duplicates: boolean): Promise<FileReport> {
  const [first, ...others] = await Promise.all(VALIDATORS.map((v) => v.validate(lines, format, duplicates)));
  for (const [i, report] of others.entries()) expect(report, VALIDATORS[i + 1]!.name).toEqual(first);
  // The same lines as a file: one thread, and 2 workers on its byte ranges, give the same report.
  const path = join(tmp(), "lines.jsonl");
  const data = Buffer.concat(lines.flatMap((line) => [line, bytes("\n")]));
  await writeFile(path, data);
  const options = { format, duplicates, maxLineBytes: 1 << 20 };
  const oneThread = await validateFile(path, options);
  const finish = await parallel.start({ path, bytes: data.length, layout: "jsonl" }, options);
  expect(await finish(), "2 workers").toEqual(oneThread);
  // The report is consistent with itself whatever the input.
  expect(first!.records).toBe(first!.valid + first!.invalid);
  expect(first!.records + first!.blankLines).toBe(lines.length);
  return first!;
}

const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");

/** One edit of a byte string: flip, insert, delete, duplicate a slice, truncate. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom("{", "}", "[", "]", '"', "\\", ",", ":", "\u0000", "\u001b", "\ud800", "1e400", "-0", "null", "\\u0000", "\\ud800", "é") }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("repeat" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }), times: fc.integer({ min: 2, max: 300 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(source: Uint8Array, edits: Mutation[]): Uint8Array {
  let b = Buffer.from(source);
  for (const edit of edits) {
    const at = b.length === 0 ? 0 : edit.at % (b.length + 1);
    if (edit.kind === "flip" && b.length > 0) b[at % b.length] = edit.value;
    else if (edit.kind === "insert") b = Buffer.concat([b.subarray(0, at), Buffer.from(edit.text, "utf8"), b.subarray(at)]);
    else if (edit.kind === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + edit.length)]);
    else if (edit.kind === "repeat") b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: edit.times }, () => b.subarray(at, at + edit.length)), b.subarray(at)]);
    else if (edit.kind === "truncate") b = b.subarray(0, at);
  }
  return b;
}

const mutatedRecord = fc.tuple(fc.constantFrom(...validRecords), fc.array(mutation, { maxLength: 6 })).map(([record, edits]) => mutate(bytes(record), edits));
/** A valid record carrying a deep or wide value where a rule, the schema pass or the digest walks. */
const heavyRecord = fc
  .tuple(
    fc.constantFrom(...validRecords),
    fc.constantFrom("tools", "extra", "content", "parameters"),
    fc.oneof(
      fc.integer({ min: 100, max: 6000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
      fc.integer({ min: 50, max: 3000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
      fc.integer({ min: 1000, max: 120_000 }).map((n) => `[${"{},".repeat(n)}{}]`),
    ),
  )
  .map(([record, key, value]) => {
    const text = key === "parameters"
      ? record.replace(/"parameters":/, `"parameters":{"type":"object","properties":{"a":${value}}},"was":`)
      : record.replace(/}\s*$/, `,"${key}":${value}}`);
    return bytes(text);
  });
const randomBytes = fc.uint8Array({ maxLength: 600 });
const jsonValueRecord = fc.jsonValue({ maxDepth: 6 }).map((value) => bytes(JSON.stringify(value) ?? "null"));
const anyLine = fc.oneof({ weight: 5, arbitrary: mutatedRecord }, { weight: 1, arbitrary: heavyRecord }, { weight: 2, arbitrary: randomBytes }, { weight: 2, arbitrary: jsonValueRecord });
/** Lines as a reader gives them: no `\n` inside (a `\r` at the end may stay: a CRLF file's line). */
const lineOf = (b: Uint8Array): Uint8Array => Buffer.from(b).filter((x) => x !== 0x0a);

describe("fuzz (seeded)", () => {
  it("validates any lines without throwing, with the same report every way", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyLine, { minLength: 1, maxLength: 12 }), fc.constantFrom(...FORMATS), fc.boolean(), async (lines, format, duplicates) => {
        await validateEveryWay(lines.map(lineOf), format, duplicates);
      }),
      { seed: SEED, numRuns: 250 },
    );
    // Each run also writes a file and validates it twice (one thread, two workers): bounded by runs, not by time.
  }, 120_000);

  it("reads any bytes as a .json file without throwing", async () => {
    const path = join(tmp(), "any.json");
    const content = fc.oneof(
      randomBytes,
      fc.array(anyLine, { maxLength: 8 }).map((elements) => Buffer.concat([bytes("["), ...elements.flatMap((e, i) => (i === 0 ? [e] : [bytes(","), e])), bytes("]")])),
      fc.tuple(fc.array(jsonValueRecord, { maxLength: 8 }), fc.array(mutation, { maxLength: 4 })).map(([elements, edits]) => mutate(bytes(`[${elements.map((e) => Buffer.from(e).toString()).join(",")}]`), edits)),
    );
    await fc.assert(
      fc.asyncProperty(content, fc.boolean(), async (data, duplicates) => {
        await writeFile(path, data);
        const report = await validateFile(path, { duplicates, onRecord: () => undefined });
        expect(report.records).toBe(report.valid + report.invalid);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it("converts a .json array to exactly its elements' text: the same report and records as those elements as JSONL", async () => {
    const jsonPath = join(tmp(), "elements.json");
    const linesPath = join(tmp(), "elements.jsonl");
    // Elements as JSON text with no raw newline (what JSON.stringify writes), some of them mutated into bad JSON.
    const element = fc.oneof(
      jsonValueRecord,
      fc.constantFrom(...validRecords).map((record) => bytes(JSON.stringify(JSON.parse(record)))),
      fc.constantFrom("1e400", "12345678901234567890123", "-0", "1.0", '"\\ud800"', '{"a":1,"a":2}', "[]").map(bytes),
      mutatedRecord.filter((b) => !b.includes(0x0a) && !b.includes(0x0d) && !b.includes(0) && balanced(b)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(element, { minLength: 1, maxLength: 10 }), async (elements) => {
        const texts = elements.map((e) => Buffer.from(e));
        await writeFile(jsonPath, Buffer.concat([bytes("[\n  "), ...texts.flatMap((t, i) => (i === 0 ? [t] : [bytes(",\n  "), t])), bytes("\n]\n")]));
        await writeFile(linesPath, Buffer.concat(texts.flatMap((t) => [t, bytes("\n")])));
        const fromJson: Buffer[] = [];
        const fromLines: Buffer[] = [];
        const a = await validateFile(jsonPath, { onRecord: (r) => fromJson.push(Buffer.from(r.raw)) });
        const b = await validateFile(linesPath, { onRecord: (r) => fromLines.push(Buffer.from(r.raw)) });
        // A .jsonl file whose first bytes look binary is refused whole (E_NOT_JSONL): no line to compare with.
        fc.pre(b.counts.E_NOT_JSONL === undefined);
        expect(fromJson).toEqual(fromLines);
        expect({ ...a, path: "", bytes: 0 }).toEqual({ ...b, path: "", bytes: 0 });
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

/**
 * Whether an element's text keeps the array's structure: brackets balanced and strings closed outside strings,
 * and no whitespace outside strings (the conversion drops it; a JSONL line keeps it), so its `,` and `]` belong to it.
 */
function balanced(b: Uint8Array): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (--depth < 0) return false;
    } else if (depth === 0 && c === 0x2c) return false;
    else if (c === 0x20 || c === 0x09) return false;
  }
  return depth === 0 && !inString && b.length > 0;
}
