import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertPaths } from "../../src/index.js";
import { validateFile } from "../../src/validate/file.js";
import { runCli } from "../helpers/cli.js";
import { jsonl, readJsonl, schemaErrors } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ftprep-convert-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fixtures = join(import.meta.dirname, "..", "..", "fixtures");

type Rec = Record<string, unknown>;
type Msg = Record<string, unknown>;

/**
 * A chat record in the form both providers share: Mistral's aliases as OpenAI keys, `developer` as `system`, no
 * `name` (each target drops the names the other lacks) or `parallel_tool_calls`, non-user text parts joined, an
 * image given by URL alone as the URL, trailing non-assistant messages gone (Mistral cannot hold them), and
 * tool-call ids numbered by first appearance (ids are remapped; the pairing is what must survive).
 */
function overlap(record: Rec): Rec {
  const r = structuredClone(record);
  const messages = ((r.messages ?? r.interactions) as Msg[]).map((m) => ({ ...m }));
  if (typeof r.system_prompt === "string") messages.unshift({ role: "system", content: r.system_prompt });
  const ids = new Map<string, string>();
  const idOf = (id: string): string => {
    if (!ids.has(id)) ids.set(id, `id${ids.size}`);
    return ids.get(id)!;
  };
  for (const m of messages) {
    if (m.text !== undefined) {
      m.content = m.text;
      delete m.text;
    }
    if (m.role === "developer") m.role = "system";
    delete m.name;
    if (m.role !== "user" && Array.isArray(m.content) && m.content.every((p: Msg) => p.type === "text")) m.content = m.content.map((p: Msg) => p.text).join("");
    if (Array.isArray(m.content)) {
      m.content = m.content.map((p: Msg) => {
        const image = p.image_url as Msg | string | undefined;
        return typeof image === "object" && image !== null && Object.keys(image).length === 1 ? { ...p, image_url: image.url } : p;
      });
    }
    if (Array.isArray(m.tool_calls)) m.tool_calls = m.tool_calls.map((c: Msg) => ({ ...c, id: idOf(c.id as string) }));
    if (typeof m.tool_call_id === "string") m.tool_call_id = idOf(m.tool_call_id);
  }
  while (messages.length > 0 && ["user", "tool"].includes(messages[messages.length - 1]!.role as string)) messages.pop();
  const out: Rec = { messages };
  const tools = r.tools ?? r.available_tools;
  if (tools !== undefined) out.tools = tools;
  return out;
}

/** Records of a JSONL or .json array file. */
function recordsOf(path: string): Rec[] {
  return path.endsWith(".json") ? (JSON.parse(readFileSync(path, "utf8")) as Rec[]) : readJsonl(path);
}

/** Converts with the CLI and returns the --json summary. */
async function convert(input: string, to: string, out: string, ...flags: string[]): Promise<{ code: number; summary: any; stderr: string }> {
  const result = await runCli("convert", input, "--to", to, "-o", out, "--seed", "3", "--json", ...flags);
  const summary = JSON.parse(result.stdout);
  expect(schemaErrors("convert", summary)).toEqual([]);
  return { code: result.code, summary, stderr: result.stderr };
}

/** Every record of every output file valid for the target (file-level OpenAI minimum aside). */
function expectRecordsValid(summary: any): void {
  for (const file of summary.files) {
    expect(file.check.invalid, `${file.output}: ${JSON.stringify(file.check.issues)}`).toBe(0);
    expect(Object.keys(file.check.counts).filter((c) => c.startsWith("E_") && c !== "E_TOO_FEW_EXAMPLES")).toEqual([]);
  }
}

describe("ftprep convert: round trips on the fixtures", () => {
  const mistral = ["datasets/mistral-chat/train.jsonl", "datasets/mistral-chat/validation.jsonl", "datasets/mistral-function-calling/train.jsonl", "valid/mistral-chat.jsonl", "valid/mistral-chat-array.json"];
  for (const name of mistral) {
    it(`Mistral → OpenAI → Mistral: ${name}`, async () => {
      const input = join(fixtures, name);
      const stem = name.replace(/[/.]/g, "_");
      const openai = join(dir, `${stem}.openai.jsonl`);
      const back = join(dir, `${stem}.back.jsonl`);
      const there = await convert(input, "openai-chat", openai);
      expectRecordsValid(there.summary);
      const again = await convert(openai, "mistral-chat", back);
      expect(again.code).toBe(0);
      expectRecordsValid(again.summary);
      const original = recordsOf(input);
      expect(readJsonl(back).map(overlap)).toEqual(original.map(overlap));
      expect(readJsonl(openai)).toHaveLength(original.length);
    });
  }
  const openai = ["datasets/openai-tools/train.jsonl", "datasets/openai-tools/validation.jsonl", "valid/openai-chat.jsonl"];
  for (const name of openai) {
    it(`OpenAI → Mistral → OpenAI: ${name}`, async () => {
      const input = join(fixtures, name);
      const stem = name.replace(/[/.]/g, "_");
      const mistralOut = join(dir, `${stem}.mistral.jsonl`);
      const back = join(dir, `${stem}.back.jsonl`);
      const there = await convert(input, "mistral-chat", mistralOut);
      expect(there.code).toBe(0);
      expectRecordsValid(there.summary);
      const again = await convert(mistralOut, "openai-chat", back);
      expectRecordsValid(again.summary);
      expect(readJsonl(back).map(overlap)).toEqual(recordsOf(input).map(overlap));
    });
  }
});

const turns = (i: number) => [
  { from: "human", value: `Question ${i}?` },
  { from: "gpt", value: `Answer ${i}.` },
  { from: "human", value: "Thanks!" },
  { from: "gpt", value: "You are welcome." },
];

/** ShareGPT records, one with LLaMA-Factory's function calling (tools as a JSON string, function_call, observation). */
function shareGpt(n: number): Rec[] {
  const records: Rec[] = Array.from({ length: n }, (_, i) => ({ id: `sg-${i}`, system: i % 2 === 0 ? "Be helpful." : "", conversations: turns(i) }));
  records.push({
    id: "sg-tools",
    tools: JSON.stringify([{ name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } } } }]),
    conversations: [
      { from: "human", value: "Weather in Rome?" },
      { from: "function_call", value: JSON.stringify({ name: "get_weather", arguments: { city: "Rome" } }) },
      { from: "observation", value: "sunny" },
      { from: "gpt", value: "Sunny in Rome." },
    ],
  });
  return records;
}

function alpaca(n: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({ instruction: `Translate ${i} to French.`, input: i % 2 === 0 ? "" : `number ${i}`, output: `nombre ${i}`, category: "translation" }));
}

describe("ftprep convert: ShareGPT, Alpaca, prompt/completion, from JSONL, .json, .jsonl.gz and Parquet", () => {
  it("converts ShareGPT (with function calling) to records valid for both targets", async () => {
    const input = join(dir, "sharegpt.jsonl");
    await writeFile(input, jsonl(shareGpt(11)));
    for (const to of ["mistral-chat", "openai-chat"]) {
      const out = join(dir, `sharegpt.${to}.jsonl`);
      const { code, summary } = await convert(input, to, out);
      expect(code).toBe(0);
      expect(summary.files[0].source_formats).toEqual({ sharegpt: 12 });
      expect(summary.files[0].changes.extra_columns_dropped.count).toBe(12);
      expect(summary.files[0].changes.from_sharegpt).toEqual({ count: 12, lines: [1, 2, 3, 4, 5] });
      const records = readJsonl(out);
      expect(records[0]).toEqual({
        messages: [
          { role: "system", content: "Be helpful." },
          { role: "user", content: "Question 0?" },
          { role: "assistant", content: "Answer 0." },
          { role: "user", content: "Thanks!" },
          { role: "assistant", content: "You are welcome." },
        ],
      });
      const tools = records[11] as { messages: Msg[]; tools: unknown[] };
      const callId = (tools.messages[1]!.tool_calls as { id: string }[])[0]!.id;
      expect(tools.messages[1]).toEqual({ role: "assistant", tool_calls: [{ id: callId, type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }] });
      expect(tools.messages[2]).toEqual({ role: "tool", content: "sunny", tool_call_id: callId });
      expect(callId).toMatch(/^[a-zA-Z0-9]{9}$/);
      expect((await validateFile(out, { format: to as "mistral-chat" })).errors).toBe(0);
    }
  });

  it("converts Alpaca from a .json array and prompt/completion from .jsonl.gz, for both targets", async () => {
    const json = join(dir, "alpaca.json");
    await writeFile(json, JSON.stringify(alpaca(10)));
    const gz = join(dir, "pc.jsonl.gz");
    await writeFile(gz, gzipSync(jsonl(Array.from({ length: 10 }, (_, i) => ({ prompt: `Say ${i}`, completion: `${i}` })))));
    for (const to of ["mistral-chat", "openai-chat"]) {
      const out = join(dir, `tabular-${to}`);
      const { code, summary } = await convert(json, to, out);
      expect(code).toBe(0);
      const records = readJsonl(join(out, "alpaca.jsonl"));
      expect(records[1]).toEqual({ messages: [{ role: "user", content: "Translate 1 to French.\n\nnumber 1" }, { role: "assistant", content: "nombre 1" }] });
      expect(summary.files[0].source_formats).toEqual({ alpaca: 10 });
      const second = await convert(gz, to, out);
      expect(second.code).toBe(0);
      expect(readJsonl(join(out, "pc.jsonl"))[3]).toEqual({ messages: [{ role: "user", content: "Say 3" }, { role: "assistant", content: "3" }] });
    }
  });

  it("reads Parquet row group by row group (nested ShareGPT lists, flat Alpaca columns), with --map for other column names", async () => {
    const src = join(dir, "parquet");
    await mkdir(src, { recursive: true });
    const sg = shareGpt(40).slice(0, 40);
    await writeFile(
      join(src, "sharegpt.parquet"),
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: "id", data: sg.map((r) => r.id) },
            { name: "dialog", data: sg.map((r) => r.conversations) },
          ],
          schema: [
            { name: "root", num_children: 2 },
            { name: "id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
            { name: "dialog", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
            { name: "list", repetition_type: "REPEATED", num_children: 1 },
            { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
            { name: "from", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
            { name: "value", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
          ],
          rowGroupSize: 7,
        }),
      ),
    );
    const rows = alpaca(25);
    await writeFile(
      join(src, "qa.parquet"),
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: "question", data: rows.map((r) => r.instruction), type: "STRING" },
            { name: "context", data: rows.map((r) => (r.input === "" ? null : r.input)), type: "STRING" },
            { name: "answer", data: rows.map((r) => r.output), type: "STRING" },
            { name: "n", data: rows.map((_, i) => BigInt(i)), type: "INT64" },
          ],
          rowGroupSize: 10,
        }),
      ),
    );
    for (const to of ["mistral-chat", "openai-chat"]) {
      const out = join(dir, `parquet-${to}`);
      const { code, summary } = await convert(src, to, out, "--map", "conversations=dialog", "--map", "instruction=question", "--map", "input=context", "--map", "output=answer");
      expect(code).toBe(0);
      expect(summary.files.map((f: any) => basename(f.output))).toEqual(["qa.jsonl", "sharegpt.jsonl"]);
      expect(summary.files.map((f: any) => f.source_formats)).toEqual([{ alpaca: 25 }, { sharegpt: 40 }]);
      const qa = readJsonl(join(out, "qa.jsonl"));
      expect(qa).toHaveLength(25);
      expect(qa[24]).toEqual({ messages: [{ role: "user", content: "Translate 24 to French." }, { role: "assistant", content: "nombre 24" }] });
      expect(qa[3]!.messages).toEqual([{ role: "user", content: "Translate 3 to French.\n\nnumber 3" }, { role: "assistant", content: "nombre 3" }]);
      const chats = readJsonl(join(out, "sharegpt.jsonl"));
      expect(chats).toHaveLength(40);
      expect(chats[39]).toEqual({ messages: [{ role: "user", content: "Question 39?" }, { role: "assistant", content: "Answer 39." }, { role: "user", content: "Thanks!" }, { role: "assistant", content: "You are welcome." }] });
      expectRecordsValid(summary);
    }
  });
});

describe("ftprep convert: policies, counted", () => {
  const openaiRecord = {
    parallel_tool_calls: false,
    messages: [
      { role: "developer", content: "Be terse." },
      { role: "user", name: "ann", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "https://example.com/x.png" } }] },
      { role: "assistant", content: "A dog.", refusal: null },
    ],
  };

  it("maps developer, drops names and OpenAI-only keys by default; --images drop drops images", async () => {
    const input = join(dir, "policies.jsonl");
    await writeFile(input, jsonl([openaiRecord]));
    const out = join(dir, "policies.out.jsonl");
    const { code, summary } = await convert(input, "mistral-chat", out, "--images", "drop");
    expect(code).toBe(0);
    expect(summary.files[0].changes).toEqual({
      developer_mapped: { count: 1, lines: [1] },
      names_dropped: { count: 1, lines: [1] },
      openai_keys_dropped: { count: 2, lines: [1] },
      images_dropped: { count: 1, lines: [1] },
    });
    expect(readJsonl(out)[0]).toEqual({
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: [{ type: "text", text: "What is this?" }] },
        { role: "assistant", content: "A dog." },
      ],
    });
  });

  it("a fail policy leaves the record unconverted (exit 1), or out with --skip-invalid (counted)", async () => {
    const input = join(dir, "fail.jsonl");
    const plain = { messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }] };
    await writeFile(input, jsonl([plain, openaiRecord, { unknown: "shape" }]));
    const out = join(dir, "fail.out.jsonl");
    const first = await convert(input, "mistral-chat", out, "--developer", "fail");
    expect(first.code).toBe(1);
    expect(first.summary.files[0].unconvertible).toEqual({ policy_developer: { count: 1, lines: [2] }, unknown_format: { count: 1, lines: [3] } });
    expect(readJsonl(out)).toHaveLength(3);
    const second = await convert(input, "mistral-chat", out, "--developer", "fail", "--skip-invalid");
    expect(second.code).toBe(0);
    expect(second.summary.totals).toMatchObject({ records_in: 3, records_out: 1, skipped_invalid: 2, unconvertible: 2 });
    expect(readJsonl(out)).toEqual([plain]);
  });

  it("copies a chat record that needs no change byte for byte, and counts it unchanged", async () => {
    const input = join(dir, "plain.jsonl");
    const line = '{"messages": [ {"role": "user", "content": "a"},  {"role": "assistant", "content": "b"} ]}';
    await writeFile(input, `${line}\n`.repeat(10));
    const out = join(dir, "plain.out.jsonl");
    const { code, summary } = await convert(input, "openai-chat", out);
    expect(code).toBe(0);
    expect(summary.totals).toMatchObject({ records_in: 10, records_out: 10, changed: 0, changes: {} });
    expect(readFileSync(out, "utf8")).toBe(`${line}\n`.repeat(10));
  });

  it("is in the library API, and a usage mistake is one line with exit 2", async () => {
    const input = join(dir, "lib.jsonl");
    await writeFile(input, jsonl(alpaca(2)));
    const summary = await convertPaths([input], { to: "mistral-chat", out: join(dir, "lib-out.jsonl"), dryRun: true });
    expect(summary.dry_run).toBe(true);
    expect(summary.files[0]!.output).toBeNull();
    expect(existsSync(join(dir, "lib-out.jsonl"))).toBe(false);
    const bad = await runCli("convert", input, "--to", "mistral-chat", "-o", join(dir, "x.jsonl"), "--map", "nonsense=col");
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")[0]).toMatch(/Expected KEY to be one of/);
  });
});

describe("ftprep convert: stopping and broken inputs", () => {
  it("Ctrl-C keeps the finished files, removes the one being written, and exits 3 with one line", async () => {
    const src = join(dir, "interrupt");
    await mkdir(src, { recursive: true });
    await writeFile(join(src, "a.jsonl"), jsonl(alpaca(10)));
    // Large enough that the conversion is still running when the signal arrives.
    const big = jsonl(alpaca(2000));
    await writeFile(join(src, "b.jsonl"), big.repeat(200));
    const out = join(dir, "interrupt-out");
    const child = spawn(process.execPath, [join(import.meta.dirname, "..", "..", "bin", "ftprep.js"), "convert", src, "--to", "mistral-chat", "-o", out], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
    // The first file's line on stdout: it is finished, and the second one is being converted.
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGINT");
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(3);
    expect(stderr).toMatch(/ftprep: stopping/);
    expect(stderr).toMatch(/ftprep( convert)?: stopped while reading .*b\.jsonl; 1 file\(s\) were finished/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(readJsonl(join(out, "a.jsonl"))).toHaveLength(10);
    expect(readdirSync(out)).toEqual(["a.jsonl"]);
  });

  it("a corrupt .jsonl.gz stops that file early (exit 1, said per file); the other files are still converted", async () => {
    const src = join(dir, "corrupt");
    await mkdir(src, { recursive: true });
    await writeFile(join(src, "bad.jsonl.gz"), gzipSync(jsonl(alpaca(20))).subarray(0, 40));
    await writeFile(join(src, "good.jsonl"), jsonl(alpaca(3)));
    const out = join(dir, "corrupt-out");
    const result = await runCli("convert", src, "--to", "mistral-chat", "-o", out, "--json");
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.files[0].path).toMatch(/bad\.jsonl\.gz$/);
    expect(summary.files[0].read_error).toMatch(/not valid gzip data/);
    expect(readJsonl(join(out, "good.jsonl"))).toHaveLength(3);
  });

  it("a file that is not Parquet is one line and exit 3", async () => {
    const input = join(dir, "fake.parquet");
    await writeFile(input, "this is not parquet at all, just text");
    const result = await runCli("convert", input, "--to", "openai-chat", "-o", join(dir, "fake.jsonl"));
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^ftprep( convert)?: cannot read .*fake\.parquet as Parquet: /);
  });
});
