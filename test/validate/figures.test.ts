import { describe, expect, it } from "vitest";
import { figuresBySplit, mergeFigures } from "../../src/validate/figures.js";
import { Histogram, logBucket, logBucketFrom } from "../../src/validate/histogram.js";
import { validateLines } from "../../src/validate/file.js";
import { resolveTokenHook } from "../../src/tokens/hook.js";
import { locatePointer, issueSnippet } from "../../src/validate/snippet.js";

const user = (content: string) => ({ role: "user", content });
const assistant = (content: string, extra: Record<string, unknown> = {}) => ({ role: "assistant", content, ...extra });
const call = (name: string, id = "abcdefghi") => ({ id, type: "function", function: { name, arguments: "{}" } });
const tool = { type: "function", function: { name: "f", description: "d", parameters: { type: "object", properties: {} } } };

describe("fixed-bucket histograms", () => {
  it("keeps 0–7 one bucket each, then four per power of two, with every power of two an edge", () => {
    for (let v = 0; v < 8; v++) expect(logBucket(v)).toBe(v);
    expect([8, 9, 10, 12, 14, 15, 16].map(logBucket)).toEqual([8, 8, 9, 10, 11, 11, 12]);
    for (let e = 3; e < 31; e++) {
      expect(logBucketFrom(logBucket(2 ** e))).toBe(2 ** e);
      expect(logBucket(2 ** e - 1)).toBe(logBucket(2 ** e) - 1);
    }
    // Every value lies in its bucket: from ≤ v < to.
    for (const v of [8, 11, 100, 1000, 32767, 32768, 40959, 40960, 123456, 2 ** 30 + 5]) {
      const i = logBucket(v);
      expect(logBucketFrom(i)).toBeLessThanOrEqual(v);
      expect(logBucketFrom(i + 1)).toBeGreaterThan(v);
    }
  });

  it("prints the buckets from the first to the last non-empty one, and merges by adding", () => {
    const a = new Histogram("log");
    for (const v of [3, 100, 100, 130]) a.add(v);
    expect(a.toJSON().buckets).toEqual([
      { from: 3, to: 4, count: 1 },
      ...Array.from({ length: 21 - 1 }, (_, k) => ({ from: logBucketFrom(logBucket(3) + 1 + k), to: logBucketFrom(logBucket(3) + 2 + k), count: 0 })).filter((b) => b.from < 96),
      { from: 96, to: 112, count: 2 },
      { from: 112, to: 128, count: 0 },
      { from: 128, to: 160, count: 1 },
    ]);
    const b = Histogram.fromJSON(a.toJSON());
    b.merge(a);
    expect(b.total).toBe(8);
    expect(b.atOrAbove(96)).toBe(6);
    const share = new Histogram("share");
    for (const v of [0, 0.049, 0.05, 0.5, 1]) share.add(v);
    expect(share.toJSON().buckets.filter((x) => x.count > 0)).toEqual([
      { from: 0, to: 0.05, count: 2 },
      { from: 0.05, to: 0.1, count: 1 },
      { from: 0.5, to: 0.55, count: 1 },
      { from: 0.95, to: 1, count: 1 },
    ]);
  });
});

describe("a file's figures", () => {
  it("counts messages, assistant turns, roles, tool calls and tool names of the valid records only", async () => {
    const lines = [
      { messages: [user("a"), assistant("b")] },
      { messages: [{ role: "system", content: "s" }, user("q"), assistant("", { tool_calls: [call("get_weather"), call("get_time", "bcdefghij")] }), { role: "tool", content: "1", tool_call_id: "abcdefghi" }, { role: "tool", content: "2", tool_call_id: "bcdefghij" }, assistant("done")], tools: [tool] },
      { messages: [user("x")] }, // invalid: does not end with the assistant
      { system_prompt: "p", interactions: [user("a"), assistant("b"), user("c"), assistant("d")] },
    ].map((r) => JSON.stringify(r));
    // The tool call's empty content is an error; drop it so the record is valid.
    lines[1] = lines[1]!.replace('"content":"","tool_calls"', '"tool_calls"');
    const report = await validateLines(lines, { format: "mistral-chat" });
    expect(report.valid).toBe(3);
    const f = report.figures;
    expect(f.records).toBe(3);
    expect(f.roles).toEqual({ user: 4, assistant: 5, system: 2, tool: 2 });
    const counts = (h: { buckets: { from: number; count: number }[] }) => Object.fromEntries(h.buckets.filter((b) => b.count > 0).map((b) => [b.from, b.count]));
    expect(counts(f.messages)).toEqual({ 2: 1, 5: 1, 6: 1 });
    expect(counts(f.turns)).toEqual({ 1: 1, 2: 2 });
    expect(f.tools).toMatchObject({ records_with_tools: 1, records_with_calls: 1, calls: 2, distinct: 2, others: 0 });
    expect(f.tools.used).toEqual([{ name: "get_time", calls: 1 }, { name: "get_weather", calls: 1 }]);
    expect(counts(f.tools.calls_per_record)).toEqual({ 0: 2, 2: 1 });
    expect(f.tokens).toMatchObject({ method: "estimate", tokenizer: null, limit: null, over_limit: null });
    // The per-record estimates add up to the file's estimate (each record: ceil(chars / 4) + 3 per message).
    expect(f.tokens.total).toBeGreaterThanOrEqual(report.stats.tokens!.total - 3);
    expect(f.duplicates).toEqual({ checked: false, count: 0 });
  });

  it("estimates the trainable share from the trained assistant messages: all of them, only the last with tools, none with weight 0", async () => {
    const plain = JSON.stringify({ messages: [user("aaaa"), assistant("bbbb")] });
    const weighted = JSON.stringify({ messages: [user("aaaa"), assistant("bbbb", { weight: 0 }), user("cccc"), assistant("dddd")] });
    const report = await validateLines([plain, weighted], { format: "mistral-chat" });
    const shares = report.figures.trainable_share.per_record.buckets.filter((b) => b.count > 0).map((b) => b.from);
    // 4 of 8 characters, then 4 of 16.
    expect(shares).toEqual([0.25, 0.5]);
    expect(report.figures.trainable_share.method).toBe("estimate");
  });

  it("estimates the share of prompt/completion records from the completion, and gives none for preference pairs", async () => {
    const { Histogram } = await import("../../src/validate/histogram.js");
    const { FigureTally } = await import("../../src/validate/figures.js");
    const tally = new FigureTally("estimate", null, undefined, false);
    tally.add({ prompt: "aaa", completion: "b" }, "mistral-pretrain", { tokens: 4, trainable: undefined, chars: 4 });
    tally.add({ input: { messages: [user("q")] }, preferred_output: [assistant("a")], non_preferred_output: [assistant("b")] }, "openai-dpo", { tokens: 9, trainable: undefined, chars: 3 });
    const f = tally.finish();
    expect(f.trainable_share.per_record.buckets.filter((b) => b.count > 0)).toEqual([{ from: 0.25, to: 0.3, count: 1 }]);
    expect(Histogram.fromJSON(f.turns).total).toBe(1);
    expect(f.roles).toEqual({ user: 1, assistant: 1 });
  });

  it("uses the tokenizer's counts when there is one: exact tokens, the limit and the records over it", async () => {
    const hook = await resolveTokenHook({ model: "open-mistral-nemo", maxTokens: 12 });
    const short = JSON.stringify({ messages: [user("hi"), assistant("ok")] });
    const long = JSON.stringify({ messages: [user("a fairly long question with many words in it"), assistant("and an answer that is long too, with words")] });
    const report = await validateLines([short, long, short], { format: "mistral-chat", tokens: hook! });
    const f = report.figures;
    expect(f.tokens).toMatchObject({ method: "exact", tokenizer: "tekken-240718", limit: 12, over_limit: 1 });
    expect(f.tokens.total).toBe((report.stats.tokens as { total: number }).total);
    expect(f.trainable_share.method).toBe("exact");
    expect(Histogram.fromJSON(f.tokens.per_record).total).toBe(3);
  });

  it("counts duplicates when they are looked for, and label values of classifier files", async () => {
    const r = JSON.stringify({ messages: [user("a"), assistant("b")] });
    const report = await validateLines([r, r, r], { format: "mistral-chat", duplicates: true });
    expect(report.figures.duplicates).toEqual({ checked: true, count: 2 });
    const labelled = await validateLines([JSON.stringify({ text: "t", labels: { sentiment: "pos" } }), JSON.stringify({ text: "u", labels: { sentiment: "neg" } })], { format: "mistral-classifier" });
    expect(labelled.figures.labels).toEqual({ sentiment: { pos: 1, neg: 1 } });
  });

  it("merges per split: sums and histograms add up, differing limits drop the limit", async () => {
    const a = (await validateLines([JSON.stringify({ messages: [user("a"), assistant("b")] })], { format: "mistral-chat" })).figures;
    const b = (await validateLines([JSON.stringify({ messages: [user("a"), assistant("b"), user("c"), assistant("d")] })], { format: "mistral-chat" })).figures;
    const merged = mergeFigures([a, b])!;
    expect(merged.records).toBe(2);
    expect(merged.roles).toEqual({ user: 3, assistant: 3 });
    expect(Histogram.fromJSON(merged.messages).total).toBe(2);
    expect(mergeFigures([a, { ...b, tokens: { ...b.tokens, limit: 5, over_limit: 0 } }])!.tokens).toMatchObject({ limit: null, over_limit: null });
    const bySplit = figuresBySplit([{ split: "train", figures: a }, { split: "validation", figures: b }, { split: "train", figures: b }], 4096);
    expect(Object.keys(bySplit)).toEqual(["train", "validation"]);
    expect(bySplit.train!.records).toBe(2);
    expect(bySplit.train!.tokens.seq_len).toBe(4096);
  });

  it("merges many files' histograms into what one pass over their records gives", async () => {
    const record = (i: number) => {
      const messages: object[] = [];
      for (let t = 0; t <= i % 7; t++) messages.push(user("q".repeat(1 + ((i * 37) % 500))), assistant("a".repeat(1 + ((i * 101) % 3000))));
      return JSON.stringify({ messages });
    };
    const lines = Array.from({ length: 60 }, (_, i) => record(i));
    const files = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => validateLines(lines.slice(k * 10, k * 10 + 10), { format: "mistral-chat" })));
    const merged = mergeFigures(files.map((f) => f.figures))!;
    const whole = (await validateLines(lines, { format: "mistral-chat" })).figures;
    expect(merged.tokens.per_record).toEqual(whole.tokens.per_record);
    expect(merged.trainable_share.per_record).toEqual(whole.trainable_share.per_record);
    expect([merged.messages, merged.turns, merged.tools.calls_per_record]).toEqual([whole.messages, whole.turns, whole.tools.calls_per_record]);
    expect([merged.records, merged.tokens.total, merged.roles]).toEqual([whole.records, whole.tokens.total, whole.roles]);
  });
});

describe("issue snippets", () => {
  it("marks the value a JSON Pointer names, with its key, in the record as written", () => {
    const text = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [{"id": "call_1"}]}], "a/b": {"~x": 1}}';
    const at = (pointer: string) => {
      const span = locatePointer(text, pointer)!;
      return text.slice(span[0], span[1]);
    };
    expect(at("/messages/1/tool_calls/0/id")).toBe('"id": "call_1"');
    expect(at("/messages/0")).toBe('{"role": "user", "content": "hi"}');
    expect(at("/a~1b/~0x")).toBe('"~x": 1');
    // A member that is missing: its deepest existing parent.
    expect(at("/messages/0/name")).toBe('{"role": "user", "content": "hi"}');
  });

  it("keeps excerpts short, marks a JSON error's column, and is attached to the kept examples", async () => {
    const long = JSON.stringify({ messages: [user("x".repeat(1000)), { role: "assistant", content: 5 }] });
    const s = issueSnippet(long, "/messages/1/content", "");
    expect(s.text.length).toBeLessThanOrEqual(202);
    expect(s.text.slice(s.start, s.end)).toBe('"content":5');
    const report = await validateLines(['{"messages": [}'], { format: "mistral-chat" });
    const snippet = report.issues[0]!.snippet!;
    expect(report.issues[0]!.code).toBe("E_JSON");
    expect(snippet.text.slice(snippet.start, snippet.end)).toBe("}");
    const issues = (await validateLines([long], { format: "mistral-chat" })).issues;
    expect(issues[0]!.snippet!.text.slice(issues[0]!.snippet!.start, issues[0]!.snippet!.end)).toBe('"content":5');
  });
});

describe("schemas/figures.schema.json", () => {
  it("describes the figures of real outputs: per file and per split, estimated and counted, classifier labels, duplicates", async () => {
    const { Ajv } = await import("ajv");
    const { loadSchemaFile } = await import("../../src/schema-files.js");
    const { runCli } = await import("../helpers/cli.js");
    const check = new Ajv({ allErrors: true, strict: true }).compile(loadSchemaFile("figures.schema.json"));
    const fixtures = new URL("../../fixtures/", import.meta.url).pathname;
    const outputs = [
      await runCli("validate", "--json", "--duplicates", `${fixtures}datasets/mistral-chat`, `${fixtures}invalid/mistral-chat-rules.jsonl`),
      await runCli("validate", "--json", "--model", "open-mistral-nemo", "--seq-len", "4096", `${fixtures}datasets/mistral-function-calling`),
      await runCli("validate", "--json", `${fixtures}valid/mistral-classifier.jsonl`, `${fixtures}valid/mistral-pretrain.jsonl`),
    ];
    let seen = 0;
    for (const { stdout } of outputs) {
      const doc = JSON.parse(stdout) as { files: { figures: unknown }[]; figures: Record<string, unknown> };
      for (const figures of [...doc.files.map((f) => f.figures), ...Object.values(doc.figures)]) {
        expect(check(figures), JSON.stringify(check.errors)).toBe(true);
        seen++;
      }
    }
    expect(seen).toBeGreaterThanOrEqual(8);
  });
});
