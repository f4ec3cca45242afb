import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixPaths } from "../../src/index.js";
import { validateFile } from "../../src/validate/file.js";
import { runCli } from "../helpers/cli.js";
import { answerPairs, jsonl, readJsonl, schemaErrors } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ftprep-fix-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tools = [
  { type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } } } } },
  { type: "function", function: { name: "get_time", description: "Time in a city", parameters: { type: "object", properties: { city: { type: "string" } } } } },
];

const call = (id: string, name: string, city: string) => ({ id, type: "function", function: { name, arguments: JSON.stringify({ city }) } });

/**
 * OpenAI-style function-calling records: `call_…` ids, parallel calls answered out of order, and a second turn that
 * reuses "call_1" for another call (each tool message answers the latest call with its id).
 */
function openAiToolRecord(i: number): Record<string, unknown> {
  const city = `City${i}`;
  return {
    tools,
    messages: [
      { role: "system", content: "You answer with tools." },
      { role: "user", content: `Weather and time in ${city}?` },
      { role: "assistant", content: null, tool_calls: [call(`call_${i}a`, "get_weather", city), call(`call_${i}b`, "get_time", city)] },
      { role: "tool", tool_call_id: `call_${i}b`, content: "12:00" },
      { role: "tool", tool_call_id: `call_${i}a`, content: "sunny" },
      { role: "assistant", content: `Sunny, and it is noon in ${city}.` },
      { role: "user", content: "And tomorrow?" },
      { role: "assistant", content: null, tool_calls: [call("call_1", "get_weather", city)] },
      { role: "tool", tool_call_id: "call_1", content: "rain" },
      { role: "assistant", content: "Rain tomorrow." },
      ...(i === 0 ? [] : [{ role: "assistant", content: null, tool_calls: [call("call_1", "get_time", city)] }, { role: "tool", tool_call_id: "call_1", content: "13:00" }, { role: "assistant", content: "It is one o'clock now." }]),
    ],
  };
}

describe("ftprep fix: OpenAI-style tool calls for Mistral (acceptance)", () => {
  it("fails Mistral validation before, passes after, same record count, every id remapped consistently", async () => {
    const input = join(dir, "tools.jsonl");
    const records = Array.from({ length: 12 }, (_, i) => openAiToolRecord(i));
    await writeFile(input, jsonl(records));
    const before = await validateFile(input, { format: "mistral-chat" });
    expect(before.invalid).toBe(12);
    expect(before.counts.E_TOOL_CALL_ID).toBeGreaterThan(0);

    const output = join(dir, "tools.fixed.jsonl");
    const result = await runCli("fix", input, "-o", output, "--provider", "mistral", "--seed", "7");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tool_call_id ×\d+ \(lines 1, 2, 3, 4, 5, …\)/);

    const after = await validateFile(output, { format: "mistral-chat" });
    expect(after.errors).toBe(0);
    expect(after.records).toBe(12);
    const fixed = readJsonl(output);
    expect(fixed).toHaveLength(records.length);
    for (let r = 0; r < records.length; r++) {
      const original = records[r]!;
      const repaired = fixed[r]!;
      // Each tool message still answers the same call (same message, same position) as before.
      expect(answerPairs(repaired)).toEqual(answerPairs(original));
      expect(answerPairs(repaired).every(([, i]) => i >= 0)).toBe(true);
      const ids = (repaired.messages as { tool_calls?: { id: string }[]; tool_call_id?: string }[]).flatMap((m) => [...(m.tool_calls ?? []).map((c) => c.id), ...(m.tool_call_id ? [m.tool_call_id] : [])]);
      for (const id of ids) expect(id).toMatch(/^[a-zA-Z0-9]{9}$/);
      // Apart from the ids, the record is the same.
      const strip = (rec: Record<string, unknown>) => JSON.stringify(rec).replace(/"(id|tool_call_id)":"[^"]*"/g, "");
      expect(strip(repaired)).toBe(strip(original));
    }
  });

  it("is deterministic with --seed, and a different seed gives different ids", async () => {
    const input = join(dir, "seeded.jsonl");
    await writeFile(input, jsonl([openAiToolRecord(1), openAiToolRecord(2)]));
    const a = join(dir, "seed-a.jsonl");
    const b = join(dir, "seed-b.jsonl");
    const c = join(dir, "seed-c.jsonl");
    expect((await runCli("fix", input, "-o", a, "--seed", "42")).code).toBe(0);
    expect((await runCli("fix", input, "-o", b, "--seed", "42")).code).toBe(0);
    expect((await runCli("fix", input, "-o", c, "--seed", "43")).code).toBe(0);
    expect(readFileSync(a, "utf8")).toBe(readFileSync(b, "utf8"));
    expect(readFileSync(a, "utf8")).not.toBe(readFileSync(c, "utf8"));
  });
});

describe("ftprep fix: the other repairs", () => {
  it("turns legacy functions / function_call / role function into tools / tool_calls / tool answering the call", async () => {
    const input = join(dir, "legacy.jsonl");
    const legacy = {
      functions: [{ name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, function_call: { name: "get_weather", arguments: '{"city": "Oslo"}' } },
        { role: "function", name: "get_weather", content: "snow" },
        { role: "assistant", content: "Snow in Oslo." },
      ],
    };
    await writeFile(input, jsonl([legacy]));
    expect((await validateFile(input, { format: "mistral-chat" })).errors).toBeGreaterThan(0);
    const output = join(dir, "legacy.fixed.jsonl");
    const result = await runCli("fix", input, "-o", output, "--json");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(schemaErrors("fix", summary)).toEqual([]);
    expect(summary.files[0].changes).toEqual({
      legacy_functions: { count: 1, lines: [1] },
      legacy_function_call: { count: 1, lines: [1] },
      legacy_function_role: { count: 1, lines: [1] },
    });
    const [fixed] = readJsonl(output) as [{ tools: unknown[]; messages: Record<string, unknown>[] }];
    expect(fixed.tools).toEqual([{ type: "function", function: legacy.functions[0] }]);
    expect(fixed.messages[1]!.function_call).toBeUndefined();
    const id = (fixed.messages[1]!.tool_calls as { id: string }[])[0]!.id;
    expect(id).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(fixed.messages[2]).toEqual({ role: "tool", name: "get_weather", content: "snow", tool_call_id: id });
    expect((await validateFile(output, { format: "mistral-chat" })).errors).toBe(0);
  });

  it("removes trailing non-assistant messages, joins text parts, shapes images; counts each with its lines; copies clean records byte for byte", async () => {
    const input = join(dir, "mixed.jsonl");
    const clean = '{"messages": [{"role": "user", "content": "hi"},   {"role": "assistant", "content": "hello"}]}';
    const trailing = { messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }, { role: "user", content: "d" }] };
    const parts = {
      messages: [
        { role: "developer", content: [{ type: "text", text: "Be " }, { type: "text", text: "brief." }] },
        { role: "user", content: [{ type: "text", text: "What is it?" }, { type: "image_url", image_url: { url: "https://example.com/a.png" } }] },
        { role: "assistant", content: "A cat.", weight: 1 },
      ],
    };
    await writeFile(input, `${clean}\n\n${JSON.stringify(trailing)}\n${JSON.stringify(parts)}\n`);
    const output = join(dir, "mixed.fixed.jsonl");
    const result = await runCli("fix", input, "-o", output, "--json");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.files[0].changes).toEqual({
      blank_line: { count: 1, lines: [2] },
      trailing_message: { count: 2, lines: [3] },
      developer_role: { count: 1, lines: [4] },
      text_parts_joined: { count: 1, lines: [4] },
      image_url_shape: { count: 1, lines: [4] },
    });
    expect(summary.files[0]).toMatchObject({ records_in: 3, records_out: 3, changed: 2 });
    const text = readFileSync(output, "utf8").split("\n");
    expect(text[0]).toBe(clean);
    const fixed = readJsonl(output);
    expect(fixed[1]).toEqual({ messages: trailing.messages.slice(0, 2) });
    expect(fixed[2]!.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "What is it?" }, { type: "image_url", image_url: "https://example.com/a.png" }] },
      { role: "assistant", content: "A cat.", weight: 1 },
    ]);
  });

  it("keeps an unrepairable record (exit 1) unless --skip-invalid leaves it out, counted", async () => {
    const input = join(dir, "unrepairable.jsonl");
    const good = { messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }] };
    const bad = { messages: [{ role: "user", content: "no answer at all" }] };
    await writeFile(input, jsonl([good, bad, good]));
    const kept = join(dir, "kept.jsonl");
    const first = await runCli("fix", input, "-o", kept);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/--skip-invalid leaves them out/);
    expect(readJsonl(kept)).toHaveLength(3);

    const skipped = join(dir, "skipped.jsonl");
    const second = await runCli("fix", input, "-o", skipped, "--skip-invalid", "--json");
    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary.totals).toMatchObject({ records_in: 3, records_out: 2, skipped_invalid: 1 });
    expect(summary.files[0].check).toMatchObject({ records: 2, errors: 0 });
    expect(readJsonl(skipped)).toEqual([good, good]);
  });

  it("--dry-run shows the changes and writes nothing", async () => {
    const input = join(dir, "dry.jsonl");
    await writeFile(input, jsonl([openAiToolRecord(3)]));
    const output = join(dir, "dry-out.jsonl");
    const result = await runCli("fix", input, "-o", output, "--dry-run");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/dry run: nothing written/);
    expect(result.stdout).toMatch(/tool_call_id ×8 \(line 1\)/);
    expect(existsSync(output)).toBe(false);
  });

  it("fixes a directory into the same relative names (a .json array becomes .jsonl) and refuses to overwrite its input", async () => {
    const src = join(dir, "tree");
    await mkdir(join(src, "sub"), { recursive: true });
    await writeFile(join(src, "train.jsonl"), jsonl([openAiToolRecord(4)]));
    await writeFile(join(src, "sub", "valid.json"), JSON.stringify([openAiToolRecord(5)]));
    const out = join(dir, "tree-out");
    const summary = await fixPaths([src], { out, seed: 1 });
    expect(summary.ok).toBe(true);
    expect(summary.files.map((f) => f.output)).toEqual([join(out, "sub", "valid.jsonl"), join(out, "train.jsonl")]);
    for (const f of summary.files) expect((await validateFile(f.output!, { format: "mistral-chat" })).errors).toBe(0);

    const again = await runCli("fix", join(src, "train.jsonl"), "-o", join(src, "train.jsonl"));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is the input/);
  });

  it("for an OpenAI target leaves call_ ids alone and maps Mistral's aliases", async () => {
    const input = join(dir, "aliases.jsonl");
    const records = Array.from({ length: 10 }, (_, i) => ({ system_prompt: "Be kind.", interactions: [{ role: "user", text: `q${i}` }, { role: "assistant", content: "a", tool_calls: undefined }] }));
    await writeFile(input, jsonl([...records, openAiToolRecord(6)]));
    const output = join(dir, "aliases.openai.jsonl");
    const result = await runCli("fix", input, "-o", output, "--provider", "openai", "--json");
    const summary = JSON.parse(result.stdout);
    expect(result.code).toBe(0);
    expect(summary.files[0].changes).toEqual({ mistral_aliases: { count: 30, lines: [1, 2, 3, 4, 5] } });
    const fixed = readJsonl(output);
    expect(fixed[0]).toEqual({ messages: [{ role: "system", content: "Be kind." }, { role: "user", content: "q0" }, { role: "assistant", content: "a" }] });
    expect(fixed[10]).toEqual(openAiToolRecord(6));
  });
});
