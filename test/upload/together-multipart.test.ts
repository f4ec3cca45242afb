import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConnectionError } from "../../src/providers/errors.js";
import { partPlan, TOGETHER_MAX_FILE_BYTES, TogetherProvider } from "../../src/providers/together.js";
import type { RequestLogEntry } from "../../src/server/server.js";
import { providerSpec } from "../../src/target/registry.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

// Together's multipart upload, for files past one PUT's 5 GiB: the thresholds are options (as OpenAI's Uploads API
// ones are), so a few kilobytes exercise the flow the same way 6 GB would.

const tmp = useTempDir("together-multipart");
const serve = useServers();
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

describe("the parts of a file, as together-python cuts them", () => {
  it("one part up to the target size; else target-sized parts evened out, at most 250, at least 5 MiB each", () => {
    expect(partPlan(100 * MIB)).toEqual({ partBytes: 100 * MIB, parts: 1 });
    // 6 GiB: ceil(6144 / 250) = 25 parts of 6 GiB / 25.
    expect(partPlan(6 * GIB)).toEqual({ partBytes: Math.ceil((6 * GIB) / 25), parts: 25 });
    // 100 GiB would need 410 parts of 250 MiB: 250 larger ones instead.
    expect(partPlan(100 * GIB)).toEqual({ partBytes: Math.ceil((100 * GIB) / 250), parts: 250 });
    // Small numbers, same rules: 1000 bytes, target 300 → 4 parts of 250; a least size of 400 → 3 parts of 400.
    expect(partPlan(1000, 300, 100)).toEqual({ partBytes: 250, parts: 4 });
    expect(partPlan(1000, 300, 400)).toEqual({ partBytes: 400, parts: 3 });
  });

  it("lets Together take files up to 50.1 GiB, sharding nothing below that", () => {
    expect(TOGETHER_MAX_FILE_BYTES).toBe(Math.floor(50.1 * GIB));
    expect(providerSpec("together").limits).toEqual({ fileBytes: 5 * GIB, uploadBytes: TOGETHER_MAX_FILE_BYTES });
  });
});

async function setup(faults: Record<string, unknown> = {}) {
  const log: RequestLogEntry[] = [];
  // One PUT takes 4,000 bytes here: a larger file cannot go in one.
  const server = await serve({ store: join(tmp(), "store"), token: "k", limits: { presignedPutBytes: 4000 }, faults, onRequest: (e) => log.push(e) });
  const provider = new TogetherProvider({ baseUrl: `${server.url}/v1`, apiKey: "k", singleUploadLimit: 4000, partBytes: 3000, minPartBytes: 1000 });
  return { server, provider, log };
}

describe("TogetherProvider: multipart upload against the local server", () => {
  it("sends a file over the single-upload limit in parts, streamed from disk, and the server joins them exactly", async () => {
    const { server, provider, log } = await setup();
    const path = join(tmp(), "big.jsonl");
    const text = chatLines(80);
    await writeFile(path, text);
    const bytes = Buffer.byteLength(text);
    expect(bytes).toBeGreaterThan(4000);
    const { parts } = partPlan(bytes, 3000, 1000);
    let sent = 0;
    try {
      const file = await provider.upload({ path, filename: "big.jsonl", bytes, onBytes: (n) => (sent += n) });
      expect(file).toMatchObject({ filename: "big.jsonl", bytes, purpose: "fine-tune" });
      expect(file.id).toMatch(/^file-/);
      expect(sent).toBe(bytes);
      const requests = log.map((e) => `${e.method} ${e.path.replace(/\?.*/, "").replace(/file-[0-9a-f-]+/, "ID")}`);
      expect(requests).toEqual(["POST /v1/files/multipart/initiate", ...Array.from({ length: parts }, () => "PUT /v1/files/ID/parts"), "POST /v1/files/multipart/complete"]);
      // Each part declares its length; the parts' URLs carry no key (they are signed).
      expect(log.filter((e) => e.method === "PUT").map((e) => e.bytes_in).reduce((a, b) => a! + b!, 0)).toBe(bytes);
      const content = await fetch(`${server.url}/v1/files/${file.id}/content`, { headers: { authorization: "Bearer k" } });
      expect(Buffer.from(await content.arrayBuffer()).equals(await readFile(path))).toBe(true);
      // Found again by name and size: never sent twice.
      expect(await provider.findExisting("big.jsonl", bytes)).toMatchObject({ id: file.id });
    } finally {
      await provider.close();
    }
  });

  it("aborts the upload when a part fails, leaving no file; the next attempt starts over and succeeds", async () => {
    const { server, provider, log } = await setup({ resetAfterBytes: 500, resetCount: 1 });
    const path = join(tmp(), "big.jsonl");
    const text = chatLines(80);
    await writeFile(path, text);
    const bytes = Buffer.byteLength(text);
    try {
      await expect(provider.upload({ path, filename: "big.jsonl", bytes })).rejects.toBeInstanceOf(ConnectionError);
      expect(log.some((e) => e.method === "POST" && e.path === "/v1/files/multipart/abort" && e.status === 200)).toBe(true);
      expect(await provider.findExisting("big.jsonl", bytes)).toBeUndefined();
      const file = await provider.upload({ path, filename: "big.jsonl", bytes });
      expect(file.bytes).toBe(bytes);
      const list = (await (await fetch(`${server.url}/v1/files`, { headers: { authorization: "Bearer k" } })).json()) as { data: { filename: string }[] };
      expect(list.data.filter((f) => f.filename === "big.jsonl")).toHaveLength(1);
    } finally {
      await provider.close();
    }
  });

  it("refuses what the server would not take: a part PUT with an altered signature, a completion with a wrong ETag", async () => {
    const { server } = await setup();
    const headers = { authorization: "Bearer k", "content-type": "application/json" };
    const init = (await (
      await fetch(`${server.url}/v1/files/multipart/initiate`, { method: "POST", headers, body: JSON.stringify({ file_name: "x.jsonl", file_size: 10, num_parts: 2, purpose: "fine-tune", file_type: "jsonl" }) })
    ).json()) as { upload_id: string; file_id: string; parts: { PartNumber: number; URL: string }[] };
    expect(init.parts.map((p) => p.PartNumber)).toEqual([1, 2]);
    const forged = new URL(init.parts[0]!.URL);
    forged.searchParams.set("part_number", "2");
    expect((await fetch(forged, { method: "PUT", body: "{}\n{}\n" })).status).toBe(403);
    for (const [i, body] of ["{\"a\":1}\n", "{}\n"].entries()) expect((await fetch(init.parts[i]!.URL, { method: "PUT", body })).status).toBe(200);
    const wrong = await fetch(`${server.url}/v1/files/multipart/complete`, {
      method: "POST",
      headers,
      body: JSON.stringify({ upload_id: init.upload_id, file_id: init.file_id, parts: [{ part_number: 1, etag: "nope" }, { part_number: 2, etag: "nope" }] }),
    });
    expect(wrong.status).toBe(400);
    // Over 50.1 GiB: refused at initiation.
    const huge = await fetch(`${server.url}/v1/files/multipart/initiate`, { method: "POST", headers, body: JSON.stringify({ file_name: "h.jsonl", file_size: 60 * GIB, num_parts: 250, purpose: "fine-tune", file_type: "jsonl" }) });
    expect(huge.status).toBe(413);
  });
});
