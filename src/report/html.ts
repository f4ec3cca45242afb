/**
 * HTML made safe by construction: `h` is a tagged template that escapes every interpolated value unless it is
 * itself `Html` (made by `h` or `raw`). Dataset content, paths, provider answers — every string a report shows is
 * untrusted — can only reach the page through it, as text: never as markup, an attribute's end, or a URL.
 */

/** A piece of markup, already safe. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text as HTML text or attribute value (quotes escaped too, so it is safe in either). */
export function escapeHtml(text: string): string {
  // Control characters other than tab and newline have no business in a report; U+2028/9 are fine in HTML.
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part as string | number | boolean));
}

/** Markup with every value escaped (arrays are joined; null, undefined and false render as nothing). */
export function h(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup made here, from constants: trusted as it is. Never pass it data. */
export function raw(text: string): Html {
  return new Html(text);
}

/** 12,345 (en-US grouping); "–" for a value that is not a finite number. */
export function num(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toLocaleString("en-US") : "–";
}

/** 12.5% */
export function percent(part: number, whole: number): string {
  if (!(whole > 0)) return "–";
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}
