import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeNonText, classifyJsonHead } from "../../src/read/sniff.js";
import { compressionOf, CorruptInputError, datasetStem, decompress, isDatasetName } from "../../src/read/source.js";
import { gzipMembers, zstdFrame, zstdRunFrame } from "../helpers/compress.js";
import { chatLines } from "../helpers/records.js";
import { chunked } from "../helpers/sources.js";

const fixtures = join(import.meta.dirname, "..", "..", "fixtures");

async function inflate(bytes: Uint8Array, compression: "gzip" | "zstd", chunk: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const piece of decompress(chunked(bytes, chunk), compression)) out.push(Buffer.from(piece));
  return Buffer.concat(out);
}

describe("dataset names", () => {
  it("knows the compressed suffixes and strips the whole dataset suffix", () => {
    expect(["a.jsonl", "a.JSONL.GZ", "a.jsonl.zst", "a.json"].map(isDatasetName)).toEqual([true, true, true, true]);
    expect(["a.gz", "a.json.gz", "a.txt", "a.zst"].map(isDatasetName)).toEqual([false, false, false, false]);
    expect(["a.jsonl.gz", "a.jsonl.zst", "a.jsonl", "a.json"].map(compressionOf)).toEqual(["gzip", "zstd", undefined, undefined]);
    expect(["train.jsonl.gz", "train.jsonl.zst", "v.jsonl", "x.json", "notes.txt"].map(datasetStem)).toEqual(["train", "train", "v", "x", "notes.txt"]);
  });
});

describe("decompress", () => {
  const text = chatLines(300);
  const small = chatLines(12); // for 1-byte chunks

  it("reads gzip, single and multi-member, whatever the chunk size", async () => {
    for (const [data, chunk] of [[small, 1], [text, 97], [text, 64 * 1024]] as const) {
      expect((await inflate(gzipMembers(data), "gzip", chunk)).toString()).toBe(data);
      expect((await inflate(gzipMembers(data, 500), "gzip", chunk)).toString()).toBe(data);
    }
  });

  it("reads Zstandard: raw-block frames, several frames, RLE blocks, and a file the zstd tool compressed", async () => {
    for (const [data, chunk] of [[small, 1], [text, 97], [text, 64 * 1024]] as const) {
      const raw = Buffer.from(data);
      const frames = Buffer.concat([zstdFrame(raw.subarray(0, 500)), zstdFrame(raw.subarray(500))]);
      expect((await inflate(zstdFrame(raw), "zstd", chunk)).toString()).toBe(data);
      expect((await inflate(frames, "zstd", chunk)).toString()).toBe(data);
    }
    expect((await inflate(zstdRunFrame(0x61, 300_000), "zstd", 5)).equals(Buffer.alloc(300_000, 0x61))).toBe(true);
    const compressed = readFileSync(join(fixtures, "compressed", "mistral-chat-train.jsonl.zst"));
    expect(await inflate(compressed, "zstd", 100)).toEqual(readFileSync(join(fixtures, "datasets", "mistral-chat", "train.jsonl")));
  });

  it("bounds what a highly compressed stream holds between two pulls", async () => {
    // 64 MiB from a few kB: the decoder is fed smaller slices while its output runs large.
    const bomb = zstdRunFrame(0x20, 64 * 1024 * 1024);
    let largest = 0;
    let total = 0;
    for await (const piece of decompress(chunked(bomb, bomb.length), "zstd")) {
      largest = Math.max(largest, piece.length);
      total += piece.length;
    }
    expect(total).toBe(64 * 1024 * 1024);
    expect(largest).toBeLessThanOrEqual(128 * 1024);
  });

  it("turns invalid or truncated data into CorruptInputError, and passes the source's own errors through", async () => {
    const gz = gzipMembers(text);
    await expect(inflate(gz.subarray(0, gz.length - 20), "gzip", 1000)).rejects.toBeInstanceOf(CorruptInputError);
    await expect(inflate(Buffer.from(text), "gzip", 1000)).rejects.toBeInstanceOf(CorruptInputError);
    const zst = zstdFrame(Buffer.from(text));
    await expect(inflate(zst.subarray(0, zst.length - 20), "zstd", 1000)).rejects.toBeInstanceOf(CorruptInputError);
    await expect(inflate(Buffer.from(text), "zstd", 1000)).rejects.toBeInstanceOf(CorruptInputError);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield gz.subarray(0, 10);
      throw new Error("disk on fire");
    }
    for (const kind of ["gzip", "zstd"] as const) {
      await expect(async () => {
        for await (const _ of decompress(failing(), kind)) void _;
      }).rejects.toThrow("disk on fire");
    }
  });
});

describe("sniffing", () => {
  it("names what a file that is not text looks like, and lets text (bad text too) through", () => {
    expect(describeNonText(gzipMembers("{}\n"))).toMatch(/^gzip-compressed data/);
    expect(describeNonText(zstdFrame(Buffer.from("{}\n")))).toMatch(/^Zstandard-compressed data/);
    expect(describeNonText(Buffer.from("%PDF-1.7\n%âãÏÓ\n"))).toBe("a PDF document");
    expect(describeNonText(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2]))).toMatch(/ZIP archive/);
    expect(describeNonText(Buffer.from("PAR1\u0015\u0004"))).toBe("a Parquet file");
    expect(describeNonText(Buffer.from([0x7b, 0x00, 0x22]))).toMatch(/^binary data/);
    expect(describeNonText(Buffer.from(chatLines(3)))).toBeUndefined();
    expect(describeNonText(Buffer.from('{"a": "caf\xe9"}\n', "latin1"))).toBeUndefined(); // E_UTF8's business
    expect(describeNonText(new Uint8Array(0))).toBeUndefined();
  });

  it("tells a .json array from JSON Lines under a .json name and from metadata", () => {
    const head = (s: string) => classifyJsonHead(Buffer.from(s), true);
    expect(head(' \n[{"messages": []}]')).toEqual({ kind: "json-array" });
    expect(head('\uFEFF[]')).toEqual({ kind: "json-array" });
    expect(head(chatLines(2))).toEqual({ kind: "jsonl" });
    expect(head('{\n  "citation": "",\n  "features": {}\n}\n')).toMatchObject({ kind: "other", reason: expect.stringMatching(/JSON object, not an array of records/) });
    expect(head('{"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": "train"}')).toMatchObject({ kind: "other" });
    expect(head('"text"')).toMatchObject({ kind: "other", reason: expect.stringMatching(/not an array/) });
    expect(head("")).toMatchObject({ kind: "other", reason: "an empty file" });
    expect(classifyJsonHead(Buffer.from("%PDF-1.4"), false)).toMatchObject({ kind: "other", reason: "not JSON: it looks like a PDF document" });
  });
});
