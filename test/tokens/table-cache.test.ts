import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { once } from "node:events";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { getEnvironmentData, Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_PIECE, PieceCache } from "../../src/tokens/piece-cache.js";
import type { LoadedFrom } from "../../src/tokens/table-cache.js";
import { NO_RANK, VocabTable } from "../../src/tokens/vocab-table.js";
import { createTokenizer, type TokenizerId } from "../../src/tokens/vocabularies.js";

const TEXT = "Héllo wörld 😀👍🏽 日本語 [REFERENCE_DOC_3] don't   1234567 \r\n\tend " + "supercalifragilistic".repeat(9);

describe("VocabTable", () => {
  it("finds symbols by a range of a string, keeps the last rank of a repeated symbol, and round-trips through its bytes", () => {
    const table = VocabTable.build([
      ["ab", 3, 10],
      ["b", 1, 11],
      ["\u2581the", 7, 12],
      ["ab", 2, 13],
    ]);
    for (const t of [table, VocabTable.fromBytes(Buffer.from(table.toBytes()))]) {
      expect(t.size).toBe(3);
      expect(t.rank("xaby", 1, 3)).toBe(2);
      expect(t.id("xaby", 1, 3)).toBe(13);
      expect(t.id("xaby", 2, 3)).toBe(11);
      expect(t.id("\u2581the", 0, 4)).toBe(12);
      expect(t.rank("xaby", 0, 2)).toBe(NO_RANK);
      expect(t.id("xaby", 1, 4)).toBe(-1);
    }
    // Bytes at an odd offset (a slice of a larger buffer) are copied, not misread.
    const bytes = table.toBytes();
    const odd = new Uint8Array(bytes.byteLength + 1).subarray(1);
    odd.set(bytes);
    expect(VocabTable.fromBytes(odd).id("b", 0, 1)).toBe(11);
    expect(() => VocabTable.fromBytes(bytes.subarray(0, bytes.byteLength - 2))).toThrow(/truncated/);
    expect(() => VocabTable.fromBytes(new Uint8Array(64))).toThrow(/layout/);
  });
});

describe("PieceCache", () => {
  const hashOf = (k: string): number => PieceCache.hash(k, 0, k.length);
  const idsOf = (cache: PieceCache, text: string, start: number, end: number): number[] | undefined => {
    const e = cache.find(text, start, end, PieceCache.hash(text, start, end));
    if (e < 0) return undefined;
    const out: number[] = [];
    cache.push(e, out);
    expect(cache.count(e)).toBe(out.length);
    return out;
  };

  it("grows from a small table and keeps every piece up to its limit, then drops the oldest generation", () => {
    const cache = new PieceCache(5000);
    const key = (i: number): string => `piece-${i}`;
    // Pieces with 0 to 3 ids, found by a range of a larger string.
    const value = (i: number): number[] => Array.from({ length: i % 4 }, (_, k) => i * 10 + k);
    for (let i = 0; i < 5000; i++) expect(cache.add(key(i), 0, key(i).length, hashOf(key(i)), value(i))).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 5000; i++) expect(idsOf(cache, `>${key(i)}<`, 1, key(i).length + 1)).toEqual(value(i));
    // Two more generations: the first 5,000 are gone.
    for (let i = 5000; i < 15_001; i++) cache.add(key(i), 0, key(i).length, hashOf(key(i)), value(i));
    expect(idsOf(cache, key(0), 0, key(0).length)).toBeUndefined();
    expect(idsOf(cache, key(15_000), 0, key(15_000).length)).toEqual(value(15_000));
  });

  it("carries a piece found in the previous generation into the current one, even when that turns the generations over", () => {
    const cache = new PieceCache(4);
    const add = (k: string, ids: number[]): number => cache.add(k, 0, k.length, hashOf(k), ids);
    for (const k of ["a", "b", "c", "d"]) add(k, [k.charCodeAt(0), 1, 2]);
    // "e" starts a new generation; "a" (previous) is carried into it.
    add("e", [5]);
    expect(idsOf(cache, "a", 0, 1)).toEqual([97, 1, 2]);
    add("f", [6]);
    add("g", [7]);
    // The current generation is full ("e", "a", "f", "g"): carrying "b" over turns it, emptying the one "b" was in.
    expect(idsOf(cache, "b", 0, 1)).toEqual([98, 1, 2]);
    expect(idsOf(cache, "c", 0, 1)).toBeUndefined();
    expect(idsOf(cache, "g", 0, 1)).toEqual([7]);
    expect(idsOf(cache, "b", 0, 1)).toEqual([98, 1, 2]);
  });

  it("turns over when its code units fill, and does not cache a piece longer than MAX_PIECE", () => {
    const cache = new PieceCache(8);
    const long = "x".repeat(MAX_PIECE + 1);
    expect(cache.add(long, 0, long.length, hashOf(long), [1, 2])).toBe(-1);
    expect(idsOf(cache, long, 0, long.length)).toBeUndefined();
    // 8 entries × 16 code units a generation: four pieces of MAX_PIECE units take three turns.
    const pieces = ["a", "b", "c", "d"].map((c) => c.repeat(MAX_PIECE));
    for (const [i, p] of pieces.entries()) expect(cache.add(p, 0, p.length, hashOf(p), [i])).toBeGreaterThanOrEqual(0);
    expect(idsOf(cache, pieces[3]!, 0, MAX_PIECE)).toEqual([3]);
    expect(idsOf(cache, pieces[2]!, 0, MAX_PIECE)).toEqual([2]);
    expect(idsOf(cache, pieces[0]!, 0, MAX_PIECE)).toBeUndefined();
  });
});

describe("what an encoder's cache keeps on the JavaScript heap", () => {
  // The cache holds its pieces in typed arrays (outside the heap, reused): counting a text of 300,000 distinct words
  // leaves (almost) nothing live on the heap (0.1–0.2 MB measured). Held as a string and an array per piece, the two
  // generations kept about 169,000 pieces there: 24 MB (Tekken) and 42 MB (SentencePiece) measured, for the garbage
  // collector to promote and sweep in every thread.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  // Letters only, so the tiktoken-style pattern keeps each word one piece too.
  const letters = (i: number): string => (i < 26 ? "" : letters(Math.floor(i / 26) - 1)) + String.fromCharCode(97 + (i % 26));
  const words = Array.from({ length: 300_000 }, (_, i) => `w${letters(i)}ö`);
  for (const id of ["mistral-sp-v3", "tekken-240718"] as const) {
    it(`${id}: 300,000 distinct words add under 4 MB of live heap`, async () => {
      const tokenizer = await createTokenizer(id);
      tokenizer.count("warm up");
      gc();
      const before = process.memoryUsage().heapUsed;
      let n = 0;
      for (let i = 0; i < words.length; i += 500) n += tokenizer.count(words.slice(i, i + 500).join(" "));
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      expect(n).toBeGreaterThan(words.length);
      expect(tokenizer.count("warm up")).toBeGreaterThan(0);
      expect(grown).toBeLessThan(4e6);
    });
  }
});

describe("prebuilt vocabulary tables on disk", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const loader = (id: TokenizerId, dir: string) => async (): Promise<{ from: LoadedFrom | undefined; ids: number[] }> => {
    let from: LoadedFrom | undefined;
    const tokenizer = await createTokenizer(id, { cacheDirs: [dir], onLoad: (f) => (from = f) });
    return { from, ids: tokenizer.encode(TEXT) };
  };

  it("tekken-240718: built from the package once (an older table removed), then read from the cache file, with the same ids", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ftprep-table-cache-"));
    dirs.push(dir);
    const load = loader("tekken-240718", dir);
    // A table from an older package or build is removed when the new one is written; other vocabularies' stay.
    await writeFile(join(dir, "tekken-240718-000000000000000000000000.bin"), "old");
    await writeFile(join(dir, "o200k_base-000000000000000000000000.bin"), "other");
    const first = await load();
    expect(first.from).toBe("package");
    expect((await readdir(dir)).sort()).toEqual(["o200k_base-000000000000000000000000.bin", expect.stringMatching(/^tekken-240718-[0-9a-f]{24}\.bin$/)]);
    expect(await load()).toEqual({ from: "cache", ids: first.ids });
  });

  it("mistral-sp-v3: the cached table encodes as the package's; a damaged or truncated file is rebuilt", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ftprep-table-cache-"));
    dirs.push(dir);
    const load = loader("mistral-sp-v3", dir);
    const uncached = (await createTokenizer("mistral-sp-v3", { cacheDirs: [] })).encode(TEXT);
    expect(await load()).toEqual({ from: "package", ids: uncached });
    const files = await readdir(dir);
    expect(await load()).toEqual({ from: "cache", ids: uncached });
    // One flipped byte in the table: the checksum fails, the table is rebuilt from the package and rewritten.
    const path = join(dir, files[0]!);
    const bytes = await readFile(path);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await writeFile(path, bytes);
    expect(await load()).toEqual({ from: "package", ids: uncached });
    expect(await load()).toEqual({ from: "cache", ids: uncached });
    await writeFile(path, bytes.subarray(0, 1000));
    expect(await load()).toEqual({ from: "package", ids: uncached });
    expect(await readdir(dir)).toEqual(files);
  });

  it("a worker thread started after a load uses that table (shared memory, not a copy) and counts the same", async () => {
    const id = "cl100k_base";
    const tokenizer = await createTokenizer(id);
    // The table's bytes are offered to the threads started from now on, as a SharedArrayBuffer.
    const offered = getEnvironmentData(`ftprep:vocabulary:${id}`) as { bytes: Uint8Array } | undefined;
    expect(offered?.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    const module = pathToFileURL(join(process.cwd(), "dist", "tokens", "vocabularies.js")).href;
    const worker = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
      import(workerData.module).then(async ({ createTokenizer }) => {
        let from;
        const tokenizer = await createTokenizer(workerData.id, { onLoad: (f) => (from = f) });
        parentPort.postMessage({ from, ids: tokenizer.encode(workerData.text) });
      });`,
      { eval: true, workerData: { module, id, text: TEXT } },
    );
    try {
      const [reply] = (await once(worker, "message")) as [{ from: LoadedFrom; ids: number[] }];
      expect(reply).toEqual({ from: "shared", ids: tokenizer.encode(TEXT) });
    } finally {
      await worker.terminate();
    }
  });

  it("a cache folder that cannot be written: the next one is used, and with none the table is built each time", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ftprep-table-cache-"));
    dirs.push(dir);
    const notADir = join(dir, "file");
    await writeFile(notADir, "x");
    let from: LoadedFrom | undefined;
    const second = join(dir, "second");
    await createTokenizer("mistral-sp-v1", { cacheDirs: [join(notADir, "sub"), second], onLoad: (f) => (from = f) });
    expect(from).toBe("package");
    expect(await readdir(second)).toHaveLength(1);
    await createTokenizer("mistral-sp-v1", { cacheDirs: [join(notADir, "sub"), second], onLoad: (f) => (from = f) });
    expect(from).toBe("cache");
    // A folder others can write (the shared temp dir's kind) is neither read nor written: a good file planted there
    // is not used.
    const open = join(dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    const [name] = await readdir(second);
    await copyFile(join(second, name!), join(open, name!));
    await createTokenizer("mistral-sp-v1", { cacheDirs: [open], onLoad: (f) => (from = f) });
    expect(from).toBe("package");
    expect(await readdir(open)).toEqual([name]);
  });
});
