import { spawn } from "node:child_process";
import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { prepare } from "../../src/pipeline/prepare.js";
import { run } from "../../src/pipeline/run.js";
import { tempPathFor } from "../../src/temp-files.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("litter");
const serve = useServers();

/** The id of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe("litter from killed runs", () => {
  it("a later run removes the temporary files of dead ftprep processes, and nothing else", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(join(data, "sub"), { recursive: true });
    await writeFile(join(data, "sub", "train.jsonl"), chatLines(20));
    const out = join(root, "out");
    await mkdir(join(out, "sub"), { recursive: true });
    const dead = await deadPid();
    const stale = [
      tempPathFor(join(out, "sub", "train.part-1"), dead),
      tempPathFor(join(out, "validation-split.part-1"), dead),
      tempPathFor(join(root, "m.json"), dead),
      tempPathFor(join(root, "r.ndjson"), dead),
    ];
    const kept = [
      tempPathFor(join(out, "sub", "train.part-2")), // this process: alive
      join(out, ".train.1.0123456789ab.tmp"), // not an ftprep-owned name
      tempPathFor(join(root, "other.json"), dead), // beside the manifest, but another file's
      join(root, "notes.tmp"),
    ];
    for (const path of [...stale, ...kept]) await writeFile(path, "x".repeat(1000));

    const server = await serve({ store: join(root, "store") });
    const result = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath: join(root, "m.json"), outDir: out, reportPath: join(root, "r.ndjson"), env: {} });
    expect(result.upload).toMatchObject({ uploaded: 1, failed: [] });
    const left = [...(await listAll(root)).map((p) => join(root, p))];
    for (const path of stale) expect(left).not.toContain(path);
    for (const path of kept) expect(left).toContain(path);
  });

  it("a run killed while sharding leaves its hidden shard; the next prepare removes it", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), chatLines(100_000));
    const out = join(root, "out");
    const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "prepare", data, "--out", out, "--max-file-bytes", "2000000"], { stdio: "ignore" });
    let exited = false;
    const done = new Promise((resolve) => child.once("exit", resolve)).then(() => (exited = true));
    const mine = `.ftprep-${child.pid}-`;
    for (;;) {
      expect(exited).toBe(false);
      const names = await readdir(out).catch(() => [] as string[]);
      if (names.some((n) => n.includes(mine))) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill("SIGKILL");
    await done;
    expect((await readdir(out)).some((n) => n.includes(mine))).toBe(true);

    const plan = await prepare([data], { outDir: out, maxFileBytes: 2_000_000 });
    expect(plan.ok).toBe(true);
    expect((await readdir(out)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
  it("also removes the temporary files of earlier versions (no pid in the name) once untouched for an hour, and only those", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), chatLines(20));
    const out = join(root, "out");
    await mkdir(join(out, "sub"), { recursive: true });
    // How versions before the pid naming named them: copies, shards, the shard list, the report, the manifest.
    const stale = [
      join(out, "sub", ".train.jsonl.0123456789ab.tmp"),
      join(out, ".validation-split.2.abcdef012345.tmp"),
      join(out, ".ftprep-shards.json.00aa11bb22cc.tmp"),
      join(root, ".r.ndjson.0123456789ab.tmp"),
      join(root, "m.json.0123456789ab.tmp"),
    ];
    const kept = [
      join(out, ".train.jsonl.fedcba987654.tmp"), // the right form, but changed a minute ago: a writer may be alive
      join(out, ".notes.txt.0123456789ab.tmp"), // not an output ftprep writes
      join(out, "train.jsonl.0123456789ab.tmp"), // not hidden: not how ftprep named an output's temporary file
      join(out, ".train.jsonl.0123456789AB.tmp"), // not ftprep's lowercase hex
      join(root, "other.json.0123456789ab.tmp"), // beside the manifest, but another file's
      join(data, ".train.jsonl.0123456789ab.tmp"), // in a dataset folder, not an output tree
    ];
    const hourAgo = new Date(Date.now() - 61 * 60 * 1000);
    for (const path of [...stale, ...kept]) {
      await writeFile(path, "x".repeat(1000));
      if (!path.includes("fedcba987654")) await utimes(path, hourAgo, hourAgo);
    }
    await utimes(kept[0]!, new Date(), new Date(Date.now() - 60 * 1000));

    const server = await serve({ store: join(root, "store") });
    const result = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath: join(root, "m.json"), outDir: out, reportPath: join(root, "r.ndjson"), env: {} });
    expect(result.upload).toMatchObject({ uploaded: 1, failed: [] });
    const left = (await listAll(root)).map((p) => join(root, p));
    for (const path of stale) expect(left).not.toContain(path);
    for (const path of kept) expect(left).toContain(path);
  });
});
