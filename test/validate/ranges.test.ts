import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Issue } from "../../src/types.js";
import { lineRanges, type ByteRange } from "../../src/read/ranges.js";
import { detectFileFormat, type FileReport, mergeRanges, type RangeIssue, type RangeResult, validateFile, validateRange, type ValidateOptions } from "../../src/validate/file.js";
import { mixedData } from "../helpers/mixed-data.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * A file validated in byte ranges, each apart, then merged, gives exactly the report of one pass: checked in
 * process (no worker threads) at every line boundary of small generated files, so each kind of line meets a cut.
 */

const tmp = useTempDir("ranges", "all");

async function* replay(issues: RangeIssue[]): AsyncGenerator<RangeIssue> {
  yield* issues;
}

async function onePass(path: string, options: ValidateOptions): Promise<{ report: FileReport; stream: Issue[] }> {
  const stream: Issue[] = [];
  const report = await validateFile(path, { ...options, onIssue: (i) => stream.push(i) });
  return { report, stream };
}

async function inRanges(path: string, ranges: ByteRange[], options: ValidateOptions): Promise<{ report: FileReport; stream: Issue[] }> {
  const format = await detectFileFormat(path, options);
  const parts: RangeResult[] = [];
  const logs: RangeIssue[][] = [];
  for (const range of ranges) {
    const log: RangeIssue[] = [];
    parts.push(await validateRange(path, range, { ...options, ...(format ? { format } : {}), onIssue: (i) => log.push({ line: i.line, code: i.code, severity: i.severity, path: i.path, message: i.message }) }));
    logs.push(log);
  }
  const stream: Issue[] = [];
  const report = await mergeRanges(parts, { ...options, label: path, source: path, onIssue: (i) => stream.push(i) }, logs.map(replay));
  return { report, stream };
}

/** Every cut at a line start (`[0, b)`, `[b, size)`), and a few cuts into many ranges. */
function lineStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let i = bytes.indexOf(10); i !== -1 && i + 1 < bytes.length; i = bytes.indexOf(10, i + 1)) starts.push(i + 1);
  return starts;
}

describe("validating byte ranges apart and merging them", () => {
  const cases: { name: string; data: Buffer; options: ValidateOptions }[] = [
    { name: "mixed data with duplicates", data: mixedData(60, { seed: 3 }), options: { duplicates: true, maxIssues: 2 } },
    { name: "a BOM, no final newline, long lines", data: mixedData(60, { seed: 11, bom: true, unterminated: true, longLine: 300 }), options: { duplicates: true, maxLineBytes: 200, maxIssues: 1 } },
    { name: "OpenAI's rules, the cross-provider hint", data: mixedData(50, { seed: 5 }), options: { provider: "openai", maxIssues: 3 } },
    { name: "an explicit format", data: mixedData(40, { seed: 9 }), options: { format: "mistral-chat", duplicates: true } },
  ];
  for (const c of cases) {
    it(`${c.name}: the same report and issue stream at every cut`, async () => {
      const path = join(tmp(), `${c.name.replace(/\W+/g, "-")}.jsonl`);
      await writeFile(path, c.data);
      const expected = await onePass(path, c.options);
      expect(expected.report.invalid).toBeGreaterThan(0);
      for (const cut of lineStarts(c.data)) {
        const got = await inRanges(path, [{ start: 0, end: cut }, { start: cut, end: c.data.length }], c.options);
        expect(got.report, `cut at byte ${cut}`).toEqual(expected.report);
        expect(JSON.stringify(got.report)).toBe(JSON.stringify(expected.report));
        expect(got.stream, `cut at byte ${cut}`).toEqual(expected.stream);
      }
      for (const count of [3, 5, 9, 17]) {
        const ranges = await lineRanges(path, c.data.length, count);
        const got = await inRanges(path, ranges, c.options);
        expect(JSON.stringify(got.report), `${count} ranges`).toBe(JSON.stringify(expected.report));
        expect(got.stream).toEqual(expected.stream);
      }
    });
  }

  it("cuts at line ends only, keeping \\r\\n with its line", async () => {
    const path = join(tmp(), "crlf.jsonl");
    const data = Buffer.from("a\r\nbb\r\nccc\r\n\r\ndddd");
    await writeFile(path, data);
    const ranges = await lineRanges(path, data.length, 4);
    expect(ranges[0]!.start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(data.length);
    for (const [i, r] of ranges.entries()) {
      if (i > 0) expect(r.start).toBe(ranges[i - 1]!.end);
      if (i < ranges.length - 1) expect(data[r.end - 1]).toBe(10);
    }
  });
});
