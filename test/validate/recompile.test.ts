import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../helpers/temp.js";

/**
 * A worker validates a file's byte ranges one after the other in one V8 isolate. What V8 compiled with TurboFan for
 * the first range must serve the next ones: code thrown away or compiled again at each new range is the fixed CPU
 * that two workers paid over one thread (a stats object made by a literal the second time, a splitter's first
 * line and first empty parts array, the pass's per-record closure made per range, the pass's loop optimised in
 * place). Checked with V8's own trace, compilation synchronous so the trace is the same on a loaded machine.
 */

const tmp = useTempDir("recompile", "all");

// The data is generated in a process of its own: the generator's code is not in the traced one.
const generator = (repo: string, file: string) => `
const { generate } = await import(${JSON.stringify(pathToFileURL(join(repo, "bench", "generate.js")).href)});
await generate(${JSON.stringify(file)}, 10_000_000, 3);
`;

const script = (repo: string, file: string) => `
const { validateRange } = await import(${JSON.stringify(pathToFileURL(join(repo, "dist", "validate", "file.js")).href)});
const { lineRangesAt } = await import(${JSON.stringify(pathToFileURL(join(repo, "dist", "read", "ranges.js")).href)});
const { targetFor } = await import(${JSON.stringify(pathToFileURL(join(repo, "dist", "target", "target-spec.js")).href)});
const { statSync } = await import("node:fs");
const size = statSync(${JSON.stringify(file)}).size;
// A large first range, long enough for every hot function to be optimised in it, then two more.
const ranges = await lineRangesAt(${JSON.stringify(file)}, size, [Math.floor(size * 0.7), Math.floor(size * 0.85)]);
const options = { target: targetFor("mistral", "mistral-chat"), duplicates: true, layout: "jsonl", compression: "none", label: "f" };
for (const [i, range] of ranges.entries()) {
  console.log("=== range " + (i + 1));
  await validateRange(${JSON.stringify(file)}, range, options);
}
`;

describe("a worker's later byte ranges", () => {
  it("run on the code V8 optimised for the first: nothing deoptimised, nothing compiled twice", async () => {
    const file = join(tmp(), "chat.jsonl");
    const main = join(tmp(), "ranges.mjs");
    await writeFile(main, script(process.cwd(), file));
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", generator(process.cwd(), file)]);
    const { stdout } = await promisify(execFile)(process.execPath, ["--trace-opt", "--trace-deopt", "--no-concurrent-recompilation", main], { maxBuffer: 64 * 1024 * 1024 });
    const lines = stdout.split("\n");
    const later = lines.indexOf("=== range 2");
    expect(later).toBeGreaterThan(0);
    expect(lines).toContain("=== range 3");
    const compiled = (from: number, to: number) =>
      new Set(lines.slice(from, to).flatMap((l) => /^\[compiling method .*<JSFunction (\S+) \(sfi/.exec(l)?.[1] ?? []));
    const first = compiled(0, later);
    // The hot path was optimised in the first range (else the check below would say nothing).
    for (const name of ["parseLine", "checkConversation", "countRole", "split", "finish", "process"]) expect(first, name).toContain(name);
    const again = [...compiled(later, lines.length)].filter((name) => first.has(name));
    expect(again).toEqual([]);
    // (Code dropped because objects it held died — "weak objects" — depends on when the garbage collector runs, not
    // on the code: not counted.)
    const deopts = lines.slice(later).filter((l) => (l.startsWith("[bailout") || l.startsWith("[marking dependent code")) && !l.includes("reason: weak objects"));
    expect(deopts).toEqual([]);
  });
});
