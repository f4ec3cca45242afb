import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { EPILOGS } from "../../src/cli/help.js";
import { buildProgram } from "../../src/cli/main.js";
import { runCli } from "../helpers/cli.js";

const repo = join(import.meta.dirname, "..", "..");

/** Every command that runs something, by its path below `ftprep` ("validate", "jobs create"). */
function leafPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => (c.commands.length > 0 ? leafPaths(c, [...prefix, c.name()]) : [[...prefix, c.name()]]));
}

describe("--help", () => {
  const paths = leafPaths(buildProgram({ stdout: () => {}, stderr: () => {}, exitCode: 0 }));

  it.each(paths.map((p) => [p.join(" ")]))("%s ends with examples, the environment it reads and its exit codes", async (path) => {
    const { code, stdout } = await runCli(...path.split(" "), "--help");
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nExamples:\n {2}\$ ftprep .+\n(.+\n)*\nEnvironment:\n {2}.+\n(.+\n)*\nExit codes: 0 .+\n+$/);
  });

  describe("its examples run as written from the repository (those that need no job id or long-running server)", () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), "ftprep-help-"));
    symlinkSync(join(repo, "fixtures"), join(dir, "fixtures"));
    symlinkSync(join(repo, "pipelines"), join(dir, "pipelines"));
    afterAll(() => {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    });
    const runnable = Object.values(EPILOGS)
      .flatMap((e) => e.examples)
      .filter((e) => !/JOB_ID|ftprep serve|--auto-start|redis:\/\/|s3:\/\//.test(e));

    it.each(runnable.map((e) => [e]))("%s", async (example) => {
      process.chdir(dir);
      const { code, stderr } = await runCli(...example.split(" ").slice(1));
      expect(code, stderr).toBe(0);
    });
  });
});
