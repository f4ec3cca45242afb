import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifest, type Manifest } from "../../src/manifest/manifest.js";
import { checkShardPlan, lineBoundary, type ShardPlan, shardUnits } from "../../src/plan/shard-plan.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useS3 } from "../helpers/s3.js";
import { storedSha256, useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const s3 = useS3(["corpus"]);
const tmp = useTempDir("plan");
const serve = useServers();

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/** A local dataset: a large training file (cut into ranges), a small one, a compressed-looking one kept whole, validation. */
async function localDataset(root: string): Promise<string> {
  const dir = join(root, "data");
  await mkdir(join(dir, "more"), { recursive: true });
  await writeFile(join(dir, "big-train.jsonl"), chatLines(400, 0, 20));
  await writeFile(join(dir, "more", "small-train.jsonl"), chatLines(20, 10_000));
  await writeFile(join(dir, "validation.jsonl"), chatLines(10, 20_000));
  return dir;
}

describe("ftprep plan / work / manifest merge", () => {
  it("plans units with stable ids (re-planning gives the same), cuts large files at line boundaries, and checks a plan as input", async () => {
    const dir = await localDataset(tmp());
    const out = join(tmp(), "plan.json");
    const r = await runCli("plan", dir, "--out", out, "--unit-bytes", "16kB");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^plan: \d+ unit\(s\) \(2 whole file\(s\), \d+ byte range\(s\)\), \d+ bytes → .*plan\.json\n$/);
    const plan = await readJson<ShardPlan>(out);
    expect(checkShardPlan(plan)).toBeUndefined();
    const big = plan.units.filter((u) => u.source.endsWith("big-train.jsonl"));
    expect(big.length).toBeGreaterThan(3);
    // The ranges tile the file, each ends just after a newline.
    const bytes = await readFile(join(dir, "big-train.jsonl"));
    expect(big[0]!.range!.start).toBe(0);
    expect(big.at(-1)!.range!.end).toBe(bytes.length);
    for (const [i, u] of big.entries()) {
      if (i > 0) expect(u.range!.start).toBe(big[i - 1]!.range!.end);
      expect(bytes[u.range!.end - 1]).toBe(0x0a);
    }
    expect(plan.units.filter((u) => u.range === null).map((u) => u.relative)).toEqual(["more/small-train.jsonl", "validation.jsonl"]);
    // Same data, same ids; changed data, new ids for what changed only.
    await runCli("plan", dir, "--out", join(tmp(), "again.json"), "--unit-bytes", "16kB");
    expect((await readJson<ShardPlan>(join(tmp(), "again.json"))).units.map((u) => u.id)).toEqual(plan.units.map((u) => u.id));
    await writeFile(join(dir, "validation.jsonl"), chatLines(11, 20_000));
    await runCli("plan", dir, "--out", join(tmp(), "changed.json"), "--unit-bytes", "16kB");
    const changed = (await readJson<ShardPlan>(join(tmp(), "changed.json"))).units;
    expect(changed.filter((u, i) => u.id !== plan.units[i]!.id).map((u) => u.relative)).toEqual(["validation.jsonl"]);
    // A tampered plan is refused in one line.
    const forged = structuredClone(plan);
    forged.units[0]!.range!.end += 1;
    await writeFile(join(tmp(), "forged.json"), JSON.stringify(forged));
    const refused = await runCli("work", "--plan", join(tmp(), "forged.json"), "--shard-index", "0", "--shard-count", "1", "--allow-local-paths");
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringMatching(/is not a valid shard plan: \/units\/0\/(id does not match|bytes does not match)/)]);
    const fixed = await runCli("work", "--plan", out, "--shard-index", "0", "--shard-count", "1", "--max-file-bytes", "1MB", "--allow-local-paths");
    expect([fixed.code, fixed.stderr]).toEqual([2, expect.stringContaining("--max-file-bytes is fixed by the plan")]);
    const outside = await runCli("work", "--plan", out, "--shard-index", "0", "--shard-count", "1");
    expect([outside.code, outside.stderr]).toEqual([2, expect.stringContaining("outside the working directory; a plan chooses what is read and uploaded, so such paths need --allow-local-paths")]);
  });

  it("finds the line boundary after a cut point, reading windows across a long line", async () => {
    const path = join(tmp(), "lines.jsonl");
    const long = "x".repeat(200_000);
    await writeFile(path, `a\n${long}\nb\n`);
    // "a\n" is bytes 0-1, the long line 2-200002 (its "\n"), "b\n" 200003-200004.
    expect(await lineBoundary(path, 1, 200_005)).toBe(2);
    expect(await lineBoundary(path, 2, 200_005)).toBe(2);
    expect(await lineBoundary(path, 3, 200_005)).toBe(200_003);
    expect(await lineBoundary(path, 200_004, 200_005)).toBe(200_005);
    expect(await lineBoundary(path, 200_005, 200_005)).toBe(200_005);
  });

  it("deals units to shards deterministically: every unit in exactly one shard, bytes balanced", async () => {
    const dir = await localDataset(tmp());
    const out = join(tmp(), "plan.json");
    await runCli("plan", dir, "--out", out, "--unit-bytes", "8kB");
    const plan = await readJson<ShardPlan>(out);
    for (const count of [1, 2, 3, 7]) {
      const shards = Array.from({ length: count }, (_, i) => shardUnits(plan, i, count));
      expect(shards.flat().map((u) => u.id).sort()).toEqual(plan.units.map((u) => u.id).sort());
      expect(shardUnits(plan, count - 1, count)).toEqual(shards[count - 1]);
      const loads = shards.map((s) => s.reduce((n, u) => n + u.bytes, 0));
      expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(Math.max(...plan.units.map((u) => u.bytes)));
    }
  });

  it("work on s3:// units per shard, then manifest merge: each file uploaded and recorded once, jobs create takes the result", async () => {
    await s3().put("corpus", "chats/big-train.jsonl", chatLines(300, 0, 20));
    await s3().put("corpus", "chats/b/small-train.jsonl", chatLines(20, 5000));
    await s3().put("corpus", "chats/validation.jsonl", chatLines(10, 9000));
    const server = await serve({ store: join(tmp(), "store") });
    const planPath = join(tmp(), "plan.json");
    const p = await runCli("plan", "s3://corpus/chats/", "--out", planPath, "--unit-bytes", "12kB", "--json");
    expect(p.code, p.stderr).toBe(0);
    const plan = await readJson<ShardPlan>(planPath);
    expect(plan.units.every((u) => "etag" in u.identity)).toBe(true);
    const partials: string[] = [];
    for (const index of [0, 1, 2]) {
      const manifest = join(tmp(), `part-${index}.json`);
      partials.push(manifest);
      const w = await runCli("work", "--plan", planPath, "--shard-index", String(index), "--shard-count", "3", "--base-url", server.url, "--api-key", "k-local", "--manifest", manifest, "--out", join(tmp(), "out"));
      expect(w.code, w.stderr).toBe(0);
    }
    // Shard 1 again (a retried array task): nothing new is sent.
    const again = await runCli("work", "--plan", planPath, "--shard-index", "1", "--shard-count", "3", "--base-url", server.url, "--api-key", "k-local", "--manifest", join(tmp(), "part-1-again.json"), "--out", join(tmp(), "out"));
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^0 uploaded, \d+ found already uploaded/m);
    const merged = join(tmp(), "merged.json");
    const m = await runCli("manifest", "merge", ...partials, join(tmp(), "part-1-again.json"), "--out", merged);
    expect(m.code, m.stderr).toBe(0);
    const manifest = await readJson<Manifest>(merged);
    expect(checkManifest(manifest)).toBeUndefined();
    const stored = await storedSha256(server);
    expect(stored.length).toBe(new Set(stored).size);
    expect(manifest.files.map((f) => f.sha256).sort()).toEqual([...stored].sort());
    expect(manifest.files.length).toBe(plan.units.length);
    // The ranges' outputs, in order, are the big file's records.
    const big = manifest.files.filter((f) => f.source?.startsWith("s3://corpus/chats/big-train.jsonl#bytes=")).length;
    expect(big).toBe(plan.units.filter((u) => u.range !== null).length);
    expect(manifest.validation.records).toBe(330);
    const job = await runCli("jobs", "create", "--manifest", merged, "--model", "open-mistral-7b", "--base-url", server.url, "--api-key", "k-local", "--dry-run", "--json");
    expect(job.code, job.stderr).toBe(0);
    expect((JSON.parse(job.stdout) as { request: { training_files: unknown[] } }).request.training_files).toHaveLength(manifest.files.filter((f) => f.split === "train").length);
  });

  it("re-checks each unit's source at work time: a changed object (ETag) or local file (sha256) fails its units alone, nothing of them is uploaded", async () => {
    await s3().put("corpus", "moving/a-train.jsonl", chatLines(12, 0));
    await s3().put("corpus", "moving/b-train.jsonl", chatLines(12, 100));
    const dir = join(tmp(), "local");
    await mkdir(dir);
    await writeFile(join(dir, "c-train.jsonl"), chatLines(60, 200, 20));
    await writeFile(join(dir, "d-train.jsonl"), chatLines(12, 300));
    const server = await serve({ store: join(tmp(), "store") });
    const planPath = join(tmp(), "plan.json");
    expect((await runCli("plan", "s3://corpus/moving/", dir, "--out", planPath, "--unit-bytes", "4kB")).code).toBe(0);
    const plan = await readJson<ShardPlan>(planPath);
    const cut = plan.units.filter((u) => u.source.endsWith("c-train.jsonl"));
    expect(cut.length).toBeGreaterThan(1);
    // After planning: the object replaced, the local file rewritten with the same size (one record's digit changed).
    await s3().put("corpus", "moving/b-train.jsonl", chatLines(12, 900));
    const before = await readFile(join(dir, "c-train.jsonl"), "utf8");
    await writeFile(join(dir, "c-train.jsonl"), before.replace("200", "201"));
    expect((await readFile(join(dir, "c-train.jsonl"))).length).toBe(before.length);
    const w = await runCli("work", "--plan", planPath, "--shard-index", "0", "--shard-count", "1", "--allow-local-paths", "--base-url", server.url, "--api-key", "k-local", "--manifest", join(tmp(), "m.json"), "--out", join(tmp(), "out"));
    expect(w.code).toBe(3);
    const b = plan.units.find((u) => u.source === "s3://corpus/moving/b-train.jsonl")!;
    // One line per changed unit, naming it and its source; the exact lines, in any order.
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const expected = [
      `ftprep: unit ${b.id}: ${escape(b.source)} changed since it was planned \\(ETag ${escape((b.identity as { etag: string }).etag)}, now "[0-9a-f]+"\\); plan again`,
      ...cut.map((u) => `ftprep: unit ${u.id}: ${escape(u.source)} changed since it was planned \\(sha256 ${(u.identity as { sha256: string }).sha256.slice(0, 12)}…, now [0-9a-f]{12}…\\); plan again`),
    ];
    const lines = w.stderr.split("\n").filter((l) => l.includes("changed since it was planned"));
    expect(lines).toHaveLength(expected.length);
    for (const pattern of expected) expect(lines.filter((l) => new RegExp(`^${pattern}$`).test(l)), pattern).toHaveLength(1);
    // The other units went up, once each; nothing of the changed ones did.
    const manifest = await readJson<Manifest>(join(tmp(), "m.json"));
    expect(manifest.files.map((f) => f.source).sort()).toEqual([join(dir, "d-train.jsonl"), "s3://corpus/moving/a-train.jsonl"]);
    expect((await storedSha256(server)).sort()).toEqual(manifest.files.map((f) => f.sha256).sort());
  });

  it("a whole local file is checked by the hash of its own validating pass; a pass that stops short hashes the file instead", async () => {
    const dir = join(tmp(), "short");
    await mkdir(dir);
    // Not text past the first line: the pass stops reading early (E_NOT_JSONL), so its hash covers part of the file.
    const binary = (fill: number) => Buffer.concat([Buffer.from('{"messages":[]}\n'), Buffer.alloc(1 << 20, fill)]);
    await writeFile(join(dir, "kept-train.jsonl"), binary(0));
    await writeFile(join(dir, "moved-train.jsonl"), binary(0));
    await writeFile(join(dir, "other-train.jsonl"), chatLines(12, 400));
    const planPath = join(tmp(), "short-plan.json");
    expect((await runCli("plan", dir, "--out", planPath, "--unit-bytes", "1GB")).code).toBe(0);
    const plan = await readJson<ShardPlan>(planPath);
    // moved- has the same bytes as kept- (one unit) until it changes: plan again with it different.
    await writeFile(join(dir, "moved-train.jsonl"), binary(1));
    expect((await runCli("plan", dir, "--out", planPath, "--unit-bytes", "1GB")).code).toBe(0);
    const replanned = await readJson<ShardPlan>(planPath);
    expect(replanned.units).toHaveLength(plan.units.length + 1);
    await writeFile(join(dir, "moved-train.jsonl"), binary(2));
    const server = await serve({ store: join(tmp(), "store") });
    const w = await runCli("work", "--plan", planPath, "--shard-index", "0", "--shard-count", "1", "--allow-local-paths", "--base-url", server.url, "--api-key", "k-local", "--manifest", join(tmp(), "m.json"), "--out", join(tmp(), "out"), "--json");
    expect(w.code).toBe(3);
    const doc = JSON.parse(w.stdout) as { plan: { sources: { path: string; status: string; reason?: string }[]; failures: { path: string; code: string; message: string }[] } };
    // The unchanged file is what it is (not text), not "changed"; the changed one is found out by hashing it whole.
    expect(doc.plan.sources.find((s) => s.path.endsWith("kept-train.jsonl"))).toMatchObject({ status: "invalid", reason: expect.stringMatching(/E_NOT_JSONL/) });
    expect(doc.plan.failures).toEqual([expect.objectContaining({ path: join(dir, "moved-train.jsonl"), code: "ERR_SOURCE_CHANGED", message: expect.stringMatching(/changed since it was planned \(sha256 [0-9a-f]{12}…, now [0-9a-f]{12}…\)/) })]);
    expect(await storedSha256(server)).toEqual([]);
  });

  it("manifest merge refuses manifests of different targets and an output with two contents", async () => {
    const server = await serve({ store: join(tmp(), "store") });
    const other = await serve({ store: join(tmp(), "store2") });
    const dir = join(tmp(), "d");
    await mkdir(dir);
    await writeFile(join(dir, "train.jsonl"), chatLines(12, 0));
    const up = (url: string, manifest: string) => runCli("upload", dir, "--base-url", url, "--api-key", "k-local", "--manifest", manifest, "--out", join(tmp(), "o"));
    expect((await up(server.url, join(tmp(), "a.json"))).code).toBe(0);
    expect((await up(other.url, join(tmp(), "b.json"))).code).toBe(0);
    const r = await runCli("manifest", "merge", join(tmp(), "a.json"), join(tmp(), "b.json"), "--out", join(tmp(), "m.json"));
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("manifests of different targets cannot be merged")]);
    await writeFile(join(dir, "train.jsonl"), chatLines(13, 0));
    expect((await up(server.url, join(tmp(), "c.json"))).code).toBe(0);
    const c = await runCli("manifest", "merge", join(tmp(), "a.json"), join(tmp(), "c.json"), "--out", join(tmp(), "m.json"));
    expect([c.code, c.stderr]).toEqual([2, expect.stringContaining("has different contents in")]);
  });
});
