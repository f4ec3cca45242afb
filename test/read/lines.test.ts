import { describe, expect, it } from "vitest";
import { type Line, readLineBatches, readLines, splitLines } from "../../src/read/lines.js";
import { chunked, collect, seeded } from "../helpers/sources.js";

const text = (line: Line): string => Buffer.from(line.bytes).toString("utf8");
const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");

async function lines(input: Uint8Array | string, chunk = 1 << 20, maxLineBytes?: number): Promise<Line[]> {
  const bytes = typeof input === "string" ? enc(input) : input;
  return collect(readLines(chunked(bytes, chunk), maxLineBytes === undefined ? {} : { maxLineBytes }));
}

describe("readLines", () => {
  it("splits on \\n with 1-based numbers and byte offsets", async () => {
    const out = await lines('{"a":1}\n{"b":2}\n');
    expect(out.map(text)).toEqual(['{"a":1}', '{"b":2}']);
    expect(out.map((l) => [l.number, l.offset, l.length, l.terminator])).toEqual([
      [1, 0, 7, "\n"],
      [2, 8, 7, "\n"],
    ]);
  });

  it("strips \\r of \\r\\n and says so", async () => {
    const out = await lines("a\r\nb\nc\r\n");
    expect(out.map(text)).toEqual(["a", "b", "c"]);
    expect(out.map((l) => l.terminator)).toEqual(["\r\n", "\n", "\r\n"]);
    expect(out.map((l) => l.offset)).toEqual([0, 3, 5]);
  });

  it("keeps a lone \\r inside a line", async () => {
    const out = await lines("a\rb\n");
    expect(out.map(text)).toEqual(["a\rb"]);
  });

  it("strips a UTF-8 BOM and flags line 1, also when the BOM arrives one byte at a time", async () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc("x\ny\n")]);
    for (const size of [1, 2, 3, 1024]) {
      const out = await lines(input, size);
      expect(out.map(text)).toEqual(["x", "y"]);
      expect(out.map((l) => l.bom)).toEqual([true, false]);
      expect(out[0]!.offset).toBe(3);
      expect(out[1]!.offset).toBe(5);
    }
  });

  it("does not mistake a partial BOM-like prefix for a BOM", async () => {
    const input = Buffer.from([0xef, 0xbb, 0x41, 0x0a]);
    const out = await lines(input, 1);
    expect(out).toHaveLength(1);
    expect(out[0]!.bom).toBe(false);
    expect(Array.from(out[0]!.bytes)).toEqual([0xef, 0xbb, 0x41]);
  });

  it("yields a last line without a final newline", async () => {
    const out = await lines("a\nb");
    expect(out.map(text)).toEqual(["a", "b"]);
    expect(out[1]!.terminator).toBe("");
  });

  it("yields blank lines and nothing for an empty input", async () => {
    expect((await lines("\n\n  \n")).map(text)).toEqual(["", "", "  "]);
    expect(await lines("")).toEqual([]);
    expect(await lines("", 1)).toEqual([]);
  });

  it("passes invalid UTF-8 through as bytes (the validator reports it)", async () => {
    const out = await lines(Buffer.from([0x7b, 0xff, 0x7d, 0x0a]));
    expect(Array.from(out[0]!.bytes)).toEqual([0x7b, 0xff, 0x7d]);
  });

  it("gives the same lines whatever the chunk boundaries", async () => {
    const random = seeded(7);
    const alphabet = ["a", "é", "\n", "\r\n", "\r", " ", "{", "🙂"];
    for (let round = 0; round < 30; round++) {
      let s = random() < 0.3 ? "\uFEFF" : "";
      const n = Math.floor(random() * 60);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)]!;
      const bytes = enc(s);
      const whole = await lines(bytes, bytes.length + 1);
      for (const size of [1, 2, 3, 5, 16]) {
        const split = await lines(bytes, size);
        expect(split.map((l) => [l.number, l.offset, text(l), l.terminator, l.bom])).toEqual(
          whole.map((l) => [l.number, l.offset, text(l), l.terminator, l.bom]),
        );
      }
    }
  });

  it("splitLines gives bytes in memory the lines the stream gives them, too-long, BOM, CR and unterminated ones too", async () => {
    const random = seeded(11);
    const alphabet = ["a", "é", "\n", "\r\n", "\r", " ", "{", "🙂", "xxxxxxxx"];
    const cases = ["", "\uFEFF", "\uFEFF\n", "\r", "\n", "a", "\xEF", "x\r"].map(enc);
    cases.push(Buffer.from([0xef]), Buffer.from([0xef, 0xbb]), Buffer.from([0xef, 0xbb, 0xbf]));
    for (let round = 0; round < 40; round++) {
      let s = random() < 0.3 ? "\uFEFF" : "";
      const n = Math.floor(random() * 60);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)]!;
      cases.push(enc(s));
    }
    const shape = (l: Line) => [l.number, l.offset, text(l), l.length, l.terminator, l.bom, l.tooLong];
    for (const bytes of cases) {
      for (const maxLineBytes of [undefined, 8]) {
        const streamed = await lines(bytes, 3, maxLineBytes);
        expect(splitLines(bytes, maxLineBytes === undefined ? {} : { maxLineBytes }).map(shape)).toEqual(streamed.map(shape));
      }
    }
    expect(() => splitLines(enc("a\n"), { maxLineBytes: 0 })).toThrow(/`maxLineBytes`/);
  });

  it("reports a too-long line with its length and drops its bytes, without holding it", async () => {
    const long = "x".repeat(5000);
    for (const size of [1, 7, 4096, 100_000]) {
      const out = await lines(`ok\n${long}\nafter\n`, size, 1000);
      expect(out.map((l) => [l.number, l.tooLong, l.length, l.bytes.length])).toEqual([
        [1, false, 2, 2],
        [2, true, 5000, 0],
        [3, false, 5, 5],
      ]);
      expect(out[2]!.offset).toBe(3 + 5001);
    }
  });

  it("keeps a line of exactly the maximum, with or without \\r\\n", async () => {
    const out = await lines(`${"y".repeat(10)}\r\n${"z".repeat(10)}\n${"w".repeat(11)}\n`, 3, 10);
    expect(out.map((l) => [l.tooLong, l.length])).toEqual([
      [false, 10],
      [false, 10],
      [true, 11],
    ]);
  });

  it("never buffers more than the maximum of a too-long line", async () => {
    // A 50 MB line read in 64 KiB chunks with a 1 MiB maximum: if its bytes were gathered, the reader would hold
    // 50 MB; the parts it keeps are checked through the heap instead of trusting the flag.
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 800; i++) yield chunk;
      yield enc("\nend\n");
    }
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const out: Line[] = [];
    for await (const batch of readLineBatches(source(), { maxLineBytes: 1 << 20 })) {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      out.push(...batch);
    }
    expect(out.map((l) => [l.tooLong, l.length])).toEqual([
      [true, 800 * 64 * 1024],
      [false, 3],
    ]);
    expect(peak).toBeLessThan(8 << 20);
  });

  it("stops reading its source when the consumer stops early", async () => {
    let pulled = 0;
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield enc(`line ${i}\n`);
        }
      } finally {
        closed = true;
      }
    }
    for await (const line of readLines(source())) {
      if (line.number === 3) break;
    }
    expect(closed).toBe(true);
    expect(pulled).toBe(3);
  });

  it("pulls one chunk per batch: no read-ahead", async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield enc(`a\nb\n`);
      }
    }
    const iterator = readLineBatches(source())[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toHaveLength(2);
    expect(pulled).toBe(1);
    await iterator.return?.();
  });

  it("rejects a maximum that is not a positive integer", async () => {
    await expect(collect(readLines(chunked(enc("a\n"), 1), { maxLineBytes: 0 }))).rejects.toThrow(/`maxLineBytes`/);
  });
});
