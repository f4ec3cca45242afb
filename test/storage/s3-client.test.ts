import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { configureObjectStorage } from "../../src/storage/object-storage.js";
import { ObjectUpload } from "../../src/storage/object-upload.js";
import { resolveS3Config } from "../../src/storage/aws-config.js";
import { S3Client } from "../../src/storage/s3-client.js";
import { ShardWriter } from "../../src/guard/shard-writer.js";
import { useS3 } from "../helpers/s3.js";

const s3 = useS3(["data"]);

/** Deterministic bytes: lines of JSON with a counter, so a misplaced range shows. */
function lines(count: number): Buffer {
  let text = "";
  for (let i = 0; i < count; i++) text += `{"text":"line ${i} ${"x".repeat(i % 50)}"}\n`;
  return Buffer.from(text);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(Uint8Array.from(chunk));
  return Buffer.concat(parts);
}

describe("S3Client against a real S3-compatible server (s3rver on loopback)", () => {
  it("lists every key under a prefix page by page with continuation tokens, in key order", async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `list/k${i}.jsonl`);
    for (const key of keys) await s3().put("data", key, "{}\n");
    await s3().put("data", "listed-not/other.jsonl", "{}\n");
    const pages: string[] = [];
    const client = s3().client({ pageKeys: 2, onRequest: (r) => pages.push(r.operation) });
    const found: string[] = [];
    for await (const o of client.list("data", "list/")) found.push(o.key);
    expect(found).toEqual(keys);
    expect(pages.filter((p) => p === "ListObjectsV2")).toHaveLength(4);
  });

  it("reads an object as a stream of ranged GETs, whole or a byte range of it", async () => {
    const body = lines(3000);
    await s3().put("data", "read/big.jsonl", body);
    const gets: string[] = [];
    const client = s3().client({ rangeBytes: 16 * 1024, onRequest: (r) => gets.push(r.operation) });
    const whole = await collect(client.read("data", "read/big.jsonl"));
    expect(whole.equals(body)).toBe(true);
    expect(gets.filter((g) => g === "GetObject")).toHaveLength(Math.ceil(body.length / (16 * 1024)));
    const slice = await collect(client.read("data", "read/big.jsonl", { start: 20_000, end: 50_001 }));
    expect(slice.equals(body.subarray(20_000, 50_001))).toBe(true);
  });

  it("stops asking for ranges when the consumer stops reading", async () => {
    await s3().put("data", "read/stop.jsonl", lines(3000));
    const gets: string[] = [];
    const client = s3().client({ rangeBytes: 8 * 1024, onRequest: (r) => r.operation === "GetObject" && gets.push(r.key) });
    for await (const chunk of client.read("data", "read/stop.jsonl")) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(gets).toHaveLength(1);
  });

  it("fails with ERR_OBJECT_CHANGED instead of mixing two versions when the object is replaced mid-read", async () => {
    await s3().put("data", "read/changing.jsonl", lines(2000));
    const client = s3().client({ rangeBytes: 8 * 1024 });
    const read = async () => {
      let n = 0;
      for await (const _ of client.read("data", "read/changing.jsonl")) if (n++ === 0) await s3().put("data", "read/changing.jsonl", lines(2001));
    };
    await expect(read()).rejects.toMatchObject({ code: "ERR_OBJECT_CHANGED" });
  });

  // s3rver checks the access key id, not the V4 signature itself: an unknown key is what it refuses.
  it("answers a missing object with ERR_HTTP_404 and refused credentials with ERR_HTTP_403, never showing the secret", async () => {
    const client = s3().client();
    await expect(client.head("data", "nope.jsonl")).rejects.toMatchObject({ code: "ERR_HTTP_404" });
    const wrong = new S3Client(resolveS3Config({ env: { AWS_ACCESS_KEY_ID: "AKIDNOTKNOWN", AWS_SECRET_ACCESS_KEY: "not-the-secret-123", AWS_ENDPOINT_URL: s3().endpoint, HOME: "/nonexistent" } }));
    const error = await wrong.list("data", "").next().catch((e: Error) => e);
    expect(error).toMatchObject({ code: "ERR_HTTP_403" });
    expect((error as Error).message).not.toContain("not-the-secret-123");
  });

  it("writes an object in multipart-upload parts (one part buffer held), or one PUT when it is small", async () => {
    const body = lines(500);
    const sent: string[] = [];
    configureObjectStorage({}, { partBytes: 4096, onRequest: (r) => sent.push(r.operation) });
    try {
      const upload = new ObjectUpload("s3://data/written/parts.jsonl");
      for (let at = 0; at < body.length; at += 1000) await upload.write(body.subarray(at, at + 1000));
      await upload.finish();
      expect(sent.filter((s) => s === "UploadPart")).toHaveLength(Math.ceil(body.length / 4096));
      expect(sent).toContain("CompleteMultipartUpload");
      const small = new ObjectUpload("s3://data/written/small.jsonl");
      await small.write(Buffer.from("{}\n"));
      await small.finish();
      const aborted = new ObjectUpload("s3://data/written/aborted.jsonl");
      await aborted.write(body);
      await aborted.abort();
    } finally {
      configureObjectStorage();
    }
    const back = await s3().read("data", "written/parts.jsonl");
    expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(body).digest("hex"));
    expect((await s3().read("data", "written/small.jsonl")).toString()).toBe("{}\n");
    expect(await s3().keys("data", "written/")).toEqual(["written/parts.jsonl", "written/small.jsonl"]);
  });

  // S3 in small: parts of 1 KiB, 4 parts an upload at most, 8 KiB the largest server-side copy (5 GiB, 10,000 parts and
  // 5 GiB on S3). A shard the size guard allows (here up to 20,000 bytes) must still be written and named.
  it("sizes a shard's parts for the size guard's limit, and moves a shard over the copy limit by a multipart copy", async () => {
    const body = lines(700);
    expect(body.length).toBeGreaterThan(16_384);
    const sent: { operation: string; key: string }[] = [];
    configureObjectStorage({}, { partBytes: 1024, maxParts: 4, copyLimitBytes: 8192, onRequest: (r) => sent.push(r) });
    let written;
    try {
      const writer = new ShardWriter({ dir: "s3://data/shards/", name: "train", maxBytes: 20_000, expectedBytes: body.length });
      const text = body.toString();
      for (const line of text.slice(0, -1).split("\n")) {
        writer.write(line, "\n");
        if (writer.wantsFlush) await writer.flush();
      }
      written = await writer.finish();
    } finally {
      configureObjectStorage();
    }
    expect(written.map((w) => w.path)).toEqual(["s3://data/shards/train.part-0001-of-0002.jsonl", "s3://data/shards/train.part-0002-of-0002.jsonl"]);
    expect(written.every((w) => w.bytes > 8192)).toBe(true);
    // Every multipart upload (the parts' temporary objects, the copies to their names) within 4 parts.
    const partsByKey = new Map<string, number>();
    for (const r of sent) if (r.operation === "UploadPart") partsByKey.set(r.key, (partsByKey.get(r.key) ?? 0) + 1);
    expect([...partsByKey.keys()].filter((k) => !k.includes(".tmp")).sort()).toEqual(["shards/train.part-0001-of-0002.jsonl", "shards/train.part-0002-of-0002.jsonl"]);
    expect(Math.max(...partsByKey.values())).toBeLessThanOrEqual(4);
    expect(sent.filter((r) => r.operation === "CopyObject")).toEqual([]);
    // The shards are the records, in order, and nothing else is left under the prefix.
    const back = Buffer.concat([await s3().read("data", "shards/train.part-0001-of-0002.jsonl"), await s3().read("data", "shards/train.part-0002-of-0002.jsonl")]);
    expect(back.equals(body)).toBe(true);
    expect(written.map((w) => w.sha256)).toEqual(await Promise.all(written.map(async (w) => createHash("sha256").update(await s3().read("data", w.path.slice("s3://data/".length))).digest("hex"))));
    expect(await s3().keys("data", "shards/")).toEqual(["shards/train.part-0001-of-0002.jsonl", "shards/train.part-0002-of-0002.jsonl"]);
  });
});
