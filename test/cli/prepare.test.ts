import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";
import { chatLines } from "../helpers/records.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("cli-prepare", "all");

describe("ftprep prepare", () => {
  it("prints the plan and exits 0 for a ready dataset", async () => {
    const { code, stdout } = await runCli("prepare", join(repo, "fixtures/datasets/mistral-chat"), "--out", join(tmp(), "a"));
    expect(code).toBe(0);
    expect(stdout).toMatch(/plan: 2 file\(s\) to upload \(limit 511000000 bytes per file\)/);
    expect(stdout).toMatch(/train +original +20 +9\.0 kB +[0-9a-f]{12} +.*train\.jsonl/);
    expect(stdout).toContain("ready to upload");
  });

  it("prints the plan as one JSON document with --json", async () => {
    const path = join(tmp(), "big-train.jsonl");
    await writeFile(path, chatLines(300));
    const { code, stdout } = await runCli("prepare", path, "--out", join(tmp(), "b"), "--max-file-bytes", "10kB", "--json");
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.ok).toBe(true);
    expect(plan.max_file_bytes).toBe(10_000);
    expect(plan.files.length).toBeGreaterThan(1);
    expect(Object.keys(plan.files[0]).sort()).toEqual(["bytes", "kind", "part", "parts", "path", "records", "reused", "sha256", "source", "split", "weight"]);
    expect(plan.sources[0].report.records).toBe(300);
  });

  it("exits 1 and says why when a file cannot be uploaded as it is", async () => {
    const path = join(tmp(), "bad-train.jsonl");
    await writeFile(path, `${chatLines(3)}oops\n`);
    const { code, stdout } = await runCli("prepare", path, "--out", join(tmp(), "c"));
    expect(code).toBe(1);
    expect(stdout).toContain("not uploadable (invalid): 1 of 4 records are invalid; fix them, or leave them out with --skip-invalid");
    const skipping = await runCli("prepare", path, "--out", join(tmp(), "c"), "--skip-invalid", "--max-invalid-fraction", "0.5");
    expect(skipping.code).toBe(0);
    expect(skipping.stdout).toContain("left out: 1 invalid (E_JSON 1)");
  });

  it("exits 2 on usage errors", async () => {
    expect((await runCli("prepare", join(repo, "fixtures/valid"))).code).toBe(2); // no --out
    expect((await runCli("prepare", "x", "--out", tmp(), "--validation-split", "2")).code).toBe(2);
    expect((await runCli("prepare", "x", "--out", tmp(), "--seed", "3")).code).toBe(2);
    expect((await runCli("prepare", "x", "--out", tmp(), "--max-file-bytes", "lots")).code).toBe(2);
  });
});
