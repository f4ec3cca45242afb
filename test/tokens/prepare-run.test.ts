import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifest } from "../../src/manifest/manifest.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("tokens-run", "all");
const dataset = join(repo, "fixtures/datasets/mistral-function-calling");

// Expected totals: mistral-finetune's tokenize.py over mistral-common 1.5.4 (Tekken 240718) on these fixture files,
// run outside this repository: train 1,279 / 110 trainable, validation 332 / 24.
describe("token counts before the run: prepare and run, per split, and in the manifest", () => {
  it("prepare --model: per split records, tokens, trainable and the training estimate (Mistral packing)", async () => {
    const { code, stdout } = await runCli("prepare", dataset, "--out", join(tmp(), "p"), "--json", "--model", "open-mistral-nemo", "--seq-len", "512", "--batch-size", "2", "--epochs", "3");
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { tokens: Record<string, Record<string, unknown>> };
    expect(doc.tokens.train).toMatchObject({ records: 7, method: "exact", tokenizer: "tekken-240718", total: 1279, trainable: 110, max: 253 });
    // 3 epochs × 1,279 tokens packed into 512 × 2 tokens a step: ceil(3837 / 1024) = 4 steps, 4,096 tokens.
    expect(doc.tokens.train!.training).toEqual({ steps: 4, epochs: 3, tokens: 4096, basis: "mistral-packing" });
    expect(doc.tokens.validation).toMatchObject({ records: 2, total: 332, trainable: 24, training: null });
  });

  it("run --model: the manifest records each source's token counts and stays valid against its schema", async () => {
    const manifestPath = join(tmp(), "m.json");
    const { code, stdout, stderr } = await runCli("run", dataset, "--model", "open-mistral-nemo", "--store", join(tmp(), "store"), "--manifest", manifestPath, "--out", join(tmp(), "out"));
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("train: 7 records, 1,279 tokens (exact, tekken-240718), 110 trainable");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as { sources: { path: string; tokens: Record<string, unknown> }[] };
    expect(checkManifest(manifest)).toBeUndefined();
    const bySplit = Object.fromEntries(manifest.sources.map((s) => [s.path.split("/").pop(), s.tokens]));
    expect(bySplit["train.jsonl"]).toMatchObject({ method: "exact", total: 1279, trainable: 110 });
    expect(bySplit["validation.jsonl"]).toMatchObject({ method: "exact", total: 332, trainable: 24 });
  });

  it("run without a model: the manifest's counts are the estimate, said so", async () => {
    const manifestPath = join(tmp(), "e.json");
    const { code } = await runCli("run", dataset, "--store", join(tmp(), "store2"), "--manifest", manifestPath, "--out", join(tmp(), "out2"), "--quiet");
    expect(code).toBe(0);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as { sources: { tokens: { method: string; tokenizer: null } }[] };
    expect(checkManifest(manifest)).toBeUndefined();
    expect(manifest.sources.map((s) => [s.tokens.method, s.tokens.tokenizer])).toEqual([["estimate", null], ["estimate", null]]);
  });
});
