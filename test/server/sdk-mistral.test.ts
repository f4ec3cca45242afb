import { randomUUID } from "node:crypto";
import { openAsBlob } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Mistral } from "@mistralai/mistralai";
import { MistralError, ResponseValidationError } from "@mistralai/mistralai/models/errors";
import { Mistral as Mistral240 } from "mistralai-2-4-0";
import { MistralError as MistralError240, ResponseValidationError as ResponseValidationError240 } from "mistralai-2-4-0/models/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/server.js";
import { useTempDir } from "../helpers/temp.js";

// Conformance of the local server with the official Mistral SDKs, used unchanged: @mistralai/mistralai 2.7.0 for
// the Files API, and 2.4.0 (the last release with `fineTuning.jobs`) for the job routes. A response the SDK cannot
// validate makes the call throw, so a plain `await` of each call that must succeed is part of the check.

const repo = join(import.meta.dirname, "..", "..");
const fixture = (p: string) => join(repo, "fixtures", p);
const TRAIN = fixture("datasets/mistral-chat/train.jsonl");
const VALIDATION = fixture("datasets/mistral-chat/validation.jsonl");
const INVALID = fixture("invalid/mistral-chat-rules.jsonl");
const TOKEN = "test-key";
const VALIDATION_MS = 1000;
const TRAINING_MS = 5000;
/** States a job never leaves: polling stops there. */
const TERMINAL = new Set(["SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"]);

const store = useTempDir("sdk-mistral", "all");
// A whole second, so that the jobs' second timestamps are exact. The clock only moves when a test moves it.
let clock = Date.parse("2026-09-01T12:00:00Z");
let server: Awaited<ReturnType<typeof startServer>>;
let client: Mistral;
let ft: Mistral240;

beforeAll(async () => {
  server = await startServer({
    port: 0,
    store: store(),
    token: TOKEN,
    now: () => clock,
    jobs: { validationMs: VALIDATION_MS, trainingMs: TRAINING_MS },
    faults: {},
  });
  client = new Mistral({ serverURL: server.url, apiKey: TOKEN });
  ft = new Mistral240({ serverURL: server.url, apiKey: TOKEN });
});

afterAll(async () => {
  await server?.close();
});

/** The error a call that must fail throws (the call failing is the assertion). */
async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** The HTTP status of a failed Files API call: an SDKError from the server's answer, not a response-validation error. */
async function filesStatus(call: Promise<unknown>): Promise<number> {
  const error = await failure(call);
  expect(error).toBeInstanceOf(MistralError);
  expect(error).not.toBeInstanceOf(ResponseValidationError);
  return (error as MistralError).statusCode;
}

/** The same, for a job call made with the 2.4.0 SDK. */
async function jobsStatus(call: Promise<unknown>): Promise<number> {
  const error = await failure(call);
  expect(error).toBeInstanceOf(MistralError240);
  expect(error).not.toBeInstanceOf(ResponseValidationError240);
  return (error as MistralError240).statusCode;
}

/**
 * The job, checked to be a completion job. The 2.4.0 SDK never throws on a job body it cannot parse: it returns
 * `{ jobType: "UNKNOWN", raw, isUnknown: true }` instead, so this is where a malformed job body shows up.
 */
function completion<J extends object>(job: J): Extract<J, { jobType: "completion" }> {
  if (!("jobType" in job) || job.jobType !== "completion") {
    throw new Error(`the SDK could not parse the job as a completion job: ${JSON.stringify(job)}`);
  }
  return job as Extract<J, { jobType: "completion" }>;
}

/** Moves the clock and lets the server finish its background work. */
async function advance(ms: number): Promise<void> {
  clock += ms;
  await server.settled();
}

/** Reads the job until it has `status` (or a terminal one), moving the clock a step between reads. */
async function pollJob(jobId: string, status: string, stepMs = 500, maxSteps = 40) {
  const seen: string[] = [];
  for (let step = 0; ; step++) {
    await server.settled();
    const job = completion(await ft.fineTuning.jobs.get({ jobId }));
    if (seen.at(-1) !== job.status) seen.push(job.status);
    if (job.status === status || TERMINAL.has(job.status) || step >= maxSteps) {
      expect(job.status, `statuses seen: ${seen.join(" → ")}`).toBe(status);
      return { job, seen };
    }
    clock += stepMs;
  }
}

const uploadFixture = async (path: string, fileName: string) =>
  client.files.upload({ file: { fileName, content: await openAsBlob(path) }, purpose: "fine-tune" });

async function listAll(request: Parameters<Mistral["files"]["list"]>[0] = {}): Promise<string[]> {
  const list = await client.files.list(request);
  return list.data.map((f) => f.id);
}

const ids = { train: "", validation: "", copy: "", bad: "" };

describe("Mistral Files API with @mistralai/mistralai 2.7.0", () => {
  it("uploads a JSONL file and answers with the file object the SDK validates", async () => {
    const file = await uploadFixture(TRAIN, "train.jsonl");
    const bytes = (await readFile(TRAIN)).length;
    expect(file).toMatchObject({
      object: "file",
      sizeBytes: bytes,
      filename: "train.jsonl",
      purpose: "fine-tune",
      sampleType: "instruct",
      source: "upload",
    });
    expect(file.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Number.isInteger(file.createdAt)).toBe(true);
    if (file.numLines != null) expect(file.numLines).toBe(20);
    ids.train = file.id;

    const validation = await uploadFixture(VALIDATION, "validation.jsonl");
    expect(validation).toMatchObject({ filename: "validation.jsonl", sizeBytes: (await readFile(VALIDATION)).length, purpose: "fine-tune" });
    expect(validation.id).not.toBe(ids.train);
    ids.validation = validation.id;
  });

  it("returns the existing file when the same content is uploaded under the same name, a new one under another name", async () => {
    const before = await client.files.list();
    const again = await uploadFixture(TRAIN, "train.jsonl");
    expect(again.id).toBe(ids.train);
    expect(again).toMatchObject({ filename: "train.jsonl", sizeBytes: (await readFile(TRAIN)).length });
    expect((await client.files.list()).total).toBe(before.total);

    const copy = await uploadFixture(TRAIN, "copy.jsonl");
    expect(copy.id).not.toBe(ids.train);
    expect(copy.filename).toBe("copy.jsonl");
    ids.copy = copy.id;
  });

  it("lists the files, with the total", async () => {
    const list = await client.files.list();
    expect(list.object).toBe("list");
    const listed = list.data.map((f) => f.id);
    expect(listed).toEqual(expect.arrayContaining([ids.train, ids.validation, ids.copy]));
    expect(list.total).toBe(list.data.length);
    const train = list.data.find((f) => f.id === ids.train);
    expect(train).toMatchObject({ object: "file", filename: "train.jsonl", purpose: "fine-tune", sampleType: "instruct", source: "upload" });
  });

  it("filters the list by purpose, sample type (a repeated query key) and search", async () => {
    expect(await listAll({ purpose: "fine-tune" })).toEqual(expect.arrayContaining([ids.train, ids.validation, ids.copy]));
    expect(await listAll({ purpose: "batch" })).toEqual([]);

    expect(await listAll({ sampleType: ["instruct"] })).toEqual(expect.arrayContaining([ids.train, ids.validation]));
    expect(await listAll({ sampleType: ["pretrain"] })).not.toContain(ids.train);
    // sent as sample_type=pretrain&sample_type=instruct: every value counts, not only the first
    expect(await listAll({ sampleType: ["pretrain", "instruct"] })).toEqual(expect.arrayContaining([ids.train, ids.validation]));

    const found = await listAll({ search: "validation" });
    expect(found).toContain(ids.validation);
    expect(found).not.toContain(ids.train);
    expect(await listAll({ search: "no-file-has-this-name" })).toEqual([]);
  });

  it("pages the list with page (0-based) and pageSize", async () => {
    const all = await client.files.list();
    const n = all.data.length;
    expect(n).toBeGreaterThanOrEqual(3);
    const paged: string[] = [];
    for (let page = 0; page < n; page++) {
      const one = await client.files.list({ page, pageSize: 1 });
      expect(one.data).toHaveLength(1);
      expect(one.total).toBe(n);
      paged.push(one.data[0]!.id);
    }
    expect(new Set(paged).size).toBe(n);
    expect(paged.slice().sort()).toEqual(all.data.map((f) => f.id).sort());
    expect((await client.files.list({ page: n, pageSize: 1 })).data).toEqual([]);
    expect((await client.files.list({ page: 0, pageSize: 2 })).data).toHaveLength(2);
  });

  it("retrieves a file, with deleted false", async () => {
    const file = await client.files.retrieve({ fileId: ids.train });
    expect(file).toMatchObject({
      id: ids.train,
      object: "file",
      sizeBytes: (await readFile(TRAIN)).length,
      filename: "train.jsonl",
      purpose: "fine-tune",
      sampleType: "instruct",
      source: "upload",
      deleted: false,
    });
  });

  it("answers 404 for a file that does not exist", async () => {
    expect(await filesStatus(client.files.retrieve({ fileId: randomUUID() }))).toBe(404);
  });

  it("downloads a file's bytes as a stream (application/octet-stream)", async () => {
    const stream = await client.files.download({ fileId: ids.train });
    const bytes = Buffer.from(await new Response(stream).arrayBuffer());
    expect(bytes.equals(await readFile(TRAIN))).toBe(true);

    const validation = Buffer.from(await new Response(await client.files.download({ fileId: ids.validation })).arrayBuffer());
    expect(validation.equals(await readFile(VALIDATION))).toBe(true);
  });

  it("gives a signed URL for a file, which serves the bytes without the API key", async () => {
    const signed = await client.files.getSignedUrl({ fileId: ids.train });
    const url = new URL(signed.url); // absolute
    expect(url.protocol).toMatch(/^https?:$/);
    // A local server's signed URL points at itself: fetching it needs no Authorization header.
    if (signed.url.startsWith(server.url)) {
      const res = await fetch(signed.url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(await readFile(TRAIN))).toBe(true);
    }
    const hourly = await client.files.getSignedUrl({ fileId: ids.train, expiry: 1 });
    expect(typeof hourly.url).toBe("string");
  });

  it("deletes a file: it is then gone from retrieve, download and the list", async () => {
    const deleted = await client.files.delete({ fileId: ids.copy });
    expect(deleted).toEqual({ id: ids.copy, object: "file", deleted: true });
    expect(await filesStatus(client.files.retrieve({ fileId: ids.copy }))).toBe(404);
    expect(await filesStatus(client.files.download({ fileId: ids.copy }))).toBe(404);
    expect(await filesStatus(client.files.delete({ fileId: ids.copy }))).toBe(404);
    expect(await listAll()).not.toContain(ids.copy);
    // the file with the same content under another name is untouched
    expect((await client.files.retrieve({ fileId: ids.train })).deleted).toBe(false);
  });

  it("answers 401 to a wrong API key", async () => {
    const stranger = new Mistral({ serverURL: server.url, apiKey: "wrong-key" });
    expect(await filesStatus(stranger.files.list())).toBe(401);
  });
});

describe("Mistral fine-tuning jobs with mistralai 2.4.0", () => {
  const jobIds = { trained: "", cancelled: "", failed: "", duplicate: "" };
  const hyperparameters = { trainingSteps: 10, learningRate: 0.0001 };

  it("creates a job with autoStart false, which validates, waits for start, runs and succeeds", async () => {
    const createdAt = clock;
    const created = completion(
      await ft.fineTuning.jobs.create({
        model: "open-mistral-7b",
        trainingFiles: [{ fileId: ids.train, weight: 1 }],
        validationFiles: [ids.validation],
        hyperparameters,
        suffix: "sdk-test",
        autoStart: false,
      }),
    );
    jobIds.trained = created.id;
    expect(["QUEUED", "VALIDATING"]).toContain(created.status);
    expect(created).toMatchObject({
      jobType: "completion",
      model: "open-mistral-7b",
      autoStart: false,
      trainingFiles: [ids.train],
      validationFiles: [ids.validation],
      suffix: "sdk-test",
      hyperparameters: { trainingSteps: 10, learningRate: 0.0001 },
    });
    expect(created.fineTunedModel ?? null).toBeNull();
    expect(created.createdAt).toBe(Math.floor(createdAt / 1000));
    expect(Number.isInteger(created.modifiedAt)).toBe(true);

    // Not validated before validationMs has passed on the server's clock, however fast the files were checked.
    await server.settled();
    expect(["QUEUED", "VALIDATING"]).toContain(completion(await ft.fineTuning.jobs.get({ jobId: created.id })).status);

    const { job: validated } = await pollJob(created.id, "VALIDATED");
    expect(clock - createdAt).toBeGreaterThanOrEqual(VALIDATION_MS);
    // autoStart false: a validated job waits however long for POST …/start
    await advance(TRAINING_MS * 2);
    expect(completion(await ft.fineTuning.jobs.get({ jobId: created.id })).status).toBe("VALIDATED");
    expect(validated.events?.length ?? 0).toBeGreaterThan(0);

    const started = completion(await ft.fineTuning.jobs.start({ jobId: created.id }));
    expect(["STARTED", "RUNNING"]).toContain(started.status);
    const { job: running } = await pollJob(created.id, "RUNNING");
    expect(running.fineTunedModel ?? null).toBeNull();

    const { job: done } = await pollJob(created.id, "SUCCESS");
    expect(done.fineTunedModel).toMatch(/^ft:open-mistral-7b:/);
    expect(done.fineTunedModel).toContain("sdk-test");
    expect(done.events?.length ?? 0).toBeGreaterThan(0);
    for (const event of done.events ?? []) {
      expect(typeof event.name).toBe("string");
      expect(Number.isInteger(event.createdAt)).toBe(true);
    }
    for (const checkpoint of done.checkpoints ?? []) {
      expect(Number.isInteger(checkpoint.stepNumber)).toBe(true);
    }
    // a finished job stays finished
    await advance(TRAINING_MS * 2);
    expect(completion(await ft.fineTuning.jobs.get({ jobId: created.id })).status).toBe("SUCCESS");
  });

  it("does not start a job that is not VALIDATED", async () => {
    const status = await jobsStatus(ft.fineTuning.jobs.start({ jobId: jobIds.trained }));
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });

  it("fails validation of a job whose training file has invalid records, with the reasons in its events", async () => {
    const bad = await uploadFixture(INVALID, "bad.jsonl");
    ids.bad = bad.id;
    const created = completion(
      await ft.fineTuning.jobs.create({
        model: "open-mistral-7b",
        trainingFiles: [{ fileId: bad.id, weight: 1 }],
        hyperparameters,
        autoStart: true,
      }),
    );
    jobIds.failed = created.id;
    const { job } = await pollJob(created.id, "FAILED_VALIDATION");
    expect(job.fineTunedModel ?? null).toBeNull();
    const expected = JSON.parse(await readFile(fixture("invalid/mistral-chat-rules.expected.json"), "utf8")) as {
      issues: { code: string }[];
    };
    const codes = new Set(expected.issues.map((i) => i.code).filter((c) => c.startsWith("E_")));
    const events = JSON.stringify(job.events ?? []);
    expect([...codes].filter((code) => events.includes(code)), `events: ${events}`).not.toEqual([]);
    // autoStart does not start a job that failed validation
    await advance(TRAINING_MS * 2);
    expect(completion(await ft.fineTuning.jobs.get({ jobId: created.id })).status).toBe("FAILED_VALIDATION");
  });

  it("cancels a running job", async () => {
    const created = completion(
      await ft.fineTuning.jobs.create({
        model: "open-mistral-7b",
        trainingFiles: [{ fileId: ids.train, weight: 1 }],
        hyperparameters,
        suffix: "to-cancel",
        autoStart: true,
      }),
    );
    jobIds.cancelled = created.id;
    expect(created.autoStart).toBe(true);
    await pollJob(created.id, "RUNNING");

    const cancelling = completion(await ft.fineTuning.jobs.cancel({ jobId: created.id }));
    expect(["CANCELLATION_REQUESTED", "CANCELLED"]).toContain(cancelling.status);
    const { job } = await pollJob(created.id, "CANCELLED");
    // it does not succeed later
    await advance(TRAINING_MS * 2);
    const after = completion(await ft.fineTuning.jobs.get({ jobId: job.id }));
    expect(after.status).toBe("CANCELLED");
    expect(after.fineTunedModel ?? null).toBeNull();
  });

  it("answers 409 to a job identical to one that is still active, and accepts it once that one is cancelled", async () => {
    const request = {
      model: "open-mistral-7b",
      trainingFiles: [{ fileId: ids.train, weight: 1 }],
      validationFiles: [ids.validation],
      hyperparameters: { trainingSteps: 20, learningRate: 0.0002 },
      suffix: "dup",
      autoStart: false,
    };
    const first = completion(await ft.fineTuning.jobs.create(request));
    expect(await jobsStatus(ft.fineTuning.jobs.create(request))).toBe(409);
    await pollJob(first.id, "VALIDATED");
    expect(await jobsStatus(ft.fineTuning.jobs.create(request))).toBe(409);

    await ft.fineTuning.jobs.cancel({ jobId: first.id });
    await pollJob(first.id, "CANCELLED");
    const again = completion(await ft.fineTuning.jobs.create(request));
    expect(again.id).not.toBe(first.id);
    jobIds.duplicate = again.id;
  });

  it("answers 404 for a job that does not exist", async () => {
    expect(await jobsStatus(ft.fineTuning.jobs.get({ jobId: randomUUID() }))).toBe(404);
    expect(await jobsStatus(ft.fineTuning.jobs.cancel({ jobId: randomUUID() }))).toBe(404);
  });

  it("lists the jobs with their total, filtered by status and paged", async () => {
    const list = await ft.fineTuning.jobs.list();
    expect(list.object).toBe("list");
    const data = (list.data ?? []).map((job) => completion(job));
    expect(data.map((job) => job.id)).toEqual(expect.arrayContaining(Object.values(jobIds)));
    expect(list.total).toBe(data.length);

    const succeeded = await ft.fineTuning.jobs.list({ status: "SUCCESS" });
    const succeededIds = (succeeded.data ?? []).map((job) => completion(job).id);
    expect(succeededIds).toContain(jobIds.trained);
    expect(succeededIds).not.toContain(jobIds.cancelled);
    for (const job of succeeded.data ?? []) expect(completion(job).status).toBe("SUCCESS");

    const page = await ft.fineTuning.jobs.list({ page: 0, pageSize: 1 });
    expect(page.data).toHaveLength(1);
    expect(page.total).toBe(list.total);
  });

  it("answers 410 Gone on the job routes when retireJobs is on, while the Files API keeps working", async () => {
    server.faults.retireJobs = true;
    try {
      const create = ft.fineTuning.jobs.create({
        model: "open-mistral-7b",
        trainingFiles: [{ fileId: ids.train, weight: 1 }],
        hyperparameters: { trainingSteps: 30 },
      });
      expect(await jobsStatus(create)).toBe(410);
      expect(await jobsStatus(ft.fineTuning.jobs.list())).toBe(410);
      expect(await jobsStatus(ft.fineTuning.jobs.get({ jobId: jobIds.trained }))).toBe(410);
      expect(await listAll()).toContain(ids.train);
    } finally {
      server.faults.retireJobs = false;
    }
    expect(completion(await ft.fineTuning.jobs.get({ jobId: jobIds.trained })).status).toBe("SUCCESS");
  });
});
