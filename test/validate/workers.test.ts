import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { PassEvent } from "../../src/pipeline/progress.js";
import { validatePaths, type ValidatePathsOptions } from "../../src/pipeline/validate.js";
import { WorkerError, workerExecArgv } from "../../src/workers/pool.js";
import { ParallelValidation } from "../../src/workers/validate.js";
import { validateFile } from "../../src/validate/file.js";
import { zstdFrame } from "../helpers/compress.js";
import { mixedData } from "../helpers/mixed-data.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * Validation in worker threads gives exactly what one thread gives: the complete summary (every report, in order)
 * and the NDJSON report, byte for byte, with 1, 2 and 4 workers, on files cut into many small byte ranges (so cuts
 * fall next to every kind of line: errors, duplicates across ranges, multi-byte UTF-8, CRLF, blank lines), with
 * compressed and `.json` files going whole to one worker. A worker that dies is an error naming its file and
 * range; an abort stops every worker and leaves no temporary file.
 */

const tmp = useTempDir("workers", "all");

async function dataset(): Promise<string> {
  const dir = join(tmp(), "data");
  await mkdir(join(dir, "nested"), { recursive: true });
  await writeFile(join(dir, "a-train.jsonl"), mixedData(1500, { seed: 21, bom: true, longLine: 400 }));
  await writeFile(join(dir, "b.jsonl"), mixedData(900, { seed: 22, unterminated: true }));
  await writeFile(join(dir, "c.jsonl.gz"), gzipSync(mixedData(300, { seed: 23 })));
  await writeFile(join(dir, "d.jsonl.zst"), zstdFrame(mixedData(300, { seed: 24 })));
  await writeFile(join(dir, "e.json"), `[${chatLines(40).trim().split("\n").join(",\n")}]`);
  await writeFile(join(dir, "nested", "f.jsonl"), "");
  await writeFile(join(dir, "nested", "g.jsonl"), chatLines(400) + chatLines(50));
  return dir;
}

async function run(dir: string, workers: number, extra: Partial<ValidatePathsOptions> = {}): Promise<{ summary: string; report: string }> {
  const reportPath = join(tmp(), `report-${workers}-${Math.random().toString(36).slice(2)}.ndjson`);
  const summary = await validatePaths([dir], { workers, rangeBytes: 4096, duplicates: true, maxIssues: 3, maxLineBytes: 300, reportPath, ...extra });
  return { summary: JSON.stringify(summary), report: await readFile(reportPath, "utf8") };
}

describe("validating with worker threads", () => {
  it("runs its workers when the caller's process was started with --input-type and -e", async () => {
    expect(workerExecArgv(["--input-type=module", "-e", "x", "--max-old-space-size=100"])).toEqual(["--max-old-space-size=100"]);
    expect(workerExecArgv(["--input-type", "module", "--print", "1", "--trace-gc"])).toEqual(["--trace-gc"]);
    const index = pathToFileURL(join(process.cwd(), "dist", "index.js")).href;
    const file = join(process.cwd(), "fixtures", "datasets", "mistral-chat", "train.jsonl");
    const script = `import { validatePaths } from ${JSON.stringify(index)};
const s = await validatePaths([${JSON.stringify(file)}], { workers: 2 });
console.log(JSON.stringify({ files: s.files.length, failures: s.failures }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
    expect(JSON.parse(stdout)).toEqual({ files: 1, failures: [] });
  });

  it("runs its workers under the V8 flags of the bin's shebang, and of a caller's command line with -e", async () => {
    // The bin as users run it (its shebang gives node V8 flags, which Node refuses in a worker's explicit execArgv).
    const file = join(process.cwd(), "fixtures", "datasets", "mistral-chat", "train.jsonl");
    const bin = await promisify(execFile)(join(process.cwd(), "bin", "ftprep.js"), ["validate", "--workers", "2", "--json", file]);
    expect(JSON.parse(bin.stdout)).toMatchObject({ ok: true });
    const index = pathToFileURL(join(process.cwd(), "dist", "index.js")).href;
    const script = `import { validatePaths } from ${JSON.stringify(index)};
const s = await validatePaths([${JSON.stringify(file)}], { workers: 2 });
console.log(JSON.stringify({ files: s.files.length, failures: s.failures }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--max-semi-space-size=4", "--input-type=module", "-e", script]);
    expect(JSON.parse(stdout)).toEqual({ files: 1, failures: [] });
  });

  it("gives the same summary and report with 1, 2 and 4 workers", async () => {
    const dir = await dataset();
    const one = await run(dir, 1);
    expect(one.report.split("\n").length).toBeGreaterThan(1000);
    for (const code of ["W_DUPLICATE", "W_CRLF", "W_BOM", "E_UTF8", "E_JSON", "W_BLANK_LINE", "E_LINE_TOO_LONG", "W_NO_FINAL_NEWLINE", "E_FILE_EMPTY"]) {
      expect(one.report, code).toContain(`"${code}"`);
    }
    for (const workers of [2, 4]) {
      const many = await run(dir, workers);
      expect(many.summary, `${workers} workers`).toBe(one.summary);
      expect(many.report, `${workers} workers`).toBe(one.report);
    }
  });

  it("gives the same token counts (a tokenizer loaded in each worker)", async () => {
    const dir = join(tmp(), "tokens");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "t.jsonl"), mixedData(400, { seed: 31 }));
    const { resolveTokenHook } = await import("../../src/tokens/hook.js");
    const tokens = await resolveTokenHook({ tokenizer: "o200k_base", maxTokens: 40 });
    const one = await run(dir, 1, { tokens: tokens!, provider: "openai" });
    expect(one.summary).toContain('"method":"cookbook"');
    expect(one.report).toContain("W_TOO_MANY_TOKENS");
    const two = await run(dir, 2, { tokens: tokens!, provider: "openai" });
    expect(two.summary).toBe(one.summary);
    expect(two.report).toBe(one.report);
  });

  it("gives the same summary and report with small files sent in batches (empty, binary and unterminated ones among them)", async () => {
    const dir = join(tmp(), "many");
    await mkdir(join(dir, "sub"), { recursive: true });
    // 70 small files (three batches of BATCH_FILES), among them empty ones and a binary one.
    for (let i = 0; i < 70; i++) {
      const name = join(i % 3 === 0 ? join(dir, "sub") : dir, `part-${String(i).padStart(3, "0")}.jsonl`);
      const body = i % 17 === 0 ? Buffer.alloc(0) : i === 50 ? Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]) : mixedData(5 + (i % 7) * 3, { seed: 100 + i, unterminated: i % 5 === 0 });
      await writeFile(name, body);
    }
    await writeFile(join(dir, "big.jsonl"), mixedData(1200, { seed: 7 }));
    const options = { rangeBytes: 32 * 1024, duplicates: false, maxIssues: 2 };
    const one = await run(dir, 1, options);
    expect(JSON.parse(one.summary).files).toHaveLength(71);
    for (const code of ["E_NOT_JSONL", "E_FILE_EMPTY", "W_NO_FINAL_NEWLINE", "E_JSON"]) expect(one.report, code).toContain(`"${code}"`);
    for (const workers of [2]) {
      const many = await run(dir, workers, options);
      expect(many.summary, `${workers} workers`).toBe(one.summary);
      expect(many.report, `${workers} workers`).toBe(one.report);
    }
  });

  it("starts small files as discovery finds them: the same summary, report and bytes told read, a file reached twice among them", async () => {
    const root = join(tmp(), "early");
    const dir = join(root, "data");
    await mkdir(join(root, "other"), { recursive: true });
    await mkdir(dir);
    // More small files than discovery takes between two turns of the event loop, and a large one among them.
    for (let i = 0; i < 300; i++) {
      const body = i === 200 ? mixedData(2000, { seed: 5 }) : mixedData(3 + (i % 6), { seed: 300 + i, unterminated: i % 7 === 0 });
      await writeFile(join(dir, `part-${String(i).padStart(3, "0")}.jsonl`), body);
    }
    // Found first through a link in the folder, then named as itself: listed once, as itself, in the second place.
    await writeFile(join(root, "other", "shared.jsonl"), chatLines(4, 70));
    await symlink(join(root, "other", "shared.jsonl"), join(dir, "part-040-link.jsonl"));
    const inputs = [dir, join(root, "other", "shared.jsonl")];
    const runs = [];
    for (const workers of [1, 2]) {
      const events: PassEvent[] = [];
      const reportPath = join(tmp(), `early-${workers}.ndjson`);
      const summary = await validatePaths(inputs, { workers, duplicates: false, maxIssues: 2, reportPath, onProgress: (e) => events.push(e) });
      const discovered = events.findIndex((e) => e.type === "discovered");
      // The meter starts at "discovered": every byte read is told after it, none before.
      expect(events.slice(0, discovered).filter((e) => e.type === "read")).toEqual([]);
      const read = events.slice(discovered).reduce((n, e) => n + (e.type === "read" ? e.n : 0), 0);
      expect(read, `${workers} workers`).toBe(summary.files.reduce((n, f) => n + f.bytes, 0));
      runs.push({ summary: JSON.stringify(summary), report: await readFile(reportPath, "utf8"), files: summary.files.map((f) => f.path) });
    }
    expect(runs[0]!.files).toHaveLength(301);
    expect(runs[0]!.files.at(-1)).toBe(join(root, "other", "shared.jsonl"));
    expect(runs[0]!.report).toContain('"W_NO_FINAL_NEWLINE"');
    expect(runs[1]!.summary).toBe(runs[0]!.summary);
    expect(runs[1]!.report).toBe(runs[0]!.report);
  });

  it("a small file that cannot be read fails alone, its batch's other files are validated", async () => {
    const dir = join(tmp(), "batch-failure");
    await mkdir(dir, { recursive: true });
    const parallel = await ParallelValidation.open(2);
    try {
      const finishes = [];
      for (let i = 0; i < 5; i++) {
        const path = join(dir, `f${i}.jsonl`);
        if (i !== 2) await writeFile(path, chatLines(3, i * 3));
        // f2.jsonl does not exist: the worker's read fails for that file only.
        finishes.push(await parallel.start({ path, bytes: 100, layout: "jsonl" }, {}));
      }
      for (const [i, finish] of finishes.entries()) {
        if (i === 2) await expect(finish()).rejects.toMatchObject({ code: "ERR_FS", path: join(dir, "f2.jsonl") });
        else expect((await finish()).records).toBe(3);
      }
    } finally {
      await parallel.close();
    }
  });

  it("a thread validates the tasks it holds one after the other, in the order given", async () => {
    // The pool sends a thread its next task before the current one ends; run at once, interleaved, a small second
    // file would end first and a large first one late — the merge waits for the first.
    const large = join(tmp(), "order-large.jsonl");
    const small = join(tmp(), "order-small.jsonl");
    await writeFile(large, chatLines(40_000));
    await writeFile(small, chatLines(4_000));
    const parallel = await ParallelValidation.open(1);
    try {
      const bytes = async (path: string) => (await readFile(path)).length;
      const first = await parallel.start({ path: large, bytes: await bytes(large), layout: "jsonl" }, {});
      const second = await parallel.start({ path: small, bytes: await bytes(small), layout: "jsonl" }, {});
      const order: string[] = [];
      await Promise.all([first().then(() => order.push("large")), second().then(() => order.push("small"))]);
      expect(order).toEqual(["large", "small"]);
    } finally {
      await parallel.close();
    }
  });

  it("shares a large file's byte ranges between the main thread and one worker fewer, and small files between every worker", async () => {
    const path = join(tmp(), "shared.jsonl");
    await writeFile(path, chatLines(2000));
    const parallel = await ParallelValidation.open(2, { rangeBytes: 16 * 1024 });
    try {
      const finish = await parallel.start({ path, bytes: (await readFile(path)).length, layout: "jsonl" }, {});
      const report = await finish();
      expect(report).toEqual(await validateFile(path, { label: path }));
      // The main thread took ranges; no second thread was started for them.
      expect(parallel.localParts).toBeGreaterThan(0);
      expect(parallel.threads.length).toBe(1);
      // Whole small files are not the main thread's: the second worker starts with the first of them (a folder's
      // first batches come while discovery goes on), not once the first worker is busy.
      const small = join(tmp(), "shared-small.jsonl");
      await writeFile(small, chatLines(2));
      const one = await parallel.start({ path: small, bytes: (await readFile(small)).length, layout: "jsonl" }, {});
      expect((await one()).records).toBe(2);
      expect(parallel.threads.length).toBe(2);
    } finally {
      await parallel.close();
    }
  });

  it("a worker that dies is an error naming its file and range, and the others go on", async () => {
    const path = join(tmp(), "killed.jsonl");
    await writeFile(path, chatLines(2000));
    const parallel = await ParallelValidation.open(2, { rangeBytes: 16 * 1024 });
    try {
      const finish = await parallel.start({ path, bytes: (await readFile(path)).length, layout: "jsonl" }, {});
      await parallel.threads[0]!.terminate();
      await expect(finish()).rejects.toThrow(WorkerError);
      await expect(finish()).rejects.toThrow(/a worker thread died while validating .*killed\.jsonl \(bytes \d+–\d+\)/);
      // The pool replaces the thread: the next file is validated.
      const again = await parallel.start({ path, bytes: (await readFile(path)).length, layout: "jsonl" }, {});
      expect((await again()).records).toBe(2000);
    } finally {
      await parallel.close();
    }
  });

  it("threads started while discovery runs are stopped when it finds nothing to validate, leaving no temporary file", async () => {
    const dir = join(tmp(), "nothing");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "notes.txt"), "not a dataset");
    const ownTmp = join(tmp(), "tmpdir-nothing");
    await mkdir(ownTmp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = ownTmp;
    try {
      // Given a number of workers, the pool opens at once, before discovery ends.
      await expect(validatePaths([dir], { workers: 2 })).rejects.toThrow(/no dataset files/);
      expect(await readdir(ownTmp)).toEqual([]);
      // With a file to validate, the threads opened early do the work and are stopped at the end.
      await writeFile(join(dir, "a.jsonl"), chatLines(3));
      const summary = await validatePaths([dir], { workers: 2 });
      expect(summary.files.map((f) => f.records)).toEqual([3]);
      expect(await readdir(ownTmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it("an abort stops every worker at once and leaves no temporary file", async () => {
    const dir = join(tmp(), "abort");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "big.jsonl"), chatLines(60_000, 0, 30));
    // A temp dir of this test's own: other test files running at the same time make their own parts' directories.
    const ownTmp = join(tmp(), "tmpdir");
    await mkdir(ownTmp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = ownTmp;
    try {
      expect(tmpdir()).toBe(ownTmp);
      const controller = new AbortController();
      const reportPath = join(dir, "report.ndjson");
      const pending = validatePaths([join(dir, "big.jsonl")], { workers: 2, rangeBytes: 256 * 1024, reportPath, signal: controller.signal, onProgress: (e) => e.type === "read" && controller.abort() });
      await expect(pending).rejects.toThrow(/abort/i);
      expect(await readdir(ownTmp)).toEqual([]);
      expect(await readdir(dir)).toEqual(["big.jsonl"]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});
