import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const fixture = (p: string) => join(repo, "fixtures", p);
const tmp = useTempDir("tokens-cli", "all");

// Expected totals: mistral-finetune's tokenize.py over mistral-common 1.5.4 (Tekken 240718), run outside this
// repository on the same fixture files: train 1,279 tokens / 110 trainable; validation 332 / 24; per record
// 162, 162, 164, 233, 193, 253, 112 and 166, 166.
describe("token counting on the command line", () => {
  it("validate --model open-mistral-nemo --json: exact per-file totals, trainable tokens and the method", async () => {
    const { code, stdout } = await runCli("validate", "--model", "open-mistral-nemo", "--json", fixture("datasets/mistral-function-calling"));
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { files: { path: string; stats: { tokens: Record<string, unknown> } }[]; tokens: Record<string, unknown> };
    const byName = Object.fromEntries(doc.files.map((f) => [f.path.split("/").pop(), f.stats.tokens]));
    expect(byName["train.jsonl"]).toMatchObject({ method: "exact", tokenizer: "tekken-240718", records: 7, total: 1279, trainable: 110, max: 253, limit: 32768, over_limit: 0 });
    expect(byName["train.jsonl"]!.longest).toEqual([{ line: 6, tokens: 253 }, { line: 4, tokens: 233 }, { line: 5, tokens: 193 }, { line: 3, tokens: 164 }, { line: 1, tokens: 162 }]);
    expect(byName["validation.jsonl"]).toMatchObject({ method: "exact", total: 332, trainable: 24 });
    expect(doc.tokens).toMatchObject({ method: "exact", total: 1611, trainable: 134 });
  });

  it("without a model: the estimate, labelled (est.) and \"method\": \"estimate\"", async () => {
    const human = await runCli("validate", fixture("datasets/mistral-chat"));
    expect(human.stdout).toMatch(/~[\d,]+ tokens \(est\.\)/);
    const json = await runCli("validate", "--json", fixture("datasets/mistral-chat"));
    const doc = JSON.parse(json.stdout) as { files: { stats: { tokens: { method: string; tokenizer: null } } }[]; tokens: { method: string } };
    expect(doc.files.map((f) => f.stats.tokens.method)).toEqual(["estimate", "estimate"]);
    expect(doc.tokens.method).toBe("estimate");
  });

  it("W_TOO_MANY_TOKENS over --max-tokens, saying what the trainer does; the longest records with their lines", async () => {
    const { code, stdout } = await runCli("validate", "--model", "open-mistral-nemo", "--max-tokens", "200", fixture("datasets/mistral-function-calling/train.jsonl"));
    expect(code).toBe(0);
    expect(stdout).toMatch(/W_TOO_MANY_TOKENS ×2/);
    expect(stdout).toContain(":4: / W_TOO_MANY_TOKENS the record has 233 tokens (tekken-240718), more than the 200 the model trains at; mistral-finetune packs and splits it");
    expect(stdout).toMatch(/longest: line 6: 253, line 4: 233/);
  });

  it("OpenAI models: the cookbook count, and a training estimate in billable tokens", async () => {
    const { stdout } = await runCli("validate", "--json", "--model", "gpt-4o-mini-2024-07-18", "--epochs", "3", "--batch-size", "4", fixture("datasets/openai-tools/train.jsonl"));
    const doc = JSON.parse(stdout) as { files: { stats: { tokens: Record<string, unknown> } }[]; tokens: { training: Record<string, unknown> } };
    // The cookbook's own functions give 592 / 159 for this file (see test/tokens/openai-record.test.ts).
    expect(doc.files[0]!.stats.tokens).toMatchObject({ method: "cookbook", tokenizer: "o200k_base", total: 592, trainable: 159, billable: 592 });
    expect(doc.tokens.training).toEqual({ steps: 9, epochs: 3, tokens: 1776, basis: "openai-billing" });
  });

  it("an unknown --model is a one-line usage error (exit 2); --tokenizer with a path reads a tokenizer.json", async () => {
    const bad = await runCli("validate", "--model", "gpt-5-nope", fixture("datasets/mistral-chat"));
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    const missing = await runCli("validate", "--tokenizer", join(tmp(), "nope.json"), fixture("datasets/mistral-chat"));
    expect(missing.code).toBe(2);
    // A tiny word-level tokenizer.json written here: one token per known word, [UNK] otherwise.
    const path = join(tmp(), "tokenizer.json");
    await writeFile(path, JSON.stringify({
      version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: "Whitespace" }, post_processor: null, decoder: null,
      model: { type: "WordLevel", vocab: { "[UNK]": 0, hello: 1, world: 2 }, unk_token: "[UNK]" },
    }));
    const data = join(tmp(), "d.jsonl");
    await writeFile(data, `${JSON.stringify({ messages: [{ role: "user", content: "hello world" }, { role: "assistant", content: "hello there friend" }] })}\n`);
    const { code, stdout } = await runCli("tokens", "--tokenizer", path, data);
    expect(code).toBe(0);
    const [record] = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    // 2 + 3 content tokens, 3 per message, 3 per record; trainable = the assistant's 3.
    expect(record).toEqual({ file: data, line: 1, tokens: 14, trainable: 3, method: "approximate", tokenizer: "hf:tokenizer.json" });
  });

  it("ftprep tokens: one NDJSON object per record, then the per-file totals", async () => {
    const { code, stdout } = await runCli("tokens", "--model", "open-mistral-nemo", fixture("datasets/mistral-function-calling"));
    expect(code).toBe(0);
    const rows = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const records = rows.filter((r) => r.line !== undefined);
    expect(records.map((r) => r.tokens)).toEqual([162, 162, 164, 233, 193, 253, 112, 166, 166]);
    expect(Object.keys(records[0]!)).toEqual(["file", "line", "tokens", "trainable", "method", "tokenizer"]);
    const totals = rows.filter((r) => r.line === undefined);
    expect(totals.map((t) => [t.records, t.tokens, t.trainable, t.method])).toEqual([[7, 1279, 110, "exact"], [2, 332, 24, "exact"]]);
  });
});
