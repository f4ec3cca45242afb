/**
 * Where a JSON text first goes wrong. V8's JSON.parse gives a position for some errors only ("Unexpected token
 * 'x', "…" is not valid JSON" has none), so on the error path — never on the hot path — a small scanner finds it.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** Character index of the first JSON syntax error in `text`, or -1 when it parses (or nests too deep to scan). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const string = (): void => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === "u" && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else throw i + 1;
        continue;
      }
      if (c < 0x20) throw i;
      i++;
    }
    throw n;
  };
  const value = (): void => {
    ws();
    if (i >= n) throw i;
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw i;
        string();
        ws();
        if (text[i] !== ":") throw i;
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else throw i;
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else throw i;
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m) {
      i += m[0].length;
      return;
    }
    const literal = c === "t" ? "true" : c === "f" ? "false" : c === "n" ? "null" : undefined;
    if (literal === undefined) throw i;
    for (let k = 0; k < literal.length; k++, i++) if (text[i] !== literal[k]) throw i;
  };
  try {
    value();
    ws();
    return i < n ? i : -1;
  } catch (thrown) {
    return typeof thrown === "number" ? thrown : -1;
  }
}

/** The message for an E_JSON issue: the column (1-based, in characters) and the parser's reason, without excerpts. */
export function describeJsonError(text: string, error: Error): string {
  const reason = error.message
    .replace(/, ".*" is not valid JSON$/s, "")
    .replace(/ in JSON at position \d+.*$/s, "")
    .replace(/ at position \d+.*$/s, "");
  const stated = /at position (\d+)/.exec(error.message);
  const offset = stated ? Number(stated[1]) : jsonErrorOffset(text);
  return offset >= 0 ? `invalid JSON at column ${offset + 1}: ${reason}` : `invalid JSON: ${reason}`;
}
