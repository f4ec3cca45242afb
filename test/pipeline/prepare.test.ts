import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { prepare } from "../../src/pipeline/prepare.js";
import { chatLines, chatRecord } from "../helpers/records.js";

let dir: string;
let out: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ftprep-prepare-"));
  out = join(dir, "out");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const KB10 = 10_000;

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, content);
  return path;
}

describe("prepare: size guard", () => {
  it("passes a clean file under the limit through untouched, hashed and counted in the same pass", async () => {
    const text = chatLines(20);
    const path = await file("train.jsonl", text);
    const plan = await prepare([path], { outDir: out });
    expect(plan.ok).toBe(true);
    expect(plan.files).toEqual([
      { path, source: path, split: "train", kind: "original", part: 1, parts: 1, records: 20, bytes: Buffer.byteLength(text), sha256: sha256(text), reused: false, weight: 1 },
    ]);
    expect(plan.sources[0]!.sha256).toBe(sha256(text));
    await expect(stat(out)).rejects.toThrow(); // nothing copied
  });

  it("shards a file over the limit at record boundaries, each part ≤ the limit, concatenation byte-identical", async () => {
    const text = chatLines(400); // ≈ 37 kB
    const path = await file("big-train.jsonl", text);
    const plan = await prepare([path], { outDir: out, maxFileBytes: KB10 });
    const n = Math.ceil(Buffer.byteLength(text) / KB10);
    expect(plan.files).toHaveLength(n);
    let joined = "";
    for (const [i, f] of plan.files.entries()) {
      expect(f.path).toBe(join(out, `big-train.part-${String(i + 1).padStart(4, "0")}-of-${String(n).padStart(4, "0")}.jsonl`));
      expect(f.kind).toBe("shard");
      expect(f.bytes).toBeLessThanOrEqual(KB10);
      const content = await readFile(f.path, "utf8");
      expect(content.endsWith("\n")).toBe(true);
      expect(f.sha256).toBe(sha256(content));
      expect(f.records).toBe(content.split("\n").length - 1);
      joined += content;
    }
    expect(sha256(joined)).toBe(sha256(text));
    expect(plan.files.reduce((a, f) => a + f.records, 0)).toBe(400);
    // Parts are balanced, not filled to the brim with a small remainder.
    const sizes = plan.files.map((f) => f.bytes);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(KB10 / 4);
  });

  it("keeps identical shards on a re-run, rewrites changed ones and removes parts that no longer exist", async () => {
    const path = await file("train.jsonl", chatLines(400));
    const first = await prepare([path], { outDir: out, maxFileBytes: KB10 });
    const mtimes = await Promise.all(first.files.map(async (f) => (await stat(f.path)).mtimeMs));
    const again = await prepare([path], { outDir: out, maxFileBytes: KB10 });
    expect(again.files.map((f) => f.reused)).toEqual(first.files.map(() => true));
    expect(await Promise.all(again.files.map(async (f) => (await stat(f.path)).mtimeMs))).toEqual(mtimes);

    await writeFile(path, chatLines(150)); // fewer parts now
    const changed = await prepare([path], { outDir: out, maxFileBytes: KB10 });
    expect(changed.files.length).toBeLessThan(first.files.length);
    const names = (await readdir(out)).filter((n) => !n.startsWith("."));
    expect(names.sort()).toEqual(changed.files.map((f) => f.path.slice(out.length + 1)).sort());
  });

  it("reports a record larger than the limit as E_RECORD_TOO_LARGE", async () => {
    const huge = JSON.stringify({ messages: [{ role: "user", content: "x".repeat(KB10) }, { role: "assistant", content: "y" }] });
    const path = await file("train.jsonl", `${chatLines(200)}${huge}\n${chatLines(10, 500)}`);
    const plan = await prepare([path], { outDir: out, maxFileBytes: KB10 });
    expect(plan.ok).toBe(false);
    expect(plan.sources[0]!.status).toBe("invalid");
    expect(plan.sources[0]!.report.counts).toEqual({ E_RECORD_TOO_LARGE: 1 });
    expect(plan.files).toEqual([]);
    await expect(readdir(out).then((names) => names.filter((n) => n.endsWith(".jsonl")))).resolves.toEqual([]);

    const skipping = await prepare([path], { outDir: out, maxFileBytes: KB10, skipInvalid: true });
    expect(skipping.ok).toBe(true);
    expect(skipping.sources[0]!.dropped).toMatchObject({ invalid: 1, byCode: { E_RECORD_TOO_LARGE: 1 } });
    expect(skipping.files.reduce((a, f) => a + f.records, 0)).toBe(210);
  });

  it("reports a file over the limit as E_FILE_TOO_LARGE when splitting is off", async () => {
    const path = await file("train.jsonl", chatLines(200));
    const plan = await prepare([path], { outDir: out, maxFileBytes: KB10, split: false });
    expect(plan.ok).toBe(false);
    expect(plan.sources[0]!.status).toBe("too-large");
    expect(plan.issues.map((i) => i.code)).toEqual(["E_FILE_TOO_LARGE"]);
  });
});

describe("prepare: invalid records", () => {
  const withBad = () => `${chatLines(5)}not json\n${chatLines(5, 5)}{"messages":[]}\n${chatLines(30, 10)}`;

  it("never plans a file with errors without --skip-invalid", async () => {
    const path = await file("train.jsonl", withBad());
    const plan = await prepare([path], { outDir: out });
    expect(plan.ok).toBe(false);
    expect(plan.sources[0]!.status).toBe("invalid");
    expect(plan.sources[0]!.reason).toMatch(/2 of 42 records are invalid/);
    expect(plan.files).toEqual([]);
  });

  it("leaves invalid records out with --skip-invalid, counted per code, in a cleaned copy (the second read)", async () => {
    const text = withBad();
    const path = await file("train.jsonl", text);
    const plan = await prepare([path], { outDir: out, skipInvalid: true });
    expect(plan.ok).toBe(true);
    const source = plan.sources[0]!;
    expect(source.dropped).toEqual({ invalid: 2, byCode: { E_JSON: 1, E_NO_MESSAGES: 1 }, duplicates: 0, blankLines: 0, carved: 0 });
    expect(plan.files).toHaveLength(1);
    expect(plan.files[0]).toMatchObject({ kind: "cleaned", records: 40, path: join(out, "train.jsonl") });
    const expected = text.split("\n").filter((l) => l !== "not json" && l !== '{"messages":[]}').join("\n");
    expect(await readFile(plan.files[0]!.path, "utf8")).toBe(expected);
  });

  it("refuses a file with more invalid records than --max-invalid-fraction", async () => {
    const path = await file("train.jsonl", `${chatLines(8)}bad\nbad\n`);
    const plan = await prepare([path], { outDir: out, skipInvalid: true });
    expect(plan.sources[0]!.status).toBe("refused");
    expect(plan.sources[0]!.reason).toMatch(/2 of 10 records \(20\.0%\).*--max-invalid-fraction 0\.05/);
    const lenient = await prepare([path], { outDir: out, skipInvalid: true, maxInvalidFraction: 0.25 });
    expect(lenient.ok).toBe(true);
  });

  it("cleans blank lines and a BOM out of a file that is otherwise fine", async () => {
    const body = chatLines(3);
    const path = await file("train.jsonl", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${body}\n\n`)]));
    const plan = await prepare([path], { outDir: out });
    expect(plan.files[0]).toMatchObject({ kind: "cleaned", records: 3 });
    expect(await readFile(plan.files[0]!.path, "utf8")).toBe(body);
  });

  it("converts a .json array to JSONL", async () => {
    const records = [JSON.parse(chatRecord(1)), JSON.parse(chatRecord(2))];
    const path = await file("train.json", JSON.stringify(records, null, 2));
    const plan = await prepare([path], { outDir: out });
    expect(plan.files[0]).toMatchObject({ kind: "converted", records: 2, path: join(out, "train.jsonl") });
    expect(await readFile(plan.files[0]!.path, "utf8")).toBe(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
  });
  it("converts a .json array with every value as written (numbers beyond doubles, -0, 1.0), and reports invalid UTF-8", async () => {
    const exact = '{"messages":[{"role":"user","content":"q","x":1e400,"id":12345678901234567890123,"z":-0,"f":1.0},{"role":"assistant","content":"caf\\u00e9"}]}';
    const bad = Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xff]), Buffer.from('"},{"role":"assistant","content":"a"}]}')]);
    const path = await file("train.json", Buffer.concat([Buffer.from(`[\n  ${exact},\n  `), bad, Buffer.from(`,\n  ${chatRecord(1)}\n]\n`)]));
    const plan = await prepare([path], { outDir: out, skipInvalid: true, maxInvalidFraction: 0.5 });
    expect(plan.sources[0]!.report.counts).toEqual({ E_UTF8: 1 });
    expect(plan.files[0]).toMatchObject({ kind: "converted", records: 2 });
    expect(await readFile(plan.files[0]!.path, "utf8")).toBe(`${exact}\n${chatRecord(1)}\n`);
  });
});

describe("prepare: dataset hygiene", () => {
  it("drops records identical to an earlier one of the same split with --dedupe, across files", async () => {
    const a = await file("a-train.jsonl", chatLines(10));
    const spaced = chatRecord(3).replace(/":/g, '": ');
    const b = await file("b-train.jsonl", `${spaced}\n${chatLines(5, 100)}`);
    const v = await file("val.jsonl", chatLines(2)); // the same records, in another split: kept
    const plan = await prepare([a, b, v], { outDir: out, dedupe: true });
    expect(plan.ok).toBe(true);
    const byPath = new Map(plan.sources.map((s) => [s.path, s]));
    expect(byPath.get(b)!.dropped.duplicates).toBe(1);
    expect(byPath.get(a)!.dropped.duplicates).toBe(0);
    expect(byPath.get(v)!.dropped.duplicates).toBe(0);
    expect(plan.files.map((f) => [f.kind, f.records])).toEqual([
      ["original", 10],
      ["cleaned", 5],
      ["original", 2],
    ]);
  });

  it("carves a deterministic validation split out of training files when none is given", async () => {
    const a = await file("a-train.jsonl", chatLines(300));
    const b = await file("b-train.jsonl", chatLines(300, 300));
    const plan = await prepare([a, b], { outDir: out, validationSplit: 0.1, seed: 7 });
    expect(plan.ok).toBe(true);
    const validation = plan.files.filter((f) => f.split === "validation");
    expect(validation).toHaveLength(1);
    expect(validation[0]!.kind).toBe("validation-split");
    const carved = validation[0]!.records;
    expect(carved).toBeGreaterThan(30);
    expect(carved).toBeLessThan(90);
    expect(plan.files.filter((f) => f.split === "train").reduce((n, f) => n + f.records, 0) + carved).toBe(600);
    // Every record ends up in exactly one output.
    const all = (await Promise.all(plan.files.map((f) => readFile(f.path, "utf8")))).join("").split("\n").filter(Boolean).sort();
    expect(all).toEqual((chatLines(600)).split("\n").filter(Boolean).sort());
    // Same seed, same split; another seed, another split.
    const same = await prepare([a, b], { outDir: join(dir, "out2"), validationSplit: 0.1, seed: 7 });
    expect(same.files.map((f) => f.sha256)).toEqual(plan.files.map((f) => f.sha256));
    const other = await prepare([a, b], { outDir: join(dir, "out3"), validationSplit: 0.1, seed: 8 });
    expect(other.files.find((f) => f.split === "validation")!.sha256).not.toBe(validation[0]!.sha256);
  });

  it("does not carve when a validation file is given", async () => {
    const a = await file("train.jsonl", chatLines(50));
    const v = await file("validation.jsonl", chatLines(5, 50));
    const plan = await prepare([a, v], { outDir: out, validationSplit: 0.1 });
    expect(plan.files.map((f) => f.kind)).toEqual(["original", "original"]);
  });

  it("warns when a Mistral validation file is over 1 MB (W_VALIDATION_FILE_SIZE)", async () => {
    const v = await file("validation.jsonl", chatLines(9000, 0, 8));
    const t = await file("train.jsonl", chatLines(10, 10_000));
    const plan = await prepare([t, v], { outDir: out });
    expect(plan.ok).toBe(true);
    expect(plan.issues.map((i) => [i.code, i.file])).toEqual([["W_VALIDATION_FILE_SIZE", v]]);
    const openai = await prepare([t, v], { outDir: out, provider: "openai" });
    expect(openai.issues).toEqual([]);
  });
});

describe("prepare: discovery", () => {
  it("plans a 3-level directory: splits from names, a skipped non-dataset file, a link loop, an empty file", async () => {
    await file("ds/train.jsonl", chatLines(3));
    await file("ds/more/train-extra.jsonl", chatLines(3, 10));
    await file("ds/more/deeper/validation.jsonl", chatLines(2, 20));
    await file("ds/more/deeper/eval-2.json", JSON.stringify([JSON.parse(chatRecord(30))]));
    await file("ds/notes.txt", "not data");
    await file("ds/more/empty.jsonl", "");
    await symlink(join(dir, "ds"), join(dir, "ds", "more", "deeper", "loop"));
    await symlink(join(dir, "ds", "train.jsonl"), join(dir, "ds", "more", "same-train.jsonl"));
    const plan = await prepare([join(dir, "ds")], { outDir: out });
    const rel = (p: string) => p.slice(join(dir, "ds").length + 1);
    expect(plan.sources.map((s) => [rel(s.path), s.split, s.status])).toEqual([
      ["more/deeper/eval-2.json", "validation", "ready"],
      ["more/deeper/validation.jsonl", "validation", "ready"],
      ["more/empty.jsonl", "train", "invalid"],
      ["more/train-extra.jsonl", "train", "ready"],
      ["train.jsonl", "train", "ready"],
    ]);
    expect(plan.sources[2]!.report.counts).toEqual({ E_FILE_EMPTY: 1 });
    expect(plan.skipped.map((s) => [rel(s.path), s.reason])).toEqual([
      ["more/deeper/loop", "directory already visited (a link loop or a repeated path)"],
      ["more/same-train.jsonl", "the same file was already listed"],
      ["notes.txt", "not a dataset file (*.jsonl, *.jsonl.gz, *.jsonl.zst, *.json)"],
    ]);
    expect(plan.ok).toBe(false);
  });

  it("takes globs, and splits given with the path over the file name", async () => {
    const a = await file("data/x/alpha.jsonl", chatLines(2));
    const b = await file("data/y/beta.jsonl", chatLines(2, 5));
    await file("data/y/readme.md", "#");
    const plan = await prepare([{ path: join(dir, "data/**/*.jsonl") }, { path: b, split: "validation" }], { outDir: out });
    expect(plan.sources.map((s) => [s.path, s.split])).toEqual([
      [a, "train"],
      [b, "train"],
    ]);
    expect(plan.skipped.map((s) => s.reason)).toEqual(["the same file was already listed"]);
    const forced = await prepare([{ path: a }, { path: join(dir, "data/y/*.jsonl"), split: "validation" }], { outDir: out });
    expect(forced.sources.map((s) => s.split)).toEqual(["train", "validation"]);
  });
});
