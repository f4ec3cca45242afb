import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../helpers/temp.js";

/**
 * A worker validates a directory's small files one after the other in one V8 isolate, each in a pass of its own:
 * the pass's code TurboFan compiled for the first files must serve the later ones (a small file's lines go to
 * `PassRun.feed` as one batch, and from there to `RecordPass.batch`). Each small file's lines came to
 * the pass as an array made by `Array.prototype.map`; after some hundreds of files the pass was deoptimised there
 * (a wrong map at its batch's length) and compiled again in every worker. Checked with V8's own trace, compilation
 * synchronous so the trace is the same on a loaded machine.
 */

const tmp = useTempDir("small-recompile", "all");

const script = (repo: string, dir: string) => `
const { generate } = await import(${JSON.stringify(pathToFileURL(join(repo, "bench", "generate.js")).href)});
const { validateFile } = await import(${JSON.stringify(pathToFileURL(join(repo, "dist", "validate", "file.js")).href)});
const { targetFor } = await import(${JSON.stringify(pathToFileURL(join(repo, "dist", "target", "target-spec.js")).href)});
const { readFileSync, writeFileSync } = await import("node:fs");
const whole = ${JSON.stringify(join(dir, "whole.jsonl"))};
await generate(whole, 6_000_000, 5);
// 1,500 small files of a few records each (a worker's share of a directory of small files).
const lines = readFileSync(whole, "utf8").split("\\n");
const paths = [];
for (let i = 0; i < 1500; i++) {
  const path = ${JSON.stringify(dir)} + "/part-" + i + ".jsonl";
  writeFileSync(path, lines.slice(2 * i, 2 * i + 2 + (i % 3)).join("\\n") + "\\n");
  paths.push(path);
}
console.log("=== files");
const options = { target: targetFor("mistral", "auto"), duplicates: false, layout: "jsonl", compression: "none" };
let records = 0;
for (const path of paths) records += (await validateFile(path, { ...options, label: path })).records;
console.log("=== done " + paths.length + " files, " + records + " records");
`;

describe("a worker's many small files", () => {
  it("run on the pass V8 optimised for the first ones: the pass is never deoptimised", async () => {
    const dir = tmp();
    const main = join(dir, "small-files.mjs");
    await writeFile(main, script(process.cwd(), dir));
    const { stdout } = await promisify(execFile)(process.execPath, ["--trace-opt", "--trace-deopt", "--no-concurrent-recompilation", main], { maxBuffer: 64 * 1024 * 1024 });
    const lines = stdout.split("\n");
    const from = lines.indexOf("=== files");
    expect(from).toBeGreaterThan(0);
    expect(lines.find((l) => l.startsWith("=== done"))).toMatch(/^=== done 1500 files, \d+ records$/);
    // The pass's loops over a file's entries (the look-ahead's, and the per-record one a large file's batches take
    // too) were optimised (else the check below would say nothing), and never thrown away.
    for (const pass of ["feed", "batch"]) {
      expect(lines.slice(from).some((l) => l.startsWith("[completed compiling ") && l.includes(`<JSFunction ${pass} `))).toBe(true);
      expect(lines.slice(from).filter((l) => l.startsWith("[bailout") && l.includes(`<JSFunction ${pass} `))).toEqual([]);
    }
  });
});
