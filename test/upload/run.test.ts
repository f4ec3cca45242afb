import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifest, type Manifest, readManifest } from "../../src/manifest/manifest.js";
import { OpenAIProvider } from "../../src/providers/openai.js";
import { run } from "../../src/pipeline/run.js";
import type { RunningServer } from "../../src/server/server.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("run");
const serve = useServers();

const fast = { baseDelayMs: 2, maxDelayMs: 10, maxAttempts: 12 };

/** The files the server holds, by sha256 (asked with the server's faults switched off: the run is over). */
function stored(s: RunningServer): Promise<{ sha: string[]; count: number }> {
  for (const key of Object.keys(s.faults)) delete (s.faults as Record<string, unknown>)[key];
  return fetch(`${s.url}/v1/files?page_size=1000`)
    .then((r) => r.json() as Promise<{ data: { id: string }[] }>)
    .then(async (list) => {
      const sha = await Promise.all(list.data.map(async (f) => (JSON.parse(await readFile(join(s.store, "files", `${f.id}.json`), "utf8")) as { sha256: string }).sha256));
      return { sha, count: list.data.length };
    });
}

/** A dataset directory under `root` (`root/data`), apart from the outputs a run writes in `root`. */
async function dataset(root: string, files: number, records = 40): Promise<string> {
  const dir = join(root, "data");
  await mkdir(dir);
  for (let i = 0; i < files; i++) await writeFile(join(dir, `part${String(i).padStart(2, "0")}-train.jsonl`), chatLines(records, i * 1000));
  await writeFile(join(dir, "validation.jsonl"), chatLines(10, 999_000));
  return dir;
}

describe("run: validate → guard → upload → manifest", () => {
  it("uploads a train/validation directory with concurrency 4; the manifest validates; the store holds exactly those files", async () => {
    const server = await serve({ store: join(tmp(), "store") });
    const manifestPath = join(tmp(), "m.json");
    const result = await run([join(repo, "fixtures/datasets/mistral-chat")], {
      baseUrl: server.url,
      apiKey: "k",
      concurrency: 4,
      manifestPath,
      outDir: join(tmp(), "out"),
      env: {},
    });
    expect(result.upload).toMatchObject({ uploaded: 2, skipped: 0, adopted: 0, failed: [], aborted: false });
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Manifest;
    expect(checkManifest(manifest)).toBeUndefined();
    expect(manifest.files.map((f) => [f.split, f.lines])).toEqual(expect.arrayContaining([["train", 20], ["validation", 4]]));
    expect(JSON.stringify(manifest)).not.toContain('"k"');
    const inStore = await stored(server);
    expect(inStore.sha.sort()).toEqual(manifest.files.map((f) => f.sha256).sort());
    expect(manifest.files.every((f) => f.remote.sample_type === "instruct" && f.remote.num_lines === f.lines)).toBe(true);

    // A second run sends nothing.
    const again = await run([join(repo, "fixtures/datasets/mistral-chat")], { baseUrl: server.url, apiKey: "k", manifestPath, outDir: join(tmp(), "out"), env: {} });
    expect(again.upload).toMatchObject({ uploaded: 0, skipped: 2 });
    expect((await stored(server)).count).toBe(2);
  });

  it("uploads every file exactly once through 30% 503s, 429 bursts with Retry-After and a reset mid-upload", async () => {
    const root = tmp();
    const data = await dataset(root, 12, 200);
    const server = await serve({
      store: join(root, "store"),
      faults: { failRate: 0.3, rateLimitBurst: 2, rateLimitEvery: 5, retryAfterMs: 5, resetAfterBytes: 20_000, resetCount: 2, seed: 7 },
    });
    const events: string[] = [];
    const result = await run([data], {
      baseUrl: server.url,
      apiKey: "k",
      concurrency: 4,
      manifestPath: join(root, "m.json"),
      outDir: join(root, "out"),
      env: {},
      // About 58% of requests fail here, and a retried upload looks the file up before re-sending: 12 attempts
      // sometimes ran out for a file. The test is about exactly-once, not about the attempt budget.
      retry: { ...fast, maxAttempts: 60 },
      onEvent: (e) => events.push(e.type),
    });
    expect(result.upload!.failed).toEqual([]);
    // A reset after the server took the whole body loses only the answer: the retry finds the file and adopts it.
    expect(result.upload!.uploaded + result.upload!.adopted).toBe(13);
    expect(events.filter((e) => e === "retry").length).toBeGreaterThan(5);
    const manifest = (await readManifest(join(root, "m.json")))!;
    // The faults off for the test's own look at the store.
    Object.assign(server.faults, { failRate: 0, rateLimitBurst: 0 });
    const inStore = await stored(server);
    expect(inStore.count).toBe(13);
    expect(manifest.files).toHaveLength(13);
    expect(new Set(inStore.sha).size).toBe(13);
  });

  it("finishes, with no file uploaded twice, after a run killed with SIGKILL halfway", async () => {
    const root = tmp();
    const data = await dataset(root, 10, 300);
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 30 } });
    const manifestPath = join(root, "m.json");
    const args = [join(repo, "bin", "ftprep.js"), "run", data, "--base-url", server.url, "--manifest", manifestPath, "--out", join(root, "out"), "--concurrency", "2", "--quiet"];
    const child = spawn(process.execPath, args, { env: { ...process.env, MISTRAL_API_KEY: "k" }, stdio: "ignore" });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // Kill it once the manifest records some uploads, but not all.
    for (;;) {
      const manifest = await readManifest(manifestPath).catch(() => undefined);
      if (manifest && manifest.files.length >= 3) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill("SIGKILL");
    await exited;
    const before = (await readManifest(manifestPath))!.files.length;
    expect(before).toBeLessThan(11);

    const result = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath, outDir: join(root, "out"), env: {}, retry: fast });
    expect(result.upload!.failed).toEqual([]);
    expect(result.upload!.skipped).toBe(before);
    const manifest = (await readManifest(manifestPath))!;
    expect(manifest.files).toHaveLength(11);
    const inStore = await stored(server);
    expect(inStore.count).toBe(11);
    expect(new Set(inStore.sha).size).toBe(11);
  });

  it("records a file the provider already has (a kill after the upload, before the manifest write) instead of sending it again", async () => {
    const root = tmp();
    const data = await dataset(root, 2, 20);
    const server = await serve({ store: join(root, "store") });
    const first = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath: join(root, "m1.json"), outDir: join(root, "out"), env: {} });
    expect(first.upload!.uploaded).toBe(3);
    // A fresh manifest knows nothing: the files are found on the provider by name and size.
    const second = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath: join(root, "m2.json"), outDir: join(root, "out"), env: {} });
    expect(second.upload).toMatchObject({ uploaded: 0, adopted: 3 });
    expect((await stored(server)).count).toBe(3);
    expect((await readManifest(join(root, "m2.json")))!.files.every((f) => f.adopted === true)).toBe(true);
  });

  it("re-uploads a file gone from the provider with verifyRemote", async () => {
    const root = tmp();
    const data = await dataset(root, 1, 20);
    const server = await serve({ store: join(root, "store") });
    const manifestPath = join(root, "m.json");
    await run([data], { baseUrl: server.url, apiKey: "k", manifestPath, outDir: join(root, "out"), env: {} });
    const gone = (await readManifest(manifestPath))!.files[0]!;
    await fetch(`${server.url}/v1/files/${gone.remote.id}`, { method: "DELETE" });
    const result = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath, outDir: join(root, "out"), env: {}, verifyRemote: true });
    expect(result.upload).toMatchObject({ uploaded: 1, skipped: 1 });
    expect((await readManifest(manifestPath))!.files).toHaveLength(2);
  });

  it("sends nothing when a file has errors, and leaves no manifest", async () => {
    const root = tmp();
    const data = join(root, "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), `${chatLines(5)}oops\n`);
    const server = await serve({ store: join(root, "store") });
    const result = await run([data], { baseUrl: server.url, apiKey: "k", manifestPath: join(root, "m.json"), outDir: join(root, "out"), env: {} });
    expect(result.plan.ok).toBe(false);
    expect(result.upload).toBeUndefined();
    expect(await readManifest(join(root, "m.json"))).toBeUndefined();
    expect((await stored(server)).count).toBe(0);
  });

  it("stops scheduling and reports aborted when its signal fires", async () => {
    const root = tmp();
    const data = await dataset(root, 6, 50);
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 20 } });
    const controller = new AbortController();
    const result = await run([data], {
      baseUrl: server.url,
      apiKey: "k",
      concurrency: 1,
      manifestPath: join(root, "m.json"),
      outDir: join(root, "out"),
      env: {},
      signal: controller.signal,
      onEvent: (e) => e.type === "file-done" && controller.abort(),
    });
    expect(result.upload!.aborted).toBe(true);
    const manifest = (await readManifest(join(root, "m.json")))!;
    expect(manifest.files.length).toBeGreaterThanOrEqual(1);
    expect(manifest.files.length).toBeLessThan(7);
  });

  it("goes through OpenAI's Uploads API, in parts, for files over its single-upload limit", async () => {
    const data = tmp();
    const text = chatLines(300);
    await writeFile(join(data, "big.jsonl"), text);
    const server = await serve({ store: join(data, "store") });
    const provider = new OpenAIProvider({ baseUrl: `${server.url}/v1`, apiKey: "k", singleUploadLimit: 10_000, partBytes: 4096 });
    const file = await provider.upload({ path: join(data, "big.jsonl"), filename: "big.jsonl", bytes: Buffer.byteLength(text) });
    expect(file.bytes).toBe(Buffer.byteLength(text));
    expect(await (await fetch(`${server.url}/v1/files/${file.id}/content`)).text()).toBe(text);
    await provider.close();
  });

  it("runs an OpenAI-flavoured dataset to the OpenAI routes", async () => {
    const server = await serve({ store: join(tmp(), "store") });
    const result = await run([join(repo, "fixtures/datasets/openai-tools")], {
      provider: "openai",
      baseUrl: `${server.url}/v1`,
      apiKey: "k",
      manifestPath: join(tmp(), "m.json"),
      outDir: join(tmp(), "out"),
      env: {},
    });
    expect(result.upload).toMatchObject({ uploaded: 2, failed: [] });
    expect((await readManifest(join(tmp(), "m.json")))!.provider).toBe("openai");
  });
});

describe("npm run validate-and-upload (the quick start)", () => {
  it("uploads a fixture dataset to the embedded server with no key, and says where the manifest is", async () => {
    const cwd = tmp();
    const child = spawn(join(repo, "bin", "ftprep.js"), ["run", join(repo, "fixtures/datasets/mistral-chat")], {
      cwd,
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => (stdout += d));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(stderr).toContain("using the embedded local Files API");
    expect(stdout).toContain("2 uploaded");
    expect(stdout).toContain("manifest: ftprep-manifest.json");
    const manifest = (await readManifest(join(cwd, "ftprep-manifest.json")))!;
    expect(manifest.target).toBe(`embedded:${join(cwd, ".ftprep/store")}`);
    expect(manifest.files).toHaveLength(2);
  });
});

describe("ftprep run on SIGINT", () => {
  it("starts no new upload, keeps the manifest, prints a one-line summary and exits 3", async () => {
    const root = tmp();
    const data = await dataset(root, 8, 100);
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 40 } });
    const manifestPath = join(root, "m.json");
    const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "run", data, "--base-url", server.url, "--manifest", manifestPath, "--out", join(root, "out"), "--concurrency", "1"], {
      env: { ...process.env, MISTRAL_API_KEY: "secret-key-123" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    for (;;) {
      const manifest = await readManifest(manifestPath).catch(() => undefined);
      if (manifest && manifest.files.length >= 1) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill("SIGINT");
    expect(await exited).toBe(3);
    expect(stdout).toMatch(/^stopped: \d+ uploaded, /m);
    expect(stderr + stdout).not.toContain("secret-key-123");
    const manifest = (await readManifest(manifestPath))!;
    expect(manifest.files.length).toBeGreaterThanOrEqual(1);
    expect(manifest.files.length).toBeLessThan(9);
    expect((await stored(server)).count).toBeGreaterThanOrEqual(manifest.files.length);
  });
});
