import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { validateFile, validateLines } from "../../src/validate/file.js";
import { checkStructure, MAX_RECORD_DEPTH, MAX_RECORD_VALUES } from "../../src/validate/structure.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("structure", "all");
const chat = (extra: string) => `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]${extra}}`;
const good = chat("");
/** A value nesting `levels` arrays (JSON.stringify of such a value would itself overflow the stack). */
const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
/** A tool whose `parameters` nests `levels` schemas: ~800 levels make a 30 kB line. */
function deepTool(levels: number): string {
  let parameters = '{"type":"string"}';
  for (let i = 0; i < levels; i++) parameters = `{"type":"object","properties":{"a":${parameters}}}`;
  return chat(`,"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":${parameters}}}]`);
}
const bytes = (s: string) => Buffer.from(s, "utf8");

describe("record structure limits", () => {
  it("reports a tool schema nested 800 levels as E_TOO_DEEP on its line and validates the rest", async () => {
    const line = deepTool(800);
    expect(line.length).toBeGreaterThan(25_000);
    const report = await validateLines([good, line, good]);
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([[2, "E_TOO_DEEP"]]);
    expect(report.valid).toBe(2);
  });

  it("takes a record just within the depth limit through every step: tool schema, duplicates", async () => {
    const line = deepTool(61); // 4 levels to `parameters`, 2 per schema level, 1 innermost: 127
    expect(checkStructure(bytes(line))).toBeUndefined();
    const report = await validateLines([line, line], { duplicates: true });
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([[2, "W_DUPLICATE"]]);
  });

  it("reports a 5,000-deep value as E_TOO_DEEP with --duplicates, in JSONL and .json files", async () => {
    const deep = chat(`,"extra":${nested(5000)}`);
    const report = await validateLines([good, deep, good], { duplicates: true });
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([
      [2, "E_TOO_DEEP"],
      [3, "W_DUPLICATE"],
    ]);
    const path = join(tmp(), "deep.json");
    await writeFile(path, `[${good},${deep},${nested(5000)}]`);
    const fromJson = await validateFile(path, { duplicates: true });
    expect(fromJson.issues.map((i) => [i.line, i.code])).toEqual([
      [2, "E_TOO_DEEP"],
      [3, "E_TOO_DEEP"],
    ]);
  });

  it("draws the depth line exactly at the limit, and does not count brackets inside strings", () => {
    const at = (levels: number) => bytes(`{"a":${nested(levels - 1)}}`);
    expect(checkStructure(at(MAX_RECORD_DEPTH))).toBeUndefined();
    expect(checkStructure(at(MAX_RECORD_DEPTH + 1))?.code).toBe("E_TOO_DEEP");
    const inString = bytes(JSON.stringify({ a: "[{".repeat(1000), b: '\\"[[[[' + "{".repeat(300) }));
    expect(checkStructure(inString)).toBeUndefined();
  });

  it("draws the value-count line exactly at the limit", () => {
    // {"a":[0,0,…]}: the object, the array and its elements.
    const zeros = (count: number) => bytes(`{"a":[${new Array(count).fill("0").join(",")}]}`);
    expect(checkStructure(zeros(MAX_RECORD_VALUES - 2))).toBeUndefined();
    expect(checkStructure(zeros(MAX_RECORD_VALUES - 1))?.code).toBe("E_TOO_MANY_VALUES");
    const members = (count: number) => bytes(`{${Array.from({ length: count }, (_, i) => `"k${i}":{}`).join(",")}}`);
    expect(checkStructure(members(MAX_RECORD_VALUES - 1))).toBeUndefined();
    expect(checkStructure(members(MAX_RECORD_VALUES))?.code).toBe("E_TOO_MANY_VALUES");
  });

  it("refuses a line of tiny objects before parsing it, and goes on", async () => {
    const wide = `{"messages":[${"{},".repeat(3_000_000)}{}]}`;
    const report = await validateLines([wide, good]);
    expect(report.issues.map((i) => [i.line, i.code])).toEqual([[1, "E_TOO_MANY_VALUES"]]);
    expect(report.valid).toBe(1);
  });
});
