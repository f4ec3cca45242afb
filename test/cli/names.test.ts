import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { printable, terminalSafe } from "../../src/printable.js";
import { remoteName } from "../../src/upload/uploader.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("names");
const ESC_NAME = "tr\u001bain\u0007.jsonl";
const NEWLINE_NAME = "x\nftprep: forged line.jsonl";

/** A folder of datasets whose names carry ESC, BEL, a newline and a tab, each with its own content. */
async function hostileFolder(): Promise<string> {
  const dir = join(tmp(), "data");
  await mkdir(dir);
  await writeFile(join(dir, ESC_NAME), chatLines(3, 0));
  await writeFile(join(dir, NEWLINE_NAME), chatLines(3, 10));
  await writeFile(join(dir, "a\tb.jsonl"), chatLines(3, 20));
  await writeFile(join(dir, "café.jsonl"), chatLines(3, 30));
  return dir;
}

describe("file names", () => {
  it("escapes control characters in names everywhere it prints them: no raw ESC/BEL, no forged line", async () => {
    const dir = await hostileFolder();
    for (const args of [["validate", dir], ["validate", "--json", dir], ["prepare", dir, "--out", join(tmp(), "out")]]) {
      const { stdout, stderr } = await runCli(...args);
      const all = stdout + stderr;
      expect(all, args[0]).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      expect(all.split("\n").some((line) => line.startsWith("ftprep: forged line")), args[0]).toBe(false);
      if (!args.includes("--json")) expect(stdout).toContain("tr\\u001bain\\u0007.jsonl");
      else expect(JSON.parse(stdout).files.map((f: { path: string }) => f.path)).toContain(join(dir, ESC_NAME));
    }
  });

  it("uploads names with control characters, percent-encoded as sent and as the server stores them", async () => {
    const dir = await hostileFolder();
    const manifest = join(tmp(), "manifest.json");
    const { code, stderr } = await runCli("upload", dir, "--store", join(tmp(), "store"), "--manifest", manifest, "--out", join(tmp(), "out"), "--quiet");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const files = (JSON.parse(await readFile(manifest, "utf8")) as { files: { path: string; remote: { filename: string } }[] }).files;
    expect(files.map((f) => f.remote.filename.replace(/\.[0-9a-f]{12}\.jsonl$/, "")).sort()).toEqual(["a%09b", "café", "tr%1Bain%07", "x%0Aftprep: forged line"].sort());
    expect(remoteName({ path: "/d/q\"\\.jsonl", sha256: "0123456789abcdef" })).toBe("q%22%5C.0123456789ab.jsonl");
  });

  it("reports a name that is not UTF-8 and an unreadable entry, and validates the rest of the folder", async () => {
    const dir = join(tmp(), "mixed");
    await mkdir(dir);
    await writeFile(join(dir, "good.jsonl"), chatLines(2));
    await writeFile(Buffer.concat([Buffer.from(`${dir}/bad`), Buffer.from([0xff]), Buffer.from(".jsonl")]), chatLines(2));
    // Root reads every file, so an unreadable entry is made another way: /proc/self/mem answers EIO at offset 0.
    await symlink("/proc/self/mem", join(dir, "unreadable.json"));
    expect((await readdir(dir)).length).toBe(3);
    const { code, stdout: human, stderr } = await runCli("validate", dir);
    expect(human).toContain("good.jsonl: mistral-chat, 2 records");
    expect(stderr).toContain(`ftprep: cannot read ${dir}/bad\\xff.jsonl: the name is not valid UTF-8`);
    expect(stderr).toContain(`ftprep: cannot read ${dir}/unreadable.json: `);
    expect(human).toContain("2 file(s) could not be read");
    expect(code).toBe(3);
    const { stdout } = await runCli("validate", "--json", dir);
    const summary = JSON.parse(stdout) as { files: unknown[]; failures: { path: string; code: string }[] };
    expect(summary.files).toHaveLength(1);
    expect(summary.failures.map((f) => f.code)).toEqual(["ERR_FS", "ERR_FS"]);
  });

  it("has one escaping helper, and a last guard on everything written", () => {
    expect(printable("a\nb\r\tc\u001b[31m\u0007\u009b\u2028\ud800")).toBe("a\\nb\\r\\tc\\u001b[31m\\u0007\\u009b\\u2028\\ud800");
    expect(printable("café 🎉")).toBe("café 🎉");
    expect(terminalSafe("ok\n\tx\u001b]0;title\u0007\r\u001b[2Kprogress")).toBe("ok\n\tx\\u001b]0;title\\u0007\r\u001b[2Kprogress");
  });
});
