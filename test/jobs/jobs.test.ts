import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Mistral as Mistral240 } from "mistralai-2-4-0";
import { describe, expect, it } from "vitest";
import { duration, formatDuration } from "../../src/cli/options.js";
import { ConfigError } from "../../src/errors.js";
import { jobRequest, parseHyperparameters } from "../../src/jobs/jobs.js";
import { checkManifest, type Manifest, newManifest, readManifest } from "../../src/manifest/manifest.js";
import { loadPipeline } from "../../src/pipeline/pipeline-file.js";
import { MistralProvider } from "../../src/providers/mistral.js";
import { startServer } from "../../src/server/server.js";
import { uploadFiles } from "../../src/upload/uploader.js";
import { runCli } from "../helpers/cli.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("jobs");
const serve = useServers();

const fastJobs = { validationMs: 20, trainingMs: 40 };

function manifestWith(provider: "mistral" | "openai", files: { split: "train" | "validation"; id: string; weight?: number }[], extra: Partial<Manifest> = {}): Manifest {
  const m = newManifest({ provider, base_url: "http://x", target: "http://x", embedded_store: null, options: { max_invalid_fraction: 0.05 } }, "0.0.0");
  m.files = files.map((f, i) => ({
    path: `f${i}.jsonl`,
    source: `f${i}.jsonl`,
    kind: "original",
    split: f.split,
    weight: f.weight ?? 1,
    sha256: String(i).padStart(64, "0"),
    bytes: 10,
    lines: 1,
    target: "http://x",
    remote: { id: f.id, filename: `f${i}.jsonl`, bytes: 10, num_lines: 1, sample_type: "instruct", created_at: 0 },
    uploaded_at: new Date(0).toISOString(),
  }));
  return { ...m, ...extra };
}

/** A pipeline file for the fixture dataset, against a running server. */
async function pipeline(dir: string, fields: Record<string, unknown>): Promise<string> {
  const path = join(dir, "pipeline.json");
  await writeFile(path, JSON.stringify({ sources: [{ path: join(repo, "fixtures/datasets/mistral-chat") }], manifest: join(dir, "m.json"), out_dir: join(dir, "out"), ...fields }));
  return path;
}

describe("job requests from a manifest", () => {
  it("Mistral: every training file with its weight, the validation files, checked hyperparameters", () => {
    const m = manifestWith("mistral", [
      { split: "train", id: "a", weight: 2 },
      { split: "train", id: "b" },
      { split: "validation", id: "v" },
    ]);
    expect(jobRequest(m, { model: "open-mistral-7b", hyperparameters: { training_steps: 10 }, suffix: "s" })).toEqual({
      model: "open-mistral-7b",
      training_files: [
        { file_id: "a", weight: 2 },
        { file_id: "b", weight: 1 },
      ],
      validation_files: ["v"],
      hyperparameters: { learning_rate: 0.0001, training_steps: 10 },
      suffix: "s",
      auto_start: false,
      invalid_sample_skip_percentage: 0,
    });
    expect(() => jobRequest(m, { model: "x", hyperparameters: { learning_rate: 2 } })).toThrow(/learning_rate=2 must be a number ≥ 1e-8 and ≤ 1/);
    expect(() => jobRequest(m, { model: "x", hyperparameters: { steps: 2 } })).toThrow(/unknown mistral hyperparameter "steps"/);
  });

  it("Mistral: lets the server skip the share of records left out client-side", () => {
    const m = manifestWith("mistral", [{ split: "train", id: "a" }]);
    m.sources = [{ path: "f0.jsonl", sha256: "0".repeat(64), bytes: 10, records: 100, valid: 97, invalid: 3, split: "train", format: "mistral-chat", skip_invalid: true }];
    expect(jobRequest(m, { model: "x" }).invalid_sample_skip_percentage).toBe(0.05);
  });

  it("OpenAI: one training file, at most one validation file, method by format", () => {
    const m = manifestWith("openai", [
      { split: "train", id: "t" },
      { split: "validation", id: "v" },
    ]);
    expect(jobRequest(m, { model: "gpt-4o-mini", hyperparameters: { n_epochs: 3 } })).toEqual({
      model: "gpt-4o-mini",
      training_file: "t",
      validation_file: "v",
      method: { type: "supervised", supervised: { hyperparameters: { n_epochs: 3 } } },
    });
    const shards = manifestWith("openai", [
      { split: "train", id: "a" },
      { split: "train", id: "b" },
    ]);
    expect(() => jobRequest(shards, { model: "x" })).toThrow(ConfigError);
    expect(() => jobRequest(shards, { model: "x" })).toThrow(/takes one training file; the manifest has 2: re-run the upload with --provider openai/);
    const dpo = manifestWith("openai", [{ split: "train", id: "t" }]);
    dpo.sources = [{ path: "f0.jsonl", sha256: "0".repeat(64), bytes: 1, records: 10, valid: 10, invalid: 0, split: "train", format: "openai-dpo", skip_invalid: false }];
    expect(jobRequest(dpo, { model: "x", hyperparameters: { beta: 0.1 } }).method).toEqual({ type: "dpo", dpo: { hyperparameters: { beta: 0.1 } } });
  });

  it("reads --timeout durations and says them back", () => {
    expect([duration("90"), duration("90s"), duration("15m"), duration("2h"), duration("500ms"), duration("1.5m")]).toEqual([90_000, 90_000, 900_000, 7_200_000, 500, 90_000]);
    for (const bad of ["", "0", "-1", "5d", "m", "1e3"]) expect(() => duration(bad)).toThrow("Expected a duration such as 90 (seconds), 90s, 15m or 2h.");
    expect([formatDuration(150), formatDuration(90_000), formatDuration(900_000), formatDuration(9_000_000)]).toEqual(["150ms", "90s", "15m", "2h30m"]);
  });

  it("reads --hyperparameter pairs", () => {
    expect(parseHyperparameters(["training_steps=10", "learning_rate=1e-4", "n_epochs=auto"])).toEqual({ training_steps: 10, learning_rate: 0.0001, n_epochs: "auto" });
    expect(() => parseHyperparameters(["oops"])).toThrow(/key=value/);
  });
});

describe("pipeline files", () => {
  it("are checked on load, with the file and the JSON Pointer in the message", async () => {
    const path = join(tmp(), "x.json");
    await writeFile(path, JSON.stringify({ sources: [{ path: "data", weight: 0 }] }));
    await expect(loadPipeline(path)).rejects.toThrow(`${path}: /sources/0/weight must be > 0`);
    await writeFile(path, JSON.stringify({ sources: [{ path: "data" }], colour: "blue" }));
    await expect(loadPipeline(path)).rejects.toThrow(/must NOT have additional properties \(colour\)/);
    const { code, stderr } = await runCli("run", "--pipeline", path);
    expect(code).toBe(2);
    expect(stderr).toContain("must NOT have additional properties");
  });

  it("ship three pipelines that pass their schema", async () => {
    for (const name of ["mistral-chat", "mistral-function-calling", "openai-chat"]) {
      const p = await loadPipeline(join(repo, "pipelines", `${name}.json`));
      expect(p.job?.model).toBeTruthy();
    }
  });

  it("run from a directory to a job that reaches SUCCESS; flags win over the file", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: fastJobs });
    const path = await pipeline(dir, {
      provider: { name: "mistral", base_url: server.url },
      job: { model: "open-mistral-7b", hyperparameters: { training_steps: 5 }, auto_start: true, wait: true, poll_ms: 5 },
    });
    const { code, stderr } = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k", "--manifest", join(dir, "flag.json"));
    expect(stderr).toContain("job: SUCCESS");
    expect(code).toBe(0);
    const manifest = (await readManifest(join(dir, "flag.json")))!;
    expect(manifest.files).toHaveLength(2);
    expect(manifest.jobs).toHaveLength(1);
    expect(manifest.jobs[0]).toMatchObject({ provider: "mistral", model: "open-mistral-7b" });
    expect(await readManifest(join(dir, "m.json"))).toBeUndefined(); // --manifest beat the file's "manifest"
  });

  it("give the environment's base URL precedence over the file's", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store") });
    const path = await pipeline(dir, { provider: { name: "mistral", base_url: "http://127.0.0.1:1" } });
    process.env.MISTRAL_BASE_URL = server.url;
    try {
      const { code } = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k", "--quiet");
      expect(code).toBe(0);
    } finally {
      delete process.env.MISTRAL_BASE_URL;
    }
    expect((await readManifest(join(dir, "m.json")))!.base_url).toBe(server.url);
  });
});

describe("ftprep jobs", () => {
  it("ends FAILED_VALIDATION when the server's validation rejects a file, and jobs wait exits 1 with the reasons", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: fastJobs });
    // Uploaded by the library's upload stage alone, which does not validate: the server's validation catches it.
    const bad = join(dir, "bad-train.jsonl");
    await copyFile(join(repo, "fixtures/invalid/mistral-chat-rules.jsonl"), bad);
    const provider = new MistralProvider({ baseUrl: server.url, apiKey: "k" });
    const manifestPath = join(dir, "m.json");
    const manifest = newManifest({ provider: "mistral", base_url: server.url, target: server.url, embedded_store: null, options: {} }, "0.0.0");
    const { createHash } = await import("node:crypto");
    const bytes = await readFile(bad);
    await uploadFiles(
      [{ path: bad, source: bad, kind: "original", part: 1, parts: 1, split: "train", records: 51, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") }],
      { provider, target: server.url, manifest, manifestPath },
    );
    await provider.close();
    const created = await runCli("jobs", "create", "--manifest", manifestPath, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=5", "--json");
    expect(created.code).toBe(0);
    const job = JSON.parse(created.stdout) as { id: string };
    const waited = await runCli("jobs", "wait", job.id, "--manifest", manifestPath, "--poll-ms", "5");
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain("FAILED_VALIDATION");
    expect(waited.stdout).toMatch(/reason: bad-train\.[0-9a-f]{12}\.jsonl: 46 of 51 records invalid \(.*E_NO_MESSAGES/);
    expect((await readManifest(manifestPath))!.jobs.map((j) => j.id)).toEqual([job.id]);
  });

  it("turns Mistral's 410 into a clear message and exit 3, the manifest intact", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), faults: { retireJobs: true } });
    const path = await pipeline(dir, { provider: { name: "mistral", base_url: server.url }, job: { model: "open-mistral-7b", hyperparameters: { training_steps: 5 } } });
    const { code, stderr } = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k");
    expect(code).toBe(3);
    expect(stderr).toContain("Mistral has retired its public fine-tuning jobs API (it answers 410 Gone).");
    expect(stderr).toContain(`their ids are in ${join(dir, "m.json")}`);
    expect(stderr).toContain("--base-url URL");
    expect(stderr).toContain("--provider together");
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    const manifest = (await readManifest(join(dir, "m.json")))!;
    expect(manifest.files).toHaveLength(2);
    expect(manifest.jobs).toEqual([]);
    const direct = await runCli("jobs", "create", "--manifest", join(dir, "m.json"), "--model", "open-mistral-7b");
    expect(direct.code).toBe(3);
    expect(direct.stderr).toContain("retired");
  });

  it("creates an OpenAI job with one training and one validation file, and follows it to succeeded", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: fastJobs });
    const path = join(dir, "openai.json");
    await writeFile(
      path,
      JSON.stringify({
        sources: [{ path: join(repo, "fixtures/datasets/openai-tools") }],
        provider: { name: "openai", base_url: `${server.url}/v1` },
        manifest: join(dir, "m.json"),
        out_dir: join(dir, "out"),
        job: { model: "gpt-4o-mini-2024-07-18", hyperparameters: { n_epochs: 2 }, wait: true, poll_ms: 5 },
      }),
    );
    const { code, stderr } = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k");
    expect(stderr).toContain("job: succeeded");
    expect(code).toBe(0);
    const manifest = (await readManifest(join(dir, "m.json")))!;
    const request = manifest.jobs[0]!.request as Record<string, unknown>;
    const byId = new Map(manifest.files.map((f) => [f.remote.id, f.split]));
    expect(byId.get(request.training_file as string)).toBe("train");
    expect(byId.get(request.validation_file as string)).toBe("validation");
  });

  it("creates a job the official Mistral SDK (2.4.0) reads back without a validation error; status, cancel, dry run", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: { validationMs: 60_000, trainingMs: 60_000 } });
    const { code } = await runCli("run", join(repo, "fixtures/datasets/mistral-chat"), "--base-url", server.url, "--api-key", "k", "--manifest", join(dir, "m.json"), "--out", join(dir, "out"), "--quiet");
    expect(code).toBe(0);
    const dry = await runCli("jobs", "create", "--manifest", join(dir, "m.json"), "--model", "open-mistral-7b", "--dry-run", "--json");
    expect(JSON.parse(dry.stdout).estimate).toMatchObject({ object: "job.metadata", cost: 0 });
    expect((await readManifest(join(dir, "m.json")))!.jobs).toEqual([]);
    const created = await runCli("jobs", "create", "--manifest", join(dir, "m.json"), "--model", "open-mistral-7b", "--suffix", "sdk", "--json");
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const sdk = new Mistral240({ serverURL: server.url, apiKey: "k" });
    const job = await sdk.fineTuning.jobs.get({ jobId: id });
    expect(job).toMatchObject({ id, model: "open-mistral-7b", suffix: "sdk" });
    expect((job as { trainingFiles: string[] }).trainingFiles).toHaveLength(1);
    const status = await runCli("jobs", "status", id, "--manifest", join(dir, "m.json"), "--json");
    expect(JSON.parse(status.stdout).status).toBe("VALIDATING");
    const cancelled = await runCli("jobs", "cancel", id, "--manifest", join(dir, "m.json"), "--json");
    expect(JSON.parse(cancelled.stdout).status).toBe("CANCELLED");
  });
});

describe("jobs without a manifest", () => {
  it("need --manifest to create, and say so", async () => {
    const { code, stderr } = await runCli("jobs", "create", "--model", "m");
    expect(code).toBe(2);
    expect(stderr).toContain("jobs create needs --manifest FILE");
    await mkdir(join(tmp(), "x"), { recursive: true });
    const missing = await runCli("jobs", "status", "abc", "--manifest", join(tmp(), "x", "none.json"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no manifest at");
  });
});

describe("jobs a user drives to the end", () => {
  /** The status the manifest records for a job, after checking the manifest against its schema. */
  async function recorded(path: string, id: string): Promise<Record<string, unknown> | undefined> {
    const manifest = JSON.parse(await readFile(path, "utf8")) as Manifest;
    expect(checkManifest(manifest)).toBeUndefined();
    return manifest.jobs.find((j) => j.id === id);
  }

  it("start, wait --timeout, the message when a job waits to be started, wait --start, cancel of an ended job; the manifest follows", async () => {
    const dir = tmp();
    let clock = Date.parse("2026-11-01T00:00:00Z");
    const timings = { validationMs: 1000, trainingMs: 5000 };
    const server = await startServer({ store: join(dir, "store"), now: () => clock, jobs: timings });
    try {
      const m = join(dir, "m.json");
      const target = ["--manifest", m, "--base-url", server.url, "--api-key", "k"];
      expect((await runCli("run", join(repo, "fixtures/datasets/mistral-chat"), "--base-url", server.url, "--api-key", "k", "--manifest", m, "--out", join(dir, "out"), "--quiet")).code).toBe(0);
      const created = await runCli("jobs", "create", ...target, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=5", "--json");
      expect(created.code).toBe(0);
      const id = (JSON.parse(created.stdout) as { id: string }).id;

      const early = await runCli("jobs", "start", id, ...target);
      expect(early.code).toBe(3);
      expect(early.stderr).toBe(`ftprep: job ${id} is VALIDATING: only a VALIDATED job can be started; ftprep jobs wait ${id} --start --manifest ${m} starts it once validated\n`);

      const timedOut = await runCli("jobs", "wait", id, ...target, "--timeout", "150ms", "--poll-ms", "20");
      expect(timedOut.code).toBe(3);
      expect(timedOut.stderr).toContain(`waiting for job ${id} (open-mistral-7b) on ${server.url} to end (SUCCESS, FAILED, FAILED_VALIDATION, CANCELLED); giving up after 150ms\n`);
      expect(timedOut.stderr).toContain(`ftprep: job ${id} is still VALIDATING after 150ms (--timeout); it goes on: ftprep jobs wait ${id} --manifest ${m} follows it again\n`);

      await server.settled();
      clock += timings.validationMs;
      const validated = await runCli("jobs", "wait", id, ...target, "--poll-ms", "20");
      expect(validated.code).toBe(3);
      expect(validated.stderr).toContain(`ftprep: job ${id} is VALIDATED and waits to be started (created without auto_start): ftprep jobs start ${id} --manifest ${m}, or wait with --start\n`);
      expect((await recorded(m, id))!.status).toBe("VALIDATED");

      const started = await runCli("jobs", "start", id, ...target, "--json");
      expect(started.code).toBe(0);
      expect(JSON.parse(started.stdout).status).toBe("RUNNING");
      expect((await recorded(m, id))!.status).toBe("RUNNING");

      clock += timings.trainingMs;
      const done = await runCli("jobs", "wait", id, ...target, "--poll-ms", "20");
      expect(done.code).toBe(0);
      expect(await recorded(m, id)).toMatchObject({ status: "SUCCESS", fine_tuned_model: expect.stringMatching(/^ft:open-mistral-7b:/) });

      const cancelEnded = await runCli("jobs", "cancel", id, ...target);
      expect(cancelEnded.code).toBe(3);
      expect(cancelEnded.stderr).toBe(`ftprep: job ${id} already ended SUCCESS; nothing to cancel\n`);
      const startEnded = await runCli("jobs", "start", id, ...target);
      expect(startEnded.code).toBe(0);
      expect(startEnded.stdout).toBe(`job ${id} is already SUCCESS; nothing to start\n`);

      // The same request again reuses the recorded job; --new-job makes another, which the official SDK starts.
      const again = await runCli("jobs", "create", ...target, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=5");
      expect(again.stdout).toContain(`job ${id} (SUCCESS) was already created from these files and parameters; reusing it (--new-job creates another)`);
      const second = await runCli("jobs", "create", ...target, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=5", "--new-job", "--json");
      const id2 = (JSON.parse(second.stdout) as { id: string }).id;
      expect(id2).not.toBe(id);
      await server.settled();
      clock += timings.validationMs;
      const sdk = new Mistral240({ serverURL: server.url, apiKey: "k" });
      expect(((await sdk.fineTuning.jobs.start({ jobId: id2 })) as { status: string }).status).toBe("RUNNING");
      expect((await runCli("jobs", "status", id2, ...target)).stdout).toContain(`job ${id2}: RUNNING`);
      expect((await recorded(m, id2))!.status).toBe("RUNNING");
      const cancelled = await runCli("jobs", "cancel", id2, ...target);
      expect(cancelled.code).toBe(0);
      expect((await recorded(m, id2))!.status).toBe("CANCELLED");
      const cancelAgain = await runCli("jobs", "cancel", id2, ...target);
      expect(cancelAgain.code).toBe(0);
      expect(cancelAgain.stdout).toBe(`job ${id2} already ended CANCELLED; nothing to cancel\n`);

      const third = await runCli("jobs", "create", ...target, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=5", "--new-job", "--json");
      const id3 = (JSON.parse(third.stdout) as { id: string }).id;
      await server.settled();
      clock += timings.validationMs;
      const waitStart = await runCli("jobs", "wait", id3, ...target, "--start", "--timeout", "100ms", "--poll-ms", "20");
      expect(waitStart.stderr).toContain(`job ${id3}: RUNNING`);
      expect(waitStart.code).toBe(3); // the clock stands still: it runs until the timeout
      expect((await recorded(m, id3))!.status).toBe("RUNNING");
      expect((await readManifest(m))!.jobs.map((j) => j.id)).toEqual([id, id2, id3]);
    } finally {
      await server.close();
    }
  });

  it("a pipeline run again reuses the job its manifest records; --new-job creates another", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: fastJobs });
    const path = await pipeline(dir, {
      provider: { name: "mistral", base_url: server.url },
      job: { model: "open-mistral-7b", hyperparameters: { training_steps: 5 }, auto_start: true, wait: true, poll_ms: 5 },
    });
    const first = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k");
    expect(first.code).toBe(0);
    const [job] = (await readManifest(join(dir, "m.json")))!.jobs;
    const again = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`job ${String(job!.id)} (SUCCESS) was already created from these files and parameters; reusing it (--new-job creates another)`);
    expect((await readManifest(join(dir, "m.json")))!.jobs.map((j) => j.id)).toEqual([job!.id]);
    const listed = async () => ((await (await fetch(`${server.url}/v1/fine_tuning/jobs`)).json()) as { total: number }).total;
    expect(await listed()).toBe(1);
    const fresh = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k", "--new-job", "--json");
    expect(fresh.code).toBe(0);
    const doc = JSON.parse(fresh.stdout);
    expect(doc).toMatchObject({ ok: true, job: { status: "SUCCESS", reused: false, outcome: "done", succeeded: true, fine_tuned_model: expect.stringMatching(/^ft:/) } });
    expect(doc.job.id).not.toBe(job!.id);
    expect((await readManifest(join(dir, "m.json")))!.jobs).toHaveLength(2);
    expect(await listed()).toBe(2);
  });

  it("a pipeline that waits on a job created without auto_start stops at VALIDATED and says what to run", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: fastJobs });
    const path = await pipeline(dir, {
      provider: { name: "mistral", base_url: server.url },
      job: { model: "open-mistral-7b", hyperparameters: { training_steps: 5 }, auto_start: false, wait: true, poll_ms: 5 },
    });
    const { code, stderr } = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k", "--quiet");
    const [job] = (await readManifest(join(dir, "m.json")))!.jobs;
    expect(stderr).toBe(`ftprep: job ${String(job!.id)} is VALIDATED and waits to be started (created without auto_start): ftprep jobs start ${String(job!.id)} --manifest ${join(dir, "m.json")}\n`);
    expect(code).toBe(3);
    expect(job!.status).toBe("VALIDATED");
    const openai = await runCli("jobs", "start", String(job!.id), "--provider", "openai", "--base-url", `${server.url}/v1`, "--api-key", "k");
    expect(openai.code).toBe(2);
    expect(openai.stderr).toBe(`ftprep jobs start: openai jobs start on their own once validated; there is nothing to start (follow it with ftprep jobs wait ${String(job!.id)}); see ftprep jobs start --help\n`);
  });

  it("prints the upload summary when the job cannot be created, and exits 3", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), jobs: { validationMs: 60_000, trainingMs: 60_000 } });
    const path = await pipeline(dir, { provider: { name: "mistral", base_url: server.url }, job: { model: "open-mistral-7b", hyperparameters: { training_steps: 5 } } });
    expect((await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k")).code).toBe(0);
    // Another manifest, the same files on the same server: the same job is already validating there (409).
    const other = join(dir, "other.json");
    const { code, stdout, stderr } = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k", "--manifest", other);
    expect(stdout).toContain("0 uploaded, 2 found already uploaded");
    expect(stdout).toContain(`manifest: ${other}`);
    expect(stderr).toMatch(/ftprep: no job: 409 A job with the same parameters is already VALIDATING: [0-9a-f-]{36} \(POST http:\/\/127\.0\.0\.1:\d+\/v1\/fine_tuning\/jobs/);
    expect(code).toBe(3);
    const manifest = (await readManifest(other))!;
    expect(manifest.files).toHaveLength(2);
    expect(manifest.jobs).toEqual([]);
    const json = await runCli("run", "--pipeline", path, "--trust-pipeline-url", "--api-key", "k", "--manifest", other, "--json");
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: false, manifest: other, upload: { uploaded: 0, skipped: 2, failed: [] } });
    expect(doc.job).toMatchObject({ id: null, reused: false, outcome: null, error: { code: "ERR_HTTP_409", message: expect.stringContaining("already VALIDATING") } });
  });
});
