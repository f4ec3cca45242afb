import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { SHARD_STATE_FILE } from "../../src/guard/shard-writer.js";
import { prepare, type PrepareOptions } from "../../src/pipeline/prepare.js";
import { chatLines, chatRecord } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * `prepare` with worker threads: the plan and every output file are the same, byte for byte, with 1, 2 and 4
 * workers — files cut into small byte ranges, with invalid records left out, duplicates dropped across ranges and
 * files of a split, blank lines and CRLF cleaned, a file sharded, a compressed one converted.
 */

const tmp = useTempDir("prepare-workers", "all");

/** Every output file's sha256, but the shard writer's state file (it records modification times). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name === SHARD_STATE_FILE) continue;
    out[relative(dir, join(entry.parentPath, entry.name))] = createHash("sha256").update(await readFile(join(entry.parentPath, entry.name))).digest("hex");
  }
  return out;
}

function dirtyData(n: number, seed: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    const k = (i * 7919 + seed) % 100;
    if (k < 3) out += "\n";
    else if (k < 5) out += `{"messages": [}\n`;
    else if (k < 12) out += `${chatRecord((i * 13) % 50)}\r\n`; // duplicates, some across ranges and files
    else out += `${chatRecord(1000 + i, 3 + (i % 20))}\n`;
  }
  return out;
}

describe("prepare with worker threads", () => {
  it("writes the same plan and the same bytes with 1, 2 and 4 workers", async () => {
    const data = join(tmp(), "data");
    await mkdir(data, { recursive: true });
    await writeFile(join(data, "a-train.jsonl"), dirtyData(3000, 1));
    await writeFile(join(data, "b-train.jsonl"), dirtyData(2000, 2));
    await writeFile(join(data, "c-validation.jsonl"), chatLines(800));
    await writeFile(join(data, "d-train.jsonl"), chatLines(6000, 20_000, 30)); // over the limit: shards, in one pass
    const results: { plan: string; files: Record<string, string>; report: string }[] = [];
    for (const workers of [1, 2, 4]) {
      const out = join(tmp(), `out-${workers}`);
      const reportPath = join(tmp(), `report-${workers}.ndjson`);
      const options: PrepareOptions = { outDir: out, workers, rangeBytes: 8192, skipInvalid: true, maxInvalidFraction: 0.5, dedupe: true, maxFileBytes: 600_000, reportPath };
      const plan = await prepare([data], options);
      expect(plan.ok).toBe(true);
      const text = JSON.stringify(plan).replaceAll(out, "OUT");
      results.push({ plan: text, files: await tree(out), report: (await readFile(reportPath, "utf8")).replaceAll(out, "OUT") });
    }
    const [one, ...others] = results;
    expect(one!.plan).toContain('"kind":"cleaned"');
    expect(one!.plan).toContain('"kind":"shard"');
    expect(one!.plan).toMatch(/"duplicates":[1-9]/);
    for (const other of others) {
      expect(other.plan).toBe(one!.plan);
      expect(other.files).toEqual(one!.files);
      expect(other.report).toBe(one!.report);
    }
  });
});
