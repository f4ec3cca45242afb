import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { Findings } from "../../src/validate/findings.js";
import { checkRecord, detectFormat } from "../../src/validate/record.js";
import { schemaRegistry } from "../../src/validate/schema-registry.js";
import { emptyStats, estimateTokens, mergeStats, messagesByRole, statsSnapshot } from "../../src/validate/stats.js";
import { jsonEqual } from "../../src/validate/rules/tools.js";
import type { FormatId } from "../../src/types.js";

function check(record: unknown, format: FormatId = "mistral-chat") {
  const findings = new Findings();
  const stats = emptyStats();
  checkRecord(record as Record<string, unknown>, format, findings, stats, schemaRegistry());
  return { issues: (findings.issues ?? []).map((i) => `${i.code} ${i.path}`), stats };
}

const user = (content: unknown) => ({ role: "user", content });
const assistant = (content: unknown, extra: object = {}) => ({ role: "assistant", content, ...extra });

describe("Mistral chat rules", () => {
  it("reports a record's 10 problems as 10 issues, each at its own path", () => {
    const record = {
      messages: [
        { role: "system", content: "a" },
        { role: "system", content: "b" }, // E_MULTIPLE_SYSTEM
        { content: "no role" }, // E_MISSING_ROLE
        { role: "robot", content: "x" }, // E_UNKNOWN_ROLE
        user(null), // E_MISSING_CONTENT
        assistant(["not", "a", "string"]), // E_CONTENT_TYPE
        assistant("ok", { weight: "1" }), // E_WEIGHT
        {
          role: "assistant",
          tool_calls: [
            { id: "call_123", function: { name: "f", arguments: "{}" } }, // E_TOOL_CALL_ID
            { id: "abcdefghi", function: { name: "bad name!", arguments: {} } }, // E_NAME + E_TOOL_CALL_ARGUMENTS
          ],
        },
        { role: "tool", tool_call_id: "zzzzzzzzz", content: "r" }, // E_TOOL_CALL_UNKNOWN_ID
        { role: "tool", tool_call_id: "abcdefghi", content: "r" },
        assistant("done"),
      ],
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: {} } }],
    };
    const { issues } = check(record);
    expect(issues).toEqual([
      "E_MULTIPLE_SYSTEM /messages/1",
      "E_MISSING_ROLE /messages/2/role",
      "E_UNKNOWN_ROLE /messages/3/role",
      "E_MISSING_CONTENT /messages/4/content",
      "E_CONTENT_TYPE /messages/5/content",
      "E_WEIGHT /messages/6/weight",
      "E_TOOL_CALL_ID /messages/7/tool_calls/0/id",
      "E_NAME /messages/7/tool_calls/1/function/name",
      "E_TOOL_CALL_ARGUMENTS /messages/7/tool_calls/1/function/arguments",
      "E_TOOL_CALL_UNKNOWN_ID /messages/8/tool_call_id",
    ]);
  });

  it("accepts a well-formed function-calling conversation", () => {
    const record = {
      messages: [
        user("weather in Paris and Rome?"),
        {
          role: "assistant",
          content: "",
          tool_calls: [
            { id: "aaaaaaaa1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            { id: "aaaaaaaa2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "aaaaaaaa1", name: "weather", content: "sunny" },
        { role: "tool", tool_call_id: "aaaaaaaa2", name: "weather", content: "rain" },
        assistant("Paris: sunny; Rome: rain.", { weight: 1 }),
      ],
      tools: [{ type: "function", function: { name: "weather", description: "forecast", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    };
    const { issues, stats } = check(record);
    expect(issues).toEqual([]);
    expect(stats.toolCallRecords).toBe(1);
    expect(messagesByRole(stats)).toEqual({ user: 1, assistant: 2, tool: 2 });
  });

  it("counts tool responses against the calls they answer", () => {
    const calls = (n: number) => ({
      role: "assistant",
      tool_calls: Array.from({ length: n }, (_, i) => ({ id: `abcdefgh${i}`, function: { name: "f", arguments: "{}" } })),
    });
    const tool = (i: number) => ({ role: "tool", tool_call_id: `abcdefgh${i}`, content: "r" });
    const tools = [{ function: { name: "f", description: "d", parameters: {} } }];
    expect(check({ messages: [user("q"), calls(2), tool(0), assistant("a")], tools }).issues).toEqual(["E_TOOL_RESPONSE_COUNT /messages/3"]);
    expect(check({ messages: [user("q"), calls(1), tool(0), tool(0), assistant("a")], tools }).issues).toEqual(["E_TOOL_RESPONSE_COUNT /messages/3"]);
    // Calls left unanswered at the very end are allowed.
    expect(check({ messages: [user("q"), calls(2)], tools }).issues).toEqual([]);
  });

  it("allows the literal id \"null\" on the last assistant message only", () => {
    const call = { id: "null", function: { name: "f", arguments: "{}" } };
    const tools = [{ function: { name: "f", description: "d", parameters: {} } }];
    expect(check({ messages: [user("q"), { role: "assistant", tool_calls: [call] }], tools }).issues).toEqual([]);
    expect(check({ messages: [user("q"), { role: "assistant", tool_calls: [call] }, user("again"), assistant("a")], tools }).issues).toEqual([
      "E_TOOL_CALL_ID /messages/1/tool_calls/0/id",
    ]);
  });

  it("needs a message before the final assistant message", () => {
    expect(check({ messages: [{ role: "system", content: "s" }, assistant("a")] }).issues).toEqual(["E_ROLE_ORDER /messages/1"]);
    expect(check({ messages: [assistant("a")] }).issues).toEqual(["E_ROLE_ORDER /messages/0"]);
  });

  it("treats `interactions`, `available_tools` and `system_prompt` as their aliases", () => {
    expect(check({ system_prompt: "s", interactions: [user("q"), assistant("a")] }).issues).toEqual([]);
    expect(check({ system_prompt: "s", messages: [{ role: "system", content: "t" }, user("q"), assistant("a")] }).issues).toEqual([
      "E_MULTIPLE_SYSTEM /messages/0",
    ]);
  });

  it("falls back to E_SCHEMA when the schema rejects what no rule explains", () => {
    const { issues } = check({ messages: [user("q"), assistant("a")], parallel_tool_calls: "yes" }, "openai-chat");
    expect(issues).toEqual(["E_SCHEMA /parallel_tool_calls"]);
  });

  it("checks tool parameters against the draft-07 meta-schema", () => {
    const tools = [{ function: { name: "f", description: "d", parameters: { type: "objekt" } } }];
    expect(check({ messages: [user("q"), assistant("a")], tools }).issues).toEqual(["E_TOOL_SCHEMA /tools/0/function/parameters"]);
  });
});

describe("format detection", () => {
  it("picks the family most records share, and OpenAI only on OpenAI-only signs", () => {
    const chat = { messages: [user("q"), assistant("a")] };
    expect(detectFormat([chat, chat])).toBe("mistral-chat");
    expect(detectFormat([chat, { messages: [{ role: "developer", content: "d" }, user("q"), assistant("a")] }])).toBe("openai-chat");
    expect(detectFormat([{ text: "x" }, { text: "y" }, chat])).toBe("mistral-pretrain");
    expect(detectFormat([{ text: "x", labels: { t: "a" } }])).toBe("mistral-classifier");
    expect(detectFormat([{ input: { messages: [] }, preferred_output: [], non_preferred_output: [] }])).toBe("openai-dpo");
    expect(detectFormat([])).toBe("mistral-chat");
  });
});

describe("stats", () => {
  it("estimates tokens as ceil(characters / 4) + 3 per message", () => {
    const { stats } = check({ messages: [user("12345678"), assistant("1234")] });
    expect(stats.textChars).toBe(12);
    expect(estimateTokens(stats)).toBe(3 + 6);
  });

  it("keeps classifier labels in a prototype-free map", () => {
    const { stats, issues } = check({ text: "x", labels: { constructor: "toString", tags: ["a", "b"] } }, "mistral-classifier");
    expect(issues).toEqual([]);
    expect({ ...stats.labels.constructor }).toEqual({ toString: 1 });
    expect({ ...stats.labels.tags }).toEqual({ a: 1, b: 1 });
  });
});

describe("the per-record fast paths give the same findings", () => {
  const call = (id: string, name = "f", args = "{}") => ({ id, type: "function", function: { name, arguments: args } });
  const ids = (n: number, from = 0) => Array.from({ length: n }, (_, k) => `c${String(from + k).padStart(8, "0")}`);

  it("matches tool responses to calls past the few kept in an array, and forgets a record's ids at the next", () => {
    const many = ids(40);
    const record = {
      messages: [
        user("q"),
        { role: "assistant", tool_calls: many.map((id) => call(id)) },
        ...many.map((id) => ({ role: "tool", tool_call_id: id, content: "r" })),
        assistant("done"),
      ],
    };
    expect(check(record).issues).toEqual(many.map((_, k) => `W_TOOL_UNDECLARED /messages/1/tool_calls/${k}/function/name`));
    const unknown = { ...record, messages: [...record.messages.slice(0, 41), { role: "tool", tool_call_id: "zzzzzzzzz", content: "r" }, assistant("done")] };
    expect(check(unknown).issues).toContain("E_TOOL_CALL_UNKNOWN_ID /messages/41/tool_call_id");
    // The next record answers an id of the one before: unknown there.
    const next = { messages: [user("q"), { role: "tool", tool_call_id: many[0], content: "r" }, assistant("a")] };
    expect(check(next).issues).toContain("E_TOOL_CALL_UNKNOWN_ID /messages/1/tool_call_id");
    const few = { messages: [user("q"), { role: "assistant", tool_calls: [call("abcdefghi")] }, { role: "tool", tool_call_id: "abcdefghi", content: "r" }, assistant("a")] };
    check(few);
    expect(check(next).issues).toContain("E_TOOL_CALL_UNKNOWN_ID /messages/1/tool_call_id");
  });

  it("reports a tool call's name and arguments at their paths, and counts their characters", () => {
    const tools = [{ type: "function", function: { name: "f", description: "d", parameters: {} } }];
    const record = (calls: unknown[]) => ({ messages: [user("q"), { role: "assistant", tool_calls: calls }, ...calls.map(() => ({ role: "tool", tool_call_id: "abcdefghi", content: "r" })), assistant("a")], tools });
    expect(check(record([call("abcdefghi", "f", '{"x": 1}')])).issues).toEqual([]);
    expect(check(record([call("abcdefghi", "f", "{x")])).issues).toEqual(["E_TOOL_CALL_ARGUMENTS /messages/1/tool_calls/0/function/arguments"]);
    expect(check(record([call("abcdefghi", "bad name", "{}")])).issues).toEqual(["E_NAME /messages/1/tool_calls/0/function/name"]);
    expect(check(record([call("abcdefghi", "g", "{}")])).issues).toEqual(["W_TOOL_UNDECLARED /messages/1/tool_calls/0/function/name"]);
    expect(check(record([{ id: "abcdefghi", function: "f" }])).issues).toEqual(["E_TOOL_CALL_SHAPE /messages/1/tool_calls/0/function"]);
    expect(check(record([{ id: "abcdefghi", function: { arguments: "{}" } }])).issues).toEqual(["E_TOOL_CALL_SHAPE /messages/1/tool_calls/0/function/name"]);
    expect(check(record([{ id: "abcdefghi", function: { name: "f" } }])).issues).toEqual(["E_TOOL_CALL_SHAPE /messages/1/tool_calls/0/function/arguments"]);
    const chars = (args: string) => check(record([call("abcdefghi", "f", args)])).stats.textChars;
    expect(chars('{"x": 12}') - chars("{}")).toBe(7);
    expect(chars("{x") - chars("{}")).toBe(0);
  });

  it("counts roles in the order first seen, common or not", () => {
    const { stats } = check({ messages: [{ role: "developer", content: "d" }, user("q"), assistant("a"), { role: "tool", content: "t", tool_call_id: "abcdefghi" }, { role: "function", content: "f", name: "f" }, user("q"), assistant("a")] }, "openai-chat");
    expect(Object.entries(messagesByRole(stats))).toEqual([["developer", 1], ["user", 2], ["assistant", 2], ["tool", 1], ["function", 1]]);
    expect(stats.messages).toBe(7);
    // What a worker sends: plain data, the same counts, merged in the same order.
    const sent = structuredClone(statsSnapshot(stats));
    const merged = emptyStats();
    mergeStats(merged, sent);
    expect(Object.entries(messagesByRole(merged))).toEqual([["developer", 1], ["user", 2], ["assistant", 2], ["tool", 1], ["function", 1]]);
  });
});

describe("stats objects", () => {
  it("share one hidden class with fast properties, however many a process makes (each range and file has one)", () => {
    // V8's own view of the objects: code optimised for the first range's stats must not meet another shape later.
    setFlagsFromString("--allow-natives-syntax");
    const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;
    const fast = new Function("a", "return %HasFastProperties(a)") as (a: object) => boolean;
    const all = Array.from({ length: 4 }, () => check({ messages: [user("q"), assistant("a")] }).stats);
    for (const stats of all) {
      expect(fast(stats)).toBe(true);
      expect(sameMap(all[0]!, stats)).toBe(true);
    }
  });
});

describe("jsonEqual (the tools verdict's cache key)", () => {
  it("compares own keys whatever their order, and values deeply", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1, c: undefined })).toBe(false);
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(jsonEqual({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(jsonEqual({ a: null }, { a: {} })).toBe(false);
    const inherited = Object.create({ b: 2 }) as Record<string, unknown>;
    inherited.a = 1;
    expect(jsonEqual(inherited, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: 2 }, inherited)).toBe(false);
  });
});
