import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newManifest, type Manifest } from "../../src/manifest/manifest.js";
import { cookbookAutoEpochs, jobEstimate } from "../../src/tokens/job-estimate.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("job-estimate", "all");

// Totals of the fixture as mistral-finetune's tokenize.py counts it over mistral-common 1.5.4 (Tekken 240718), run
// outside this repository: train 7 records, 1,279 tokens, 110 trainable (max 253); validation 2, 332, 24.
describe("jobs create --dry-run: the before-the-run estimate from the manifest's token counts", () => {
  it("Mistral: per split records, tokens, trainable and spread; epochs=3 → 3 × the data tokens (human and --json)", async () => {
    const manifest = join(tmp(), "m.json");
    const run = await runCli("run", join(repo, "fixtures/datasets/mistral-function-calling"), "--model", "open-mistral-nemo", "--store", join(tmp(), "store"), "--manifest", manifest, "--out", join(tmp(), "out"), "--quiet");
    expect(run.code, run.stderr).toBe(0);
    const json = await runCli("jobs", "create", "--manifest", manifest, "--model", "open-mistral-nemo", "--hyperparameter", "epochs=3", "--dry-run", "--json", "--store", join(tmp(), "store"));
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as { tokens: Record<string, unknown> };
    expect(doc.tokens).toMatchObject({
      model: "open-mistral-nemo",
      model_tokenizer: "tekken-240718",
      counted_with_model_tokenizer: true,
      train: { files: 1, counted_files: 1, records: 7, method: "exact", tokenizer: "tekken-240718", total: 1279, trainable: 110, max: 253 },
      validation: { records: 2, total: 332, trainable: 24 },
      training: { basis: "mistral-data-tokens", epochs: 3, epochs_from: "hyperparameters", steps: null, tokens: 3837 },
    });
    const human = await runCli("jobs", "create", "--manifest", manifest, "--model", "open-mistral-nemo", "--hyperparameter", "epochs=3", "--dry-run", "--store", join(tmp(), "store"));
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("train: 7 records, 1,279 tokens (exact, tekken-240718), 110 trainable");
    expect(human.stdout).toContain("validation: 2 records, 332 tokens (exact, tekken-240718), 24 trainable");
    expect(human.stdout).toContain("training: 3 epoch(s), 3,837 tokens processed");
    // A model on another tokenizer: the counts are said to be the other tokenizer's.
    const other = await runCli("jobs", "create", "--manifest", manifest, "--model", "open-mistral-7b", "--dry-run", "--store", join(tmp(), "store"));
    expect(other.stdout).toContain("note: open-mistral-7b uses mistral-sp-v3; these counts are from tekken-240718");
  });

  it("OpenAI: billable tokens × epochs, n_epochs auto by the cookbook's rule, steps from batch_size", () => {
    const m: Manifest = newManifest({ provider: "openai", base_url: "http://x", target: "http://x", embedded_store: null, options: { max_invalid_fraction: 0.05 } }, "0.0.0");
    const source = (path: string, split: "train" | "validation", valid: number, total: number, billable: number, p50: number, max: number) => ({
      path, sha256: "0".repeat(64), bytes: 1, records: valid, valid, invalid: 0, split, format: "openai-chat", skip_invalid: false,
      tokens: { method: "cookbook", tokenizer: "o200k_base", records: valid, total, trainable: Math.floor(total / 3), billable, p50, p95: max, max, over_limit: 0, limit: 65_536, longest: [] },
    });
    m.sources = [source("a.jsonl", "train", 5, 600, 600, 100, 200), source("b.jsonl", "train", 2, 900, 800, 400, 500), source("v.jsonl", "validation", 1, 50, 50, 50, 50)];
    const e = jobEstimate(m, "gpt-4o-mini-2024-07-18", { batch_size: 2 });
    // 7 examples × 3 epochs < 100: n_epochs = min(25, 100 // 7) = 14; steps = ceil(7 / 2) × 14 = 56.
    expect(e.train).toMatchObject({ files: 2, records: 7, total: 1500, billable: 1400, p50_at_most: 400, p95_at_most: 500, max: 500 });
    expect(e.training).toEqual({ basis: "openai-billing", epochs: 14, epochs_from: "cookbook-auto", steps: 56, tokens: 1400 * 14 });
    expect(jobEstimate(m, "gpt-4o-mini-2024-07-18", { n_epochs: 2 }).training).toEqual({ basis: "openai-billing", epochs: 2, epochs_from: "hyperparameters", steps: null, tokens: 2800 });
    // A source without counts (an older manifest): no trainable or billable total, said so by counted_files.
    const { tokens: _, ...uncounted } = source("c.jsonl", "train", 1, 0, 0, 0, 0);
    m.sources.push(uncounted);
    expect(jobEstimate(m, "gpt-4o-mini-2024-07-18", {}).train).toMatchObject({ files: 3, counted_files: 2, trainable: null, billable: null });
  });

  it("Together: its own n_epochs (default 1) × the data tokens, labelled Together's, not Mistral's", () => {
    const m: Manifest = newManifest({ provider: "together", base_url: "http://x", target: "http://x", embedded_store: null, options: {} }, "0.0.0");
    m.sources = [
      {
        path: "t.jsonl", sha256: "0".repeat(64), bytes: 1, records: 4, valid: 4, invalid: 0, split: "train", format: "together-chat", skip_invalid: false,
        tokens: { method: "estimate", tokenizer: null, records: 4, total: 1000, trainable: 300, billable: null, p50: 250, p95: 300, max: 300, over_limit: 0, limit: null, longest: [] },
      },
    ] as unknown as Manifest["sources"];
    const model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference";
    expect(jobEstimate(m, model, {}).training).toEqual({ basis: "together-data-tokens", epochs: 1, epochs_from: "provider-default", steps: null, tokens: 1000 });
    // `epochs` is Mistral's name: Together reads n_epochs only.
    expect(jobEstimate(m, model, { n_epochs: 3, epochs: 7 }).training).toEqual({ basis: "together-data-tokens", epochs: 3, epochs_from: "hyperparameters", steps: null, tokens: 3000 });
  });

  it("the cookbook's auto epochs: 3, raised to reach 100 examples (at most 25), lowered to stay under 25,000 (at least 1)", () => {
    expect([1, 3, 10, 33, 34, 100, 8333, 8334, 12_500, 30_000].map(cookbookAutoEpochs)).toEqual([25, 25, 10, 3, 3, 3, 3, 2, 2, 1]);
  });
});
