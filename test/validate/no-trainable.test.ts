import { describe, expect, it } from "vitest";
import { validateLines } from "../../src/validate/file.js";

const tool = { type: "function", function: { name: "lookup", description: "Find", parameters: { type: "object", properties: {} } } };
const call = (id: string) => ({ id, type: "function", function: { name: "lookup", arguments: "{}" } });
const convo = (lastWeight: number | undefined) => [
  { role: "user", content: "a" },
  { role: "assistant", tool_calls: [call("abcdefgh1")] },
  { role: "tool", tool_call_id: "abcdefgh1", content: "{}" },
  { role: "assistant", content: "b", ...(lastWeight !== undefined ? { weight: lastWeight } : {}) },
];

async function codes(record: unknown): Promise<Record<string, number>> {
  return (await validateLines([JSON.stringify(record)], { format: "mistral-chat" })).counts;
}

// mistral-finetune: only_last = record.only_last or available_tools is not None (finetune/data/tokenize.py).
describe("W_NO_TRAINABLE when weights leave nothing to learn", () => {
  it("a record with tools whose last assistant message has weight 0 trains nothing", async () => {
    expect((await codes({ messages: convo(0), tools: [tool] })).W_NO_TRAINABLE).toBe(1);
    expect((await codes({ messages: convo(1), tools: [tool] })).W_NO_TRAINABLE).toBeUndefined();
  });

  it("without tools every assistant message trains, so a last weight 0 alone is fine", async () => {
    expect((await codes({ messages: convo(0) })).W_NO_TRAINABLE).toBeUndefined();
    expect((await codes({ messages: convo(0), tools: [] })).W_NO_TRAINABLE).toBeUndefined();
  });

  it("only_last: true and available_tools: [] set the same rule", async () => {
    const plain = [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }, { role: "assistant", content: "d", weight: 0 }];
    expect((await codes({ messages: plain, only_last: true })).W_NO_TRAINABLE).toBe(1);
    expect((await codes({ messages: plain, available_tools: [] })).W_NO_TRAINABLE).toBe(1);
    expect((await codes({ messages: plain })).W_NO_TRAINABLE).toBeUndefined();
  });
});
