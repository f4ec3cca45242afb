import { spawn } from "node:child_process";
import { appendFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifest, journalPath, type Manifest, type ManifestFile, ManifestJournal, newManifest, readManifest, writeManifest } from "../../src/manifest/manifest.js";
import { run } from "../../src/pipeline/run.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";
import { runCli } from "../helpers/cli.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("journal");
const serve = useServers();

function entry(i: number): ManifestFile {
  const sha = i.toString(16).padStart(64, "0");
  return {
    path: `data/f${i}.jsonl`, source: `data/f${i}.jsonl`, kind: "original", part: 1, parts: 1, split: "train", weight: 1,
    sha256: sha, bytes: 10, lines: 1, target: "http://127.0.0.1:1",
    remote: { id: `file-${i}`, filename: `f${i}.jsonl`, bytes: 10, num_lines: 1, sample_type: "instruct", created_at: 1 },
    uploaded_at: new Date().toISOString(),
  };
}

function manifestWith(n: number): Manifest {
  const m = newManifest({ provider: "mistral", base_url: "http://127.0.0.1:1", target: "http://127.0.0.1:1", embedded_store: null, options: {} }, "0.0.0");
  for (let i = 0; i < n; i++) m.files.push(entry(i));
  return m;
}

describe("the manifest journal", () => {
  it("records each upload by appending to the journal: the manifest is written once, at the end", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    for (let i = 0; i < 6; i++) await writeFile(join(data, `f${i}-train.jsonl`), chatLines(20, i * 100));
    const server = await serve({ store: join(root, "store") });
    const manifestPath = join(root, "m.json");
    const options = { baseUrl: server.url, apiKey: "k", concurrency: 2, manifestPath, outDir: join(root, "out"), env: {} };
    // A first run makes the manifest; the second adds files to it.
    await writeFile(join(data, "f0-train.jsonl"), chatLines(20));
    await run([join(data, "f0-train.jsonl")], options);
    const first = await stat(manifestPath);
    const seen: { ino: number; mtimeMs: number; journalLines: number }[] = [];
    const result = await run([data], {
      ...options,
      onEvent: (e) => {
        if (e.type !== "file-done") return;
        // Synchronous look at the disk as each upload is reported done.
        const fs = process.getBuiltinModule("node:fs");
        const info = fs.statSync(manifestPath);
        seen.push({ ino: info.ino, mtimeMs: info.mtimeMs, journalLines: fs.readFileSync(journalPath(manifestPath), "utf8").split("\n").filter((l) => l.startsWith('{"file"')).length });
      },
    });
    expect(result.upload).toMatchObject({ uploaded: 5, skipped: 1, failed: [] });
    expect(seen).toHaveLength(5);
    for (const [i, s] of seen.entries()) {
      expect(s.ino).toBe(first.ino);
      expect(s.mtimeMs).toBe(first.mtimeMs);
      expect(s.journalLines).toBeGreaterThanOrEqual(i + 1);
    }
    // Compacted: the journal is gone, the manifest has everything.
    await expect(stat(journalPath(manifestPath))).rejects.toThrow(/ENOENT/);
    expect((await readManifest(manifestPath))!.files).toHaveLength(6);
  });

  it("reads a manifest with its journal, ignoring a line a kill cut short, and a later journal appends cleanly", async () => {
    const manifestPath = join(tmp(), "m.json");
    const base = manifestWith(3);
    await writeManifest(manifestPath, base);
    const journal = await ManifestJournal.open(manifestPath, base);
    await journal.append(entry(3));
    await journal.append(entry(1)); // already in the manifest: merged once
    await journal.close();
    await appendFile(journalPath(manifestPath), JSON.stringify({ file: entry(4) }).slice(0, 40));
    let merged = (await readManifest(manifestPath))!;
    expect(checkManifest(merged)).toBeUndefined();
    expect(merged.files.map((f) => f.remote.id)).toEqual(["file-0", "file-1", "file-2", "file-3"]);

    const again = await ManifestJournal.open(manifestPath, merged);
    await again.append(entry(5));
    await again.close();
    merged = (await readManifest(manifestPath))!;
    expect(merged.files.map((f) => f.remote.id)).toEqual(["file-0", "file-1", "file-2", "file-3", "file-5"]);
  });

  it("a journal without a manifest (killed before the first compaction) is a manifest", async () => {
    const manifestPath = join(tmp(), "m.json");
    const journal = await ManifestJournal.open(manifestPath, manifestWith(0));
    await journal.append(entry(7));
    await journal.close();
    const read = (await readManifest(manifestPath))!;
    expect(read.files.map((f) => f.remote.id)).toEqual(["file-7"]);
    expect(checkManifest(read)).toBeUndefined();
  });

  it("after a SIGKILL mid-run the journal holds what was done; the next run completes and compacts it", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    for (let i = 0; i < 10; i++) await writeFile(join(data, `p${i}-train.jsonl`), chatLines(100, i * 1000));
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 30 } });
    const manifestPath = join(root, "m.json");
    const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "run", data, "--base-url", server.url, "--manifest", manifestPath, "--out", join(root, "out"), "--concurrency", "2", "--quiet"], {
      env: { ...process.env, MISTRAL_API_KEY: "k" },
      stdio: "ignore",
    });
    let done = false;
    const exited = new Promise((resolve) => child.once("exit", resolve)).then(() => (done = true));
    for (;;) {
      expect(done).toBe(false);
      const text = await readFile(journalPath(manifestPath), "utf8").catch(() => "");
      if (text.split("\n").filter((l) => l.startsWith('{"file"')).length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill("SIGKILL");
    await exited;
    const before = (await readManifest(manifestPath))!;
    expect(checkManifest(before)).toBeUndefined();
    expect(before.files.length).toBeGreaterThanOrEqual(3);
    expect(before.files.length).toBeLessThan(10);

    const result = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath, outDir: join(root, "out"), env: {} });
    expect(result.upload!.failed).toEqual([]);
    expect(result.upload!.skipped).toBe(before.files.length);
    await expect(stat(journalPath(manifestPath))).rejects.toThrow(/ENOENT/);
    expect((JSON.parse(await readFile(manifestPath, "utf8")) as Manifest).files).toHaveLength(10);
  });
});

describe("a damaged journal", () => {
  it("reports a bad line in the middle (one line each), keeps the others, and tolerates the torn lines of kills", async () => {
    const manifestPath = join(tmp(), "m.json");
    const base = manifestWith(2);
    await writeManifest(manifestPath, base);
    const journal = await ManifestJournal.open(manifestPath, base);
    await journal.append(entry(2));
    await journal.close();
    // Line 4: damaged mid-file; line 5: JSON but no file entry the schema takes; then a good entry and a torn end.
    await appendFile(journalPath(manifestPath), `{"file":{"path":"data/f9.jsonl","sha2\n${JSON.stringify({ file: { ...entry(8), sha256: "not hex" } })}\n`);
    const after = await ManifestJournal.open(manifestPath, base); // a later run: its header ends nothing torn here
    await after.append(entry(3));
    await after.close();
    await appendFile(journalPath(manifestPath), JSON.stringify({ file: entry(4) }).slice(0, 30));
    const problems: string[] = [];
    const read = (await readManifest(manifestPath, { onProblem: (m) => problems.push(m) }))!;
    expect(checkManifest(read)).toBeUndefined();
    expect(read.files.map((f) => f.remote.id)).toEqual(["file-0", "file-1", "file-2", "file-3"]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${journalPath(manifestPath).replace(/[.]/g, "\\.")} line 4 is not valid JSON and more lines follow it`));
    expect(problems[1]).toMatch(/ line 5 is not a valid file entry \(\/files\/0\/sha256 must match pattern .*\) and more lines follow it/);
    for (const p of problems) expect(p).not.toContain("\n");

    // A torn line that a later run's header follows (the kill, then the next run) is not reported.
    const torn = join(tmp(), "t.json");
    const first = await ManifestJournal.open(torn, base);
    await first.append(entry(2));
    await first.close();
    await appendFile(journalPath(torn), JSON.stringify({ file: entry(5) }).slice(0, 50));
    const second = await ManifestJournal.open(torn, base);
    await second.append(entry(6));
    await second.close();
    const quiet: string[] = [];
    expect((await readManifest(torn, { onProblem: (m) => quiet.push(m) }))!.files.map((f) => f.remote.id)).toEqual(["file-2", "file-6"]);
    expect(quiet).toEqual([]);
  });

  it("run says so in one line on stderr, and the next run finds the left-out file instead of sending it again", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    for (let i = 0; i < 3; i++) await writeFile(join(data, `f${i}-train.jsonl`), chatLines(20, i * 100));
    const server = await serve({ store: join(root, "store") });
    const manifestPath = join(root, "m.json");
    const args = ["upload", data, "--base-url", server.url, "--api-key", "k", "--manifest", manifestPath, "--out", join(root, "out")];
    expect((await runCli(...args, "--quiet")).code).toBe(0);
    // As a run killed before its compaction leaves it, with its second file's line damaged.
    const { files, ...header } = JSON.parse(await readFile(manifestPath, "utf8")) as Manifest;
    const lines = [JSON.stringify({ manifest: header }), ...files.map((f) => JSON.stringify({ file: f }))];
    lines[2] = lines[2]!.replace('"sha256":"', '"sha256":');
    await writeFile(journalPath(manifestPath), `\n${lines.join("\n")}\n`);
    await rm(manifestPath);

    const { code, stdout, stderr } = await runCli(...args, "--quiet");
    expect(stderr.split("\n").filter(Boolean)).toEqual([expect.stringMatching(/^ftprep: warning: .*m\.json\.journal line 4 is not valid JSON and more lines follow it \(not a write cut short by a kill\): left out; /)]);
    expect(stdout).toContain("0 uploaded, 1 found already uploaded, 2 skipped (in the manifest)");
    expect(code).toBe(0);
    const manifest = (await readManifest(manifestPath))!;
    expect(manifest.files.map((f) => f.remote.id).sort()).toEqual(files.map((f) => f.remote.id).sort());
  });
});
