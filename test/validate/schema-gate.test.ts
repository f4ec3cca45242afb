import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Ajv } from "ajv";
import { FORMATS, type FormatId } from "../../src/types.js";
import { Findings } from "../../src/validate/findings.js";
import { checkRecord } from "../../src/validate/record.js";
import { compileSchemaGate, UnsupportedSchemaError } from "../../src/validate/schema-gate.js";
import { createSchemaRegistry, type SchemaRegistry } from "../../src/validate/schema-registry.js";
import { emptyStats } from "../../src/validate/stats.js";
import { fixtureValues } from "../helpers/fixture-values.js";

const formats = FORMATS as readonly FormatId[];
const registry = createSchemaRegistry();
/** The same registry without its gate: every record goes through ajv, as validation did before the gate. */
const ajvOnly: SchemaRegistry = { record: (format) => registry.record(format), checkJsonSchema: (value) => registry.checkJsonSchema(value) };

/** Values that break a record's structure in every way the schemas look at: types, names, enums, patterns, lengths. */
const REPLACEMENTS: unknown[] = [
  null, true, false, 0, 1, -1, 0.5, 2, "", "x", "😀", "abcDEF123", "abcDEF12", "abc-EF123", "get_weather", "a".repeat(65), "not json",
  "system", "user", "assistant", "tool", "developer", "function", "text", "image_url", "data:image/png;base64,AA", "https://x/y.png",
  [], [null], ["x"], [{}], {}, { type: "text" }, { type: "text", text: "t" }, { type: "image_url", image_url: "u" },
  { role: "user", content: "q" }, { role: "assistant", content: "a" }, { role: "tool", content: "r", tool_call_id: "abcDEF123" },
];
/** Keys a mutation adds to an object: the ones the schemas forbid together, require, or leave out. */
const EXTRA_KEYS = ["content", "text", "tool_calls", "tool_call_id", "name", "weight", "messages", "interactions", "tools", "available_tools", "prompt", "completion", "labels", "input", "extra"];

type Json = unknown;
type Path = (string | number)[];

/** Every place in a JSON value: the path of each object member and array element, the root first. */
function paths(value: Json, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...paths(item, [...at, i])));
  else if (value !== null && typeof value === "object") for (const [key, item] of Object.entries(value)) out.push(...paths(item, [...at, key]));
  return out;
}

/**
 * `value` with `change` applied to the value at `path` (it returns the new value, or undefined to remove it): the
 * objects and arrays along the path are copied, the rest is shared (no case changes a value after it is made).
 */
function mutate(value: Json, path: Path, change: (old: Json) => Json | undefined): Json {
  if (path.length === 0) return change(value);
  const [key, ...rest] = path as [string | number, ...Path];
  const container = value as Record<string | number, Json>;
  const next = rest.length === 0 ? change(container[key]) : mutate(container[key], rest, change);
  const copy = (Array.isArray(value) ? [...(value as Json[])] : { ...container }) as Record<string | number, Json>;
  if (next !== undefined) copy[key] = next;
  else if (Array.isArray(copy)) copy.splice(key as number, 1);
  else delete copy[key];
  return copy;
}

/** The value at `path`. */
function at(value: Json, path: Path): Json {
  return path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key], value);
}

/** Every single-place change of a record: removed, replaced by each of REPLACEMENTS, an object given each extra key, an array emptied or doubled. */
function mutations(record: Json): Json[] {
  const out: Json[] = [];
  for (const path of paths(record)) {
    if (path.length > 0) out.push(mutate(record, path, () => undefined));
    for (const replacement of REPLACEMENTS) out.push(mutate(record, path, () => replacement));
    const node = at(record, path);
    if (Array.isArray(node)) out.push(mutate(record, path, () => []), mutate(record, path, (old) => [...(old as Json[]), ...(old as Json[])]));
    else if (node !== null && typeof node === "object") {
      for (const key of EXTRA_KEYS) if (!Object.hasOwn(node, key)) out.push(mutate(record, path, (old) => ({ ...(old as object), [key]: "x" })));
    }
  }
  return out;
}

/** The issues `checkRecord` reports for a record, through the given registry. */
function findingsOf(record: Json, format: FormatId, schemas: SchemaRegistry): string {
  const findings = new Findings();
  checkRecord(record as Record<string, unknown>, format, findings, emptyStats(), schemas);
  return JSON.stringify(findings.issues ?? []);
}

const values = fixtureValues();
const valid = values.filter((value) => formats.some((format) => registry.record(format)(value)));

describe("schema gate", () => {
  it("compiles every record format's schema", () => {
    for (const format of formats) expect(typeof registry.gate!(format), format).toBe("function");
  });

  it("answers as ajv does for every format, on every fixture record and every single-place change of the valid ones", () => {
    expect(valid.length).toBeGreaterThan(40);
    const cases = [...values, ...valid.flatMap(mutations)];
    expect(cases.length).toBeGreaterThan(20_000);
    const verdicts = { valid: 0, invalid: 0 };
    for (const format of formats) {
      const gate = registry.gate!(format)!;
      const validate = registry.record(format);
      for (const value of cases) {
        const expected = validate(value);
        if (gate(value) !== expected) expect.fail(`${format}: the gate says ${!expected} where ajv says ${expected} for ${JSON.stringify(value)}`);
        verdicts[expected ? "valid" : "invalid"]++;
      }
    }
    // Both answers are common: the changes keep many records valid and break many.
    expect(verdicts.valid).toBeGreaterThan(5_000);
    expect(verdicts.invalid).toBeGreaterThan(50_000);
  });

  it("answers as ajv does on records changed at several places at random", () => {
    const changed = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 2, maxLength: 5 });
    fc.assert(
      fc.property(fc.constantFrom(...valid), changed, (record, changes) => {
        let value: Json = record;
        for (const [where, what, key] of changes) {
          const all = paths(value);
          const path = all[where % all.length]!;
          const replacement = REPLACEMENTS[what % REPLACEMENTS.length];
          value =
            key % 3 === 0 && path.length > 0
              ? mutate(value, path, () => undefined)
              : key % 3 === 1
                ? mutate(value, path, (old) => (old !== null && typeof old === "object" && !Array.isArray(old) ? { ...old, [EXTRA_KEYS[key % EXTRA_KEYS.length]!]: replacement } : replacement))
                : mutate(value, path, () => replacement);
        }
        for (const format of formats) expect(registry.gate!(format)!(value)).toBe(registry.record(format)(value));
      }),
      { numRuns: 3000, seed: 14 },
    );
  });

  it("leaves checkRecord's findings exactly as with ajv alone, on every fixture record and changed record of every format", () => {
    const cases = [...values, ...valid.filter((_, i) => i % 16 === 0).flatMap(mutations)];
    let issues = 0;
    for (const format of formats) {
      for (const value of cases) {
        if (value === null || typeof value !== "object" || Array.isArray(value)) continue;
        const expected = findingsOf(value, format, ajvOnly);
        expect(findingsOf(value, format, registry)).toBe(expected);
        if (expected.includes("E_SCHEMA")) issues++;
      }
    }
    // The comparison covers records only the schema refuses (E_SCHEMA), not only ones the rules explain.
    expect(issues).toBeGreaterThan(150);
  });

  it("follows $ref across files and into itself, with ajv's answers", () => {
    const files: Record<string, object> = {
      "tree.schema.json": {
        $id: "https://x.test/s/tree.schema.json",
        type: "object",
        required: ["name"],
        properties: { name: { $ref: "leaf.schema.json#/definitions/name" }, children: { type: "array", items: { $ref: "#" } } },
        additionalProperties: false,
      },
      "leaf.schema.json": { $id: "https://x.test/s/leaf.schema.json", definitions: { name: { type: "string", minLength: 2, pattern: "^\\p{L}+$" } } },
    };
    const gate = compileSchemaGate("tree.schema.json", (file) => files[file]);
    const ajv = new Ajv({ strict: true });
    for (const [file, schema] of Object.entries(files)) ajv.addSchema(schema, file);
    const validate = ajv.getSchema("tree.schema.json")!;
    const trees = [
      { name: "éa" },
      { name: "é" },
      { name: "😀😀" },
      { name: "ab", children: [{ name: "cd", children: [] }] },
      { name: "ab", children: [{ name: "cd", children: [{ name: 1 }] }] },
      { name: "ab", other: 1 },
      { name: "ab", children: {} },
      [],
      null,
    ];
    for (const tree of trees) expect(gate(tree), JSON.stringify(tree)).toBe(validate(tree));
  });

  it("refuses a schema it does not know, so ajv answers alone for it", () => {
    const compile = (schema: object) => () => compileSchemaGate("s.schema.json", () => ({ $id: "https://x.test/s.schema.json", ...schema }));
    expect(compile({ type: "string", format: "uri" })).toThrow(UnsupportedSchemaError);
    expect(compile({ properties: { a: { $ref: "#/definitions/b", type: "string" } }, definitions: { b: {} } })).toThrow(UnsupportedSchemaError);
    expect(compile({ properties: { a: { $ref: "https://elsewhere.test/b.json" } } })).toThrow(UnsupportedSchemaError);
    expect(compile({ patternProperties: { "^a": {} } })).toThrow(UnsupportedSchemaError);
    expect(() => compileSchemaGate("s.schema.json", () => ({ $id: "https://x.test/other.schema.json" }))).toThrow(UnsupportedSchemaError);
  });
});
