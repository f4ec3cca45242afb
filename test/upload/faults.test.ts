import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifest, newManifest, readManifest } from "../../src/manifest/manifest.js";
import { run, type RunOptions } from "../../src/pipeline/run.js";
import { MistralProvider } from "../../src/providers/mistral.js";
import { OpenAIProvider } from "../../src/providers/openai.js";
import { TogetherProvider } from "../../src/providers/together.js";
import type { FilesProvider, ProviderName } from "../../src/providers/types.js";
import type { Faults } from "../../src/server/faults.js";
import type { RunningServer } from "../../src/server/server.js";
import { type UploadItem, uploadFiles, type UploadSummary } from "../../src/upload/uploader.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * The fault suite: every fault the local server can play, for every provider. After each, every file is uploaded
 * exactly once (the server's store holds exactly the files the manifest lists), or the run stops clearly and a
 * re-run completes. A provider is one row of PROVIDERS: how its base URL hangs off the local server.
 */

interface ProviderCase {
  name: ProviderName;
  baseUrl(server: RunningServer): string;
}

const PROVIDERS: ProviderCase[] = [
  { name: "mistral", baseUrl: (s) => s.url },
  { name: "openai", baseUrl: (s) => `${s.url}/v1` },
  { name: "together", baseUrl: (s) => `${s.url}/v1` },
];

const tmp = useTempDir("faults");
const serve = useServers();
const fast = { baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 30, maxRetryAfterMs: 1000 };

/** A dataset of `files` distinct training files plus a validation file, under `root/data`. */
async function dataset(root: string, files: number, records = 60): Promise<string> {
  const dir = join(root, "data");
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(dir, `part${i}-train.jsonl`), chatLines(records, i * 1000));
  await writeFile(join(dir, "validation.jsonl"), chatLines(10, 999_000));
  return dir;
}

/** The files the server's store holds (read from its records, not through the API, which may be faulty). */
async function storeFiles(store: string): Promise<{ id: string; sha256: string }[]> {
  const dir = join(store, "files");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), "utf8")) as { id: string; sha256: string }));
}

/** Every file exactly once: the store's files are the manifest's, one per content. */
async function expectExactlyOnce(store: string, manifestPath: string, count: number): Promise<void> {
  const manifest = (await readManifest(manifestPath))!;
  expect(checkManifest(manifest)).toBeUndefined();
  const held = await storeFiles(store);
  expect(held).toHaveLength(count);
  expect(manifest.files).toHaveLength(count);
  expect(new Set(held.map((f) => f.sha256)).size).toBe(count);
  expect(held.map((f) => f.id).sort()).toEqual(manifest.files.map((f) => f.remote.id).sort());
  expect(held.map((f) => f.sha256).sort()).toEqual(manifest.files.map((f) => f.sha256).sort());
}

describe.each(PROVIDERS)("fault suite: $name", (provider) => {
  const options = (server: RunningServer, root: string, extra: Partial<RunOptions> = {}): RunOptions => ({
    provider: provider.name,
    baseUrl: provider.baseUrl(server),
    apiKey: "k",
    concurrency: 4,
    manifestPath: join(root, "m.json"),
    outDir: join(root, "out"),
    env: {},
    retry: fast,
    ...extra,
  });

  const faults: [string, Faults][] = [
    ["429 with Retry-After", { rateLimitBurst: 3, rateLimitEvery: 4, retryAfterMs: 5 }],
    ["5xx at a rate", { failRate: 0.35, failStatus: 500, seed: 11 }],
    ["resets mid-body", { resetAfterBytes: 3000, resetCount: 4 }],
  ];

  it.each(faults)("%s: every file uploaded exactly once", async (_, fault) => {
    const root = tmp();
    const data = await dataset(root, 8);
    const server = await serve({ store: join(root, "store"), faults: fault });
    const result = await run([data], options(server, root));
    expect(result.upload).toMatchObject({ failed: [], aborted: false });
    expect(result.upload!.retries).toBeGreaterThan(0);
    await expectExactlyOnce(server.store, join(root, "m.json"), 9);
  });

  it("a server killed mid-run and restarted on its port: every file uploaded exactly once", async () => {
    const root = tmp();
    const data = await dataset(root, 8, 200);
    const store = join(root, "store");
    let server = await serve({ store, faults: { latencyMs: 15 } });
    const port = server.port;
    let restarted: Promise<void> | undefined;
    const result = await run(
      [data],
      options(server, root, {
        concurrency: 3,
        onEvent: (e) => {
          if (e.type === "file-done" && !restarted) {
            restarted = (async () => {
              await server.close();
              server = await serve({ store, port, faults: { latencyMs: 15 } });
            })();
          }
        },
      }),
    );
    await restarted;
    expect(result.upload).toMatchObject({ failed: [], aborted: false });
    expect(result.upload!.retries).toBeGreaterThan(0);
    await expectExactlyOnce(store, join(root, "m.json"), 9);
  });

  it("never twice: a second run sends nothing, and a fresh manifest finds every file by name and size instead of sending it", async () => {
    const root = tmp();
    const data = await dataset(root, 3);
    const server = await serve({ store: join(root, "store") });
    const first = await run([data], options(server, root));
    expect(first.upload).toMatchObject({ failed: [], uploaded: 4 });
    const again = await run([data], options(server, root));
    expect(again.upload).toMatchObject({ failed: [], uploaded: 0, skipped: 4 });
    const fresh = await run([data], options(server, root, { manifestPath: join(root, "m2.json") }));
    expect(fresh.upload).toMatchObject({ failed: [], uploaded: 0, adopted: 4 });
    await expectExactlyOnce(server.store, join(root, "m.json"), 4);
    await expectExactlyOnce(server.store, join(root, "m2.json"), 4);
  });

  it("resume after SIGKILL: a run killed halfway leaves a valid manifest, and the next run uploads only the rest", async () => {
    const root = tmp();
    const data = await dataset(root, 8, 200);
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 30 } });
    const manifestPath = join(root, "m.json");
    const bin = join(import.meta.dirname, "..", "..", "bin", "ftprep.js");
    const args = [bin, "run", data, "--provider", provider.name, "--base-url", provider.baseUrl(server), "--api-key", "k", "--manifest", manifestPath, "--out", join(root, "out"), "--concurrency", "2", "--quiet"];
    const child = spawn(process.execPath, args, { stdio: "ignore" });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // Killed once the manifest records some uploads, but not all.
    for (;;) {
      const manifest = await readManifest(manifestPath).catch(() => undefined);
      if (manifest && manifest.files.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill("SIGKILL");
    await exited;
    const before = (await readManifest(manifestPath))!;
    expect(checkManifest(before)).toBeUndefined();
    expect(before.files.length).toBeLessThan(9);

    const result = await run([data], options(server, root));
    expect(result.upload!.failed).toEqual([]);
    expect(result.upload!.skipped).toBe(before.files.length);
    await expectExactlyOnce(server.store, manifestPath, 9);
  });

  it.each(["empty", "bytes", "filename", "purpose", "id"] as const)(
    "an upload answered with a lie (%s): not recorded, exit 3, the manifest valid; a re-run completes",
    async (lie) => {
      const root = tmp();
      const data = await dataset(root, 3);
      const server = await serve({ store: join(root, "store"), faults: { lie, lieCount: 1 } });
      const cli = await runCli(
        "run", data, "--provider", provider.name, "--base-url", provider.baseUrl(server), "--api-key", "k",
        "--manifest", join(root, "m.json"), "--out", join(root, "out"), "--concurrency", "1", "--json",
      );
      expect(cli.code).toBe(3);
      const out = JSON.parse(cli.stdout) as { ok: boolean; upload: { uploaded: number; failed: { code: string; message: string }[] } };
      expect(out.ok).toBe(false);
      expect(out.upload.failed).toHaveLength(1);
      expect(out.upload.failed[0]!.code).toBe("ERR_BAD_ANSWER");
      const manifest = (await readManifest(join(root, "m.json")))!;
      expect(checkManifest(manifest)).toBeUndefined();
      expect(manifest.files).toHaveLength(3);

      // The lie was told about a file the server did store: the re-run finds it and records it, sending nothing.
      const again = await run([data], options(server, root));
      expect(again.upload).toMatchObject({ failed: [], skipped: 3, adopted: 1, uploaded: 0 });
      await expectExactlyOnce(server.store, join(root, "m.json"), 4);
    },
  );
});

describe("OpenAI's Uploads API (files sent in parts)", () => {
  it("a completion answered with a lie is ERR_BAD_ANSWER", async () => {
    const root = tmp();
    const text = chatLines(300);
    await writeFile(join(root, "big.jsonl"), text);
    const server = await serve({ store: join(root, "store"), faults: { lie: "bytes", lieCount: 1 } });
    const provider = new OpenAIProvider({ baseUrl: `${server.url}/v1`, apiKey: "k", singleUploadLimit: 10_000, partBytes: 4096 });
    try {
      await expect(provider.upload({ path: join(root, "big.jsonl"), filename: "big.jsonl", bytes: Buffer.byteLength(text) })).rejects.toMatchObject({ code: "ERR_BAD_ANSWER" });
      // The next answer is true: the file is found by name and size rather than sent again.
      expect(await provider.findExisting("big.jsonl", Buffer.byteLength(text))).toMatchObject({ bytes: Buffer.byteLength(text), filename: "big.jsonl" });
    } finally {
      await provider.close();
    }
  });
});

describe("never twice under concurrency", () => {
  it("the same content in two input files is uploaded once and recorded once", async () => {
    const root = tmp();
    for (const dir of ["a", "b", "c"]) {
      await mkdir(join(root, "data", dir), { recursive: true });
      await writeFile(join(root, "data", dir, "train.jsonl"), chatLines(30));
    }
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 10 } });
    const manifestPath = join(root, "m.json");
    const result = await run([join(root, "data")], { baseUrl: server.url, apiKey: "k", concurrency: 4, manifestPath, outDir: join(root, "out"), env: {} });
    expect(result.upload).toMatchObject({ uploaded: 1, duplicates: 2, failed: [] });
    await expectExactlyOnce(server.store, manifestPath, 1);
    const again = await run([join(root, "data")], { baseUrl: server.url, apiKey: "k", concurrency: 4, manifestPath, outDir: join(root, "out"), env: {} });
    expect(again.upload).toMatchObject({ uploaded: 0, skipped: 1, duplicates: 2 });
  });

  it("the local server stores one file for 20 concurrent uploads of the same content and name (Mistral's rule)", async () => {
    const root = tmp();
    const server = await serve({ store: join(root, "store") });
    const body = chatLines(20);
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const form = new FormData();
        form.set("purpose", "fine-tune");
        form.set("file", new Blob([body]), "same.jsonl");
        return ((await (await fetch(`${server.url}/v1/files`, { method: "POST", body: form })).json()) as { id: string }).id;
      }),
    );
    expect(new Set(answers).size).toBe(1);
    expect(await storeFiles(server.store)).toHaveLength(1);
  });
});

/**
 * The uploader alone — what `run` does after the size guard — with its provider client made by the test: OpenAI's
 * Uploads API (which `run` uses for files over 512 MB; here forced with parts of 2 kB), and Together's redirect +
 * pre-signed PUT (also a row of the suite above, through `run`). The same contract: every file exactly once, or a
 * clear stop that a re-run completes.
 */
interface ClientCase {
  name: string;
  client(server: RunningServer): FilesProvider;
}

const CLIENTS: ClientCase[] = [
  { name: "OpenAI's Uploads API (parts)", client: (s) => new OpenAIProvider({ baseUrl: `${s.url}/v1`, apiKey: "k", singleUploadLimit: 1000, partBytes: 2048 }) },
  { name: "Together (redirect + signed PUT)", client: (s) => new TogetherProvider({ baseUrl: `${s.url}/v1`, apiKey: "k" }) },
];

/** What the size guard hands the uploader for each dataset file of `dir`, sent as it is. */
async function uploadItems(dir: string): Promise<UploadItem[]> {
  const items: UploadItem[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const bytes = await readFile(path);
    items.push({
      path, source: path, kind: "original", part: 1, parts: 1, split: name.startsWith("validation") ? "validation" : "train",
      records: bytes.toString("utf8").split("\n").filter(Boolean).length, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  return items;
}

describe.each(CLIENTS)("fault suite, the uploader on $name", (c) => {
  const upload = async (server: RunningServer, root: string, items: UploadItem[], concurrency = 3): Promise<UploadSummary> => {
    const provider = c.client(server);
    const manifestPath = join(root, "m.json");
    const manifest = (await readManifest(manifestPath)) ?? newManifest({ provider: "openai", base_url: server.url, target: server.url, embedded_store: null, options: {} }, "0.0.0");
    try {
      return await uploadFiles(items, { provider, target: server.url, manifest, manifestPath, concurrency, retry: fast });
    } finally {
      await provider.close();
    }
  };

  const faults: [string, Faults][] = [
    ["429 with Retry-After", { rateLimitBurst: 2, rateLimitEvery: 5, retryAfterMs: 5 }],
    ["5xx at a rate", { failRate: 0.12, failStatus: 500, seed: 5 }],
    ["503 at a rate", { failRate: 0.2, failStatus: 503, seed: 5 }],
    ["resets mid-body", { resetAfterBytes: 1000, resetCount: 5 }],
  ];

  it.each(faults)("%s: every file uploaded exactly once", async (_, fault) => {
    const root = tmp();
    const items = await uploadItems(await dataset(root, 5, 40));
    const server = await serve({ store: join(root, "store"), faults: fault });
    const summary = await upload(server, root, items);
    expect(summary).toMatchObject({ failed: [], aborted: false });
    expect(summary.retries).toBeGreaterThan(0);
    server.faults.failRate = 0;
    await expectExactlyOnce(server.store, join(root, "m.json"), 6);
  });

  it("a server killed mid-run and restarted on its port: every file uploaded exactly once", async () => {
    const root = tmp();
    const items = await uploadItems(await dataset(root, 6, 100));
    const store = join(root, "store");
    let server = await serve({ store, faults: { latencyMs: 15 } });
    const port = server.port;
    let restarted: Promise<void> | undefined;
    const provider = c.client(server);
    const manifestPath = join(root, "m.json");
    const manifest = newManifest({ provider: "openai", base_url: server.url, target: server.url, embedded_store: null, options: {} }, "0.0.0");
    const summary = await uploadFiles(items, {
      provider, target: server.url, manifest, manifestPath, concurrency: 3, retry: fast,
      onEvent: (e) => {
        if (e.type === "file-done" && !restarted) {
          restarted = (async () => {
            await server.close();
            server = await serve({ store, port, faults: { latencyMs: 15 } });
          })();
        }
      },
    });
    await provider.close();
    await restarted;
    expect(summary).toMatchObject({ failed: [], aborted: false });
    expect(summary.retries).toBeGreaterThan(0);
    await expectExactlyOnce(store, manifestPath, 7);
  });

  it("a run whose retries run out stops clearly; a re-run completes, sending nothing twice", async () => {
    const root = tmp();
    const items = await uploadItems(await dataset(root, 4, 40));
    const server = await serve({ store: join(root, "store"), faults: { failRate: 0.5, failStatus: 503, seed: 3 } });
    const provider = c.client(server);
    const manifestPath = join(root, "m.json");
    const manifest = newManifest({ provider: "openai", base_url: server.url, target: server.url, embedded_store: null, options: {} }, "0.0.0");
    const first = await uploadFiles(items, { provider, target: server.url, manifest, manifestPath, concurrency: 2, retry: { ...fast, maxAttempts: 2 } });
    await provider.close();
    expect(first.failed.length).toBeGreaterThan(0);
    for (const f of first.failed) expect(f.code).toMatch(/^ERR_HTTP_503$/);
    server.faults.failRate = 0;
    const again = await upload(server, root, items);
    expect(again.failed).toEqual([]);
    expect(again.skipped + again.uploaded + again.adopted).toBe(5);
    await expectExactlyOnce(server.store, manifestPath, 5);
  });

  it("the same content in three input files is uploaded once and recorded once", async () => {
    const root = tmp();
    const items: UploadItem[] = [];
    for (const dir of ["a", "b", "c"]) {
      await mkdir(join(root, "data", dir), { recursive: true });
      await writeFile(join(root, "data", dir, "train.jsonl"), chatLines(30));
      items.push(...(await uploadItems(join(root, "data", dir))));
    }
    const server = await serve({ store: join(root, "store"), faults: { latencyMs: 10 } });
    expect(await upload(server, root, items, 4)).toMatchObject({ uploaded: 1, duplicates: 2, failed: [] });
    await expectExactlyOnce(server.store, join(root, "m.json"), 1);
    expect(await upload(server, root, items, 4)).toMatchObject({ uploaded: 0, skipped: 1, duplicates: 2 });
  });
});

describe("the manifest's order", () => {
  it("lists a run's files in the order they were handed over, not the order their uploads finished in", async () => {
    const root = tmp();
    const dir = join(root, "data");
    await mkdir(dir, { recursive: true });
    // "a-train" is the first item and the only one over 5,000 bytes: its first attempt is reset, so it finishes last.
    await writeFile(join(dir, "a-train.jsonl"), chatLines(200));
    for (const n of ["b", "c", "d"]) await writeFile(join(dir, `${n}-train.jsonl`), chatLines(2, n.charCodeAt(0) * 100));
    const items = await uploadItems(dir);
    const server = await serve({ store: join(root, "store"), faults: { resetAfterBytes: 5000, resetCount: 1 } });
    const provider = new MistralProvider({ baseUrl: server.url, apiKey: "k" });
    const finished: string[] = [];
    const manifestPath = join(root, "m.json");
    const manifest = newManifest({ provider: "mistral", base_url: server.url, target: server.url, embedded_store: null, options: {} }, "0.0.0");
    try {
      await uploadFiles(items, {
        provider, target: server.url, manifest, manifestPath, concurrency: 4, retry: { ...fast, baseDelayMs: 50 },
        onEvent: (e) => void (e.type === "file-done" && finished.push(e.path)),
      });
    } finally {
      await provider.close();
    }
    expect(finished.at(-1)).toBe(items[0]!.path);
    expect((await readManifest(manifestPath))!.files.map((f) => f.path)).toEqual(items.map((i) => i.path));
  });
});
