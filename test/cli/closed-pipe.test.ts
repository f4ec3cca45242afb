import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("pipe");

describe("a reader that goes away", () => {
  it("ends the run quietly when stdout is closed early (ftprep … | head), with no EPIPE stack trace", async () => {
    const dir = join(tmp(), "data");
    await mkdir(dir);
    for (let i = 0; i < 20; i++) await writeFile(join(dir, `part${i}-train.jsonl`), chatLines(2, i * 10));
    const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "validate", "--json", dir], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // The reader is gone before the first write, as with `| head -c 0`.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|at .*\.js:\d+/);
    expect(code).toBe(0);
  });
});
