import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * An entry of a dataset folder that cannot be read is a failure of that entry: reported with its escaped name and
 * the reason, while validate, prepare and run go on with the rest (run uploads the files that are ready) and the
 * exit code says 3. Made in ways that hold for every user, root included (root reads a chmod 000 file): a link to
 * /proc/self/mem (EIO at offset 0) as a file, and a directory whose path is longer than PATH_MAX (ENAMETOOLONG).
 */

const tmp = useTempDir("unreadable");
const serve = useServers();
const deepTrees: string[] = [];
afterEach(() => {
  // fs.rm works with whole paths, which are too long here; rm -rf walks relative to each directory.
  for (const dir of deepTrees.splice(0)) execFileSync("rm", ["-rf", dir]);
});

/** `dir/NAME/d…/d…/…`: directories nested until the path passes PATH_MAX (4096); returns the first one too long. */
function tooDeep(dir: string, name: string): string {
  const segment = "d".repeat(200);
  const depth = Math.ceil(4200 / (segment.length + 1));
  // One mkdir per level from inside the level above: each call names a short relative path.
  execFileSync("sh", ["-c", `cd "$1" && mkdir "$2" && cd "$2" && i=0; while [ $i -lt ${depth} ]; do mkdir ${segment} && cd -P ${segment} 2>/dev/null || exit 0; i=$((i+1)); done`, "sh", dir, name]);
  deepTrees.push(join(dir, name));
  let path = join(dir, name);
  while (path.length <= 4096) path = join(path, segment);
  return path;
}

/** A folder with two good training files, a link to /proc/self/mem named like a dataset, and a tree too deep to read. */
async function mixedFolder(): Promise<{ dir: string; deep: string }> {
  const dir = join(tmp(), "data\u001b[2Jx");
  await mkdir(dir);
  await writeFile(join(dir, "a-train.jsonl"), chatLines(20, 0));
  await writeFile(join(dir, "b-train.jsonl"), chatLines(20, 100));
  await symlink("/proc/self/mem", join(dir, "c-train.jsonl"));
  const deep = tooDeep(dir, "nested");
  return { dir, deep };
}

describe("an entry of a folder that cannot be read", () => {
  it("is a failure of its own in validate and prepare; the rest is processed", async () => {
    const { dir } = await mixedFolder();
    const validated = await runCli("validate", dir, "--json");
    expect(validated.code).toBe(3);
    const summary = JSON.parse(validated.stdout) as { files: { path: string }[]; failures: { path: string; code: string; message: string }[] };
    expect(summary.files.map((f) => f.path).sort()).toEqual([join(dir, "a-train.jsonl"), join(dir, "b-train.jsonl")]);
    expect(summary.failures.map((f) => f.code)).toEqual(["ERR_FS", "ERR_FS"]);
    expect(summary.failures.map((f) => f.message).join("\n")).toMatch(/EIO/);
    expect(summary.failures.map((f) => f.message).join("\n")).toMatch(/ENAMETOOLONG|name too long/i);

    const out = join(tmp(), "out");
    const prepared = await runCli("prepare", dir, "--out", out);
    expect(prepared.code).toBe(3);
    expect(prepared.stderr).not.toContain("\u001b");
    expect(prepared.stderr).toContain(`ftprep: cannot read ${join(dir, "c-train.jsonl").replace("\u001b", "\\u001b")}`);
    expect(prepared.stdout).toMatch(/plan: 2 file\(s\) to upload/);
  });

  it("leaves the HTML report written (--html) by validate, prepare and run: exit 3, the page names the failure", async () => {
    const dir = join(tmp(), "data");
    await mkdir(dir);
    await writeFile(join(dir, "a-train.jsonl"), chatLines(20, 0));
    await symlink("/proc/self/mem", join(dir, "c-train.jsonl"));
    const runs: [string, string[]][] = [
      ["validate", []],
      ["prepare", ["--out", join(tmp(), "out")]],
      ["run", ["--out", join(tmp(), "out"), "--manifest", join(tmp(), "m.json"), "--store", join(tmp(), "store"), "--quiet"]],
    ];
    for (const [command, flags] of runs) {
      const page = join(tmp(), `${command}.html`);
      const { code } = await runCli(command, dir, "--html", page, ...flags);
      expect(code, command).toBe(3);
      const html = await readFile(page, "utf8");
      expect(html, command).toContain("a-train.jsonl");
      expect(html, command).toMatch(/c-train\.jsonl: EIO/);
    }
  });

  it("does not stop run: the files that are ready are uploaded once, the failures listed, exit 3, no job", async () => {
    const { dir } = await mixedFolder();
    const root = tmp();
    const server = await serve({ store: join(root, "store") });
    const manifestPath = join(root, "m.json");
    const args = ["run", dir, "--base-url", server.url, "--api-key", "k", "--manifest", manifestPath, "--out", join(root, "out")];
    const { code, stdout, stderr } = await runCli(...args, "--json");
    expect(code).toBe(3);
    const doc = JSON.parse(stdout) as { ok: boolean; plan: { failures: { path: string; code: string }[] }; upload: { uploaded: number; failed: unknown[] } };
    expect(doc.ok).toBe(false);
    expect(doc.upload).toMatchObject({ uploaded: 2, failed: [] });
    expect(doc.plan.failures.map((f) => f.code)).toEqual(["ERR_FS", "ERR_FS"]);
    expect(stderr).not.toContain("\u001b");
    const manifest = (await readManifest(manifestPath))!;
    expect(manifest.files.map((f) => f.path).sort()).toEqual([join(dir, "a-train.jsonl"), join(dir, "b-train.jsonl")]);
    const stored = (await readdir(join(server.store, "files"))).filter((n) => n.endsWith(".json"));
    expect(stored).toHaveLength(2);

    // Human output: the failures on stderr, the upload line, exit 3; a second run sends nothing again.
    const again = await runCli(...args);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain("ftprep: cannot read ");
    expect(again.stdout).toContain("0 uploaded, 0 found already uploaded, 2 skipped (in the manifest)");
    expect((await readdir(join(server.store, "files"))).filter((n) => n.endsWith(".json"))).toHaveLength(2);
  });

  it("a pipeline with a job uploads what is ready but creates no job from part of the data", async () => {
    const { dir } = await mixedFolder();
    const root = tmp();
    const server = await serve({ store: join(root, "store"), jobs: { validationMs: 1, trainingMs: 1 } });
    const pipeline = join(root, "p.json");
    await writeFile(pipeline, JSON.stringify({ sources: [{ path: dir }], manifest: join(root, "m.json"), out_dir: join(root, "out"), job: { model: "open-mistral-7b", hyperparameters: { training_steps: 5 } } }));
    const { code, stdout, stderr } = await runCli("run", "--pipeline", pipeline, "--base-url", server.url, "--api-key", "k");
    expect(code).toBe(3);
    expect(stdout).toContain("2 uploaded");
    expect(stderr).toMatch(/ftprep: no job: 2 entries could not be read/);
    expect((await readManifest(join(root, "m.json")))!.jobs).toEqual([]);
    expect(JSON.parse(await readFile(join(root, "m.json"), "utf8")).files).toHaveLength(2);
  });
});
