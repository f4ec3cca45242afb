import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { startServer } from "../../src/server/server.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("server");
const serve = useServers();

function form(content: string | Uint8Array, filename = "train.jsonl", purpose = "fine-tune"): FormData {
  const body = new FormData();
  body.append("purpose", purpose);
  body.append("file", new Blob([content]), filename);
  return body;
}

/** A response's JSON body, loosely typed: these tests look at the wire. */
async function json(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

async function upload(url: string, content: string, filename?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/files`, { method: "POST", body: form(content, filename), headers });
}

describe("local Files API server", () => {
  it("stores a file with its counts and hash, lists it, serves its bytes, and keeps it across a restart", async () => {
    const store = join(tmp(), "store");
    let server = await serve({ store });
    const text = chatLines(7);
    const created = await json(upload(server.url, text));
    expect(created).toMatchObject({ object: "file", bytes: Buffer.byteLength(text), num_lines: 7, sample_type: "instruct", filename: "train.jsonl", purpose: "fine-tune" });
    const content = await fetch(`${server.url}/v1/files/${created.id}/content`);
    expect(content.headers.get("content-type")).toBe("application/octet-stream");
    expect(await content.text()).toBe(text);
    // The same content under the same name is the same file.
    expect((await json(upload(server.url, text))).id).toBe(created.id);
    await server.close();
    server = await serve({ store });
    const list = await json(fetch(`${server.url}/v1/files`));
    expect(list.data.map((f: { id: string }) => f.id)).toEqual([created.id]);
    expect(list.total).toBe(1);
  });

  it("tells pretrain files from chat files", async () => {
    const server = await serve({ store: tmp() });
    const file = await json(upload(server.url, '{"text":"a"}\n{"text":"b"}'));
    expect(file).toMatchObject({ sample_type: "pretrain", num_lines: 2 });
  });

  it("refuses a file over the limit with 413 while it streams, and keeps nothing", async () => {
    const store = tmp();
    const server = await serve({ store, limits: { fileBytes: 10_000 } });
    const response = await upload(server.url, chatLines(200));
    expect(response.status).toBe(413);
    expect((await json(response)).error.message).toMatch(/limit is 10000 bytes/);
    expect((await json(fetch(`${server.url}/v1/files`))).data).toEqual([]);
    expect(await readdir(join(store, "files"))).toEqual([]);
    expect(await readdir(join(store, "tmp"))).toEqual([]);
    // The connection still works for the next request.
    expect((await upload(server.url, chatLines(2))).status).toBe(200);
  });

  it("requires the token when one is set, compared in constant time", async () => {
    const server = await serve({ store: tmp(), token: "s3cret" });
    expect((await fetch(`${server.url}/v1/files`)).status).toBe(401);
    expect((await fetch(`${server.url}/v1/files`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const ok = await fetch(`${server.url}/v1/files`, { headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(200);
  });

  it("answers 422 in Mistral's shape and 404 for unknown ids", async () => {
    const server = await serve({ store: tmp() });
    const bad = await fetch(`${server.url}/v1/fine_tuning/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", hyperparameters: {} }) });
    expect(bad.status).toBe(422);
    expect((await json(bad)).detail[0]).toMatchObject({ msg: "At least one training file or repository is required." });
    const missing = await fetch(`${server.url}/v1/files/nope`);
    expect(missing.status).toBe(404);
  });

  it("injects faults: 429 bursts with Retry-After, 503s, resets mid-upload, 410 on Mistral job routes", async () => {
    const server = await serve({ store: tmp(), faults: { rateLimitBurst: 2, rateLimitEvery: 1, retryAfterSeconds: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${server.url}/v1/files`);
      statuses.push(r.status);
      if (r.status === 429) {
        expect(r.headers.get("retry-after")).toBe("3");
        expect(r.headers.get("retry-after-ms")).toBe("3000");
      }
      await r.arrayBuffer();
    }
    expect(statuses).toEqual([429, 429, 200, 429, 429, 200]);

    server.faults.rateLimitBurst = 0;
    server.faults.failRate = 1;
    expect((await fetch(`${server.url}/v1/files`)).status).toBe(503);
    server.faults.failRate = 0;

    server.faults.resetAfterBytes = 1000;
    await expect(upload(server.url, chatLines(100))).rejects.toThrow();
    expect((await json(fetch(`${server.url}/v1/files`))).data).toEqual([]);
    expect((await upload(server.url, chatLines(100))).status).toBe(200); // one reset only

    server.faults.retireJobs = true;
    const gone = await fetch(`${server.url}/v1/fine_tuning/jobs?page=0&page_size=100`);
    expect(gone.status).toBe(410);
    expect((await json(gone)).detail).toMatch(/retired/);
    expect((await fetch(`${server.url}/v1/fine_tuning/jobs`)).status).toBe(410); // no query: Mistral's, the default
    const openai = await fetch(`${server.url}/v1/fine_tuning/jobs?limit=20`);
    expect(openai.status).toBe(200); // OpenAI's job routes are not Mistral's
  });
});

describe("jobs in the store", () => {
  it("advance from timestamps: a job created by one server is read to SUCCESS by another on the same store", async () => {
    const store = tmp();
    let clock = Date.parse("2026-11-01T00:00:00Z");
    const first = await startServer({ store, now: () => clock, jobs: { validationMs: 1000, trainingMs: 5000 } });
    const file = await json(upload(first.url, chatLines(3)));
    const job = await json(
      fetch(`${first.url}/v1/fine_tuning/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", training_files: [{ file_id: file.id }], hyperparameters: { training_steps: 1 }, auto_start: true }),
      }),
    );
    expect(job.status).toBe("VALIDATING");
    await first.close(); // waits for the job's validation to land in the store
    clock += 10_000;
    const server = await serve({ store, now: () => clock, jobs: { validationMs: 1000, trainingMs: 5000 } });
    const later = await json(fetch(`${server.url}/v1/fine_tuning/jobs/${job.id}`));
    expect(later.status).toBe("SUCCESS");
    expect(later.events.map((e: { data: { status: string } }) => e.data.status)).toEqual(["QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "SUCCESS"]);
  });
});

describe("a store shared with another process", () => {
  it("takes over the validation of a job whose process exited before finishing it", async () => {
    const store = tmp();
    let clock = Date.parse("2026-11-01T00:00:00Z");
    const server = await serve({ store, now: () => clock, jobs: { validationMs: 1000, trainingMs: 5000 } });
    const file = await json(upload(server.url, chatLines(3)));
    const created = await json(
      fetch(`${server.url}/v1/fine_tuning/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", training_files: [{ file_id: file.id }], hyperparameters: { training_steps: 1 } }),
      }),
    );
    await server.settled();
    // What an embedded run killed mid-validation leaves: a job record with no verdict, its validator gone.
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => child.once("exit", resolve));
    const record = JSON.parse(await readFile(join(store, "jobs", `${created.id}.json`), "utf8"));
    const orphan = { ...record, id: "0b5e6a53-0000-4000-8000-000000000001", validation: null, validator_pid: child.pid };
    await writeFile(join(store, "jobs", `${orphan.id}.tmp`), JSON.stringify(orphan));
    await rename(join(store, "jobs", `${orphan.id}.tmp`), join(store, "jobs", `${orphan.id}.json`));
    clock += 1000;
    expect((await json(fetch(`${server.url}/v1/fine_tuning/jobs/${orphan.id}`))).status).toBe("VALIDATING");
    await server.settled();
    expect((await json(fetch(`${server.url}/v1/fine_tuning/jobs/${orphan.id}`))).status).toBe("VALIDATED");
    expect(JSON.parse(await readFile(join(store, "jobs", `${orphan.id}.json`), "utf8"))).toMatchObject({ validator_pid: process.pid, validation: { ok: true } });
  });
});

describe("ftprep serve", () => {
  function serveCli(store: string, args: string[] = []): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
    const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "serve", "--store", store, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once("line", (line) => {
        const match = /^ftprep server listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
        if (match) resolve({ child, url: match[1]!, stderr: () => stderr });
        else reject(new Error(`unexpected first line: ${line}`));
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    });
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    return exited;
  }

  it("sees the files and jobs another process writes to its store, without a restart, and logs each request", async () => {
    const root = tmp();
    const store = join(root, "store");
    const manifest = join(root, "m.json");
    const { child, url, stderr } = await serveCli(store, ["--log", "--token", "tok-s3cret-42"]);
    const auth = { authorization: "Bearer tok-s3cret-42" };
    expect((await json(fetch(`${url}/v1/files`, { headers: auth }))).data).toEqual([]);
    // The second process: this one, running ftprep's embedded server on the same store (no key, no base URL).
    const saved = { key: process.env.MISTRAL_API_KEY, base: process.env.MISTRAL_BASE_URL };
    delete process.env.MISTRAL_API_KEY;
    delete process.env.MISTRAL_BASE_URL;
    try {
      const run = await runCli("run", join(repo, "fixtures/datasets/mistral-chat"), "--store", store, "--manifest", manifest, "--out", join(root, "out"), "--quiet");
      expect(run.code).toBe(0);
      const uploaded = (await readManifest(manifest))!.files.map((f) => f.remote.id).sort();
      expect(uploaded).toHaveLength(2);
      const listed = await json(fetch(`${url}/v1/files`, { headers: auth }));
      expect(listed.data.map((f: { id: string }) => f.id).sort()).toEqual(uploaded);
      expect(listed.total).toBe(2);

      const created = await runCli("jobs", "create", "--manifest", manifest, "--store", store, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=5", "--json");
      expect(created.code).toBe(0);
      const id = (JSON.parse(created.stdout) as { id: string }).id;
      expect((await json(fetch(`${url}/v1/fine_tuning/jobs`, { headers: auth }))).data.map((j: { id: string }) => j.id)).toEqual([id]);
      // A change made through the served store is seen by the other process too.
      const cancelled = await json(fetch(`${url}/v1/fine_tuning/jobs/${id}/cancel`, { method: "POST", headers: auth }));
      expect(cancelled.status).toBe("CANCELLED");
      const status = await runCli("jobs", "status", id, "--manifest", manifest, "--store", store, "--json");
      expect(JSON.parse(status.stdout).status).toBe("CANCELLED");

      // A signed URL's signature is a secret too: the log shows the request, not the signature.
      const signed = (await json(fetch(`${url}/v1/files/${uploaded[0]}/url`, { headers: auth }))).url as string;
      const content = await fetch(signed);
      expect(content.status).toBe(200);
      await content.text();
      // The line is written once the server has ended the answer, which may come just after the client has it all.
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (!stderr().includes("signature=REDACTED 200")) return;
          child.stderr!.off("data", check);
          resolve();
        };
        child.stderr!.on("data", check);
        check();
      });
      expect(await stop(child)).toBe(0);
      const log = stderr().split("\n").filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
      expect(log.some((l) => / GET \/v1\/files 200 in=- out=\d+ \d+ms$/.test(l)), log.join("\n")).toBe(true);
      expect(log.some((l) => new RegExp(` POST /v1/fine_tuning/jobs/${id}/cancel 200 in=(\\d+|-) out=\\d+ \\d+ms$`).test(l))).toBe(true);
      expect(log.some((l) => new RegExp(` GET /v1/files/${uploaded[0]}/content\\?expires=\\d+&signature=REDACTED 200 in=- out=\\d+ \\d+ms$`).test(l)), log.join("\n")).toBe(true);
      expect(log).toHaveLength(6);
      expect(stderr()).not.toContain("tok-s3cret-42");
      expect(stderr()).not.toContain(new URL(signed).searchParams.get("signature"));
    } finally {
      if (saved.key !== undefined) process.env.MISTRAL_API_KEY = saved.key;
      if (saved.base !== undefined) process.env.MISTRAL_BASE_URL = saved.base;
    }
  });

  it("says in one line, exit 3, that the port is in use", async () => {
    const taken = await serve({ store: tmp() });
    const { code, stdout, stderr } = await runCli("serve", "--port", String(taken.port), "--store", join(tmp(), "other"));
    expect(code).toBe(3);
    expect(stdout).toBe("");
    expect(stderr).toBe(`ftprep: cannot listen on 127.0.0.1:${taken.port}: the port is already in use; choose another (--port N) or any free one (--port 0)\n`);
  });

  it("appends the request log to a file with --log FILE", async () => {
    const logPath = join(tmp(), "requests.log");
    const { child, url } = await serveCli(join(tmp(), "store"), ["--log", logPath]);
    await upload(url, chatLines(3));
    expect(await stop(child)).toBe(0);
    const lines = (await readFile(logPath, "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z POST \/v1\/files 200 in=\d+ out=\d+ \d+ms$/);
  });

  it("prints the URL as its first stdout line and stops cleanly on SIGTERM", async () => {
    const { child, url } = await serveCli(tmp());
    expect((await fetch(`${url}/v1/files`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("leaves no half file listed when killed mid-upload", async () => {
    const store = tmp();
    const { child, url } = await serveCli(store);
    const chunk = new TextEncoder().encode(chatLines(2000));
    let sent = 0;
    const killed = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // A body that sends one chunk, then waits until the server has written it to its store, then the kill.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) {
          sent++;
          controller.enqueue(new TextEncoder().encode('--b\r\ncontent-disposition: form-data; name="file"; filename="big.jsonl"\r\ncontent-type: application/octet-stream\r\n\r\n'));
          controller.enqueue(chunk);
          return;
        }
        for (;;) {
          const names = await readdir(join(store, "tmp")).catch(() => []);
          const sizes = await Promise.all(names.map((n) => stat(join(store, "tmp", n)).then((s) => s.size, () => 0)));
          if (sizes.some((s) => s > 0)) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        child.kill("SIGKILL");
        await killed;
        controller.error(new Error("server killed"));
      },
    });
    await expect(
      fetch(`${url}/v1/files`, { method: "POST", body, headers: { "content-type": "multipart/form-data; boundary=b" }, duplex: "half" } as RequestInit),
    ).rejects.toThrow();
    const server = await serve({ store });
    expect((await json(fetch(`${server.url}/v1/files`))).data).toEqual([]);
    expect(await readdir(join(store, "tmp"))).toEqual([]);
    expect((await readdir(join(store, "files"))).length).toBe(0);
  });
});
