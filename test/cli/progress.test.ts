import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { Io } from "../../src/cli/io.js";
import { fitToWidth, Progress, progressDisplay } from "../../src/cli/progress.js";

const exec = promisify(execFile);

function io(): Io & { text: () => string } {
  let out = "";
  return { stdout: () => undefined, stderr: (t) => void (out += t), exitCode: 0, text: () => out };
}

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** What a terminal shows: each `\r\x1b[2K` clears the line, `\n` ends it. */
function screen(text: string): string[] {
  const lines: string[] = [""];
  for (const piece of text.split(/(\r\x1b\[2K|\n)/)) {
    if (piece === "\r\x1b[2K") lines[lines.length - 1] = "";
    else if (piece === "\n") lines.push("");
    else lines[lines.length - 1] += piece;
  }
  return lines;
}

describe("upload progress", () => {
  it("redraws one line in place on a terminal, with files, bytes, rate and retries", () => {
    const sink = io();
    const time = clock();
    const progress = new Progress(sink, true, { now: time.now, columns: () => 200 });
    progress.on({ type: "start", files: 2, bytes: 2_000_000, skipped: 1, skippedBytes: 500_000 });
    time.advance(1000);
    progress.on({ type: "file-start", path: "a.jsonl", bytes: 1_000_000, attempt: 1 });
    progress.on({ type: "bytes", n: 1_000_000, path: "a.jsonl" });
    progress.on({ type: "retry", path: "a.jsonl", attempt: 1, delayMs: 500, error: new Error("503 busy") });
    progress.on({ type: "file-done", path: "a.jsonl", id: "f1", adopted: false, bytes: 1_000_000 });
    const text = sink.text();
    expect(text).toContain("\r\x1b[2K");
    expect(text).toContain("1 file already uploaded (in the manifest): skipped");
    // Files already uploaded count as done, in files and in bytes; the rate is this run's.
    expect(text).toContain("uploading: 1/3 files, 1.5 MB of 2.5 MB (1.0 MB/s, ETA 1 s)");
    expect(text).toContain("retrying a.jsonl in 500 ms (attempt 1 failed: 503 busy)");
    expect(text).toContain("uploaded a.jsonl → f1 (after 1 retry)");
    expect(screen(text).at(-1)).toMatch(/^uploading: 2\/3 files, .*, 1 retry$/);
    progress.finish();
    expect(screen(sink.text()).at(-1)).toBe("");
  });

  it("does not count the bytes of a failed attempt twice, nor those of a file that failed", () => {
    const sink = io();
    const time = clock();
    const progress = new Progress(sink, true, { now: time.now, columns: () => 200 });
    progress.on({ type: "start", files: 2, bytes: 2_000_000, skipped: 0 });
    progress.on({ type: "file-start", path: "a", bytes: 1_000_000, attempt: 1 });
    progress.on({ type: "bytes", n: 600_000, path: "a" });
    progress.on({ type: "retry", path: "a", attempt: 1, delayMs: 10, error: new Error("reset") });
    progress.on({ type: "file-start", path: "a", bytes: 1_000_000, attempt: 2 });
    progress.on({ type: "bytes", n: 1_000_000, path: "a" });
    progress.on({ type: "file-done", path: "a", id: "fa", adopted: false, bytes: 1_000_000 });
    progress.on({ type: "file-start", path: "b", bytes: 1_000_000, attempt: 1 });
    progress.on({ type: "bytes", n: 300_000, path: "b" });
    progress.on({ type: "file-failed", path: "b", error: new Error("413") });
    time.advance(1000);
    progress.on({ type: "bytes", n: 0, path: "c" });
    expect(screen(sink.text()).at(-1)).toMatch(/^uploading: 1\/2 files, 1\.0 MB of 2\.0 MB/);
    expect(sink.text()).toContain("failed b: 413");
  });

  it("counts a file found already uploaded after a failed attempt as done, once", () => {
    const sink = io();
    const time = clock();
    const progress = new Progress(sink, true, { now: time.now, columns: () => 200 });
    progress.on({ type: "start", files: 1, bytes: 1_000_000, skipped: 0 });
    progress.on({ type: "file-start", path: "a", bytes: 1_000_000, attempt: 1 });
    progress.on({ type: "bytes", n: 700_000, path: "a" });
    progress.on({ type: "retry", path: "a", attempt: 1, delayMs: 10, error: new Error("reset") });
    progress.on({ type: "retry", path: "a", attempt: 2, delayMs: 10, error: new Error("reset") });
    progress.on({ type: "file-done", path: "a", id: "fa", adopted: true, bytes: 1_000_000 });
    time.advance(1000);
    progress.on({ type: "bytes", n: 0, path: "z" });
    expect(screen(sink.text()).at(-1)).toMatch(/^uploading: 1\/1 files, 1\.0 MB of 1\.0 MB/);
    expect(sink.text()).toContain("found already uploaded a → fa (after 2 retries)");
  });

  it("writes plain lines, at most one progress line per interval, when not on a terminal", () => {
    const sink = io();
    const progress = new Progress(sink, false, 60_000);
    progress.on({ type: "start", files: 1, bytes: 3, skipped: 0 });
    for (let i = 0; i < 3; i++) progress.on({ type: "bytes", n: 1 });
    progress.on({ type: "file-done", path: "a.jsonl", id: "f1", adopted: true });
    const lines = sink.text().trim().split("\n");
    expect(lines.filter((l) => l.startsWith("uploading:"))).toHaveLength(1);
    expect(lines).toContain("found already uploaded a.jsonl → f1");
    expect(sink.text()).not.toContain("\r");
  });
});

describe("progress of discovery and validation", () => {
  it("shows bytes read of the total, the rate and the ETA, per file, on a terminal", () => {
    const sink = io();
    const time = clock();
    const progress = new Progress(sink, true, { now: time.now, columns: () => 200 });
    progress.pass({ type: "discover-start" });
    progress.pass({ type: "discover", files: 1, bytes: 4_000_000 });
    progress.pass({ type: "discovered", files: 2, bytes: 8_000_000, skipped: 3 });
    expect(sink.text()).toContain("found 2 dataset files (8.0 MB); 3 skipped");
    progress.pass({ type: "file", path: "data/train.jsonl.gz", index: 0, files: 2, bytes: 4_000_000, action: "decompress" });
    time.advance(2000);
    progress.pass({ type: "read", n: 2_000_000 });
    expect(screen(sink.text()).at(-1)).toBe("decompressing and validating 1/2 data/train.jsonl.gz: 2.0 MB of 8.0 MB (1.0 MB/s, ETA 6 s)");
    expect(progress.describe()).toBe("while decompressing and validating data/train.jsonl.gz (file 1 of 2; 2.0 MB of 8.0 MB read)");
  });

  it("says which phase it is in off a terminal, without flooding", () => {
    const sink = io();
    const time = clock();
    const progress = new Progress(sink, false, { now: time.now, intervalMs: 5000 });
    progress.pass({ type: "discover-start" });
    for (let i = 1; i <= 100; i++) progress.pass({ type: "discover", files: i, bytes: i * 10 });
    expect(progress.describe()).toBe("during discovery (100 files found so far)");
    progress.pass({ type: "discovered", files: 100, bytes: 1000, skipped: 0 });
    progress.pass({ type: "file", path: "big.jsonl", index: 0, files: 100, bytes: 10, action: "split" });
    for (let i = 0; i < 10; i++) progress.pass({ type: "read", n: 1 });
    // No count at the first file found ("1 file", then "found 100"): a count only once discovery has lasted 5 s.
    expect(sink.text().split("\n")).toEqual(["discovering dataset files…", "found 100 dataset files (1.0 kB)", "validating and splitting big.jsonl (1/100, 10 B)", ""]);
  });

  it("off a terminal, a discovery that lasts says how many files it has found so far, every 5 s", () => {
    const sink = io();
    const time = clock();
    const progress = new Progress(sink, false, { now: time.now, intervalMs: 5000 });
    progress.pass({ type: "discover-start" });
    expect(progress.describe()).toBe("during discovery (0 files found so far)");
    progress.pass({ type: "discover", files: 1, bytes: 10 });
    time.advance(5000);
    progress.pass({ type: "discover", files: 2, bytes: 20 });
    progress.pass({ type: "discover", files: 3, bytes: 30 });
    progress.pass({ type: "discovered", files: 3, bytes: 30, skipped: 0 });
    expect(sink.text().split("\n")).toEqual(["discovering dataset files…", "discovering: 2 files found so far, 20 B", "found 3 dataset files (30 B)", ""]);
  });

  it("never lets the live line wrap: it is cut to the terminal's width", () => {
    const sink = io();
    const time = clock();
    const width = 40;
    const progress = new Progress(sink, true, { now: time.now, columns: () => width });
    const long = `data/${"a-very-long-directory-name/".repeat(4)}train.jsonl`;
    progress.pass({ type: "discovered", files: 1, bytes: 1_000_000, skipped: 0 });
    progress.pass({ type: "file", path: long, index: 0, files: 1, bytes: 1_000_000, action: "validate" });
    time.advance(500);
    progress.pass({ type: "read", n: 500_000 });
    progress.on({ type: "start", files: 1, bytes: 1_000_000, skipped: 0 });
    progress.on({ type: "retry", path: long, attempt: 1, delayMs: 10, error: new Error("503") });
    time.advance(500);
    progress.on({ type: "bytes", n: 10, path: long });
    const live = sink.text().split("\r\x1b[2K").map((piece) => piece.split("\n").at(-1)!);
    expect(live.length).toBeGreaterThan(3);
    for (const line of live) expect([...line].length).toBeLessThan(width);
    expect(live.at(-1)).toMatch(/^uploading: 0\/1 files, .*…$/);
    expect(fitToWidth("abcdef", 4)).toBe("ab…");
    expect(fitToWidth("abc", 4)).toBe("abc");
  });

  it("prints nothing when silent, and still knows the phase", () => {
    const sink = io();
    const progress = new Progress(sink, true, { silent: true });
    progress.pass({ type: "discover-start" });
    progress.pass({ type: "file", path: "x.jsonl", index: 0, files: 1, bytes: 1, action: "validate" });
    progress.finish();
    expect(sink.text()).toBe("");
    expect(progress.describe()).toBe("while validating x.jsonl (file 1 of 1)");
  });
});

describe("where progress is drawn: on a terminal, or with --progress; never with --quiet", () => {
  const repo = join(import.meta.dirname, "..", "..");
  const dataset = join(repo, "fixtures", "datasets", "mistral-chat");
  const ftprep = (...args: string[]) => exec(process.execPath, [join(repo, "bin", "ftprep.js"), ...args]);

  it("off a terminal (a pipe, CI), validate --json prints its document and nothing on stderr", async () => {
    const { stdout, stderr } = await ftprep("validate", dataset, "--json");
    expect(JSON.parse(stdout)).toMatchObject({ ok: true });
    expect(stderr).toBe("");
  });

  it("with --progress off a terminal: a line per step", async () => {
    const { stderr } = await ftprep("validate", dataset, "--json", "--progress");
    expect(stderr.split("\n")).toEqual([
      "discovering dataset files…",
      "found 2 dataset files (11.0 kB)",
      `validating ${join(dataset, "train.jsonl")} (1/2, 9.0 kB)`,
      `validating ${join(dataset, "validation.jsonl")} (2/2, 2.0 kB)`,
      "",
    ]);
    expect((await ftprep("validate", dataset, "--progress", "--quiet")).stderr).toBe("");
  });

  it("on a terminal unless --quiet", () => {
    const sink = io();
    progressDisplay(sink, {}, true).pass({ type: "discover-start" });
    expect(sink.text()).toContain("discovering dataset files…");
    const quiet = io();
    progressDisplay(quiet, { quiet: true }, true).pass({ type: "discover-start" });
    const pipe = io();
    progressDisplay(pipe, {}, false).pass({ type: "discover-start" });
    expect(quiet.text() + pipe.text()).toBe("");
  });
});
