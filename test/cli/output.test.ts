import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const exec = promisify(execFile);
const repo = join(import.meta.dirname, "..", "..");
const bin = join(repo, "bin", "ftprep.js");
const tmp = useTempDir("output");
const serve = useServers();

describe("results on stdout, diagnostics on stderr", () => {
  it("`ftprep validate data/ > report.txt` keeps the whole report: summaries, issues and the final line", async () => {
    const bad = join(repo, "fixtures/invalid/mistral-chat-rules.jsonl");
    const result = await exec(process.execPath, [bin, "validate", "--format", "mistral-chat", bad, join(repo, "fixtures/datasets/mistral-chat")]).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect((result as { code?: number }).code).toBe(1);
    expect(result.stdout).toMatch(/mistral-chat-rules\.jsonl: mistral-chat, 51 records \(5 valid, 46 invalid\)/);
    expect(result.stdout).toMatch(/ {2}E_ASSISTANT_CONTENT_XOR_TOOL_CALLS ×3\n {4}.*mistral-chat-rules\.jsonl:20: \/messages\/1 E_ASSISTANT_CONTENT_XOR_TOOL_CALLS/);
    expect(result.stdout).toMatch(/3 file\(s\) validated: 2 without errors, 1 with errors/);
    expect(result.stderr.split("\n").filter((l) => l.startsWith("ftprep"))).toEqual([]);
  });

  it("an unreadable path is one line on stderr; with --json, stdout still holds one document with `failures` filled", async () => {
    const missing = join(tmp(), "missing.jsonl");
    const good = join(repo, "fixtures/datasets/mistral-chat/train.jsonl");
    const human = await runCli("validate", good, missing);
    expect(human.code).toBe(3);
    expect(human.stderr.split("\n").filter((l) => l.startsWith("ftprep"))).toEqual([`ftprep: cannot read ${missing}: no such file or directory (ENOENT)`]);
    expect(human.stdout).toBe("");
    const json = await runCli("validate", "--json", good, missing);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, exit_code: 3, failures: [{ code: "ERR_FS", message: `cannot read ${missing}: no such file or directory (ENOENT)` }] });
  });

  it("upload: the per-file summaries and the upload summary go to stdout, the embedded-server notice to stderr; --quiet drops only that", async () => {
    const args = ["upload", join(repo, "fixtures/datasets/mistral-chat"), "--manifest", join(tmp(), "m.json"), "--out", join(tmp(), "out"), "--store", join(tmp(), "store")];
    const first = await runCli(...args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/train\.jsonl: mistral-chat, 20 records \(20 valid, 0 invalid\)/);
    expect(first.stdout).toContain("2 uploaded, 0 found already uploaded, 0 skipped (in the manifest), 0 failed\n");
    expect(first.stdout).toContain(`manifest: ${join(tmp(), "m.json")}\n`);
    expect(first.stderr).toMatch(/^ftprep: no MISTRAL_API_KEY and no base URL: using the embedded local Files API/m);
    const quiet = await runCli(...args, "--quiet");
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toContain("0 uploaded, 0 found already uploaded, 2 skipped (in the manifest), 0 failed\n");
  });

  it("--quiet never silences an error", async () => {
    const server = await serve({ store: join(tmp(), "store"), token: "t" });
    const { code, stderr } = await runCli("upload", join(repo, "fixtures/datasets/mistral-chat"), "--base-url", server.url, "--api-key", "bad", "--quiet", "--manifest", join(tmp(), "m.json"));
    expect(code).toBe(3);
    expect(stderr).toMatch(new RegExp(`^ftprep: ${server.url} refused the API key \\(401 .*\\): check MISTRAL_API_KEY or --api-key\\n$`));
  });

  it("--json of upload prints one document on stdout when the target refuses the connection, with `failures` filled", async () => {
    const server = await serve({ store: join(tmp(), "gone") });
    await server.close();
    const { code, stdout, stderr } = await runCli("upload", join(repo, "fixtures/datasets/mistral-chat"), "--base-url", server.url, "--api-key", "k", "--json", "--manifest", join(tmp(), "m.json"));
    expect(code).toBe(3);
    expect(stderr).toBe(`ftprep: cannot connect to ${server.url} — is the server running? (ECONNREFUSED)\n`);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      exit_code: 3,
      failures: [{ code: "ERR_CONNECTION", message: `cannot connect to ${server.url} — is the server running? (ECONNREFUSED)` }],
    });
    await expect(readFile(join(tmp(), "m.json"))).rejects.toThrow(/ENOENT/);
  });
});
