import { describe, expect, it } from "vitest";
import type { Io } from "../../src/cli/io.js";
import { Progress } from "../../src/cli/progress.js";

function io(): Io & { text: () => string } {
  let out = "";
  return { stdout: () => undefined, stderr: (t) => void (out += t), exitCode: 0, text: () => out };
}

describe("upload progress", () => {
  it("redraws one line in place on a terminal, with files, bytes, rate and retries", () => {
    const sink = io();
    const progress = new Progress(sink, true);
    progress.on({ type: "start", files: 2, bytes: 2_000_000, skipped: 1 });
    progress.on({ type: "bytes", n: 1_000_000 });
    progress.on({ type: "retry", path: "a.jsonl", attempt: 1, delayMs: 500, error: new Error("503 busy") });
    progress.on({ type: "file-done", path: "a.jsonl", id: "f1", adopted: false });
    progress.finish();
    const text = sink.text();
    expect(text).toContain("\r\x1b[2K");
    expect(text).toContain("1 file(s) already uploaded (in the manifest): skipped");
    expect(text).toMatch(/0\/2 files, 1\.0 MB of 2\.0 MB \([\d.]+ [kMG]?B\/s/);
    expect(text).toContain("retrying a.jsonl in 500 ms (attempt 1 failed: 503 busy)");
    expect(text).toMatch(/1\/2 files, .*1 retries/);
    expect(text).toContain("uploaded a.jsonl → f1");
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
