import { main } from "../../src/cli/main.js";
import type { Io } from "../../src/cli/io.js";

/** Runs the CLI in-process and returns its exit code and what it printed. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    exitCode: 0,
  };
  const code = await main(["node", "ftprep", ...args], io);
  return { code, stdout, stderr };
}
