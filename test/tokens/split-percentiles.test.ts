import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mergeHistograms, percentile } from "../../src/validate/token-stats.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("tokens-split", "each");

describe("a split's p50/p95 are exact over all its files' records", () => {
  it("percentiles of merged histograms are the nearest-rank percentiles of all the counts", () => {
    const counts = [5, 9, 9, 12, 40, 40, 41, 300, 7, 7, 7];
    const a = new Map<number, number>();
    const b = new Map<number, number>();
    counts.forEach((c, k) => {
      const h = k % 2 ? a : b;
      h.set(c, (h.get(c) ?? 0) + 1);
    });
    const sorted = [...counts].sort((x, y) => x - y);
    const merged = mergeHistograms([a, b]);
    for (const p of [1, 50, 90, 95, 100]) expect(percentile(merged, counts.length, p)).toBe(sorted[Math.ceil((p / 100) * counts.length) - 1]);
  });

  it("validate --json: three short records in one file and one long in another give the short count as p50, not the larger file's", async () => {
    const short = JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "ok" }] });
    const long = JSON.stringify({ messages: [{ role: "user", content: "Tell me a story." }, { role: "assistant", content: "Once upon a time there was a tokenizer. ".repeat(30) }] });
    await writeFile(join(tmp(), "a.jsonl"), `${short}\n${short}\n${short}\n`);
    await writeFile(join(tmp(), "b.jsonl"), `${long}\n`);
    const { code, stdout, stderr } = await runCli("validate", "--json", "--tokenizer", "o200k_base", join(tmp(), "a.jsonl"), join(tmp(), "b.jsonl"));
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout) as { files: { stats: { tokens: { p50: number; max: number; histogram?: unknown } } }[]; tokens: { p50: number; p95: number; max: number } };
    const [a, b] = doc.files.map((f) => f.stats.tokens);
    expect(a!.p50).toBeLessThan(b!.p50);
    // All four counts sorted: [s, s, s, L]; nearest rank: p50 is the 2nd (s), p95 the 4th (L).
    expect(doc.tokens).toMatchObject({ p50: a!.p50, p95: b!.max, max: b!.max });
    // The histogram stays out of the JSON.
    expect(a!.histogram).toBeUndefined();
  });
});
