import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline, pipelineRun } from "../../src/pipeline/pipeline-file.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * Where a pipeline file's paths point, as the README says: its sources relative to the pipeline file's folder; its
 * `out_dir`, `manifest` and `store` relative to the working directory (as the same flags are), not to the file.
 */

const tmp = useTempDir("pipeline-paths");

async function layout(): Promise<{ work: string; pipeline: string }> {
  const work = join(tmp(), "work");
  const pipes = join(tmp(), "pipes");
  await mkdir(work);
  await mkdir(pipes);
  await mkdir(join(tmp(), "data"));
  await writeFile(join(tmp(), "data", "train.jsonl"), chatLines(40));
  const pipeline = join(pipes, "p.json");
  await writeFile(
    pipeline,
    JSON.stringify({ sources: [{ path: "../data/train.jsonl" }], limits: { max_file_bytes: 4000 }, out_dir: "out", manifest: "m.json", store: "store" }),
  );
  return { work, pipeline };
}

describe("a pipeline file's paths", () => {
  it("sources are the file's folder's; out_dir, manifest and store are taken as written", async () => {
    const { pipeline } = await layout();
    const { inputs, options } = pipelineRun(await loadPipeline(pipeline), pipeline);
    expect(inputs.map((i) => i.path)).toEqual([join(tmp(), "data", "train.jsonl")]);
    expect(options).toMatchObject({ outDir: "out", manifestPath: "m.json", store: "store" });
  });

  it("ftprep run --pipeline writes the shards, the manifest and the store below the working directory", async () => {
    const { work, pipeline } = await layout();
    const before = process.cwd();
    process.chdir(work);
    try {
      const { code, stderr } = await runCli("run", "--pipeline", pipeline, "--quiet");
      expect(stderr).toBe("");
      expect(code).toBe(0);
    } finally {
      process.chdir(before);
    }
    expect(existsSync(join(work, "m.json"))).toBe(true);
    expect(existsSync(join(work, "store"))).toBe(true);
    expect((await readdir(join(work, "out"), { recursive: true })).some((name) => name.endsWith(".jsonl"))).toBe(true);
    expect((await readdir(join(tmp(), "pipes"))).sort()).toEqual(["p.json"]);
  });
});
