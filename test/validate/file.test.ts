import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSystemError } from "../../src/errors.js";
import { readLines } from "../../src/read/lines.js";
import { DigestSet } from "../../src/validate/digest-set.js";
import { validateFile, validateLines } from "../../src/validate/file.js";
import { validateLine } from "../../src/validate/line.js";
import { schemaRegistry } from "../../src/validate/schema-registry.js";
import { emptyStats } from "../../src/validate/stats.js";
import type { Issue } from "../../src/types.js";
import { chunked, collect, seeded } from "../helpers/sources.js";
import { useTempDir } from "../helpers/temp.js";

const good = (i: number) => JSON.stringify({ messages: [{ role: "user", content: `question ${i}` }, { role: "assistant", content: `answer ${i}` }] });

const tmp = useTempDir("validate", "all");

describe("validateLines", () => {
  it("completes 100,000 bad lines with exact counts and bounded examples", async () => {
    function* lines(): Generator<string> {
      for (let i = 0; i < 100_000; i++) yield i % 2 === 0 ? "not json" : "[1]";
    }
    let streamed = 0;
    const report = await validateLines(lines(), { maxIssues: 5, onIssue: () => void streamed++ });
    expect(report.records).toBe(100_000);
    expect(report.invalid).toBe(100_000);
    expect(report.counts).toEqual({ E_JSON: 50_000, E_NOT_OBJECT: 50_000 });
    expect(report.issues).toHaveLength(10);
    expect(streamed).toBe(100_000);
    expect(report.errors).toBe(100_000);
  });

  it("flags duplicates after JSON normalisation, and only valid records", async () => {
    const a = '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}';
    const spaced = '{ "messages" : [ {"role":"user", "content":"q"}, {"role":"assistant","content":"a"} ] }';
    const report = await validateLines([a, good(1), spaced, a], { duplicates: true });
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([
      [3, "W_DUPLICATE"],
      [4, "W_DUPLICATE"],
    ]);
    expect(report.valid).toBe(4);
    const off = await validateLines([a, a]);
    expect(off.issues).toEqual([]);
  });

  it("detects the format from the first records and validates every record with it", async () => {
    const openai = JSON.stringify({ messages: [{ role: "developer", content: "be brief" }, { role: "user", content: "q" }, { role: "assistant", content: "a" }] });
    const lines = [good(0), openai, ...Array.from({ length: 10 }, (_, i) => good(i + 1))];
    const report = await validateLines(lines, { provider: "openai" });
    expect(report.format).toBe("openai-chat");
    expect(report.errors).toBe(0);
    const forced = await validateLines(lines, { format: "mistral-chat" });
    expect(forced.counts).toEqual({ E_UNKNOWN_ROLE: 1 });
    // The default target is Mistral: auto-detection never picks another provider's format.
    expect((await validateLines(lines)).format).toBe("mistral-chat");
  });

  it("reports file-level issues at line 0", async () => {
    expect((await validateLines([])).issues).toEqual([{ line: 0, code: "E_FILE_EMPTY", severity: "error", path: "", message: "the file holds no records" }]);
    // Too few examples is a rule of a job's training data, checked where the split is known (validatePaths, prepare).
    const few = await validateLines([good(1)], { format: "openai-chat" });
    expect(few.counts).toEqual({});
  });

  it("is the same per-line function whatever the order lines are validated in", async () => {
    // The property a worker pool relies on: a line's outcome depends on its bytes, number and the format only.
    const random = seeded(11);
    const variants = [good(1), "nope", '{"messages":[]}', '{"messages":[{"role":"user","content":"q"}]}', "", good(2)];
    const lines = await collect(readLines(chunked(Buffer.from(Array.from({ length: 200 }, () => variants[Math.floor(random() * variants.length)]).join("\n") + "\n"), 97)));
    const schemas = schemaRegistry();
    const options = { maxLineBytes: 1 << 20, digests: true };
    const inOrder = lines.map((line) => validateLine(line, "mistral-chat", emptyStats(), schemas, options));
    const shuffled = [...lines.keys()].sort(() => random() - 0.5);
    const outOfOrder = new Array(lines.length);
    for (const i of shuffled) outOfOrder[i] = validateLine(lines[i]!, "mistral-chat", emptyStats(), schemas, options);
    expect(outOfOrder).toEqual(inOrder);
  });
});

describe("validateFile", () => {
  it("reports line-level warnings: BOM, CRLF once, missing final newline, blank lines", async () => {
    const path = join(tmp(), "warnings.jsonl");
    await writeFile(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${good(1)}\r\n${good(2)}\r\n\n${good(3)}`)]));
    const report = await validateFile(path);
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([
      [1, "W_BOM"],
      [1, "W_CRLF"],
      [3, "W_BLANK_LINE"],
      [4, "W_NO_FINAL_NEWLINE"],
    ]);
    expect(report.records).toBe(3);
    expect(report.blankLines).toBe(1);
    expect(report.bytes).toBe((await readFile(path)).length);
  });

  it("validates a .json array element by element, its index + 1 as the line", async () => {
    const path = join(tmp(), "array.json");
    await writeFile(path, JSON.stringify([JSON.parse(good(1)), 42, { messages: [] }], null, 2));
    const report = await validateFile(path);
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([
      [2, "E_NOT_OBJECT"],
      [3, "E_NO_MESSAGES"],
    ]);
    expect(report.records).toBe(3);
  });

  it("reports a .json file that is not an array", async () => {
    const path = join(tmp(), "object.json");
    await writeFile(path, '{"messages": []}');
    const report = await validateFile(path);
    expect(report.counts).toEqual({ E_JSON_ARRAY: 1 });
  });

  it("hands over valid records byte for byte", async () => {
    const path = join(tmp(), "mixed.jsonl");
    const weird = '{"messages":[{"role":"user","content":"caf\\u00e9"} , {"role":"assistant","content":"ok"}]}';
    await writeFile(path, `${good(1)}\nbad\n${weird}\n`);
    const kept: string[] = [];
    await validateFile(path, { onRecord: (r) => r.valid && kept.push(Buffer.from(r.raw as Uint8Array).toString("utf8")) });
    expect(kept).toEqual([good(1), weird]);
  });

  it("streams every issue in file order with the file name", async () => {
    const path = join(tmp(), "stream.jsonl");
    await writeFile(path, `bad\n${good(1)}\n[]\n`);
    const seen: Issue[] = [];
    await validateFile(path, { onIssue: (issue) => seen.push(issue), label: "data/stream.jsonl" });
    expect(seen.map((i) => `${i.file}:${i.line} ${i.code}`)).toEqual(["data/stream.jsonl:1 E_JSON", "data/stream.jsonl:3 E_NOT_OBJECT"]);
  });

  it("throws a FileSystemError for a missing file or a directory", async () => {
    await expect(validateFile(join(tmp(), "missing.jsonl"))).rejects.toThrow(FileSystemError);
    await expect(validateFile(tmp())).rejects.toThrow(/is a directory/);
  });
});

describe("DigestSet", () => {
  it("tells new digests from seen ones across growth, including the all-zero digest", () => {
    const set = new DigestSet(16);
    const digest = (i: number) => {
      const d = new Uint8Array(16);
      new DataView(d.buffer).setUint32(0, i * 2654435761, true);
      new DataView(d.buffer).setUint32(8, i, true);
      return d;
    };
    for (let i = 1; i <= 5000; i++) expect(set.add(digest(i))).toBe(true);
    for (let i = 1; i <= 5000; i++) expect(set.add(digest(i))).toBe(false);
    expect(set.add(new Uint8Array(16))).toBe(true);
    expect(set.add(new Uint8Array(16))).toBe(false);
    expect(set.size).toBe(5001);
    expect(set.byteLength).toBeLessThanOrEqual(16 * 8192);
  });
});
