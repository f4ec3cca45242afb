import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Chromium, type Page } from "../helpers/chromium.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";
import { mulberry32 } from "../../src/random.js";

/**
 * The acceptance test of the HTML report: a generated dataset goes through `ftprep run --html` (embedded server),
 * and the page is opened in headless Chromium with no network and JavaScript off. It must load with no request
 * beyond its own file, apply its stylesheet under its own CSP, show the histograms and tables, fit a phone's width,
 * and print. Screenshots are written to FTPREP_SCREENSHOTS when it is set (to look at them).
 */

const WORDS = "the a model answer data train token record file split tool weather city paris tokyo price order table book flight hotel code python list sort value".split(" ");

function text(r: () => number, words: number): string {
  return Array.from({ length: words }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ");
}

/** Chat records of varied lengths (log-normal), some multi-turn, every fifth with a tool call; a few invalid ones with markup in them. */
function dataset(n: number, seed: number, invalid: number): string {
  const r = mulberry32(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const words = Math.max(3, Math.round(Math.exp(3.5 + 1.1 * (r() + r() + r() - 1.5))));
    const messages: Record<string, unknown>[] = [];
    if (i % 3 === 0) messages.push({ role: "system", content: "You are a helpful assistant." });
    const turns = 1 + Math.floor(r() * r() * 4);
    for (let t = 0; t < turns; t++) {
      messages.push({ role: "user", content: text(r, Math.ceil(words / 3)) });
      messages.push({ role: "assistant", content: text(r, words), ...(t < turns - 1 && r() < 0.3 ? { weight: 0 } : {}) });
    }
    if (i % 5 === 0) {
      const id = `call${String(i).padStart(5, "0")}`;
      const name = ["get_weather", "search_flights", "book_table"][i % 3]!;
      messages.splice(messages.length - 1, 0, { role: "assistant", tool_calls: [{ id, type: "function", function: { name, arguments: JSON.stringify({ q: text(r, 3) }) } }] }, { role: "tool", content: text(r, 12), tool_call_id: id });
      lines.push(JSON.stringify({ messages, tools: [{ type: "function", function: { name, description: "look it up", parameters: { type: "object", properties: { q: { type: "string" } } } } }] }));
    } else lines.push(JSON.stringify({ messages }));
  }
  for (let k = 0; k < invalid; k++) {
    const hostile = ["<script>alert(1)</script>", "</style><b>x</b>", "javascript:alert(3)"][k % 3]!;
    lines.splice(7 + k * 13, 0, JSON.stringify({ messages: [{ role: "user", content: hostile }, { role: "assistant", content: hostile, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] }] }));
  }
  return `${lines.join("\n")}\n`;
}

describe("the HTML report in headless Chromium", () => {
  const tmp = useTempDir("chromium", "all");
  let browser: Chromium;
  let page: Page;
  let url: string;
  let doc: { uploads: { id: string }[]; plan: { files: unknown[] } };

  beforeAll(async () => {
    const data = join(tmp(), "data");
    await mkdir(data);
    await writeFile(join(data, "train.jsonl"), dataset(240, 1, 4));
    await writeFile(join(data, "validation.jsonl"), dataset(40, 2, 0));
    const html = join(tmp(), "report.html");
    const [result, launched] = await Promise.all([
      runCli("run", data, "--json", "--html", html, "--quiet", "--skip-invalid", "--max-invalid-fraction", "0.05", "--max-file-bytes", "200kB", "--model", "open-mistral-7b", "--max-tokens", "1024", "--seq-len", "2048", "--batch-size", "4", "--epochs", "2", "--store", join(tmp(), "store"), "--manifest", join(tmp(), "manifest.json"), "--out", join(tmp(), "out")),
      Chromium.launch(),
    ]);
    browser = launched;
    expect(result.code, result.stderr).toBe(0);
    doc = JSON.parse(result.stdout);
    url = pathToFileURL(html).href;
    if (process.env.FTPREP_SCREENSHOTS) await keep("report.html", await readFile(html));
    page = await browser.page();
    await page.send("Emulation.setScriptExecutionDisabled", { value: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** Whole-page screenshots only when someone will look at them: a window's worth is enough to prove it renders. */
  const whole = process.env.FTPREP_SCREENSHOTS !== undefined;

  /** Keeps a screenshot (or the page) in FTPREP_SCREENSHOTS, when it is set, to look at. */
  async function keep(name: string, bytes: Buffer): Promise<void> {
    const dir = process.env.FTPREP_SCREENSHOTS;
    if (name.endsWith(".png")) expect(bytes.subarray(1, 4).toString()).toBe("PNG");
    if (!dir) return;
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, name), bytes);
  }

  it("loads with no request outside its file, its stylesheet applied under its CSP, on a laptop's screen", async () => {
    await page.viewport(1366, 900, false);
    const requests = await page.load(url);
    expect(requests).toEqual([url]);
    expect(await page.style("header", "background-color")).toBe("rgb(22, 27, 46)");
    expect(page.messages().filter((m) => /Content Security Policy|Refused/i.test(m))).toEqual([]);
    // The histograms (4 per split, calls per record for the tools) and the tables: files, issues, plan, upload.
    expect(await page.count("svg.hist")).toBeGreaterThanOrEqual(9);
    expect(await page.count("svg.hist rect.bar")).toBeGreaterThan(20);
    expect(await page.count("svg.hist line.limit")).toBeGreaterThanOrEqual(2);
    for (const id of ["files", "issues", "plan", "upload"]) expect(await page.count(`#${id} table`), id).toBe(1);
    expect(await page.count("#upload tbody tr")).toBe(doc.uploads.length);
    expect(await page.count("#plan tbody tr")).toBe(doc.plan.files.length);
    expect(await page.count("pre.snippet mark")).toBeGreaterThanOrEqual(1);
    // The dataset's markup is text: no element came from it.
    expect(await page.count("script, iframe, img, link, object, embed, b")).toBe(0);
    await keep("report-laptop.png", await page.screenshot(whole));
  });

  it("fits a phone's width (no sideways scrolling of the page) and prints", async () => {
    await page.viewport(390, 844, true);
    expect(await page.load(url)).toEqual([url]);
    expect((await page.contentSize()).width).toBeLessThanOrEqual(390);
    await keep("report-phone.png", await page.screenshot(whole));
    const { data } = (await page.send("Page.printToPDF", { printBackground: false })) as { data: string };
    expect(Buffer.from(data, "base64").subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("would see a request the page made (the check above can fail)", async () => {
    const control = join(tmp(), "control.html");
    await writeFile(control, '<!doctype html><p>control</p><img src="http://ftprep-report-control.invalid/x.png">');
    const requests = await page.load(pathToFileURL(control).href);
    expect(requests).toContain("http://ftprep-report-control.invalid/x.png");
  });
});
