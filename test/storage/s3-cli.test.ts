import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifest, type Manifest } from "../../src/manifest/manifest.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { S3_KEY, useS3 } from "../helpers/s3.js";
import { storedSha256, useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const s3 = useS3(["data"]);
const tmp = useTempDir("s3cli");
const serve = useServers();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function dataset(prefix: string): Promise<void> {
  await s3().put("data", `${prefix}/train.jsonl`, chatLines(60, 0, 30));
  await s3().put("data", `${prefix}/validation.jsonl`, chatLines(5, 500));
  await s3().put("data", `${prefix}/README.md`, "# notes\n");
  await s3().put("data", `${prefix}/.cache/old.jsonl`, "{}\n");
}

describe("s3:// datasets on the command line (s3rver on loopback)", () => {
  it("validate lists a prefix, takes the dataset files, skips the rest with reasons", async () => {
    await dataset("v");
    const r = await runCli("validate", "s3://data/v/", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { files: { path: string; records: number }[]; skipped: { path: string; reason: string }[] };
    expect(doc.files.map((f) => [f.path, f.records])).toEqual([["s3://data/v/train.jsonl", 60], ["s3://data/v/validation.jsonl", 5]]);
    expect(doc.skipped.map((s) => s.path)).toEqual(["s3://data/v/.cache/old.jsonl", "s3://data/v/README.md"]);
    // An object named directly is taken as itself; a key that names no object is a prefix.
    const one = await runCli("validate", "s3://data/v/train.jsonl");
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("s3://data/v/train.jsonl: mistral-chat, 60 records");
    expect((await runCli("validate", "s3://data/v")).stdout).toContain("2 file(s) validated");
  });

  it("prepare --out s3://… writes shards to the bucket, leaving no temporary object", async () => {
    await dataset("p");
    const r = await runCli("prepare", "s3://data/p/", "--out", "s3://data/prepared/", "--max-file-bytes", "4kB", "--json");
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { files: { path: string; kind: string; sha256: string; bytes: number }[] };
    const shards = plan.files.filter((f) => f.kind === "shard");
    expect(shards.length).toBeGreaterThan(1);
    for (const f of shards) {
      expect(f.path).toMatch(/^s3:\/\/data\/prepared\/train\.part-\d{4}-of-\d{4}\.jsonl$/);
      const body = await s3().read("data", f.path.slice("s3://data/".length));
      expect([sha(body), body.length]).toEqual([f.sha256, f.bytes]);
    }
    expect(await s3().keys("data", "prepared/")).toEqual(shards.map((f) => f.path.slice("s3://data/".length)));
    // The shards, read back, are the source's records in order.
    const joined = Buffer.concat(await Promise.all(shards.map((f) => s3().read("data", f.path.slice("s3://data/".length)))));
    expect(joined.equals(Buffer.from(chatLines(60, 0, 30)))).toBe(true);
  });

  it("upload streams originals from the bucket and shards from --out s3://…; the server stores each once; a re-run sends nothing", async () => {
    await dataset("u");
    const server = await serve({ store: join(tmp(), "store") });
    const manifestPath = join(tmp(), "m.json");
    const args = ["upload", "s3://data/u/", "--out", "s3://data/u-out/", "--max-file-bytes", "6kB", "--base-url", server.url, "--api-key", "local-key", "--manifest", manifestPath];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Manifest;
    expect(checkManifest(manifest)).toBeUndefined();
    const kinds = manifest.files.map((f) => f.kind);
    expect(kinds.filter((k) => k === "shard").length).toBeGreaterThan(1);
    expect(kinds.at(-1)).toBe("original");
    expect(manifest.files.every((f) => f.path.startsWith("s3://data/u-out/train.part-") || f.path === "s3://data/u/validation.jsonl")).toBe(true);
    expect((await storedSha256(server)).sort()).toEqual(manifest.files.map((f) => f.sha256).sort());
    const validation = await s3().read("data", "u/validation.jsonl");
    expect(manifest.files.find((f) => f.kind === "original")?.sha256).toBe(sha(validation));
    const again = await runCli(...args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`0 uploaded, 0 found already uploaded, ${manifest.files.length} skipped`);
    expect(await storedSha256(server)).toHaveLength(manifest.files.length);
  });

  it("says in one line what is wrong with credentials or the endpoint (exit 2), and never prints the secret", async () => {
    const saved = { ...process.env };
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      process.env.HOME = tmp();
      const none = await runCli("validate", "s3://data/v/");
      expect([none.code, none.stderr.trim().split("\n").length]).toEqual([2, 1]);
      expect(none.stderr).toMatch(/no AWS credentials for s3:\/\/ locations: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      Object.assign(process.env, S3_KEY);
      const local = await runCli("upload", "s3://data/v/", "--manifest", "s3://data/m.json");
      expect([local.code, local.stderr]).toEqual([2, expect.stringContaining("--manifest must be a local path, not s3://data/m.json")]);
      const bad = await runCli("validate", "s3://data/v/", "--s3-endpoint", "ftp://127.0.0.1:1");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--s3-endpoint must be an http:// or https:// URL");
      process.env.AWS_ACCESS_KEY_ID = "AKIDUNKNOWN";
      process.env.AWS_SECRET_ACCESS_KEY = "a-secret-never-printed";
      const refused = await runCli("validate", "s3://data/v/");
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/^ftprep: 403 InvalidAccessKeyId/);
      expect(refused.stderr).not.toContain("a-secret-never-printed");
    } finally {
      Object.assign(process.env, saved);
    }
  });
});
