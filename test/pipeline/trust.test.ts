import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { newManifest } from "../../src/manifest/manifest.js";
import { openTarget, resolveTarget } from "../../src/pipeline/target.js";
import { redact, registerSecret } from "../../src/redact.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * What ftprep trusts: the user and the command line. Manifests and provider answers are data: a manifest never
 * chooses a directory to open or a URL to send the key to, and no secret is printed or written, whatever its source.
 */

const tmp = useTempDir("trust");
const KEY = "sk-trust-test-0123456789abcdef";

/** A plain HTTP server that records every request and answers with `answer`. */
async function recorder(answer: (req: { url: string; authorization: string | undefined }) => { status: number; body: string }): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
      const { status, body } = answer({ url: req.url ?? "", authorization: req.headers.authorization });
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value));
}

/** Runs the CLI with a key in the environment (and no base URL there). */
async function withKey<T>(key: string | undefined, body: () => Promise<T>): Promise<T> {
  const saved = { key: process.env.MISTRAL_API_KEY, base: process.env.MISTRAL_BASE_URL };
  if (key === undefined) delete process.env.MISTRAL_API_KEY;
  else process.env.MISTRAL_API_KEY = key;
  delete process.env.MISTRAL_BASE_URL;
  try {
    return await body();
  } finally {
    if (saved.key === undefined) delete process.env.MISTRAL_API_KEY;
    else process.env.MISTRAL_API_KEY = saved.key;
    if (saved.base !== undefined) process.env.MISTRAL_BASE_URL = saved.base;
  }
}

describe("a manifest does not choose a directory or a URL", () => {
  it("refuses a manifest whose embedded store is not the one the user names, and touches nothing there", async () => {
    const victim = join(tmp(), "victim");
    await mkdir(join(victim, "tmp"), { recursive: true });
    await writeFile(join(victim, "tmp", "precious.txt"), "keep me");
    await writeFile(join(victim, "stray.data"), "keep me too");
    const manifestPath = join(tmp(), "m.json");
    await writeJson(manifestPath, newManifest({ provider: "mistral", base_url: "http://127.0.0.1:1", target: `embedded:${victim}`, embedded_store: victim, options: {} }, "0.0.0"));
    const before = (await readdir(victim)).sort();

    const { code, stderr } = await runCli("jobs", "status", "job-1", "--manifest", manifestPath, "--store", join(tmp(), "mine"));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ftprep jobs status: the manifest's files are on the embedded server's store .*pass --store /);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect((await readdir(victim)).sort()).toEqual(before);
    expect(await readFile(join(victim, "tmp", "precious.txt"), "utf8")).toBe("keep me");
    expect(await readFile(join(victim, "stray.data"), "utf8")).toBe("keep me too");
  });

  it("opens a manifest's embedded store when the user names it", () => {
    const store = join(tmp(), "store");
    const manifest = newManifest({ provider: "mistral", base_url: "http://127.0.0.1:1", target: `embedded:${store}`, embedded_store: store, options: {} }, "0.0.0");
    expect(resolveTarget("mistral", { manifest, store, env: {} })).toMatchObject({ embedded: true, store });
  });

  it("never sends the key to a manifest's base URL the user did not configure", async () => {
    const evil = await recorder(() => ({ status: 200, body: JSON.stringify({ id: "job-1", status: "RUNNING" }) }));
    const manifestPath = join(tmp(), "m.json");
    await writeJson(manifestPath, newManifest({ provider: "mistral", base_url: evil.url, target: evil.url, embedded_store: null, options: {} }, "0.0.0"));
    const { code, stderr } = await withKey(KEY, () => runCli("jobs", "status", "job-1", "--manifest", manifestPath));
    expect(code).toBe(2);
    expect(stderr).toMatch(/ftprep sends your API key only where you say: pass --base-url/);
    expect(evil.seen).toEqual([]);

    // The user's say: the same URL on the command line.
    const allowed = await withKey(KEY, () => runCli("jobs", "status", "job-1", "--manifest", manifestPath, "--base-url", evil.url, "--json"));
    expect(allowed.code).toBe(0);
    expect(evil.seen).toEqual([`GET /v1/fine_tuning/jobs/job-1 Bearer ${KEY}`]);
    expect(allowed.stdout).not.toContain(KEY);
  });

  it("uses a manifest's base URL when no key would be sent, and when it is the configured one", () => {
    const manifest = newManifest({ provider: "mistral", base_url: "http://127.0.0.1:9/", target: "http://127.0.0.1:9", embedded_store: null, options: {} }, "0.0.0");
    expect(resolveTarget("mistral", { manifest, env: {} })).toMatchObject({ embedded: false, baseUrl: "http://127.0.0.1:9", key: undefined });
    expect(resolveTarget("mistral", { manifest, env: { MISTRAL_API_KEY: KEY, MISTRAL_BASE_URL: "http://127.0.0.1:9" } })).toMatchObject({ baseUrl: "http://127.0.0.1:9", key: KEY });
    expect(() => resolveTarget("mistral", { manifest, env: { MISTRAL_API_KEY: KEY } })).toThrow(/pass --base-url "http:\/\/127.0.0.1:9"/);
  });
});

describe("a pipeline file does not choose where the files and the key go", () => {
  const repo = join(import.meta.dirname, "..", "..");
  async function pipelineTo(baseUrl: string): Promise<string> {
    const dir = tmp();
    const path = join(dir, "p.json");
    await writeJson(path, {
      sources: [{ path: join(repo, "fixtures/datasets/mistral-chat") }],
      provider: { name: "mistral", base_url: baseUrl },
      manifest: join(dir, "m.json"),
      out_dir: join(dir, "out"),
      store: join(dir, "store"),
    });
    return path;
  }

  it("refuses a pipeline's base URL the user did not give, with or without a key: nothing sent, one line, exit 2", async () => {
    const evil = await recorder(() => ({ status: 200, body: JSON.stringify({ object: "list", data: [] }) }));
    const path = await pipelineTo(`${evil.url}/`);
    for (const key of [KEY, undefined]) {
      const { code, stdout, stderr } = await withKey(key, () => runCli("run", "--pipeline", path, "--json"));
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toEqual([
        `ftprep run: the pipeline file names the base URL "${evil.url}", not Mistral's public API; ftprep sends your files and API key only where you say: pass --trust-pipeline-url (or --base-url "${evil.url}") to use it; see ftprep run --help`,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ ok: false, exit_code: 2 });
    }
    expect(evil.seen).toEqual([]);
  });

  it("uses it with --trust-pipeline-url, or when the user names the same URL", async () => {
    const evil = await recorder(() => ({ status: 200, body: JSON.stringify({ object: "list", data: [] }) }));
    const path = await pipelineTo(evil.url);
    // The user's say: the key goes there (the recorder's empty answers then fail the upload, which is beside the point).
    await withKey(KEY, () => runCli("run", "--pipeline", path, "--trust-pipeline-url", "--quiet"));
    expect(evil.seen[0]).toMatch(new RegExp(`^GET /v1/files\\?.* Bearer ${KEY}$`));
    const seen = evil.seen.length;
    await withKey(KEY, () => runCli("run", "--pipeline", path, "--base-url", evil.url, "--quiet"));
    expect(evil.seen.length).toBeGreaterThan(seen);
  });

  it("takes the provider's public API from a pipeline, and the user's base URL over the pipeline's", () => {
    expect(resolveTarget("mistral", { pipelineBaseUrl: "https://api.mistral.ai/", env: { MISTRAL_API_KEY: KEY } })).toMatchObject({ baseUrl: "https://api.mistral.ai", key: KEY });
    expect(resolveTarget("openai", { pipelineBaseUrl: "https://api.openai.com/v1", env: { OPENAI_API_KEY: KEY } })).toMatchObject({ baseUrl: "https://api.openai.com/v1" });
    expect(resolveTarget("mistral", { pipelineBaseUrl: "http://127.0.0.1:1", env: { MISTRAL_API_KEY: KEY, MISTRAL_BASE_URL: "http://127.0.0.1:2" } })).toMatchObject({ baseUrl: "http://127.0.0.1:2" });
    expect(resolveTarget("mistral", { pipelineBaseUrl: "http://127.0.0.1:1", baseUrl: "http://127.0.0.1:3", env: { MISTRAL_API_KEY: KEY } })).toMatchObject({ baseUrl: "http://127.0.0.1:3" });
    expect(resolveTarget("mistral", { pipelineBaseUrl: "http://127.0.0.1:1", trustPipelineUrl: true, env: { MISTRAL_API_KEY: KEY } })).toMatchObject({ baseUrl: "http://127.0.0.1:1", key: KEY });
    expect(() => resolveTarget("mistral", { pipelineBaseUrl: "http://127.0.0.1:1", env: {} })).toThrow(/pass --trust-pipeline-url/);
  });
});

describe("a store is opened only where there is one", () => {
  it("refuses a pipeline's store that is someone's directory, and touches nothing there", async () => {
    const victim = join(tmp(), "project");
    await mkdir(join(victim, "tmp"), { recursive: true });
    await writeFile(join(victim, "tmp", "precious.txt"), "keep me");
    await writeFile(join(victim, "notes.md"), "keep me too");
    const pipeline = join(tmp(), "p.json");
    await writeJson(pipeline, { sources: [{ path: join(import.meta.dirname, "..", "..", "fixtures/datasets/mistral-chat") }], store: victim, manifest: join(tmp(), "m.json"), out_dir: join(tmp(), "out") });
    const { code, stderr } = await withKey(undefined, () => runCli("run", "--pipeline", pipeline, "--quiet"));
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^ftprep run: .*project is not an ftprep store \(it holds notes\.md\) and opening one cleans its tmp\/ and stray files: name a new or empty directory, or an ftprep store/)]);
    expect((await readdir(victim)).sort()).toEqual(["notes.md", "tmp"]);
    expect(await readFile(join(victim, "tmp", "precious.txt"), "utf8")).toBe("keep me");
    // A store ftprep made, a new directory and an empty one open as before.
    const made = join(tmp(), "store");
    expect((await withKey(undefined, () => runCli("upload", join(import.meta.dirname, "..", "..", "fixtures/datasets/mistral-chat"), "--store", made, "--manifest", join(tmp(), "m2.json"), "--out", join(tmp(), "out"), "--quiet"))).code).toBe(0);
    expect((await withKey(undefined, () => runCli("upload", join(import.meta.dirname, "..", "..", "fixtures/datasets/mistral-chat"), "--store", made, "--manifest", join(tmp(), "m2.json"), "--out", join(tmp(), "out"), "--quiet"))).code).toBe(0);
  });
});

describe("job answers are checked", () => {
  it.each([
    ["an empty object", {}],
    ["another job", { id: "job-2", status: "RUNNING" }],
    ["an id with a control character", { id: "job-1\u001b[2J", status: "RUNNING" }],
  ])("jobs status answered with %s: ERR_BAD_ANSWER in one line, exit 3", async (_, body) => {
    const liar = await recorder(() => ({ status: 200, body: JSON.stringify(body) }));
    const { code, stdout, stderr } = await withKey(undefined, () => runCli("jobs", "status", "job-1", "--base-url", liar.url, "--json"));
    expect(code).toBe(3);
    expect(stderr).toMatch(/^ftprep: the provider answered GET \/v1\/fine_tuning\/jobs\/\{id\} with a job object that /);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, exit_code: 3, failures: [{ code: "ERR_BAD_ANSWER" }] });
  });
});

describe("the embedded server", () => {
  it("answers only its own run: a request without the run's token gets 401", async () => {
    const target = await openTarget("mistral", { store: join(tmp(), "store"), env: {} });
    try {
      expect(target.server).toBeDefined();
      expect((await fetch(`${target.server!.url}/v1/files`)).status).toBe(401);
      expect(await target.provider.findExisting("x.jsonl", 1)).toBeUndefined();
    } finally {
      await target.close();
    }
  });
});

describe("no secret in any output", () => {
  it("masks registered keys and tokens, Bearer credentials and URL userinfo", () => {
    registerSecret("tok-registered-42");
    expect(redact("a tok-registered-42 b")).toBe("a *** b");
    expect(redact('{"h":"Bearer abc.def-123"}')).toBe('{"h":"Bearer ***"}');
    expect(redact("see https://me:pw@host.example/v1 now")).toBe("see https://***@host.example/v1 now");
    expect(redact("short k stays")).toBe("short k stays");
  });

  it("redacts a key a server echoes in an error body, from stderr, --json and the report", async () => {
    const data = join(tmp(), "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), chatLines(5));
    const echo = await recorder(({ authorization }) => ({ status: 400, body: JSON.stringify({ message: `bad request; you sent authorization=${authorization ?? ""} raw=${(authorization ?? "").slice(7)}` }) }));
    const args = ["run", data, "--base-url", echo.url, "--manifest", join(tmp(), "m.json"), "--out", join(tmp(), "out"), "--report", join(tmp(), "r.ndjson")];
    const human = await withKey(KEY, () => runCli(...args));
    expect(human.code).toBe(3);
    expect(human.stderr).toContain("bad request; you sent authorization=Bearer ***");
    const json = await withKey(KEY, () => runCli(...args, "--json"));
    expect(json.code).toBe(3);
    for (const text of [human.stdout, human.stderr, json.stdout, json.stderr, await readFile(join(tmp(), "r.ndjson"), "utf8").catch(() => "")]) {
      expect(text).not.toContain(KEY);
    }
    expect(echo.seen.length).toBeGreaterThan(0);
  });

  it("refuses a key in the base URL's userinfo: never sent, printed or written to a manifest", async () => {
    const data = join(tmp(), "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), chatLines(5));
    const target = await recorder(() => ({ status: 200, body: JSON.stringify({ data: [] }) }));
    const secret = "userinfo-secret-987654";
    const withUserinfo = target.url.replace("http://", `http://me:${secret}@`);
    const manifestPath = join(tmp(), "m.json");
    const result = await withKey(undefined, () => runCli("run", data, "--base-url", withUserinfo, "--manifest", manifestPath, "--out", join(tmp(), "out"), "--json"));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/carries credentials \(user:password@\)/);
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
    expect(await readFile(manifestPath, "utf8").catch(() => "")).not.toContain(secret);
    expect(target.seen).toEqual([]);
  });
});
