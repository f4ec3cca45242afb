import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validatePaths } from "../../src/pipeline/validate.js";
import { mulberry32 } from "../../src/random.js";
import { CountsWriter, readCounts } from "../../src/workers/counts-file.js";
import { estimateHook, resolveTokenHook } from "../../src/tokens/hook.js";
import type { TokenHook } from "../../src/validate/token-stats.js";
import { runCli } from "../helpers/cli.js";
import { mixedData } from "../helpers/mixed-data.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * Per-record token counts (`ftprep tokens`, a hook's `onCount`) with worker threads: each worker counts its byte
 * range or file, and the main thread tells every record in file order — exactly what one thread tells.
 */

const tmp = useTempDir("tokens-workers", "all");

async function dataset(): Promise<string> {
  const dir = join(tmp(), "data");
  await mkdir(join(dir, "nested"), { recursive: true });
  await writeFile(join(dir, "a.jsonl"), mixedData(700, { seed: 41, bom: true }));
  await writeFile(join(dir, "b.jsonl"), mixedData(300, { seed: 42, unterminated: true }));
  await writeFile(join(dir, "nested", "c.jsonl"), chatLines(120));
  return dir;
}

type Count = [file: string, line: number, tokens: number, trainable: number, estimated: boolean | undefined];

async function counted(dir: string, workers: number, resolve: (onCount: TokenHook["onCount"]) => Promise<TokenHook>): Promise<{ counts: Count[]; summary: string; failures: unknown[] }> {
  const counts: Count[] = [];
  const tokens = await resolve((file, line, t, trainable, estimated) => counts.push([file, line, t, trainable, estimated]));
  // Byte ranges of 2 kB: the files are cut into many parts, so records are told across many part boundaries.
  const summary = await validatePaths([dir], { workers, rangeBytes: 2048, tokens });
  return { counts, summary: JSON.stringify(summary), failures: summary.failures };
}

describe("per-record token counts with worker threads", () => {
  for (const [name, resolve] of [
    ["o200k_base (cookbook)", async (onCount: TokenHook["onCount"]) => (await resolveTokenHook({ tokenizer: "o200k_base", ...(onCount ? { onCount } : {}) }))!],
    ["Tekken (exact)", async (onCount: TokenHook["onCount"]) => (await resolveTokenHook({ model: "open-mistral-nemo", ...(onCount ? { onCount } : {}) }))!],
    ["the estimate", async (onCount: TokenHook["onCount"]) => estimateHook(onCount)],
  ] as const) {
    it(`${name}: the same records, in the same order, and the same summary with 1, 2 and 4 workers`, async () => {
      const dir = await dataset();
      const one = await counted(dir, 1, resolve);
      expect(one.failures).toEqual([]);
      expect(one.counts.length).toBeGreaterThan(400);
      // Line numbers rise within each file, and every file is told.
      expect(new Set(one.counts.map((c) => c[0].split("/").pop()))).toEqual(new Set(["a.jsonl", "b.jsonl", "c.jsonl"]));
      for (const workers of [2, 4]) {
        const many = await counted(dir, workers, resolve);
        // First: a file that could not be validated (a part whose thread died or failed) is told only up to that part,
        // so its counts fall short; its failure says why (a run once failed only as 668 counts against 772: what c.jsonl gives when the task of its second part fails).
        expect(many.failures, `${workers} workers`).toEqual([]);
        expect(many.counts, `${workers} workers`).toEqual(one.counts);
        expect(many.summary, `${workers} workers`).toBe(one.summary);
      }
    });
  }

  it("tells a part's counts while later parts are still being counted, not once the last is done", async () => {
    // Small records, then one of about 3 MB of varied words: its part is counted long after the first part ends,
    // and a part's read bytes are reported when it ends (under the 4 MB a worker reports at), so the bytes read
    // when the first count is told show whether every part had ended by then.
    const random = mulberry32(7);
    const syllables = "ka ri to me lo su an ex pre con ter ing ion al ver ché ño 中 文".split(" ");
    const words = Array.from({ length: 20_000 }, () => Array.from({ length: 1 + Math.floor(random() * 4) }, () => syllables[Math.floor(random() * syllables.length)]).join(""));
    let text = "";
    while (text.length < 3_000_000) text += `${words[Math.floor(random() * words.length)]} `;
    const path = join(tmp(), "late.jsonl");
    const small = chatLines(600);
    await writeFile(path, `${small}${JSON.stringify({ messages: [{ role: "user", content: text }, { role: "assistant", content: "ok" }] })}\n`);
    const size = (await stat(path)).size;
    expect(size).toBeLessThan(4 * 1024 * 1024);
    let read = 0;
    let readAtFirstCount: number | undefined;
    let told = 0;
    const tokens = (await resolveTokenHook({ tokenizer: "o200k_base", onCount: () => ((readAtFirstCount ??= read), told++) }))!;
    const summary = await validatePaths([path], { workers: 2, rangeBytes: 16 * 1024, tokens, onProgress: (e) => (e.type === "read" ? (read += e.n) : undefined) });
    expect(summary.files[0]!.records).toBe(601);
    expect(told).toBe(601);
    expect(read).toBe(size);
    expect(readAtFirstCount).toBeLessThan(size);
  });

  it("ftprep tokens --workers 1, 2 and 4 print the same NDJSON, byte for byte", async () => {
    const dir = await dataset();
    await writeFile(join(dir, "nested", "d.jsonl"), mixedData(200, { seed: 43 }));
    expect((await readdir(dir)).length).toBeGreaterThan(1);
    const outputs: string[] = [];
    for (const workers of ["1", "2", "4"]) {
      const { code, stdout } = await runCli("tokens", "--model", "gpt-4o-mini-2024-07-18", "--workers", workers, dir);
      expect(code).toBe(0);
      outputs.push(stdout);
    }
    expect(outputs[0]!.split("\n").length).toBeGreaterThan(500);
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  });
});

describe("a part's counts file", () => {
  it("gives back every record in order, past a full buffer and across read chunks", async () => {
    const path = join(tmp(), "part.counts");
    const writer = await CountsWriter.create(path);
    const want: number[][] = [];
    // 40,000 records before the first flush: more than the writer's buffer holds.
    for (let i = 0; i < 40_000; i++) {
      const record = [i * 3 + 1, (i * 7919) % 100_003, i % 11, i % 97 === 0 ? 1 : 0];
      want.push(record);
      writer.add(record[0]!, record[1]!, record[2]!, record[3] === 1);
    }
    expect(writer.wantsFlush).toBe(true);
    await writer.flush();
    writer.add(2 ** 40, 5, 0, false);
    want.push([2 ** 40, 5, 0, 0]);
    await writer.close();
    const got: number[][] = [];
    for await (const records of readCounts(path)) for (let i = 0; i < records.length; i += 4) got.push([...records.subarray(i, i + 4)]);
    expect(got).toEqual(want);
  });
});
