/**
 * Python's `json.loads` and `json.dumps(..., ensure_ascii=False)`, as far as a training sample's text depends on
 * them: mistral-common writes tools, tool calls and tool results into the sample with Python's json module, whose
 * output differs from `JSON.stringify` (", "/": " separators, `10.0` stays a float, `1e3` becomes `1000.0`, big
 * integers stay exact, NaN/Infinity, keys in insertion order even when they look like numbers).
 */

/** A value as Python's json module holds it. Objects keep their keys in insertion order. */
export type PyValue =
  | null
  | boolean
  | string
  | { int: string }
  | { float: number }
  | PyValue[]
  | { object: Map<string, PyValue> };

/** Python's repr of a float (shortest round-trip digits; exponent form below 1e-4 or from 1e16 on). */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest round-trip digits, as Python's repr does.
  const [mantissa, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const decpt = Number(exp) + 1; // x = 0.digits × 10^decpt
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const e = decpt - 1;
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function dumpString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(from, i);
    from = i + 1;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return out + s.slice(from) + '"';
}

/** `json.dumps(value, ensure_ascii=False)`. */
export function pythonDumps(value: PyValue): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return dumpString(value);
  if (Array.isArray(value)) return `[${value.map(pythonDumps).join(", ")}]`;
  if ("int" in value) return value.int;
  if ("float" in value) return pythonFloat(value.float);
  const parts: string[] = [];
  for (const [k, v] of value.object) parts.push(`${dumpString(k)}: ${pythonDumps(v)}`);
  return `{${parts.join(", ")}}`;
}

/** Builds a Python object from entries, in order. */
export function pyObject(entries: [string, PyValue][]): PyValue {
  return { object: new Map(entries) };
}

/**
 * A value from `JSON.parse` as Python would hold it. Exact for strings, booleans, null, arrays and integers; a
 * JavaScript number cannot tell `10.0` from `10`, and objects list integer-like keys first: where that matters,
 * parse the original text with `pythonLoads`.
 */
export function fromJs(value: unknown): PyValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) < 2 ** 53 ? { int: String(value) } : { float: value };
  if (Array.isArray(value)) return value.map(fromJs);
  if (typeof value === "object") return { object: new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromJs(v)])) };
  return null;
}

class ParseError extends Error {}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

/** `json.loads(text)`, or undefined where Python raises JSONDecodeError. */
export function pythonLoads(text: string): PyValue | undefined {
  let i = 0;
  const skip = (): void => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const fail = (): never => {
    throw new ParseError();
  };
  const literal = (word: string): void => {
    if (!text.startsWith(word, i)) fail();
    i += word.length;
  };
  const string = (): string => {
    i++; // opening quote
    let out = "";
    let from = i;
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(from, i);
        i++;
        return out;
      }
      // strict=True: control characters must be escaped.
      if (c < 0x20) fail();
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(from, i);
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail();
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail();
      }
      from = i;
    }
  };
  const value = (depth: number): PyValue => {
    if (depth > 900) fail(); // Python's recursion limit would stop well before the stack does.
    skip();
    const c = text[i];
    if (c === "{") {
      i++;
      const map = new Map<string, PyValue>();
      skip();
      if (text[i] === "}") {
        i++;
        return { object: map };
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail();
        const key = string();
        skip();
        if (text[i] !== ":") fail();
        i++;
        map.set(key, value(depth + 1));
        skip();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { object: map };
        }
        fail();
      }
    }
    if (c === "[") {
      i++;
      const list: PyValue[] = [];
      skip();
      if (text[i] === "]") {
        i++;
        return list;
      }
      for (;;) {
        list.push(value(depth + 1));
        skip();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return list;
        }
        fail();
      }
    }
    if (c === '"') return string();
    if (c === "n") return literal("null"), null;
    if (c === "t") return literal("true"), true;
    if (c === "f") return literal("false"), false;
    if (c === "N") return literal("NaN"), { float: Number.NaN };
    if (c === "I") return literal("Infinity"), { float: Number.POSITIVE_INFINITY };
    if (c === "-" && text.startsWith("-Infinity", i)) return literal("-Infinity"), { float: Number.NEGATIVE_INFINITY };
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail();
    i = NUMBER.lastIndex;
    if (m![1] === undefined && m![2] === undefined) return { int: BigInt(m![0]).toString() };
    return { float: Number(m![0]) };
  };
  try {
    const result = value(0);
    skip();
    if (i !== text.length) return undefined;
    return result;
  } catch (error) {
    if (error instanceof ParseError || error instanceof RangeError) return undefined;
    throw error;
  }
}
