import { once } from "node:events";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { MAX_PIECE, PieceCache } from "../../src/tokens/piece-cache.js";
import type { SentencePieceEncoder } from "../../src/tokens/sentencepiece.js";
import { SharedPieceCache } from "../../src/tokens/shared-piece-cache.js";
import { TiktokenEncoder } from "../../src/tokens/tiktoken.js";
import { createTokenizer } from "../../src/tokens/vocabularies.js";
import { mulberry32 } from "../../src/random.js";

/**
 * The piece cache every thread counting with one tokenizer shares: what one thread merged is a hit for the others,
 * and whatever the cache holds (or has no room for), the ids are the encoder's own.
 */

function put(cache: SharedPieceCache, piece: string, ids: number[]): number {
  return cache.add(piece, 0, piece.length, PieceCache.hash(piece, 0, piece.length), ids, ids.length);
}

function get(cache: SharedPieceCache, piece: string): number[] | undefined {
  const e = cache.find(piece, 0, piece.length, PieceCache.hash(piece, 0, piece.length));
  if (e < 0) return undefined;
  const out: number[] = [];
  cache.push(e, out);
  expect(cache.count(e)).toBe(out.length);
  return out;
}

/** Texts of many distinct words (accents, CJK, emoji), as the multilingual benchmark's. */
function texts(seed: number, count: number): string[] {
  const random = mulberry32(seed);
  const syllables = "ka ri to me lo su an ex pre con ter ing ion al ver ché ño 中 文 語 😀 Über straße".split(" ");
  const word = (): string => Array.from({ length: 1 + Math.floor(random() * 4) }, () => syllables[Math.floor(random() * syllables.length)]).join("");
  return Array.from({ length: count }, () => Array.from({ length: 40 }, word).join(random() < 0.2 ? ", " : " "));
}

describe("SharedPieceCache", () => {
  it("finds what was added by a range of a larger string, from another view of the same memory too", () => {
    const cache = new SharedPieceCache({ entries: 16, units: 256, ids: 64 });
    expect(put(cache, "hello", [1, 2])).toBe(0);
    expect(put(cache, "wörld", [3])).toBe(1);
    expect(put(cache, "", [])).toBe(2);
    const text = "say hello wörld";
    expect(cache.find(text, 4, 9, PieceCache.hash(text, 4, 9))).toBe(0);
    expect(cache.find(text, 4, 8, PieceCache.hash(text, 4, 8))).toBe(-1);
    const other = new SharedPieceCache(cache.buffer);
    expect(get(other, "hello")).toEqual([1, 2]);
    expect(get(other, "wörld")).toEqual([3]);
    expect(get(other, "")).toEqual([]);
    expect(get(other, "world")).toBeUndefined();
    expect(other.size).toBe(3);
    // A buffer of another size is not taken for a cache.
    expect(() => new SharedPieceCache(new SharedArrayBuffer(100))).toThrow(/layout/);
  });

  it("says when a piece does not fit — too long, or no room left for entries, code units or ids — and keeps what it holds", () => {
    const entries = new SharedPieceCache({ entries: 4, units: 1024, ids: 1024 });
    for (let i = 0; i < 4; i++) expect(put(entries, `p${i}`, [i])).toBe(i);
    expect(put(entries, "p4", [4])).toBe(-1);
    expect(get(entries, "p3")).toEqual([3]);
    expect(get(entries, "p4")).toBeUndefined();

    const units = new SharedPieceCache({ entries: 16, units: 8, ids: 1024 });
    expect(put(units, "abcde", [1])).toBe(0);
    expect(put(units, "fghij", [2])).toBe(-1);
    // A shorter piece still fits.
    expect(put(units, "klm", [3])).toBe(1);
    expect(put(units, "n", [4])).toBe(-1);
    expect(get(units, "abcde")).toEqual([1]);
    expect(get(units, "klm")).toEqual([3]);
    expect(get(units, "fghij")).toBeUndefined();

    const ids = new SharedPieceCache({ entries: 16, units: 1024, ids: 3 });
    expect(put(ids, "a", [1, 2])).toBe(0);
    expect(put(ids, "b", [3, 4])).toBe(-1);
    expect(get(ids, "a")).toEqual([1, 2]);

    const long = new SharedPieceCache({ entries: 16, units: 4096, ids: 1024 });
    expect(put(long, "x".repeat(MAX_PIECE + 1), [1])).toBe(-1);
    expect(put(long, "x".repeat(MAX_PIECE), [1])).toBe(0);
  });
});

describe("encoders over a shared piece cache", () => {
  it("give their own cache's ids, and keep in their own cache what a full shared one has no room for", async () => {
    const all = texts(7, 150);
    const own = await createTokenizer("o200k_base");
    const tiny = new SharedPieceCache({ entries: 256, units: 2048, ids: 1024 });
    const shared = (await createTokenizer("o200k_base", { sharedPieces: tiny })) as TiktokenEncoder;
    for (const text of all) expect(shared.encode(text)).toEqual(own.encode(text));
    expect(tiny.size).toBe(256);
    // Every distinct piece was merged once: the second pass finds each in one cache or the other.
    const misses = shared.misses;
    expect(misses).toBeGreaterThan(256);
    for (const text of all) expect(shared.count(text)).toBe(own.count(text));
    expect(shared.misses).toBe(misses);
  });

  it("a piece one encoder merged is a hit for another encoder over the same cache: it merges nothing of the same text", async () => {
    const all = texts(8, 200);
    const cache = new SharedPieceCache();
    const first = (await createTokenizer("cl100k_base", { sharedPieces: cache })) as TiktokenEncoder;
    const second = (await createTokenizer("cl100k_base", { sharedPieces: cache })) as TiktokenEncoder;
    const own = await createTokenizer("cl100k_base");
    const counts = all.map((t) => first.count(t));
    expect(first.misses).toBeGreaterThan(1000);
    expect(all.map((t) => second.count(t))).toEqual(counts);
    expect(all.map((t) => own.count(t))).toEqual(counts);
    expect(second.misses).toBe(0);
  });

  it("SentencePiece (mistral-sp-v3): a word one encoder merged is a hit for another over the same cache, with its own cache's ids", async () => {
    const all = texts(10, 150);
    const cache = new SharedPieceCache();
    const first = (await createTokenizer("mistral-sp-v3", { sharedPieces: cache })) as SentencePieceEncoder;
    const second = (await createTokenizer("mistral-sp-v3", { sharedPieces: cache })) as SentencePieceEncoder;
    const own = await createTokenizer("mistral-sp-v3");
    const ids = all.map((t) => own.encode(t));
    expect(all.map((t) => first.encode(t))).toEqual(ids);
    expect(first.misses).toBeGreaterThan(1000);
    // Only a text's first word (it takes the dummy prefix) is the encoder's own to merge.
    expect(all.map((t) => second.encode(t))).toEqual(ids);
    expect(second.misses).toBeLessThanOrEqual(all.length);
  });

  it("worker threads started after a load fill and read the process's cache at once, and count as one thread does", async () => {
    const all = texts(9, 200);
    const own = await createTokenizer("o200k_base");
    const expected = all.map((t) => own.encode(t));
    const module = pathToFileURL(join(process.cwd(), "dist", "tokens", "vocabularies.js")).href;
    const { loadTokenizer } = (await import(module)) as typeof import("../../src/tokens/vocabularies.js");
    // The main thread's load offers the cache (and the table) to the threads started from now on.
    const main = (await loadTokenizer("o200k_base")) as TiktokenEncoder;
    const start = (texts: string[]): Worker =>
      new Worker(
        `const { parentPort, workerData } = require("node:worker_threads");
        import(workerData.module).then(async ({ loadTokenizer }) => {
          const tokenizer = await loadTokenizer("o200k_base");
          const ids = workerData.texts.map((t) => tokenizer.encode(t));
          parentPort.postMessage({ ids, misses: tokenizer.misses });
        });`,
        { eval: true, workerData: { module, texts } },
      );
    const workers = [start(all.slice(0, 120)), start(all.slice(80))];
    try {
      const replies = (await Promise.all(workers.map((w) => once(w, "message")))).map(([r]) => r as { ids: number[][]; misses: number });
      expect(replies[0]!.ids).toEqual(expected.slice(0, 120));
      expect(replies[1]!.ids).toEqual(expected.slice(80));
      // Both threads merged pieces into the one cache: the main thread finds every piece of every text there.
      const before = main.misses;
      expect(all.map((t) => main.encode(t))).toEqual(expected);
      expect(main.misses).toBe(before);
      // Together they merged about as many pieces as one thread alone (a piece both met at the same moment is
      // merged by each), not each its own texts' all.
      const alone = (await createTokenizer("o200k_base")) as TiktokenEncoder;
      for (const t of all) alone.count(t);
      expect(replies[0]!.misses + replies[1]!.misses).toBeLessThan(alone.misses * 1.5);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
});
