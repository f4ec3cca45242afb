import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/server.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

// Conformance of the local server with the official `openai` SDK (6.x), used unchanged: Files, Uploads and
// fine-tuning jobs under the `/v1` base URL. The SDK does not validate response bodies, so the tests check the
// fields the API reference marks as required.

const repo = join(import.meta.dirname, "..", "..");
const fixture = (p: string) => join(repo, "fixtures", p);
const TRAIN = fixture("datasets/openai-tools/train.jsonl");
const VALIDATION = fixture("datasets/openai-tools/validation.jsonl");
const INVALID = fixture("invalid/openai-chat-rules.jsonl");
const TOKEN = "test-key";
const VALIDATION_MS = 1000;
const TRAINING_MS = 5000;
const MODEL = "gpt-4o-mini-2024-07-18";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

const FILE_KEYS = ["id", "object", "bytes", "created_at", "filename", "purpose", "status"];
const UPLOAD_KEYS = ["id", "object", "bytes", "created_at", "expires_at", "filename", "purpose", "status"];
const JOB_KEYS = [
  "id", "object", "created_at", "error", "fine_tuned_model", "finished_at", "hyperparameters", "model",
  "organization_id", "result_files", "seed", "status", "trained_tokens", "training_file", "validation_file",
];

const store = useTempDir("sdk-openai", "all");
// A whole second, so that second timestamps are exact. The clock only moves when a test moves it.
let clock = Date.parse("2026-09-01T12:00:00Z");
let server: Awaited<ReturnType<typeof startServer>>;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer({
    port: 0,
    store: store(),
    token: TOKEN,
    now: () => clock,
    jobs: { validationMs: VALIDATION_MS, trainingMs: TRAINING_MS },
    faults: {},
  });
  // No retries: a failure shows at once, and no retry waits real time.
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

/** The error a call that must fail throws, checked to be the SDK's error for an HTTP answer. */
async function apiError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const e = error as InstanceType<typeof OpenAI.APIError>;
    // the body is {"error":{"message","type","param","code"}}: the SDK keeps its `error` member
    expect(e.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
    expect(e.error).toHaveProperty("param");
    expect(e.error).toHaveProperty("code");
    return e;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

const md5 = (data: Buffer) => createHash("md5").update(data).digest("hex");
const bytesOf = async (fileId: string) => Buffer.from(await (await client.files.content(fileId)).arrayBuffer());

async function listedIds(params: Parameters<OpenAI["files"]["list"]>[0] = {}): Promise<string[]> {
  const ids: string[] = [];
  for await (const file of client.files.list(params)) ids.push(file.id);
  return ids;
}

/** Reads the job until it has `status` (or a terminal one), moving the clock a step between reads. */
async function pollJob(id: string, status: string, stepMs = 500, maxSteps = 40) {
  const seen: string[] = [];
  for (let step = 0; ; step++) {
    await server.settled();
    const job = await client.fineTuning.jobs.retrieve(id);
    if (seen.at(-1) !== job.status) seen.push(job.status);
    if (job.status === status || TERMINAL.has(job.status) || step >= maxSteps) {
      expect(job.status, `statuses seen: ${seen.join(" → ")}`).toBe(status);
      return { job, seen };
    }
    clock += stepMs;
  }
}

const ids = { train: "", validation: "", deleted: "", bad: "" };

describe("OpenAI Files API with openai 6.x", () => {
  it("creates a file from fs.createReadStream (a streamed multipart body)", async () => {
    const file = await client.files.create({ file: createReadStream(TRAIN), purpose: "fine-tune" });
    expect(Object.keys(file)).toEqual(expect.arrayContaining(FILE_KEYS));
    expect(file).toMatchObject({ object: "file", bytes: (await readFile(TRAIN)).length, filename: "train.jsonl", purpose: "fine-tune" });
    expect(["uploaded", "processed"]).toContain(file.status);
    expect(typeof file.id).toBe("string");
    expect(Number.isInteger(file.created_at)).toBe(true);
    ids.train = file.id;
  });

  it("creates a file from toFile (a buffered FormData body)", async () => {
    const file = await client.files.create({ file: await toFile(await readFile(VALIDATION), "validation.jsonl"), purpose: "fine-tune" });
    expect(file).toMatchObject({ object: "file", bytes: (await readFile(VALIDATION)).length, filename: "validation.jsonl", purpose: "fine-tune" });
    expect(file.id).not.toBe(ids.train);
    ids.validation = file.id;
  });

  it("lists the files, by purpose, and pages them with limit and after", async () => {
    const page = await client.files.list();
    expect(page.data.map((f) => f.id)).toEqual(expect.arrayContaining([ids.train, ids.validation]));
    expect(page.has_more).toBe(false);
    for (const file of page.data) expect(Object.keys(file)).toEqual(expect.arrayContaining(FILE_KEYS));

    const all = await listedIds();
    expect(all).toEqual(expect.arrayContaining([ids.train, ids.validation]));
    expect(await listedIds({ purpose: "fine-tune" })).toEqual(expect.arrayContaining([ids.train, ids.validation]));
    expect(await listedIds({ purpose: "batch" })).toEqual([]);

    // one file per page: the SDK follows has_more with after=<last id>
    const first = await client.files.list({ limit: 1 });
    expect(first.data).toHaveLength(1);
    expect(first.has_more).toBe(true);
    const paged = await listedIds({ limit: 1 });
    expect(paged).toEqual(all);
  });

  it("retrieves a file", async () => {
    const file = await client.files.retrieve(ids.train);
    expect(Object.keys(file)).toEqual(expect.arrayContaining(FILE_KEYS));
    expect(file).toMatchObject({ id: ids.train, object: "file", bytes: (await readFile(TRAIN)).length, filename: "train.jsonl", purpose: "fine-tune" });
  });

  it("serves a file's content", async () => {
    expect((await bytesOf(ids.train)).equals(await readFile(TRAIN))).toBe(true);
    expect((await bytesOf(ids.validation)).equals(await readFile(VALIDATION))).toBe(true);
  });

  it("deletes a file: it is then 404", async () => {
    const doomed = await client.files.create({ file: await toFile(Buffer.from(chatLines(3)), "doomed.jsonl"), purpose: "fine-tune" });
    ids.deleted = doomed.id;
    const deleted = await client.files.delete(doomed.id);
    expect(deleted).toMatchObject({ id: doomed.id, object: "file", deleted: true });

    const missing = await apiError(client.files.retrieve(doomed.id));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.status).toBe(404);
    expect((await apiError(client.files.content(doomed.id))).status).toBe(404);
    expect(await listedIds()).not.toContain(doomed.id);
  });

  it("answers 401 to a wrong API key", async () => {
    const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong-key", maxRetries: 0 });
    const error = await apiError(stranger.files.retrieve(ids.train));
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.status).toBe(401);
  });
});

describe("OpenAI Uploads API", () => {
  // A few hundred KB of JSONL, cut into three parts at byte offsets that are not record boundaries.
  const whole = Buffer.from(chatLines(3000));
  const cuts = [0, 100_003, 200_011, whole.length];
  const slices = [0, 1, 2].map((i) => whole.subarray(cuts[i], cuts[i + 1]));

  async function uploadParts(filename: string) {
    const upload = await client.uploads.create({ filename, purpose: "fine-tune", bytes: whole.length, mime_type: "text/jsonl" });
    const parts = [];
    for (const slice of slices) parts.push(await client.uploads.parts.create(upload.id, { data: await toFile(slice, "part") }));
    return { upload, parts };
  }

  it("creates an upload, adds three parts and completes it into a file whose content is their concatenation", async () => {
    expect(whole.length).toBeGreaterThan(300_000);
    const { upload, parts } = await uploadParts("big.jsonl");
    expect(Object.keys(upload)).toEqual(expect.arrayContaining(UPLOAD_KEYS));
    expect(upload).toMatchObject({ object: "upload", bytes: whole.length, filename: "big.jsonl", purpose: "fine-tune", status: "pending" });
    expect(upload.expires_at - upload.created_at).toBe(3600);
    for (const part of parts) {
      expect(part).toMatchObject({ object: "upload.part", upload_id: upload.id });
      expect(typeof part.id).toBe("string");
      expect(Number.isInteger(part.created_at)).toBe(true);
    }
    expect(new Set(parts.map((p) => p.id)).size).toBe(3);

    const done = await client.uploads.complete(upload.id, { part_ids: parts.map((p) => p.id), md5: md5(whole) });
    expect(done).toMatchObject({ id: upload.id, object: "upload", status: "completed", bytes: whole.length, filename: "big.jsonl" });
    const file = done.file;
    expect(file).toBeTruthy();
    expect(Object.keys(file!)).toEqual(expect.arrayContaining(FILE_KEYS));
    expect(file).toMatchObject({ object: "file", bytes: whole.length, filename: "big.jsonl", purpose: "fine-tune" });
    expect((await bytesOf(file!.id)).equals(whole)).toBe(true);
    expect((await client.files.retrieve(file!.id)).bytes).toBe(whole.length);
  });

  it("joins the parts in the order of part_ids, not the order they were sent", async () => {
    const { parts } = await uploadParts("shuffled.jsonl");
    const [a, b, c] = parts.map((p) => p.id) as [string, string, string];
    const upload = parts[0]!.upload_id;
    const done = await client.uploads.complete(upload, { part_ids: [b, a, c] });
    expect(done.status).toBe("completed");
    const content = await bytesOf(done.file!.id);
    expect(content.equals(whole)).toBe(false);
    expect(content.equals(Buffer.concat([slices[1]!, slices[0]!, slices[2]!]))).toBe(true);
  });

  it("refuses to complete with a wrong md5 or with parts that do not add up to the declared bytes (400)", async () => {
    const { upload, parts } = await uploadParts("checked.jsonl");
    const partIds = parts.map((p) => p.id);
    const wrongMd5 = await apiError(client.uploads.complete(upload.id, { part_ids: partIds, md5: md5(Buffer.from("something else")) }));
    expect(wrongMd5).toBeInstanceOf(OpenAI.BadRequestError);
    expect(wrongMd5.status).toBe(400);
    const short = await apiError(client.uploads.complete(upload.id, { part_ids: partIds.slice(0, 2) }));
    expect(short.status).toBe(400);
    // still pending: the right request completes it
    const done = await client.uploads.complete(upload.id, { part_ids: partIds, md5: md5(whole) });
    expect(done.status).toBe("completed");
  });

  it("cancels an upload", async () => {
    const upload = await client.uploads.create({ filename: "cancelled.jsonl", purpose: "fine-tune", bytes: 10, mime_type: "text/jsonl" });
    const cancelled = await client.uploads.cancel(upload.id);
    expect(cancelled).toMatchObject({ id: upload.id, object: "upload", status: "cancelled" });
    const late = await apiError(client.uploads.parts.create(upload.id, { data: await toFile(Buffer.from("0123456789"), "part") }));
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(late.status).toBeLessThan(500);
  });
});

describe("OpenAI fine-tuning jobs", () => {
  const jobIds = { succeeded: "", cancelled: "", failed: "" };

  it("creates a job that validates its files, runs and succeeds", async () => {
    const createdAt = clock;
    const job = await client.fineTuning.jobs.create({ model: MODEL, training_file: ids.train, validation_file: ids.validation });
    jobIds.succeeded = job.id;
    expect(Object.keys(job)).toEqual(expect.arrayContaining(JOB_KEYS));
    expect(job).toMatchObject({
      object: "fine_tuning.job",
      model: MODEL,
      training_file: ids.train,
      validation_file: ids.validation,
      fine_tuned_model: null,
      finished_at: null,
      error: null,
    });
    expect(["validating_files", "queued"]).toContain(job.status);
    expect(job.created_at).toBe(Math.floor(createdAt / 1000));
    expect(Array.isArray(job.result_files)).toBe(true);

    const { job: done, seen } = await pollJob(job.id, "succeeded");
    expect(seen).toContain("running");
    expect(typeof done.fine_tuned_model).toBe("string");
    expect(done.fine_tuned_model).not.toBe("");
    expect(done.error).toBeNull();
    expect(Number.isInteger(done.finished_at)).toBe(true);
    expect(clock - createdAt).toBeGreaterThanOrEqual(VALIDATION_MS + TRAINING_MS);
  });

  it("cancels a job", async () => {
    const job = await client.fineTuning.jobs.create({ model: MODEL, training_file: ids.train, suffix: "to-cancel" });
    jobIds.cancelled = job.id;
    const cancelled = await client.fineTuning.jobs.cancel(job.id);
    expect(cancelled).toMatchObject({ id: job.id, object: "fine_tuning.job", status: "cancelled" });
    clock += VALIDATION_MS + TRAINING_MS;
    await server.settled();
    const later = await client.fineTuning.jobs.retrieve(job.id);
    expect(later.status).toBe("cancelled");
    expect(later.fine_tuned_model).toBeNull();
  });

  it("fails a job whose training file has invalid records, with an error message", async () => {
    const bad = await client.files.create({ file: await toFile(await readFile(INVALID), "bad.jsonl"), purpose: "fine-tune" });
    ids.bad = bad.id;
    const job = await client.fineTuning.jobs.create({ model: MODEL, training_file: bad.id });
    jobIds.failed = job.id;
    const { job: failed } = await pollJob(job.id, "failed");
    expect(failed.error).not.toBeNull();
    expect(typeof failed.error!.message).toBe("string");
    expect(failed.error!.message).not.toBe("");
    expect(failed.fine_tuned_model).toBeNull();
  });

  it("lists the jobs, in one page and one job per page", async () => {
    const page = await client.fineTuning.jobs.list();
    expect(page.has_more).toBe(false);
    expect(page.data.map((j) => j.id)).toEqual(expect.arrayContaining(Object.values(jobIds)));
    for (const job of page.data) expect(Object.keys(job)).toEqual(expect.arrayContaining(JOB_KEYS));

    const paged: string[] = [];
    for await (const job of client.fineTuning.jobs.list({ limit: 1 })) paged.push(job.id);
    expect(paged).toEqual(page.data.map((j) => j.id));
  });

  it("answers errors as OpenAI.APIError subclasses with the right status", async () => {
    const missing = await apiError(client.fineTuning.jobs.retrieve("ftjob-does-not-exist"));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.status).toBe(404);
    const noFile = await apiError(client.fineTuning.jobs.create({ model: MODEL, training_file: "file-does-not-exist" }));
    expect([400, 404]).toContain(noFile.status);
    const deletedFile = await apiError(client.fineTuning.jobs.create({ model: MODEL, training_file: ids.deleted }));
    expect([400, 404]).toContain(deletedFile.status);
  });
});
