import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import type TogetherClient from "together-ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TogetherProvider } from "../../src/providers/together.js";
import { startServer } from "../../src/server/server.js";
import { useTempDir } from "../helpers/temp.js";

// Conformance of the local server with the official `together-ai` SDK (0.52), used unchanged: its own upload helper
// (POST /files → 302 to a pre-signed URL → PUT of the bytes → GET /files/{id}), then list, retrieve, content and
// delete. The SDK does not validate response bodies, so the tests check the fields its types mark as required.
//
// Two things about the SDK on Node 20 are worked around here, changing no byte, header or URL it sends:
// - its ES-module build's upload helper cannot load `fs`, so the CommonJS build is loaded (createRequire);
// - its helper PUTs a file stream through `fetch` without `duplex: "half"`, which Node refuses before sending
//   (open upstream PR #249), so `fetch` is wrapped to add that one option to a request with a stream body.
// The helper reads TOGETHER_API_BASE_URL once, when it loads, so the SDK is loaded after the server has a port.

const TOKEN = "test-key";
// Conversations with the roles Together's checker takes (system, user, assistant; it refuses `developer`).
const TRAIN_TEXT = Array.from({ length: 20 }, (_, i) =>
  JSON.stringify({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: `What is ${i} + ${i}?` }, { role: "assistant", content: `${2 * i}` }] }),
).join("\n") + "\n";
const FILE_KEYS = ["id", "bytes", "created_at", "filename", "FileType", "object", "Processed", "purpose"];

const store = useTempDir("sdk-together", "all");
const work = useTempDir("sdk-together-work", "all");
let server: Awaited<ReturnType<typeof startServer>>;
let Together: typeof TogetherClient;
let client: TogetherClient;
const realFetch = globalThis.fetch;
/** Every request the SDK sent through fetch: method, URL, and whether it carried the API key. */
const sent: { method: string; url: string; authorized: boolean; headers: Headers }[] = [];

beforeAll(async () => {
  server = await startServer({ port: 0, store: store(), token: TOKEN, faults: {} });
  process.env.TOGETHER_API_BASE_URL = `${server.url}/v1`;
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const url = input instanceof Request ? input.url : String(input);
    sent.push({ method: init?.method ?? "GET", url, authorized: headers.has("authorization"), headers });
    const body = init?.body as unknown;
    const streamed = body !== null && typeof body === "object" && typeof (body as { pipe?: unknown }).pipe === "function";
    return realFetch(input, streamed ? ({ ...init, duplex: "half" } as RequestInit) : init);
  }) as typeof fetch;
  Together = createRequire(import.meta.url)("together-ai") as typeof TogetherClient;
  client = new Together({ apiKey: TOKEN, baseURL: `${server.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  delete process.env.TOGETHER_API_BASE_URL;
  await server?.close();
});

const ids = { train: "", job: "" };

describe("Together Files API with together-ai 0.52", () => {
  it("uploads with the SDK's own helper: a 302 to a pre-signed URL on this server, then a PUT without the key", async () => {
    const path = join(work(), "train.jsonl");
    await writeFile(path, TRAIN_TEXT);
    const before = sent.length;
    const file = await client.files.upload(path, "fine-tune");
    expect(Object.keys(file)).toEqual(expect.arrayContaining(FILE_KEYS));
    expect(file).toMatchObject({ object: "file", bytes: Buffer.byteLength(TRAIN_TEXT), filename: path, purpose: "fine-tune", FileType: "jsonl", Processed: true });
    expect(typeof file.created_at).toBe("number");
    ids.train = file.id;

    const requests = sent.slice(before);
    expect(requests.map((r) => r.method)).toEqual(["POST", "PUT", "GET"]);
    const put = requests[1]!;
    // The PUT goes to this server's pre-signed URL, carries no key, and declares its length.
    expect(put.url.startsWith(`${server.url}/v1/files/${encodeURIComponent(file.id)}/upload?`)).toBe(true);
    expect(put.authorized).toBe(false);
    expect(put.headers.get("content-length")).toBe(String(file.bytes));
    expect(new URL(put.url).searchParams.get("signature")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("lists the uploaded file with Together's fields", async () => {
    const list = await client.files.list();
    const listed = list.data.find((f) => f.id === ids.train);
    expect(listed).toBeDefined();
    expect(Object.keys(listed!)).toEqual(expect.arrayContaining(FILE_KEYS));
  });

  it("retrieves the file and downloads the exact bytes it was sent", async () => {
    const file = await client.files.retrieve(ids.train);
    expect(file).toMatchObject({ id: ids.train, object: "file", bytes: Buffer.byteLength(TRAIN_TEXT), purpose: "fine-tune" });
    const content = await client.files.content(ids.train);
    expect(Buffer.from(await content.arrayBuffer()).equals(Buffer.from(TRAIN_TEXT))).toBe(true);
  });

  it("refuses a replayed PUT to the same URL, an altered URL, and an upload POST without the key", async () => {
    const put = sent.find((r) => r.method === "PUT")!;
    const replay = await realFetch(put.url, { method: "PUT", body: "{}\n", headers: { "content-type": "application/octet-stream" } });
    expect(replay.status).toBe(409);
    const altered = new URL(put.url);
    altered.searchParams.set("file_name", "other.jsonl");
    const forged = await realFetch(altered, { method: "PUT", body: "{}\n" });
    expect(forged.status).toBe(403);
    const anonymous = await realFetch(`${server.url}/v1/files?file_name=x.jsonl&file_type=jsonl&purpose=fine-tune`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "file_name=x.jsonl&file_type=jsonl&purpose=fine-tune",
      redirect: "manual",
    });
    expect(anonymous.status).toBe(401);
  });

  it("deletes the file; retrieving it then is the SDK's NotFoundError", async () => {
    const deleted = await client.files.delete(ids.train);
    expect(deleted).toMatchObject({ id: ids.train, deleted: true });
    await expect(client.files.retrieve(ids.train)).rejects.toBeInstanceOf(Together.NotFoundError);
    expect((await client.files.list()).data.map((f) => f.id)).not.toContain(ids.train);
  });
});

describe("Together fine-tuning with together-ai 0.52", () => {
  // A server of its own, on a clock the test moves: a job's steps are seen one by one, with no sleeping.
  let clock = Date.parse("2026-12-01T10:00:00Z");
  const jobsStore = useTempDir("sdk-together-jobs", "all");
  let jobsServer: Awaited<ReturnType<typeof startServer>>;
  let ft: TogetherClient;
  const files = { train: "", validation: "", bad: "" };

  beforeAll(async () => {
    jobsServer = await startServer({ port: 0, store: jobsStore(), token: TOKEN, now: () => clock, jobs: { validationMs: 1000, queueMs: 500, trainingMs: 5000 } });
    ft = new Together({ apiKey: TOKEN, baseURL: `${jobsServer.url}/v1`, maxRetries: 0 });
    const provider = new TogetherProvider({ baseUrl: `${jobsServer.url}/v1`, apiKey: TOKEN });
    const put = async (name: string, text: string): Promise<string> => {
      const path = join(work(), name);
      await writeFile(path, text);
      return (await provider.upload({ path, filename: name, bytes: Buffer.byteLength(text) })).id;
    };
    files.train = await put("train.jsonl", TRAIN_TEXT);
    files.validation = await put("validation.jsonl", TRAIN_TEXT.split("\n").slice(0, 4).join("\n") + "\n");
    // OpenAI-style records with `tools`: Together's checker refuses the key.
    files.bad = await put("bad.jsonl", `${JSON.stringify({ messages: [{ role: "user", content: "q" }, { role: "assistant", content: "a" }], tools: [] })}\n`);
    await provider.close();
  });

  afterAll(async () => {
    await jobsServer?.close();
  });

  it("creates a job (LoRA, SFT) and answers Together's truncated job object", async () => {
    const job = await ft.fineTuning.create({
      model: "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
      training_file: files.train,
      validation_file: files.validation,
      n_epochs: 2,
      n_evals: 1,
      learning_rate: 0.00001,
      batch_size: "max",
      training_type: { type: "Lora", lora_r: 8, lora_alpha: 16, lora_dropout: 0.05 },
      training_method: { method: "sft", train_on_inputs: "auto" },
      suffix: "sdk",
      wandb_api_key: "wandb-secret",
      wandb_project_name: "proj",
    });
    expect(job).toMatchObject({ status: "pending", user_id: expect.any(String), model: "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", training_file: files.train, validation_file: files.validation, n_epochs: 2, suffix: "sdk" });
    expect(job.id).toMatch(/^ft-[0-9a-f-]{36}$/);
    expect(typeof job.created_at).toBe("string");
    expect(typeof job.updated_at).toBe("string");
    // The W&B key is a credential: neither stored nor answered.
    expect(JSON.stringify(job)).not.toContain("wandb-secret");
    ids.job = job.id;
  });

  it("moves pending → queued → running → completed on the server's clock; retrieve lists the events", async () => {
    await jobsServer.settled();
    const seen: string[] = [];
    for (const step of [0, 1000, 500, 5000]) {
      clock += step;
      seen.push((await ft.fineTuning.retrieve(ids.job)).status);
    }
    expect(seen).toEqual(["pending", "queued", "running", "completed"]);
    const job = await ft.fineTuning.retrieve(ids.job);
    expect(job.model_output_name).toMatch(/^ftprep-local\/Meta-Llama-3\.1-8B-Instruct-Reference-sdk-/);
    expect(job.token_count).toBeGreaterThan(0);
    expect(job.events?.map((e) => e.type)).toEqual(["job_pending", "training_data_downloading", "training_data_download_complete", "training_start", "job_complete"]);
    const events = await ft.fineTuning.listEvents(ids.job);
    expect(events.data.every((e) => e.object === "fine-tune-event" && typeof e.created_at === "string")).toBe(true);
    expect(events.data).toHaveLength(5);
  });

  it("lists the jobs, newest first", async () => {
    const list = await ft.fineTuning.list();
    expect(list.data.map((j) => j.id)).toContain(ids.job);
  });

  it("ends in error, with the checker's reasons as an error event, when the data fails Together's rules", async () => {
    const job = await ft.fineTuning.create({ model: "m", training_file: files.bad });
    await jobsServer.settled();
    clock += 1000;
    const done = await ft.fineTuning.retrieve(job.id);
    expect(done.status).toBe("error");
    const error = done.events!.find((e) => e.type === "job_error")!;
    expect(error.level).toBe("error");
    expect(error.message).toMatch(/bad\.jsonl: 1 of 1 records invalid \(E_EXTRA_KEY ×1\)/);
  });

  it("cancels a job before it ends; cancelling an ended one is a ConflictError", async () => {
    const job = await ft.fineTuning.create({ model: "m", training_file: files.train, training_type: { type: "Full" } });
    const cancelled = await ft.fineTuning.cancel(job.id);
    expect(cancelled.status).toBe("cancelled");
    await expect(ft.fineTuning.cancel(job.id)).rejects.toBeInstanceOf(Together.ConflictError);
    await expect(ft.fineTuning.retrieve("ft-00000000-0000-0000-0000-000000000000")).rejects.toBeInstanceOf(Together.NotFoundError);
  });

  it("refuses a create the API would refuse: unknown fields, a missing file, a LoRA without its rank", async () => {
    await expect(ft.fineTuning.create({ model: "m", training_file: files.train, n_epoch: 2 } as never)).rejects.toBeInstanceOf(Together.BadRequestError);
    await expect(ft.fineTuning.create({ model: "m", training_file: "file-nope" })).rejects.toBeInstanceOf(Together.BadRequestError);
    await expect(ft.fineTuning.create({ model: "m", training_file: files.train, training_type: { type: "Lora" } as never })).rejects.toBeInstanceOf(Together.BadRequestError);
  });

  it("estimates the price of a job from its files: tokens, or why no estimate is available", async () => {
    const estimate = await ft.fineTuning.estimatePrice({ training_file: files.train, model: "m", n_epochs: 3 });
    expect(estimate).toMatchObject({ estimation_available: true, estimated_total_price: 0, allowed_to_proceed: true });
    const once = await ft.fineTuning.estimatePrice({ training_file: files.train, model: "m", n_epochs: 1 });
    expect((estimate as { estimated_train_token_count: number }).estimated_train_token_count).toBe(3 * (once as { estimated_train_token_count: number }).estimated_train_token_count);
    expect(await ft.fineTuning.estimatePrice({ training_file: files.bad })).toEqual({ estimation_available: false, unavailable_reason: "train_file_invalid" });
  });
});
