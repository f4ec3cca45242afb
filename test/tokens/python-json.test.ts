import { describe, expect, it } from "vitest";
import { pythonDumps, pythonFloat, pythonLoads } from "../../src/tokens/python-json.js";

// Expected strings: CPython 3.11's repr(float) and json.dumps(json.loads(text), ensure_ascii=False), run outside
// this repository (None where json.loads raised).
describe("Python-compatible JSON", () => {
  it("formats floats as repr() does", () => {
    const values = [0.1, 1e16, 1e15, 123456789012345678.0, 1e-4, 1e-5, 1.5e-7, -0.0, 2.5, 1e22, 3.0, 100.0, 1.7976931348623157e308, 5e-324, 0.30000000000000004, 12345.678];
    const python = ["0.1", "1e+16", "1000000000000000.0", "1.2345678901234568e+17", "0.0001", "1e-05", "1.5e-07", "-0.0", "2.5", "1e+22", "3.0", "100.0", "1.7976931348623157e+308", "5e-324", "0.30000000000000004", "12345.678"];
    expect(values.map(pythonFloat)).toEqual(python);
  });

  it("loads and dumps as json.loads / json.dumps(ensure_ascii=False) do", () => {
    const texts = [
      '{"a":1,"b":[1.0,1e3,-0,-0.0,12345678901234567890,NaN,-Infinity],"\\u00e9":"\\ud83d\\ude00","2":null,"1":true,"a":2}',
      " 42 ",
      '"tab\\t\\u0001 \\" \\\\ \\/ \\u2028"',
      "[01]",
      '{"a" 1}',
      '"raw\u0001control"',
      "nan",
      "1.",
      "{}",
      "[]",
      '""',
    ];
    const python = [
      '{"a": 2, "b": [1.0, 1000.0, 0, -0.0, 12345678901234567890, NaN, -Infinity], "é": "😀", "2": null, "1": true}',
      "42",
      '"tab\\t\\u0001 \\" \\\\ / \u2028"',
      null,
      null,
      null,
      null,
      null,
      "{}",
      "[]",
      '""',
    ];
    expect(texts.map((t) => {
      const v = pythonLoads(t);
      return v === undefined ? null : pythonDumps(v);
    })).toEqual(python);
  });

  it("returns undefined for nesting deeper than Python accepts, without a stack overflow", () => {
    expect(pythonLoads("[".repeat(100_000) + "]".repeat(100_000))).toBeUndefined();
  });
});
