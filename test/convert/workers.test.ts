import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { convertPaths, fixPaths } from "../../src/index.js";
import { AbortedError } from "../../src/errors.js";
import type { RewriteSummary } from "../../src/convert/rewrite.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";
import { jsonl } from "./helpers.js";

/**
 * `fix` and `convert` with worker threads: each file is rewritten whole by one thread, several files at once; the
 * outputs (byte for byte) and the summary are those of one thread, with 1, 2 and 4 workers.
 */

const tmp = useTempDir("rewrite-workers", "all");

const call = (id: string, city: string) => ({ id, type: "function", function: { name: "get_weather", arguments: JSON.stringify({ city }) } });

/** A mix each command has work on: OpenAI tool calls (fresh ids), ShareGPT, Alpaca, invalid lines, blank lines. */
function records(n: number, seed: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7 + seed) % 5;
    if (k === 0) {
      lines.push(JSON.stringify({
        messages: [
          { role: "user", content: `Weather in City${i}? é 中文 😀` },
          { role: "assistant", content: null, tool_calls: [call(`call_${seed}_${i}`, `City${i}`)] },
          { role: "tool", tool_call_id: `call_${seed}_${i}`, content: "sunny" },
          { role: "assistant", content: `Sunny in City${i}.` },
        ],
      }));
    } else if (k === 1) lines.push(JSON.stringify({ conversations: [{ from: "human", value: `hi ${i}` }, { from: "gpt", value: `hello ${i}` }] }));
    else if (k === 2) lines.push(JSON.stringify({ instruction: `Say ${i}`, input: "", output: `${i}` }));
    else if (k === 3) lines.push(i % 2 ? "" : `{"messages": [broken ${i}`);
    else lines.push(JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }], id: i }));
  }
  return `${lines.join("\n")}\n`;
}

async function dataset(): Promise<string> {
  const dir = join(tmp(), `data-${Math.random().toString(36).slice(2)}`);
  await mkdir(join(dir, "nested"), { recursive: true });
  await writeFile(join(dir, "a.jsonl"), records(120, 1));
  await writeFile(join(dir, "b.jsonl"), records(60, 2));
  await writeFile(join(dir, "c.jsonl.gz"), gzipSync(records(40, 3)));
  await writeFile(join(dir, "nested", "d.json"), `[${records(30, 4).split("\n").filter((l) => l.startsWith("{") && !l.includes("broken")).join(",")}]`);
  await writeFile(join(dir, "nested", "e.jsonl"), jsonl([{ messages: [{ role: "user", content: "x" }, { role: "assistant", content: "y" }] }]));
  return dir;
}

/** Every output file's bytes, by name under `out`, and the summary with `out` written as OUT. */
async function outcome(out: string, summary: RewriteSummary): Promise<{ files: Record<string, string>; summary: string }> {
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files[relative(out, path)] = await readFile(path, "utf8");
    }
  };
  await walk(out);
  return { files, summary: JSON.stringify(summary).split(out).join("OUT") };
}

describe("fix and convert with worker threads", () => {
  for (const command of ["fix", "convert"] as const) {
    it(`${command}: the same output files and summary with 1, 2 and 4 workers`, async () => {
      const dir = await dataset();
      const results = [];
      for (const workers of [1, 2, 4]) {
        const out = join(tmp(), `${command}-out-${workers}`);
        const summary =
          command === "fix"
            ? await fixPaths([dir], { out, seed: 7, workers })
            : await convertPaths([dir], { out, to: "mistral-chat", seed: 7, workers });
        results.push(await outcome(out, summary));
      }
      expect(Object.keys(results[0]!.files).sort()).toEqual(["a.jsonl", "b.jsonl", "c.jsonl", "nested/d.jsonl", "nested/e.jsonl"]);
      expect(results[0]!.summary).toContain('"changed"');
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
    });
  }

  it("ftprep convert --workers 1, 2 and 4 print the same --json and write the same files", async () => {
    const dir = await dataset();
    const results = [];
    for (const workers of ["1", "2", "4"]) {
      const out = join(tmp(), `cli-out-${workers}`);
      const { code, stdout } = await runCli("convert", "--to", "openai-chat", "--seed", "3", "--skip-invalid", "--json", "--workers", workers, "-o", out, dir);
      expect(code).toBe(0);
      results.push(await outcome(out, JSON.parse(stdout) as RewriteSummary));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("an abort stops every worker and leaves no temporary file", async () => {
    const dir = await dataset();
    for (let i = 0; i < 6; i++) await writeFile(join(dir, `big-${i}.jsonl`), records(3000, 10 + i));
    const out = join(tmp(), "aborted");
    const controller = new AbortController();
    const run = convertPaths([dir], { out, to: "mistral-chat", workers: 2, signal: controller.signal, onFile: () => controller.abort(new AbortedError("stopped")) });
    await expect(run).rejects.toThrow(AbortedError);
    const left: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const entry of await readdir(d, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(d, entry.name));
        else left.push(entry.name);
      }
    };
    await walk(out);
    expect(left.filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(left.length).toBeLessThan(11);
  });
});
