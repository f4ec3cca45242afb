/**
 * A short excerpt of a record's text with the part an issue is about marked: the value its JSON Pointer names
 * (found by scanning the record's own text, so the excerpt shows the record as written), or the column of a JSON
 * syntax error. Made only for the examples a report keeps (at most `maxIssues` per code), so its cost does not
 * grow with the file.
 */

/** An excerpt of a record: `text`, with `text.slice(start, end)` the part the issue is about (empty when none). */
export interface Snippet {
  text: string;
  start: number;
  end: number;
}

/** Characters of context kept before the marked part, and the longest excerpt. */
const BEFORE = 60;
const LONGEST = 200;

const WS = new Set([" ", "\t", "\n", "\r"]);

/** Scans JSON text; every method returns the index after what it read, or -1 when the text is not JSON there. */
class Scanner {
  constructor(readonly text: string) {}

  ws(i: number): number {
    while (i < this.text.length && WS.has(this.text[i]!)) i++;
    return i;
  }

  /** The end of the string starting at i (a `"`), and its decoded value. */
  string(i: number): { end: number; value: string } | undefined {
    let j = i + 1;
    let raw = false;
    while (j < this.text.length) {
      const c = this.text[j]!;
      if (c === '"') break;
      if (c === "\\") {
        raw = true;
        j++;
      }
      j++;
    }
    if (j >= this.text.length) return undefined;
    const slice = this.text.slice(i, j + 1);
    if (!raw) return { end: j + 1, value: slice.slice(1, -1) };
    try {
      return { end: j + 1, value: JSON.parse(slice) as string };
    } catch {
      return undefined;
    }
  }

  /** The end of the value starting at i. */
  value(i: number): number {
    const c = this.text[i];
    if (c === '"') return this.string(i)?.end ?? -1;
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let j = this.ws(i + 1);
      if (this.text[j] === close) return j + 1;
      for (;;) {
        if (c === "{") {
          const key = this.text[j] === '"' ? this.string(j) : undefined;
          if (!key) return -1;
          j = this.ws(key.end);
          if (this.text[j] !== ":") return -1;
          j = this.ws(j + 1);
        }
        const end = this.value(j);
        if (end < 0) return -1;
        j = this.ws(end);
        if (this.text[j] === ",") j = this.ws(j + 1);
        else if (this.text[j] === close) return j + 1;
        else return -1;
      }
    }
    let j = i;
    while (j < this.text.length && /[-+0-9.eEa-z]/.test(this.text[j]!)) j++;
    return j > i ? j : -1;
  }

  /** The member `token` of the object or array starting at i: where its value starts, and its span with its key. */
  member(i: number, token: string): { value: number; span: [number, number] } | undefined {
    const c = this.text[i];
    if (c !== "{" && c !== "[") return undefined;
    const close = c === "{" ? "}" : "]";
    let j = this.ws(i + 1);
    if (this.text[j] === close) return undefined;
    for (let index = 0; ; index++) {
      let name = String(index);
      const from = j;
      if (c === "{") {
        const key = this.text[j] === '"' ? this.string(j) : undefined;
        if (!key) return undefined;
        name = key.value;
        j = this.ws(key.end);
        if (this.text[j] !== ":") return undefined;
        j = this.ws(j + 1);
      }
      const end = this.value(j);
      if (end < 0) return undefined;
      if (name === token) return { value: j, span: [from, end] };
      j = this.ws(end);
      if (this.text[j] === ",") j = this.ws(j + 1);
      else return undefined;
    }
  }
}

/** The span of the value a JSON Pointer names in a record's text (with its key, in an object), or of its deepest existing parent. */
export function locatePointer(text: string, pointer: string): [number, number] | undefined {
  const scanner = new Scanner(text);
  const start = scanner.ws(0);
  const end = scanner.value(start);
  if (end < 0) return undefined;
  let span: [number, number] = [start, end];
  let value = start;
  if (pointer === "") return span;
  for (const raw of pointer.split("/").slice(1)) {
    const token = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const next = scanner.member(value, token);
    if (!next) break;
    ({ value, span } = next);
  }
  return span;
}

/** Cuts an excerpt of at most `LONGEST` characters around [start, end), with `…` where text was left out. */
export function excerpt(text: string, start: number, end: number): Snippet {
  const from = Math.max(0, start - BEFORE);
  const to = Math.min(text.length, Math.max(end, from + LONGEST), from + LONGEST);
  const head = from > 0 ? "…" : "";
  const tail = to < text.length ? "…" : "";
  const markEnd = Math.min(end, to);
  return { text: head + text.slice(from, to) + tail, start: head.length + start - from, end: head.length + markEnd - from };
}

/** The snippet of an issue: the pointer's value marked, or the column a message names (`at column N`). */
export function issueSnippet(text: string, pointer: string, message: string): Snippet {
  const column = /\bat column (\d+)/.exec(message);
  if (column && pointer === "") {
    const at = Math.min(text.length, Number(column[1]) - 1);
    return excerpt(text, at, Math.min(text.length, at + 1));
  }
  const span = pointer === "" ? undefined : locatePointer(text, pointer);
  return span ? excerpt(text, span[0], span[1]) : excerpt(text, 0, 0);
}
