import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { LineSet } from "../../src/guard/line-set.js";
import { ShardWriter, shardName } from "../../src/guard/shard-writer.js";
import { parseByteSize } from "../../src/guard/size.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("shards");

describe("ShardWriter", () => {
  it("names parts NAME.part-0001-of-0003.jsonl, a single part NAME.jsonl", () => {
    expect(shardName("train", 1, 3)).toBe("train.part-0001-of-0003.jsonl");
    expect(shardName("train", 1, 1)).toBe("train.jsonl");
  });

  it("keeps each record's bytes and line ending, ends a last line with \\n, and never exceeds the limit", async () => {
    const writer = new ShardWriter({ dir: tmp(), name: "d", maxBytes: 20 });
    writer.write(Buffer.from("aaaaaaa"), "\r\n"); // 9
    writer.write("bbbbbbbbb", "\n"); // 10 → 19
    writer.write("cc", ""); // 3 → new part
    const files = await writer.finish();
    expect(files.map((f) => [f.part, f.parts, f.records, f.bytes])).toEqual([
      [1, 2, 2, 19],
      [2, 2, 1, 3],
    ]);
    expect(await readFile(files[0]!.path, "utf8")).toBe("aaaaaaa\r\nbbbbbbbbb\n");
    expect(await readFile(files[1]!.path, "utf8")).toBe("cc\n");
    expect(files[1]!.sha256).toBe(createHash("sha256").update("cc\n").digest("hex"));
  });

  it("writes records larger than its buffer, and many flushes, without changing a byte", async () => {
    const writer = new ShardWriter({ dir: tmp(), name: "big", maxBytes: 8 << 20 });
    const big = "x".repeat(3 << 20);
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) {
      const line = i % 2 ? big : `small ${i}`;
      writer.write(line, "\n");
      expected.push(line);
      if (writer.wantsFlush) await writer.flush();
    }
    const files = await writer.finish();
    const joined = (await Promise.all(files.map((f) => readFile(f.path, "utf8")))).join("");
    expect(joined).toBe(expected.map((l) => `${l}\n`).join(""));
    for (const f of files) expect(f.bytes).toBeLessThanOrEqual(8 << 20);
  });

  it("refuses a record that cannot fit", () => {
    const writer = new ShardWriter({ dir: tmp(), name: "d", maxBytes: 10 });
    expect(() => writer.write("0123456789", "\n")).toThrow(RangeError);
  });

  it("leaves nothing behind when aborted", async () => {
    const writer = new ShardWriter({ dir: tmp(), name: "d", maxBytes: 100 });
    writer.write("abc", "\n");
    await writer.flush();
    await writer.abort();
    expect(await readdir(tmp())).toEqual([]);
  });
});

describe("LineSet", () => {
  it("answers in one forward walk and rewinds", () => {
    const set = new LineSet();
    for (const n of [3, 7, 8, 200]) set.add(n);
    expect([1, 3, 5, 7, 8, 9, 200, 201].map((n) => set.hasNext(n))).toEqual([false, true, false, true, true, false, true, false]);
    set.rewind();
    expect(set.hasNext(3)).toBe(true);
    expect(() => set.add(5)).toThrow(RangeError);
  });
});

describe("parseByteSize", () => {
  it("reads SI and binary units", () => {
    expect(parseByteSize("512MB")).toBe(512_000_000);
    expect(parseByteSize("64MiB")).toBe(64 * 1024 * 1024);
    expect(parseByteSize("10 kb")).toBe(10_000);
    expect(parseByteSize("1048576")).toBe(1048576);
    expect(parseByteSize("1.5GB")).toBe(1_500_000_000);
    expect(parseByteSize("12 parsecs")).toBeUndefined();
    expect(parseByteSize("-1")).toBeUndefined();
  });
});
