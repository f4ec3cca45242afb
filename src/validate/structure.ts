import type { IssueDraft } from "./findings.js";

/**
 * Structural limits of one record, checked on its bytes before `JSON.parse`, so that no later step meets a value
 * it cannot handle: the schema pass, the rules, a tool schema's compilation and the duplicate digest all recurse,
 * and a record of a few kilobytes nesting a thousand levels deep would overflow the stack; a line of tiny values
 * (`[{},{},…]`) would make `JSON.parse` build tens of millions of objects.
 */

/** Deepest nesting of objects and arrays a record may have (the record itself is level 1; serde_json's default). */
export const MAX_RECORD_DEPTH = 128;
/** Most JSON values (objects, arrays, strings, numbers, literals) one record may hold. */
export const MAX_RECORD_VALUES = 100_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** Valid JSON nesting deeper than the limit needs an opening and a closing byte per level. */
const DEPTH_GATE_BYTES = 2 * (MAX_RECORD_DEPTH + 1);
/** Valid JSON with more values than the limit needs at least two bytes per value but the last. */
const VALUES_GATE_BYTES = 2 * MAX_RECORD_VALUES + 1;

/** At most `max + 1` opening brackets or braces (inside strings too): a cheap bound on the depth. */
function countOpenings(bytes: Uint8Array, max: number): number {
  let count = 0;
  for (let i = bytes.indexOf(OPEN_BRACE); i !== -1 && count <= max; i = bytes.indexOf(OPEN_BRACE, i + 1)) count++;
  for (let i = bytes.indexOf(OPEN_BRACKET); i !== -1 && count <= max; i = bytes.indexOf(OPEN_BRACKET, i + 1)) count++;
  return count;
}

/** The same count over the line's decoded text: a string search is a builtin call, a Buffer's a binding call each. */
function countOpeningsInText(text: string, max: number): number {
  let count = 0;
  for (let i = text.indexOf("{"); i !== -1 && count <= max; i = text.indexOf("{", i + 1)) count++;
  for (let i = text.indexOf("["); i !== -1 && count <= max; i = text.indexOf("[", i + 1)) count++;
  return count;
}

/**
 * Checks a line's nesting depth and value count against the limits, without parsing it. Ordinary records cost a
 * length test and, past 258 bytes, a count of their `{` / `[` (native searches, over `text` when the caller has
 * decoded the line already: the brackets are ASCII, so the count is the same); only a record with more than
 * `MAX_RECORD_DEPTH` of them, or longer than 200,001 bytes, is scanned byte by byte (strings skipped natively).
 * Malformed JSON is measured as if well formed; `JSON.parse` reports it when it is within the limits.
 */
export function checkStructure(bytes: Uint8Array, text?: string): IssueDraft | undefined {
  const n = bytes.length;
  if (n < DEPTH_GATE_BYTES) return undefined;
  if (n < VALUES_GATE_BYTES && (text !== undefined ? countOpeningsInText(text, MAX_RECORD_DEPTH) : countOpenings(bytes, MAX_RECORD_DEPTH)) <= MAX_RECORD_DEPTH) return undefined;
  let depth = 0;
  let values = 1;
  let opened = false; // just after `{` / `[`: the next token, unless it closes, is the container's first child
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      if (opened) {
        values++;
        opened = false;
      }
      // Skip to the closing quote: one not preceded by an odd run of backslashes.
      for (;;) {
        const end = bytes.indexOf(QUOTE, i + 1);
        if (end === -1) return undefined;
        let k = end - 1;
        while (bytes[k] === BACKSLASH) k--;
        i = end;
        if (((end - 1 - k) & 1) === 0) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (opened) values++;
      opened = true;
      if (++depth > MAX_RECORD_DEPTH) {
        return { code: "E_TOO_DEEP", path: "", message: `the record nests objects/arrays deeper than ${MAX_RECORD_DEPTH} levels (at byte ${i + 1}); not checked further` };
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      opened = false;
    } else if (c === COMMA) {
      values++;
    } else if (opened && c > 0x20) {
      values++;
      opened = false;
    }
    if (values > MAX_RECORD_VALUES) {
      return { code: "E_TOO_MANY_VALUES", path: "", message: `the record holds more than ${MAX_RECORD_VALUES} JSON values (at byte ${i + 1}); not parsed` };
    }
  }
  return undefined;
}
