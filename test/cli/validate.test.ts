import { readdirSync } from "node:fs";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const run = promisify(execFile);
const repo = join(import.meta.dirname, "..", "..");
const fixture = (p: string) => join(repo, "fixtures", p);

const tmp = useTempDir("cli", "all");

describe("ftprep validate", () => {
  it("exits 0 on a valid dataset directory and prints a summary per file on stdout", async () => {
    const { code, stdout, stderr } = await runCli("validate", fixture("datasets/mistral-chat"));
    expect(code).toBe(0);
    expect(stderr.split("\n").filter((l) => l.startsWith("ftprep"))).toEqual([]);
    expect(stdout).toMatch(/train\.jsonl: mistral-chat, 20 records \(20 valid, 0 invalid\)/);
    expect(stdout).toMatch(/2 file\(s\) validated: 2 without errors/);
  });

  it("exits 1 when a record has an error, printing each code's count and examples as file:line: path CODE message", async () => {
    const file = fixture("invalid/mistral-pretrain-rules.jsonl");
    const { code, stdout } = await runCli("validate", "--format", "mistral-pretrain", file);
    expect(code).toBe(1);
    expect(stdout).toMatch(/ {2}E_PRETRAIN_TEXT ×\d+/);
    expect(stdout).toContain(`${file}:1: /`);
  });

  it("prints one JSON document with --json, in the documented shape", async () => {
    const { code, stdout } = await runCli("validate", "--json", fixture("invalid/line-level.jsonl"), fixture("valid/mistral-pretrain.jsonl"));
    expect(code).toBe(1);
    const doc = JSON.parse(stdout);
    expect(doc.ok).toBe(false);
    expect(doc.files).toHaveLength(2);
    const [bad, good] = doc.files;
    for (const key of ["path", "format", "records", "valid", "invalid", "bytes", "issues", "counts"]) expect(bad).toHaveProperty(key);
    expect(Object.keys(bad.issues[0]).sort()).toEqual(["code", "line", "message", "path", "severity", "snippet"]);
    expect(good.format).toBe("mistral-pretrain");
    expect(good.issues).toEqual([]);
  });

  it("keeps --max-issues examples per code but counts every issue", async () => {
    const path = join(tmp(), "many.jsonl");
    await writeFile(path, "nope\n".repeat(50));
    const { stdout } = await runCli("validate", "--json", "--max-issues", "3", path);
    const file = JSON.parse(stdout).files[0];
    expect(file.issues).toHaveLength(3);
    expect(file.counts).toEqual({ E_JSON: 50 });
  });

  it("streams every issue to --report as NDJSON", async () => {
    const report = join(tmp(), "report.ndjson");
    const path = join(tmp(), "many2.jsonl");
    await writeFile(path, "nope\n[]\n".repeat(40));
    const { code } = await runCli("validate", "--max-issues", "1", "--report", report, path);
    expect(code).toBe(1);
    const lines = (await readFile(report, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(80);
    expect(lines[1]).toEqual({ code: "E_NOT_OBJECT", severity: "error", file: path, line: 2, path: "", message: "a record must be a JSON object, got an array" });
  });

  it("writes the valid records byte for byte with --write-valid and counts the dropped ones", async () => {
    const out = join(tmp(), "out");
    const good = '{"messages": [{"role":"user","content":"q"},  {"role":"assistant","content":"a"}]}';
    await writeFile(join(tmp(), "in.jsonl"), `${good}\r\nbad\n\n${good.replace("q", "r")}`);
    const { code, stdout } = await runCli("validate", "--write-valid", out, join(tmp(), "in.jsonl"));
    expect(code).toBe(1);
    // The records' bytes as read; every line ends with "\n" (CRLF normalised, blank lines and bad records left out).
    expect(await readFile(join(out, "in.jsonl"), "utf8")).toBe(`${good}\n${good.replace("q", "r")}\n`);
    expect(stdout).toContain("wrote 2 valid record(s)");
    expect(stdout).toContain("(1 dropped)");
  });

  it("refuses to let --write-valid overwrite its input", async () => {
    const path = join(tmp(), "self.jsonl");
    await writeFile(path, '{"text":"x"}\n');
    const { code, stderr } = await runCli("validate", "--write-valid", tmp(), path);
    expect(code).toBe(2);
    expect(stderr).toContain("would overwrite its input");
    expect(await readFile(path, "utf8")).toBe('{"text":"x"}\n');
  });

  it("exits 2 on usage errors", async () => {
    expect((await runCli("validate", "--format", "yaml", fixture("valid"))).code).toBe(2);
    expect((await runCli("validate", "--max-issues", "0", fixture("valid"))).code).toBe(2);
    expect((await runCli("validate")).code).toBe(2);
    expect((await runCli("frobnicate")).code).toBe(2);
    const empty = await mkdtemp(join(tmp(), "empty-"));
    const none = await runCli("validate", empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no dataset files");
  });

  it("exits 3 with one line, no stack trace, when a path cannot be read", async () => {
    const { code, stderr } = await runCli("validate", join(tmp(), "missing.jsonl"));
    expect(code).toBe(3);
    expect(stderr.trim().split("\n")).toEqual([`ftprep: cannot read ${join(tmp(), "missing.jsonl")}: no such file or directory (ENOENT)`]);
  });

  it("runs as the installed bin", async () => {
    const valid = (prefix: string) => readdirSync(fixture("valid")).filter((f) => f.startsWith(prefix)).map((f) => fixture(`valid/${f}`));
    const { stdout } = await run(process.execPath, [join(repo, "bin", "ftprep.js"), "validate", "--json", ...valid("mistral-")]);
    const doc = JSON.parse(stdout);
    expect(doc.ok).toBe(true);
    expect(doc.provider).toBe("mistral");
    expect(doc.files.map((f: { format: string }) => f.format).sort()).toEqual(["mistral-chat", "mistral-chat", "mistral-classifier", "mistral-pretrain"]);
    const openai = await run(process.execPath, [join(repo, "bin", "ftprep.js"), "validate", "--json", "--provider", "openai", ...valid("openai-")]);
    expect(JSON.parse(openai.stdout).files.map((f: { format: string }) => f.format).sort()).toEqual(["openai-chat", "openai-dpo"]);
    const bad = await run(process.execPath, [join(repo, "bin", "ftprep.js"), "validate", fixture("invalid/empty.jsonl")]).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
  });
});
