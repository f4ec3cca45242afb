import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { bundledCounter } from "../../src/tokens/counter.js";

/*
 * Expected values: the cookbook's num_tokens_from_messages / num_assistant_tokens_from_messages
 * (examples/Chat_finetuning_data_prep.ipynb; string values only, assistant content counted when weight is absent or
 * 1), run in Python outside this repository over o200k_base's ranks with tiktoken's pure-Python BPE.
 */
const RECORDS: [unknown, number, number][] = [
  [{ messages: [{ role: "system", content: "You are Marv, a sarcastic bot." }, { role: "user", content: "What's the capital of France?" }, { role: "assistant", content: "Paris, as if everyone doesn't know that already." }] }, 41, 10],
  // A name (+1), a special-token look-alike counted as text, weight 0 left out of the trainable count.
  [{ messages: [{ role: "user", content: "Hi", name: "alice" }, { role: "assistant", content: "Hello <|endoftext|> Alice! 😀 日本語", weight: 0 }, { role: "user", content: "Again" }, { role: "assistant", content: "Hello again.", weight: 1 }] }, 39, 3],
  // tool_calls and tools are not string values: the cookbook counts nothing for them.
  [{ messages: [{ role: "user", content: "Weather in Paris?" }, { role: "assistant", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] }, { role: "tool", tool_call_id: "call_1", content: "22" }, { role: "assistant", content: "It is 22 degrees." }], tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }] }, 33, 6],
];

describe("OpenAI records, counted the cookbook's way (o200k_base)", () => {
  it("matches the cookbook's numbers record by record", async () => {
    const counter = await bundledCounter("o200k_base");
    expect(counter.method).toBe("cookbook");
    for (const [record, tokens, trainable] of RECORDS) expect(counter.count(record as Record<string, unknown>, "openai-chat")).toEqual({ tokens, trainable });
  });

  it("matches the cookbook's totals on fixtures/datasets/openai-tools/train.jsonl (592 tokens, 159 trainable)", async () => {
    const counter = await bundledCounter("o200k_base");
    const lines = (await readFile("fixtures/datasets/openai-tools/train.jsonl", "utf8")).split("\n").filter(Boolean);
    let tokens = 0;
    let trainable = 0;
    for (const line of lines) {
      const c = counter.count(JSON.parse(line) as Record<string, unknown>, "openai-chat")!;
      tokens += c.tokens;
      trainable += c.trainable;
    }
    expect({ tokens, trainable }).toEqual({ tokens: 592, trainable: 159 });
  });
});
