import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { jobRequest, jobState } from "../../src/jobs/jobs.js";
import { MISTRAL_JOBS } from "../../src/jobs/mistral.js";
import { newManifest, type Manifest, readManifest } from "../../src/manifest/manifest.js";
import { runCli } from "../helpers/cli.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const exec = promisify(execFile);
const bin = join(repo, "bin", "ftprep.js");
const tmp = useTempDir("together-jobs");
const serve = useServers();

function manifest(files: { split: "train" | "validation"; id: string }[], format = "together-chat"): Manifest {
  const m = newManifest({ provider: "together", base_url: "http://x/v1", target: "http://x/v1", embedded_store: null, options: {} }, "0.0.0");
  m.files = files.map((f, i) => ({
    path: `f${i}.jsonl`,
    source: `f${i}.jsonl`,
    kind: "original",
    split: f.split,
    weight: 1,
    sha256: String(i).padStart(64, "0"),
    bytes: 10,
    lines: 1,
    target: "http://x/v1",
    remote: { id: f.id, filename: `f${i}.jsonl`, bytes: 10, num_lines: 1, sample_type: null, created_at: 0 },
    uploaded_at: new Date(0).toISOString(),
  }));
  m.sources = [{ path: "f0.jsonl", sha256: "0".repeat(64), bytes: 10, records: 1, valid: 1, invalid: 0, split: "train", format, skip_invalid: false }] as Manifest["sources"];
  return m;
}

describe("Together job requests from a manifest", () => {
  const m = manifest([
    { split: "train", id: "file-t" },
    { split: "validation", id: "file-v" },
  ]);

  it("one training and one validation file; SFT with train_on_inputs auto; Together's own field names, checked", () => {
    expect(jobRequest(m, { model: "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", suffix: "demo", hyperparameters: { n_epochs: 3, learning_rate: 0.00002, batch_size: "max", n_evals: 2, wandb_project_name: "p" } })).toEqual({
      model: "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
      training_file: "file-t",
      validation_file: "file-v",
      n_epochs: 3,
      learning_rate: 0.00002,
      batch_size: "max",
      n_evals: 2,
      wandb_project_name: "p",
      training_method: { method: "sft", train_on_inputs: "auto" },
      suffix: "demo",
    });
    expect(() => jobRequest(m, { model: "x", hyperparameters: { n_epochs: 0 } })).toThrow("hyperparameter n_epochs=0 must be an integer ≥ 1 and ≤ 100");
    expect(() => jobRequest(m, { model: "x", hyperparameters: { batch_size: "min" } })).toThrow("hyperparameter batch_size=min must be max or an integer ≥ 1");
    expect(() => jobRequest(m, { model: "x", hyperparameters: { training_steps: 5 } })).toThrow(/unknown together hyperparameter "training_steps"; known: n_epochs, learning_rate/);
    expect(() => jobRequest(m, { model: "x", suffix: "s".repeat(65) })).toThrow("Together's --suffix takes at most 64 characters");
    expect(() => jobRequest(m, { model: "x", autoStart: true })).toThrow(/--auto-start is Mistral's/);
  });

  it("LoRA settings make its training_type (alpha 2 × r by default); lora=false is full training", () => {
    expect(jobRequest(m, { model: "x", hyperparameters: { lora_r: 16, lora_dropout: 0.05, lora_trainable_modules: "q_proj,v_proj" } }).training_type).toEqual({
      type: "Lora",
      lora_r: 16,
      lora_alpha: 32,
      lora_dropout: 0.05,
      lora_trainable_modules: "q_proj,v_proj",
    });
    expect(jobRequest(m, { model: "x", hyperparameters: { lora: "false" } }).training_type).toEqual({ type: "Full" });
    expect(jobRequest(m, { model: "x" }).training_type).toBeUndefined(); // Together's default: LoRA at the model's rank
    expect(() => jobRequest(m, { model: "x", hyperparameters: { lora: "false", lora_r: 8 } })).toThrow("lora=false asks for full training; lora_r is for LoRA only");
    expect(() => jobRequest(m, { model: "x", hyperparameters: { lora_alpha: 8 } })).toThrow("lora_alpha needs lora_r (the adapter's rank) too");
    expect(() => jobRequest(m, { model: "x", hyperparameters: { lora_dropout: 1 } })).toThrow(/lora_dropout=1 must be a number ≥ 0 and ≤ 0.999999/);
    expect(jobRequest(m, { model: "x", hyperparameters: { min_lr_ratio: 0.1 } }).lr_scheduler).toEqual({ lr_scheduler_type: "linear", lr_scheduler_args: { min_lr_ratio: 0.1 } });
  });

  it("preference data is DPO (dpo_beta for it only); more than one training file is refused with what to do", () => {
    const prefs = manifest([{ split: "train", id: "file-p" }], "together-preference");
    expect(jobRequest(prefs, { model: "x", hyperparameters: { dpo_beta: 0.2 } }).training_method).toEqual({ method: "dpo", dpo_beta: 0.2 });
    expect(() => jobRequest(m, { model: "x", hyperparameters: { dpo_beta: 0.2 } })).toThrow(/dpo_beta is for preference data/);
    expect(() => jobRequest(prefs, { model: "x", hyperparameters: { train_on_inputs: "true" } })).toThrow(/train_on_inputs is for SFT only/);
    const two = manifest([
      { split: "train", id: "a" },
      { split: "train", id: "b" },
    ]);
    expect(() => jobRequest(two, { model: "x" })).toThrow(/Together fine-tuning takes one training file; the manifest has 2: upload again with --merge/);
  });

  it("reads a job's state in Together's words: completed is success, error and cancelled end it, events give the reasons", () => {
    expect(jobState({ id: "ft-1", status: "running" }, "together")).toMatchObject({ done: false, succeeded: false });
    expect(jobState({ id: "ft-1", status: "completed", model_output_name: "me/model-x" }, "together")).toMatchObject({ done: true, succeeded: true, fineTunedModel: "me/model-x" });
    const failed = jobState({ id: "ft-1", status: "error", events: [{ created_at: "2026-01-01T00:00:00Z", type: "job_error", level: "error", message: "bad data" }] }, "together");
    expect(failed).toMatchObject({ done: true, succeeded: false, reasons: ["bad data"] });
  });
});

describe("ftprep jobs --provider together, end to end on the local server", () => {
  it("run uploads, jobs create --json makes the job, jobs wait follows its events to completed; status, list, cancel", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), token: "k", jobs: { validationMs: 20, trainingMs: 40 } });
    const base = `${server.url}/v1`;
    const m = join(dir, "m.json");
    const up = await runCli("run", "--provider", "together", "--base-url", base, "--api-key", "k", "--manifest", m, "--out", join(dir, "out"), "--quiet", join(repo, "fixtures/datasets/together-chat"));
    expect(up.code).toBe(0);

    const dry = await runCli("jobs", "create", "--manifest", m, "--model", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "--hyperparameter", "n_epochs=2", "--dry-run", "--json", "--api-key", "k", "--base-url", base);
    expect(dry.code).toBe(0);
    const estimate = JSON.parse(dry.stdout) as { request: Record<string, unknown>; estimate: Record<string, unknown> };
    expect(estimate.request).toMatchObject({ n_epochs: 2, training_method: { method: "sft" } });
    expect(estimate.estimate).toMatchObject({ estimation_available: true, estimated_total_price: 0 });
    expect(estimate.estimate.estimated_train_token_count).toBeGreaterThan(0);

    const created = await runCli("jobs", "create", "--manifest", m, "--model", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "--hyperparameter", "n_epochs=2", "--suffix", "demo", "--json", "--api-key", "k", "--base-url", base);
    expect(created.code).toBe(0);
    const job = JSON.parse(created.stdout) as { id: string; status: string };
    expect(job.id).toMatch(/^ft-/);
    expect(job.status).toBe("pending");

    const waited = await runCli("jobs", "wait", job.id, "--manifest", m, "--poll-ms", "5", "--api-key", "k", "--base-url", base);
    expect(waited.code).toBe(0);
    expect(waited.stderr).toContain(`waiting for job ${job.id} (meta-llama/Meta-Llama-3.1-8B-Instruct-Reference) on ${base} to end (completed, error, cancelled)`);
    // The job's events are the progress: each once, oldest first.
    const events = waited.stderr.split("\n").filter((l) => /^ {2}\d{4}-/.test(l)).map((l) => l.replace(/^ {2}\S+ /, ""));
    expect(events).toEqual([
      "Fine-tune job created",
      "Checking the training data with Together's rules",
      "The data passed the checks; the job is queued",
      "Training started",
      expect.stringMatching(/^Training completed: ftprep-local\/Meta-Llama-3\.1-8B-Instruct-Reference-demo-/),
    ]);
    expect(waited.stdout).toMatch(new RegExp(`^job ${job.id}: completed → ftprep-local/`));
    const recorded = (await readManifest(m))!.jobs[0]!;
    expect([recorded.id, recorded.provider, recorded.status]).toEqual([job.id, "together", "completed"]);
    expect(recorded.fine_tuned_model).toMatch(/^ftprep-local\//);

    const status = await runCli("jobs", "status", job.id, "--manifest", m, "--json", "--api-key", "k", "--base-url", base);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: job.id, status: "completed", training_file: expect.stringMatching(/^file-/) });
    const list = await runCli("jobs", "list", "--manifest", m, "--api-key", "k", "--base-url", base);
    expect(list.stdout).toContain(`${job.id} completed meta-llama/Meta-Llama-3.1-8B-Instruct-Reference → ftprep-local/`);

    // An ended job cannot be cancelled: said so, exit 3.
    const late = await runCli("jobs", "cancel", job.id, "--manifest", m, "--api-key", "k", "--base-url", base);
    expect([late.code, late.stderr]).toEqual([3, `ftprep: job ${job.id} already ended completed; nothing to cancel\n`]);
  });

  it("a job whose data Together would refuse ends in error, with the reasons, and jobs wait exits 1", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), token: "k", jobs: { validationMs: 0, trainingMs: 0 } });
    const base = `${server.url}/v1`;
    // Uploaded with OpenAI's rules (a `tools` key), then handed to a Together job: the server checks with Together's.
    const data = join(dir, "train.jsonl");
    const text = Array.from({ length: 3 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }], tools: [] })).join("\n") + "\n";
    await (await import("node:fs/promises")).writeFile(data, text);
    const form = new URLSearchParams({ file_name: "train.jsonl", file_type: "jsonl", purpose: "fine-tune" });
    const redirect = await fetch(`${base}/files?${form}`, { method: "POST", headers: { authorization: "Bearer k", "content-type": "application/x-www-form-urlencoded" }, body: form.toString(), redirect: "manual" });
    const id = redirect.headers.get("x-together-file-id")!;
    expect((await fetch(redirect.headers.get("location")!, { method: "PUT", body: await readFile(data) })).status).toBe(200);
    const res = await fetch(`${base}/fine-tunes`, { method: "POST", headers: { authorization: "Bearer k", "content-type": "application/json" }, body: JSON.stringify({ model: "m", training_file: id }) });
    const job = (await res.json()) as { id: string };
    await server.settled();
    const waited = await runCli("jobs", "wait", job.id, "--provider", "together", "--base-url", base, "--api-key", "k", "--poll-ms", "5");
    expect(waited.code).toBe(1);
    expect(waited.stdout).toContain(`job ${job.id}: error`);
    expect(waited.stdout).toMatch(/reason: The data failed the checks: train\.jsonl: 3 of 3 records invalid \(E_EXTRA_KEY ×3\)/);
  });

  it("cancels a job that is still training; cancelling it again says it already is", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), token: "k", jobs: { validationMs: 0, trainingMs: 3_600_000 } });
    const base = `${server.url}/v1`;
    const m = join(dir, "m.json");
    expect((await runCli("run", "--provider", "together", "--base-url", base, "--api-key", "k", "--manifest", m, "--out", join(dir, "out"), "--quiet", join(repo, "fixtures/datasets/together-chat"))).code).toBe(0);
    const created = await runCli("jobs", "create", "--manifest", m, "--model", "m", "--json", "--api-key", "k", "--base-url", base);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const cancelled = await runCli("jobs", "cancel", id, "--manifest", m, "--api-key", "k", "--base-url", base);
    expect(cancelled.code).toBe(0);
    // Together answers a cancel with the truncated job (no events); the job itself lists them.
    expect(cancelled.stdout).toBe(`job ${id}: cancelled\n`);
    const status = await runCli("jobs", "status", id, "--manifest", m, "--api-key", "k", "--base-url", base);
    expect(status.stdout).toMatch(new RegExp(`^job ${id}: cancelled\n  \\S+ Fine-tune job created\n[^]*  \\S+ Cancellation requested\n  \\S+ The job was cancelled\n$`));
    expect((await readManifest(m))!.jobs[0]!.status).toBe("cancelled");
    const again = await runCli("jobs", "cancel", id, "--manifest", m, "--api-key", "k", "--base-url", base);
    expect([again.code, again.stdout]).toEqual([0, `job ${id} already ended cancelled; nothing to cancel\n`]);
  });

  it("a pipeline file names Together: run uploads and creates the job, and waits for it to complete", async () => {
    const dir = tmp();
    const server = await serve({ store: join(dir, "store"), token: "k", jobs: { validationMs: 10, trainingMs: 20 } });
    const base = `${server.url}/v1`;
    const path = join(dir, "together.json");
    await writeFile(
      path,
      JSON.stringify({
        sources: [{ path: join(repo, "fixtures/datasets/together-chat") }],
        provider: { name: "together", base_url: base },
        manifest: join(dir, "m.json"),
        out_dir: join(dir, "out"),
        job: { model: "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", hyperparameters: { n_epochs: 1, lora_r: 8 }, wait: true, poll_ms: 5 },
      }),
    );
    const { code, stderr } = await runCli("run", "--pipeline", path, "--base-url", base, "--api-key", "k");
    expect(stderr).toContain("job: completed");
    expect(code).toBe(0);
    const manifest = (await readManifest(join(dir, "m.json")))!;
    expect(manifest.provider).toBe("together");
    expect(manifest.jobs[0]).toMatchObject({ provider: "together", status: "completed", request: { training_type: { type: "Lora", lora_r: 8, lora_alpha: 16 } } });
  });
});

describe("Mistral's jobs as legacy", () => {
  it("has a line to say before sending to Mistral's public API, and none for a compatible deployment", () => {
    expect(MISTRAL_JOBS.notice!("https://api.mistral.ai")).toMatch(/^Mistral's public fine-tuning jobs API is retired \(410 Gone since August 2026\).*--provider together\)$/);
    expect(MISTRAL_JOBS.notice!("https://api.mistral.ai/")).toBeDefined();
    expect(MISTRAL_JOBS.notice!("https://mistral.example.com")).toBeUndefined();
    expect(MISTRAL_JOBS.notice!("http://127.0.0.1:8910")).toBeUndefined();
  });
});

describe("OpenAI-style chat to a finished Together job, with no key and no network (the quick start's path)", () => {
  it("validate-and-upload --provider together on fixtures/datasets/openai-chat, then jobs create --json and jobs wait to completed, all on the embedded server", async () => {
    const cwd = tmp();
    // No key of any provider and no base URL: the embedded local server is the target, as on a fresh machine.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: cwd };
    const ftprep = (...args: string[]) =>
      exec(process.execPath, [bin, ...args], { cwd, env }).catch((e: { code: number; stdout: string; stderr: string }) => e as { code?: number; stdout: string; stderr: string });

    const run = await ftprep("run", "--provider", "together", join(repo, "fixtures/datasets/openai-chat"));
    expect((run as { code?: number }).code ?? 0).toBe(0);
    expect(run.stdout).toMatch(/openai-chat\/train\.jsonl: together-chat, 12 records \(12 valid, 0 invalid\)/);
    expect(run.stdout).toMatch(/openai-chat\/validation\.jsonl: together-chat, 4 records \(4 valid, 0 invalid\)/);
    expect(run.stdout).toContain("2 uploaded, 0 found already uploaded");
    expect(run.stderr).toContain("no TOGETHER_API_KEY and no base URL: using the embedded local Files API");

    const model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference";
    const created = await ftprep("jobs", "create", "--provider", "together", "--manifest", "ftprep-manifest.json", "--model", model, "--json");
    expect((created as { code?: number }).code ?? 0).toBe(0);
    const job = JSON.parse(created.stdout) as { id: string; status: string; training_file: string; validation_file: string };
    const m = (await readManifest(join(cwd, "ftprep-manifest.json")))!;
    expect(job.status).toBe("pending");
    expect([job.training_file, job.validation_file]).toEqual([m.files.find((f) => f.split === "train")!.remote.id, m.files.find((f) => f.split === "validation")!.remote.id]);

    const waited = await ftprep("jobs", "wait", job.id, "--manifest", "ftprep-manifest.json", "--poll-ms", "200");
    expect((waited as { code?: number }).code ?? 0).toBe(0);
    expect(waited.stdout).toMatch(new RegExp(`^job ${job.id}: completed → ftprep-local/`));
    expect((await readManifest(join(cwd, "ftprep-manifest.json")))!.jobs.map((j) => [j.id, j.provider, j.status])).toEqual([[job.id, "together", "completed"]]);
  }, 60_000);

  it("the same folder's tool-calling and developer-role cousin (fixtures/datasets/openai-tools) is refused by Together's rules, with the reason per record", async () => {
    const result = await runCli("validate", "--provider", "together", "--json", join(repo, "fixtures/datasets/openai-tools/train.jsonl"));
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout) as { files: { invalid: number; counts: Record<string, number> }[] };
    expect(doc.files[0]!.invalid).toBe(12);
  });
});
