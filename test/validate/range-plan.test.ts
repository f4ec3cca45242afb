import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineRanges, lineRangesAt } from "../../src/read/ranges.js";
import { RANGE_BYTES, rangeCount, rangeSizes } from "../../src/workers/validate.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * How a large file is cut for the workers: ranges of at most `RANGE_BYTES`, then smaller and smaller ones at the
 * end, so no thread is left alone with a large last range while the others wait (with equal ranges, 200 MB on two
 * threads were 4 + 3 ranges of 28 MB: one thread did a third more than the other).
 */

const tmp = useTempDir("range-plan", "all");

describe("the ranges a file is cut into for the workers", () => {
  it("covers the file, each range at most RANGE_BYTES, the last ones small", () => {
    for (const workers of [2, 3, 4, 8]) {
      for (const size of [RANGE_BYTES / 2, 50e6, 200e6, 1e9, 5e9]) {
        const sizes = rangeSizes(size, workers);
        expect(sizes.reduce((a, b) => a + b, 0), `${size} bytes, ${workers} workers`).toBe(size);
        for (const n of sizes) expect(n).toBeLessThanOrEqual(RANGE_BYTES);
        for (const n of sizes) expect(n).toBeGreaterThanOrEqual(RANGE_BYTES / 32);
        // The last 2 × workers ranges (what the threads hold when the first of them runs out) are small.
        for (const n of sizes.slice(-2 * workers)) expect(n).toBeLessThanOrEqual(RANGE_BYTES / 8);
        // Each range is at most 1/(2 × workers) of what is left from it on (the last, or one up to twice the least).
        let left = size;
        for (const n of sizes.slice(0, -1)) {
          expect(n).toBeLessThanOrEqual(Math.max(RANGE_BYTES / 32, Math.ceil(left / (2 * workers))));
          left -= n;
        }
        expect(rangeCount(size, workers)).toBe(sizes.length);
      }
    }
    // A 1 GB file on two threads: about 30 large ranges, then about 15 ever smaller ones.
    expect(rangeCount(1e9, 2)).toBeGreaterThan(30);
    expect(rangeCount(1e9, 2)).toBeLessThan(60);
  });

  it("does not cut with one thread or under half a range", () => {
    expect(rangeSizes(1e9, 1)).toEqual([1e9]);
    expect(rangeSizes(RANGE_BYTES / 2 - 1, 2)).toEqual([RANGE_BYTES / 2 - 1]);
    expect(rangeSizes(1000, 2, 4096)).toEqual([1000]);
  });

  it("cuts at the first line end at or after each target; targets inside one line make one cut", async () => {
    const path = join(tmp(), "lines.jsonl");
    // Lines of 10, 30, 5 and 20 bytes (each with its "\n"), the third ended by "\r\n".
    const data = Buffer.from(`${"a".repeat(9)}\n${"b".repeat(29)}\n${"c".repeat(3)}\r\n${"d".repeat(19)}\n`);
    await writeFile(path, data);
    expect(await lineRangesAt(path, data.length, [])).toEqual([{ start: 0, end: 65 }]);
    expect(await lineRangesAt(path, data.length, [1])).toEqual([{ start: 0, end: 10 }, { start: 10, end: 65 }]);
    expect(await lineRangesAt(path, data.length, [10])).toEqual([{ start: 0, end: 40 }, { start: 40, end: 65 }]);
    expect(await lineRangesAt(path, data.length, [11, 20, 39, 42])).toEqual([{ start: 0, end: 40 }, { start: 40, end: 45 }, { start: 45, end: 65 }]);
    // A target in the last line makes no cut.
    expect(await lineRangesAt(path, data.length, [9, 50])).toEqual([{ start: 0, end: 10 }, { start: 10, end: 65 }]);
    // lineRanges cuts at equal shares, as lineRangesAt at those targets.
    expect(await lineRanges(path, data.length, 3)).toEqual(await lineRangesAt(path, data.length, [21, 43]));
  });
});
