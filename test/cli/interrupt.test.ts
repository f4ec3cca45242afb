import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, open, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { parseTempName } from "../../src/temp-files.js";
import { gzipMembers } from "../helpers/compress.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * Ctrl-C in every phase, on the real CLI in a child process: the test waits until the child's stderr says it is in
 * the phase (no sleeping for time to pass), sends SIGINT once, and checks the one-line summary, exit code 3, and
 * that no temporary file is left. The inputs are big enough that the phase lasts well past the signal.
 */
const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("interrupt");
const serve = useServers();

interface Child {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves once stderr matches; fails if the child exits first. */
  reach: (pattern: RegExp) => Promise<void>;
  exited: Promise<number | null>;
}

function ftprep(args: string[], cwd: string, env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), ...args], {
    cwd,
    env: { ...process.env, MISTRAL_API_KEY: "", OPENAI_API_KEY: "", MISTRAL_BASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr!.on("data", (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(text)) w.resolve();
      else waiters.push(w);
    }
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => void (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const reach = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(text)) return resolve();
      waiters.push({ pattern, resolve });
      void exited.then((code) => reject(new Error(`ftprep exited (${code}) before ${pattern}; stderr:\n${text}`)));
    });
  return { child, stderr: () => text, stdout: () => out, reach, exited };
}

/** Every temporary file under `dir` (ours by name, or any `*.tmp`). */
async function temporaryFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (parseTempName(entry.name) || entry.name.endsWith(".tmp")) found.push(path);
    }
  };
  await walk(dir);
  return found;
}

async function filesUnder(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

/** `megabytes` MB of chat records: one block written again and again (fast to make, slow to validate). */
async function bigJsonl(path: string, megabytes: number): Promise<void> {
  let block = "";
  for (let i = 0; Buffer.byteLength(block) < 1_000_000; i += 100) block += chatLines(100, i);
  const handle = await open(path, "w");
  for (let i = 0; i < megabytes; i++) await handle.write(block);
  await handle.close();
}

/** The same as gzip, one member repeated: a few MB on disk that decompress to `megabytes` MB. */
async function bigJsonlGz(path: string, megabytes: number): Promise<void> {
  let block = "";
  for (let i = 0; Buffer.byteLength(block) < 1_000_000; i += 100) block += chatLines(100, i);
  const member = gzipMembers(block);
  const handle = await open(path, "w");
  for (let i = 0; i < megabytes; i++) await handle.write(member);
  await handle.close();
}

async function interrupt(run: Child, phase: RegExp): Promise<number | null> {
  await run.reach(phase);
  run.child.kill("SIGINT");
  return run.exited;
}

const oneLineSummary = (stderr: string, pattern: RegExp) => expect(stderr.split("\n").filter((l) => pattern.test(l))).toHaveLength(1);

describe("Ctrl-C in every phase: the one-line summary, exit 3, no temporary file left", () => {
  it("during discovery", async () => {
    const root = tmp();
    const data = join(root, "data");
    for (let d = 0; d < 40; d++) {
      const dir = join(data, `part-${d}`);
      await mkdir(dir, { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(dir, `f${f}.json`), "[]")));
    }
    const run = ftprep(["prepare", data, "--out", join(root, "out"), "--progress"], root);
    expect(await interrupt(run, /^discovering dataset files…$/m)).toBe(3);
    oneLineSummary(run.stderr(), /^ftprep: stopped during discovery \(\d+ files? found so far\); nothing was uploaded, temporary files removed$/);
    expect(run.stderr()).not.toMatch(/^\s+at /m);
    expect(await temporaryFiles(root)).toEqual([]);
    expect(await filesUnder(join(root, "out"))).toEqual([]);
  });

  it("during validation (ftprep validate --write-valid --report on a .jsonl.gz)", async () => {
    const root = tmp();
    await bigJsonlGz(join(root, "big.jsonl.gz"), 400);
    const run = ftprep(["validate", "big.jsonl.gz", "--write-valid", "valid", "--report", "issues.ndjson", "--progress"], root);
    expect(await interrupt(run, /^decompressing and validating big\.jsonl\.gz/m)).toBe(3);
    oneLineSummary(run.stderr(), /^ftprep: stopped while decompressing and validating big\.jsonl\.gz \(file 1 of 1(; .* read)?\); nothing was uploaded, temporary files removed$/);
    expect(await temporaryFiles(root)).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(["big.jsonl.gz", "valid"]);
    expect(await filesUnder(join(root, "valid"))).toEqual([]);
  });

  it("during sharding (ftprep prepare of a file over --max-file-bytes)", async () => {
    const root = tmp();
    await bigJsonl(join(root, "big.jsonl"), 150);
    const run = ftprep(["prepare", "big.jsonl", "--out", "out", "--max-file-bytes", "5MB", "--progress"], root);
    await run.reach(/^validating and splitting big\.jsonl/m);
    // Wait for the first shard on disk, so the interruption lands while shards are being written.
    for (;;) {
      if ((await temporaryFiles(root)).length > 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(3);
    oneLineSummary(run.stderr(), /^ftprep: stopped while validating and splitting big\.jsonl \(file 1 of 1(; .* read)?\); nothing was uploaded, temporary files removed$/);
    expect(await temporaryFiles(root)).toEqual([]);
    expect(await filesUnder(join(root, "out"))).toEqual([]);
  });

  it("during the upload", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    for (let i = 0; i < 8; i++) await writeFile(join(data, `part${i}-train.jsonl`), chatLines(100, i * 1000));
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 40 } });
    const run = ftprep(["run", "data", "--base-url", server.url, "--manifest", "m.json", "--out", "out", "--concurrency", "1", "--progress"], root, { MISTRAL_API_KEY: "k" });
    expect(await interrupt(run, /^uploaded data\/part0-train\.jsonl → /m)).toBe(3);
    oneLineSummary(run.stdout(), /^stopped: \d+ uploaded, /);
    expect((await readManifest(join(root, "m.json")))!.files.length).toBeLessThan(8);
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it("while waiting for the job", async () => {
    const root = tmp();
    await mkdir(join(root, "data"));
    await writeFile(join(root, "data", "train.jsonl"), chatLines(20));
    const server = await serve({ store: join(root, "store"), jobs: { validationMs: 600_000 } });
    await writeFile(
      join(root, "pipeline.json"),
      JSON.stringify({ sources: [{ path: "data" }], provider: { name: "mistral" }, manifest: "m.json", out_dir: "out", job: { model: "open-mistral-7b", hyperparameters: { training_steps: 1 }, auto_start: true, wait: true, poll_ms: 20 } }),
    );
    const run = ftprep(["run", "--pipeline", "pipeline.json", "--base-url", server.url], root, { MISTRAL_API_KEY: "k" });
    expect(await interrupt(run, /^job: \w+/m)).toBe(3);
    oneLineSummary(run.stderr(), /^ftprep: stopped while waiting for the job (\S+) \(\w+\); it goes on at the provider \(ftprep jobs wait \1\)$/);
    const manifest = (await readManifest(join(root, "m.json")))!;
    expect(manifest.files).toHaveLength(1);
    expect(await temporaryFiles(root)).toEqual([]);
  });
});
