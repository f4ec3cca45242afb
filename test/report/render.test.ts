import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderComparison, renderReport } from "../../src/report/render.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

const HOSTILE = [
  "<script>alert(1)</script>",
  "</style><script>alert(2)</script>",
  "javascript:alert(3)",
  '"><img src=x onerror=alert(4)>',
  "<svg onload=alert(5)>",
  "</textarea></title><iframe src=//evil>",
];

/** The tags a report may contain: everything else would be markup that came from the data. */
const ALLOWED_TAGS = new Set(["html", "head", "meta", "title", "style", "body", "header", "div", "h1", "h2", "h3", "p", "nav", "a", "main", "section", "span", "figure", "figcaption", "svg", "rect", "line", "text", "ul", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "mark", "strong", "footer"]);

const ALLOWED_ATTRIBUTES = new Set(["lang", "charset", "name", "content", "http-equiv", "class", "id", "href", "title", "viewBox", "role", "aria-label", "aria-hidden", "preserveAspectRatio", "data-label", "x", "y", "x1", "x2", "y1", "y2", "width", "height", "rx", "text-anchor"]);

/**
 * Checks that a page has only our markup: every `<` opens a well-formed tag of a known name with known attributes
 * (values quoted, no `<`, `>` or `"` inside), links stay in the page, one stylesheet, no script, a strict CSP.
 */
export function expectInert(html: string): void {
  const style = html.indexOf("<style>");
  const body = html.slice(0, style + 7) + html.slice(html.indexOf("</style>"));
  const rest = body.replace(/^<!doctype html>/, "");
  let at = rest.indexOf("<");
  while (at >= 0) {
    const m = /^<\/?([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*\/?>/.exec(rest.slice(at, at + 2000));
    expect(m, `not one of our tags: ${rest.slice(at, at + 80)}`).not.toBeNull();
    expect(ALLOWED_TAGS, `unexpected <${m![1]}>`).toContain(m![1]!.toLowerCase());
    for (const a of m![2]!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      expect(ALLOWED_ATTRIBUTES, `unexpected attribute ${a[0]}`).toContain(a[1]);
      if (a[1] === "href") expect(a[2]!.startsWith("#"), a[0]).toBe(true);
    }
    at = rest.indexOf("<", at + m![0].length);
  }
  expect(html.match(/<style>/g)).toHaveLength(1);
  expect(html.match(/<\/style>/g)).toHaveLength(1);
  expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);
}

function hostileDataset(): string {
  let out = "";
  HOSTILE.forEach((s, i) => {
    const tools = [{ type: "function", function: { name: "get_weather", description: s, parameters: { type: "object", properties: {} } } }];
    out += `${JSON.stringify({ messages: [{ role: "user", content: s }, { role: "assistant", tool_calls: [{ id: `abcdefgh${i}`, type: "function", function: { name: "get_weather", arguments: JSON.stringify({ q: s }) } }] }, { role: "tool", content: s, tool_call_id: `abcdefgh${i}` }, { role: "assistant", content: s }], tools })}\n`;
    // Invalid records carrying the same strings: they reach the issue examples and their snippets.
    out += `${JSON.stringify({ messages: [{ role: "user", content: s }, { role: "assistant", content: s, tool_calls: [{ id: s, type: "function", function: { name: s, arguments: "{}" } }] }] })}\n`;
  });
  return out;
}

describe("the HTML report", () => {
  const tmp = useTempDir("report", "all");

  it("shows hostile dataset content as text, never as markup (validate --html = report of its --json)", async () => {
    const dir = join(tmp(), "hostile");
    await mkdir(dir);
    // A file name with markup in it too.
    const name = join(dir, "train <b>bold<i> javascript:x.jsonl");
    await writeFile(name, hostileDataset());
    await writeFile(join(dir, "labels-validation.jsonl"), HOSTILE.map((s) => JSON.stringify({ text: s, labels: { [s]: s } })).join("\n") + "\n");
    const html = join(tmp(), "hostile.html");
    const { code, stdout } = await runCli("validate", "--json", "--html", html, "--quiet", dir);
    expect(code).toBe(1);
    const page = await readFile(html, "utf8");
    expectInert(page);
    // The strings are there, escaped: the reader sees them.
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).toContain("&lt;/style&gt;&lt;script&gt;alert(2)");
    expect(page).toContain("train &lt;b&gt;bold&lt;i&gt; javascript:x.jsonl");
    expect(page).toContain("<mark>");
    // The same page from the printed document.
    await writeFile(join(tmp(), "hostile.json"), stdout);
    const again = await runCli("report", join(tmp(), "hostile.json"));
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(page);
  });

  it("renders the figures, the plan and the upload of a run, and its manifest", async () => {
    const data = join(tmp(), "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), chatLines(40));
    await writeFile(join(data, "validation.jsonl"), chatLines(5, 100));
    const html = join(tmp(), "run.html");
    const manifest = join(tmp(), "m.json");
    const { code, stdout, stderr } = await runCli("run", data, "--json", "--html", html, "--store", join(tmp(), "store"), "--manifest", manifest, "--out", join(tmp(), "out"), "--max-file-bytes", "2kB", "--model", "open-mistral-7b");
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.figures.train.records).toBe(40);
    expect(doc.figures.train.tokens).toMatchObject({ method: "exact", tokenizer: "mistral-sp-v3", limit: 32768, over_limit: 0 });
    expect(doc.uploads.length).toBe(doc.plan.files.length);
    expect(doc.uploads.every((u: { status: string; id: string | null; retries: number }) => u.status === "uploaded" && typeof u.id === "string" && u.retries === 0)).toBe(true);
    const page = await readFile(html, "utf8");
    expectInert(page);
    for (const id of ["summary", "split-0", "split-1", "files", "issues", "plan", "upload"]) expect(page).toContain(`id="${id}"`);
    expect(page.match(/<svg class="hist"/g)!.length).toBeGreaterThanOrEqual(8);
    expect(page).toContain("context 32,768 · 0 above");
    for (const u of doc.uploads) expect(page).toContain(u.id);
    expect(page).toContain("shard 1/");
    expect(page).toContain(manifest);
    const fromManifest = await runCli("report", manifest);
    expect(fromManifest.code).toBe(0);
    expectInert(fromManifest.stdout);
    for (const u of doc.uploads) expect(fromManifest.stdout).toContain(u.id);
  });

  it("compares two runs side by side", async () => {
    const a = { provider: "mistral", ok: true, files: [], skipped: [], failures: [] };
    const one = JSON.parse((await runCli("validate", "--json", join(import.meta.dirname, "../../fixtures/datasets/mistral-chat"))).stdout);
    const two = JSON.parse((await runCli("validate", "--json", "--duplicates", join(import.meta.dirname, "../../fixtures/datasets/mistral-chat/train.jsonl"), join(import.meta.dirname, "../../fixtures/invalid/mistral-chat-rules.jsonl"))).stdout);
    const page = renderComparison(one, two, ["before.json", "<after>.json"]);
    expectInert(page);
    expect(page).toContain("What changed");
    expect(page).toContain("&lt;after&gt;.json");
    expect(page).toMatch(/<td data-label="measure">invalid records<\/td><td class="n" data-label="A">0<\/td><td class="n" data-label="B">46<\/td>/);
    expect(page).toContain("added in B");
    expect(page).toContain("only in A");
    expect(renderReport(a)).toContain("None: every record passed");
  });

  it("refuses a document of no known kind with one line (exit 2)", async () => {
    const file = join(tmp(), "other.json");
    await writeFile(file, JSON.stringify({ hello: 1 }));
    const { code, stderr } = await runCli("report", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ftprep report: .*other\.json is neither the --json output of ftprep validate, prepare, upload or run, nor a manifest/);
    await writeFile(file, "{");
    const broken = await runCli("report", file);
    expect([broken.code, broken.stderr.trim().split("\n").length]).toEqual([2, 1]);
    expect(broken.stderr).toMatch(/other\.json: not JSON: .*: give the output of --json, or a manifest/);
  });
});
