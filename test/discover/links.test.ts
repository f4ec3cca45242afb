import { realpathSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { discoverFiles } from "../../src/discover/discover.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * A plain file found in a folder takes its real and relative paths from the folder's (no `realpath` call or path
 * resolution per file): they must be the paths the system resolves, whether the folder was reached directly, through a link to it, or through a link
 * in the path given, so the same file reached twice is still listed once.
 */

const tmp = useTempDir("discover-links");

describe("real paths of the files found in folders", () => {
  it("are the system's real paths, through linked folders and a linked input, and a file reached twice is listed once", async () => {
    const root = tmp();
    await mkdir(join(root, "data", "shared"), { recursive: true });
    await mkdir(join(root, "elsewhere"), { recursive: true });
    await writeFile(join(root, "data", "a.jsonl"), chatLines(2));
    await writeFile(join(root, "data", "shared", "b.jsonl"), chatLines(2, 10));
    await writeFile(join(root, "elsewhere", "c.jsonl"), chatLines(2, 20));
    // A link to a folder inside the walk (its files are reached twice) and to one outside it.
    await symlink(join(root, "data", "shared"), join(root, "data", "z-again"));
    await symlink(join(root, "elsewhere"), join(root, "data", "y-outside"));
    // The input itself through a link.
    await symlink(join(root, "data"), join(root, "data-link"));

    for (const input of [join(root, "data"), join(root, "data-link")]) {
      const { files, skipped } = await discoverFiles([input]);
      expect(files.map((f) => f.relative)).toEqual(["a.jsonl", "shared/b.jsonl", "y-outside/c.jsonl"]);
      for (const f of files) {
        expect(f.realPath, f.path).toBe(realpathSync.native(f.path));
        expect(f.relative, f.path).toBe(relative(input, f.path));
      }
      expect(skipped.map((s) => [s.path.slice(input.length + 1), s.reason])).toEqual([["z-again", "directory already visited (a link loop or a repeated path)"]]);
    }

    // The same file named directly and found in a folder: once, as itself.
    const { files } = await discoverFiles([join(root, "elsewhere", "c.jsonl"), join(root, "data-link")]);
    expect(files.map((f) => f.path)).toEqual([join(root, "elsewhere", "c.jsonl"), join(root, "data-link", "a.jsonl"), join(root, "data-link", "shared", "b.jsonl")]);
  });
});

describe("names listed in a folder", () => {
  it("come in the order of their UTF-8 bytes, with the paths `join` gives, and a name that is not UTF-8 is reported", async () => {
    const root = tmp();
    const dir = join(root, "names");
    await mkdir(dir);
    // UTF-16 code units put the emoji (a surrogate pair, U+1F600) before U+E000; its UTF-8 bytes come after.
    const names = ["b.jsonl", "a\u{1F600}.jsonl", "a\uE000.jsonl", "A.jsonl", "é.jsonl", ".hidden.jsonl", "notes.txt"];
    for (const name of names) await writeFile(join(dir, name), chatLines(1));
    const expected = ["A.jsonl", "a\uE000.jsonl", "a\u{1F600}.jsonl", "b.jsonl", "é.jsonl"];
    for (const input of [dir, `${dir}/`, `${dir}//.`]) {
      const { files, skipped, unreadable } = await discoverFiles([input]);
      expect(files.map((f) => f.relative)).toEqual(expected);
      expect(files.map((f) => f.path)).toEqual(expected.map((n) => join(input, n)));
      expect(skipped.map((s) => s.path)).toEqual([join(input, ".hidden.jsonl"), join(input, "notes.txt")]);
      expect(unreadable).toEqual([]);
    }
    // A name that is not valid UTF-8: reported, and the others still listed in the same order.
    await writeFile(Buffer.concat([Buffer.from(`${dir}/a`), Buffer.from([0xff]), Buffer.from(".jsonl")]), chatLines(1));
    const { files, unreadable } = await discoverFiles([dir]);
    expect(files.map((f) => f.relative)).toEqual(expected);
    expect(unreadable.map((u) => u.path)).toEqual([`${dir}/a\\xff.jsonl`]);
  });
});
