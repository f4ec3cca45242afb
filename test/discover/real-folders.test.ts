import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatBytes } from "../../src/guard/size.js";
import { describe, expect, it } from "vitest";
import { discoverFiles } from "../../src/discover/discover.js";
import { readManifest } from "../../src/manifest/manifest.js";
import { prepare } from "../../src/pipeline/prepare.js";
import { run } from "../../src/pipeline/run.js";
import type { ValidationSummary } from "../../src/pipeline/validate.js";
import { validateFile } from "../../src/validate/file.js";
import { runCli } from "../helpers/cli.js";
import { outputSchemaErrors } from "../helpers/output-schemas.js";
import { gzipMembers, zstdFrame } from "../helpers/compress.js";
import { chatLines, chatRecord } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("folders");
const serve = useServers();
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

const TRAIN = chatLines(30);
const VALIDATION = chatLines(6, 5000);

/** A dataset folder as a Hugging Face download or a repository checkout leaves it. */
async function hfFolder(root: string): Promise<string> {
  const dir = join(root, "my-dataset");
  await mkdir(join(dir, "node_modules", "some-package"), { recursive: true });
  await mkdir(join(dir, ".git", "objects"), { recursive: true });
  await writeFile(join(dir, "train.jsonl.gz"), gzipMembers(TRAIN, 2000));
  await writeFile(join(dir, "validation.jsonl.zst"), Buffer.concat([zstdFrame(Buffer.from(VALIDATION.slice(0, 300))), zstdFrame(Buffer.from(VALIDATION.slice(300)))]));
  await writeFile(join(dir, "dataset_info.json"), JSON.stringify({ citation: "", features: { messages: { feature: {} } }, splits: { train: { num_examples: 30 } } }, null, 2));
  await writeFile(join(dir, "state.json"), JSON.stringify({ _data_files: [{ filename: "data-00000-of-00001.arrow" }], _split: "train" }));
  await writeFile(join(dir, "README.md"), "---\nlicense: mit\n---\n# My dataset\n");
  await writeFile(join(dir, ".gitattributes"), "*.jsonl.gz filter=lfs diff=lfs merge=lfs -text\n");
  await writeFile(join(dir, "node_modules", "some-package", "data.jsonl"), "not a dataset of ours\n");
  await writeFile(join(dir, ".git", "objects", "pack.jsonl"), "nor this\n");
  return dir;
}

describe("a real dataset folder", () => {
  it("validate takes the compressed files, lists the rest as skipped with reasons, and walks no hidden or node_modules folder", async () => {
    const dir = await hfFolder(tmp());
    const { code, stdout } = await runCli("validate", dir, "--json");
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as ValidationSummary;
    expect(summary.files.map((f) => [f.path, f.records, f.errors, f.bytes])).toEqual([
      [join(dir, "train.jsonl.gz"), 30, 0, Buffer.byteLength(TRAIN)],
      [join(dir, "validation.jsonl.zst"), 6, 0, Buffer.byteLength(VALIDATION)],
    ]);
    const skipped = Object.fromEntries(summary.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    expect(skipped).toEqual({
      ".git": expect.stringMatching(/hidden/),
      ".gitattributes": expect.stringMatching(/hidden/),
      "README.md": expect.stringMatching(/not a dataset file/),
      "dataset_info.json": expect.stringMatching(/a JSON object, not an array of records/),
      "state.json": expect.stringMatching(/a JSON object, not an array of records/),
      node_modules: "node_modules is never walked",
    });
  });

  it("prepare writes each compressed file once, decompressed, as the .jsonl to upload; the source is hashed as it is on disk", async () => {
    const dir = await hfFolder(tmp());
    const out = join(tmp(), "out");
    const plan = await prepare([dir], { outDir: out });
    expect(plan.ok).toBe(true);
    expect(plan.files.map((f) => [f.path, f.kind, f.split, f.records, f.bytes, f.sha256])).toEqual([
      [join(out, "train.jsonl"), "converted", "train", 30, Buffer.byteLength(TRAIN), sha256(TRAIN)],
      [join(out, "validation.jsonl"), "converted", "validation", 6, Buffer.byteLength(VALIDATION), sha256(VALIDATION)],
    ]);
    expect(await readFile(join(out, "train.jsonl"), "utf8")).toBe(TRAIN);
    expect(plan.sources[0]!.sha256).toBe(sha256(await readFile(join(dir, "train.jsonl.gz"))));
    // Split over a small limit: shards of the decompressed text.
    const sharded = await prepare([join(dir, "train.jsonl.gz")], { outDir: join(tmp(), "shards"), maxFileBytes: 1000 });
    expect(sharded.files.length).toBeGreaterThan(2);
    expect(sharded.files.every((f) => f.kind === "shard" && f.bytes <= 1000)).toBe(true);
    const joined = await Promise.all(sharded.files.map((f) => readFile(f.path, "utf8")));
    expect(joined.join("")).toBe(TRAIN);
    // Without splitting, the decompressed size counts against the limit.
    const refused = await prepare([join(dir, "train.jsonl.gz")], { outDir: join(tmp(), "nosplit"), maxFileBytes: 1000, split: false });
    expect(refused.sources[0]!.status).toBe("too-large");
    expect(await readdir(join(tmp(), "nosplit")).catch(() => [])).toEqual([]);
  });

  it("run uploads plain JSONL, and a second run does not take its own outputs or manifest from inside the folder", async () => {
    const dir = await hfFolder(tmp());
    const server = await serve({ store: join(tmp(), "store") });
    const options = { baseUrl: server.url, apiKey: "k", env: {}, outDir: join(dir, "prepared"), manifestPath: join(dir, "uploads.json") };
    const first = await run([dir], options);
    expect(first.upload).toMatchObject({ uploaded: 2, failed: [] });
    const manifest = (await readManifest(options.manifestPath))!;
    expect(manifest.files.map((f) => [f.path.slice(dir.length + 1), f.sha256, f.remote.filename.endsWith(".jsonl")]).sort()).toEqual([
      ["prepared/train.jsonl", sha256(TRAIN), true],
      ["prepared/validation.jsonl", sha256(VALIDATION), true],
    ]);
    const second = await run([dir], options);
    expect(second.plan.sources.map((s) => s.path)).toEqual([join(dir, "train.jsonl.gz"), join(dir, "validation.jsonl.zst")]);
    expect(second.plan.skipped.filter((s) => /output of ftprep/.test(s.reason)).map((s) => s.path).sort()).toEqual([join(dir, "prepared"), join(dir, "uploads.json")]);
    expect(second.upload).toMatchObject({ uploaded: 0, skipped: 2 });
  });

  it("a folder of nothing but metadata is a usage error that says what was skipped", async () => {
    const dir = join(tmp(), "meta");
    await mkdir(dir);
    await writeFile(join(dir, "dataset_info.json"), "{}\n");
    const { code, stderr } = await runCli("validate", dir);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/no dataset files .* found in .*; skipped: .*dataset_info\.json \(a JSON object, not an array of records/);
  });

  it("reads JSON Lines saved under a .json name as JSONL", async () => {
    const dir = join(tmp(), "jsonl-named-json");
    await mkdir(dir);
    await writeFile(join(dir, "train.json"), chatLines(4));
    const { files } = await discoverFiles([dir]);
    expect(files.map((f) => f.layout)).toEqual(["jsonl"]);
    const plan = await prepare([dir], { outDir: join(tmp(), "out") });
    expect(plan.sources[0]!.report).toMatchObject({ records: 4, errors: 0 });
  });
});

describe("compressed files: findings refer to the decompressed text", () => {
  it("reports line numbers of the decompressed text, in gzip and Zstandard", async () => {
    const text = `${chatLines(6)}{"messages": [}\n${chatLines(3, 100)}`;
    for (const [name, bytes] of [["a.jsonl.gz", gzipMembers(text, 100)], ["a.jsonl.zst", zstdFrame(Buffer.from(text))]] as const) {
      const path = join(tmp(), name);
      await writeFile(path, bytes);
      const report = await validateFile(path);
      expect(report.issues.map((i) => [i.line, i.code])).toEqual([[7, "E_JSON"]]);
      expect(report).toMatchObject({ records: 10, valid: 9, bytes: Buffer.byteLength(text) });
    }
  });

  it("E_DECOMPRESS: a truncated or mislabelled compressed file is one finding, after the records before it", async () => {
    const text = chatLines(200);
    const gz = gzipMembers(text, 4000);
    const cut = join(tmp(), "cut.jsonl.gz");
    await writeFile(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const report = await validateFile(cut);
    expect(report.counts.E_DECOMPRESS).toBe(1);
    expect(report.valid).toBeGreaterThan(50);
    const plain = join(tmp(), "plain.jsonl.zst");
    await writeFile(plain, text);
    const mislabelled = await validateFile(plain);
    expect(mislabelled.counts).toEqual({ E_DECOMPRESS: 1 });
    expect(mislabelled.issues[0]!.message).toMatch(/not valid Zstandard data/);
    const plan = await prepare([cut], { outDir: join(tmp(), "out") });
    expect(plan.sources[0]!.status).toBe("invalid");
    expect(plan.ok).toBe(false);
  });
});

describe("E_NOT_JSONL: a file that is plainly not JSONL", () => {
  const cases: [string, Buffer, RegExp][] = [
    ["binary.jsonl", Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256)), /binary data/],
    ["packed.jsonl", gzipMembers(chatLines(50)), /gzip-compressed data \(name it \.jsonl\.gz/],
    ["paper.jsonl", Buffer.concat([Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "latin1"), Buffer.alloc(3000, 0x80)]), /a PDF document/],
    ["inner.jsonl.gz", gzipMembers(Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(100, 0)])), /a PDF document/],
  ];
  for (const [name, bytes, what] of cases) {
    it(`${name}: one file-level error saying what it looks like, no E_UTF8`, async () => {
      const path = join(tmp(), name);
      await writeFile(path, bytes);
      const report = await validateFile(path);
      expect(report.counts).toEqual({ E_NOT_JSONL: 1 });
      expect(report.issues).toEqual([{ line: 0, code: "E_NOT_JSONL", severity: "error", path: "", message: expect.stringMatching(what) }]);
      expect(report.records).toBe(0);
      // It has no format: not the default one it would have been checked as.
      expect(report.format).toBe("unknown");
    });
  }

  it("--json gives its format as \"unknown\", valid against the schema", async () => {
    const dir = join(tmp(), "json");
    await mkdir(dir);
    await writeFile(join(dir, "a-train.jsonl"), `${chatRecord(1)}\n`);
    await writeFile(join(dir, "b.jsonl"), gzipMembers(chatLines(50)));
    const { code, stdout } = await runCli("validate", "--json", "--workers", "1", dir);
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as { files: { path: string; format: string }[] };
    expect(doc.files.map((f) => f.format)).toEqual(["mistral-chat", "unknown"]);
    expect(outputSchemaErrors("validate-result.schema.json", doc)).toEqual([]);
  });

  it("is one line of the CLI's output and exit code 1; the other files are still checked", async () => {
    const dir = join(tmp(), "mixed");
    await mkdir(dir);
    await writeFile(join(dir, "a-train.jsonl"), `${chatRecord(1)}\n`);
    await writeFile(join(dir, "b.jsonl"), gzipMembers(chatLines(50)));
    const { code, stdout, stderr } = await runCli("validate", dir);
    expect(code).toBe(1);
    const out = stdout + stderr;
    expect(out.match(/E_NOT_JSONL/g)!.length).toBeLessThanOrEqual(2);
    expect(out).not.toContain("E_UTF8");
    expect(out).toMatch(/a-train\.jsonl: mistral-chat, 1 records/);
    // Not labelled with the format it would have been checked as: it has none. Its size is the file's.
    expect(stdout).toContain(`${join(dir, "b.jsonl")}: not JSONL, ${formatBytes(gzipMembers(chatLines(50)).length)} — 1 error(s), 0 warning(s)\n`);
  });
});
