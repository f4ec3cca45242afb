import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { mixedData } from "../helpers/mixed-data.js";
import { useTempDir } from "../helpers/temp.js";

const index = pathToFileURL(join(process.cwd(), "dist", "index.js")).href;
const tmp = useTempDir("retention");

// A fresh process (`--expose-gc`) validates a directory four times through the library (1, 2, 1 and 2 workers), each
// call inside a function that keeps only a count, and reports the live heap after full collections: before, while a
// summary is held, and after each call. The least of several collections 20 ms apart: a concurrent TurboFan job can
// hold objects it compiles against (V8's handle scopes and identity maps) for a moment, longer on a loaded machine.
// (A summary held by the caller's own frame — `let s = await validatePaths(…); s = undefined; gc()` at a module's top
// level — stays among V8's stack roots until that frame next awaits: about 43 MB for 10,000 files, measured once,
// that frame's and not the library's.)
const script = (dir: string): string => `import v8 from "node:v8";
const { validatePaths } = await import(${JSON.stringify(index)});
const heap = () => v8.getHeapStatistics().used_heap_size;
const settle = async () => {
  let least = Infinity;
  for (let i = 0; i < 8; i++) { gc(); least = Math.min(least, heap()); await new Promise((r) => setTimeout(r, 20)); }
  return least;
};
let held = 0;
async function once(workers) {
  const summary = await validatePaths([${JSON.stringify(dir)}], { workers });
  gc();
  held = Math.max(held, heap());
  return summary.files.length;
}
const base = await settle();
const after = [];
const files = [];
for (const workers of [1, 2, 1, 2]) { files.push(await once(workers)); after.push(await settle()); }
console.log(JSON.stringify({ files, base, held, after }));`;

describe("validatePaths keeps nothing of a run once its summary is dropped", () => {
  it("a directory's reports are freed, with 1 and 2 workers, and further calls add nothing", async () => {
    const dir = tmp();
    for (let i = 0; i < 300; i++) await writeFile(join(dir, `part-${i}.jsonl`), mixedData(40, { seed: i + 1 }));
    const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", "--input-type=module", "-e", script(dir)]);
    const { files, base, held, after } = JSON.parse(stdout) as { files: number[]; base: number; held: number; after: number[] };
    expect(files).toEqual([300, 300, 300, 300]);
    const summaryBytes = held - after[1]!;
    // A summary (a report per file, each with kept examples) is several MB: the checks below would see one kept.
    expect(summaryBytes).toBeGreaterThan(2e6);
    // The first calls load and compile the validators (kept for the process); the later calls leave the heap where
    // the first two left it.
    expect(after[1]! - base).toBeLessThan(summaryBytes / 2);
    expect(after[3]! - after[1]!).toBeLessThan(summaryBytes / 4);
  });
});
