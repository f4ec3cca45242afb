import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type FileChunksOptions, readFileChunks } from "../../src/read/file.js";
import { useTempDir } from "../helpers/temp.js";

const dir = useTempDir("chunks");

/** Each chunk's bytes, copied as it comes (the reader reuses its buffers). */
async function chunksOf(path: string, options: FileChunksOptions): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of readFileChunks(path, options)) out.push(Buffer.from(chunk));
  return out;
}

async function someFile(): Promise<{ path: string; bytes: Buffer }> {
  const bytes = Buffer.alloc(4_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  const path = join(dir(), "data.bin");
  await writeFile(path, bytes);
  return { path, bytes };
}

describe("readFileChunks with synchronous reads", () => {
  it("gives the same chunks as the asynchronous reader, for the whole file and for byte ranges", async () => {
    const { path, bytes } = await someFile();
    for (const chunkBytes of [97, 333, 4096]) {
      for (const range of [{}, { start: 0, end: 4_000 }, { start: 17, end: 3_001 }, { start: 2_000 }, { end: 1_025 }, { start: 300, end: 300 }]) {
        const wanted = await chunksOf(path, { chunkBytes, ...range });
        const got = await chunksOf(path, { chunkBytes, ...range, sync: true });
        expect(got.map((c) => c.length)).toEqual(wanted.map((c) => c.length));
        expect(Buffer.concat(got)).toEqual(bytes.subarray(range.start ?? 0, range.end ?? bytes.length));
      }
    }
  });

  it("lets the event loop turn between chunks, as an asynchronous read does", async () => {
    const { path } = await someFile();
    // Macrotasks (timers, messages, signals, other streams) run while the file is read: here an immediate set
    // before the first chunk has run before the tenth comes.
    let ran = false;
    let chunks = 0;
    let ranBy = -1;
    setImmediate(() => (ran = true));
    for await (const _ of readFileChunks(path, { chunkBytes: 40, sync: true })) {
      chunks++;
      if (ran && ranBy === -1) ranBy = chunks;
    }
    expect(chunks).toBe(100);
    expect(ranBy).toBeGreaterThan(0);
    expect(ranBy).toBeLessThan(10);
  });

  it("fails as the asynchronous reader does: a missing file or a folder is ERR_FS naming the path", async () => {
    const missing = join(dir(), "missing.jsonl");
    await expect(chunksOf(missing, { sync: true })).rejects.toMatchObject({ code: "ERR_FS", message: expect.stringContaining(missing) });
    const folder = join(dir(), "folder");
    await mkdir(folder);
    await expect(chunksOf(folder, { sync: true })).rejects.toMatchObject({ code: "ERR_FS", message: expect.stringContaining(folder) });
  });

  it("stops at an abort", async () => {
    const { path } = await someFile();
    const abort = new AbortController();
    let chunks = 0;
    await expect(
      (async () => {
        for await (const _ of readFileChunks(path, { chunkBytes: 1000, sync: true, signal: abort.signal })) {
          if (++chunks === 3) abort.abort(new Error("stop"));
        }
      })(),
    ).rejects.toThrow("stop");
    expect(chunks).toBe(3);
  });
  it("opens nothing when the chunk size is refused, with or without synchronous reads", async () => {
    const { path } = await someFile();
    const open = async (): Promise<number> => (await readdir("/proc/self/fd")).length;
    const before = await open();
    for (const sync of [false, true]) {
      await expect(chunksOf(path, { chunkBytes: -1, sync })).rejects.toThrow(RangeError);
    }
    expect(await open()).toBe(before);
  });
});
