import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("jobs-wait");
const serve = useServers();

/** Uploads the fixture dataset to `url` and creates a job without auto_start; returns its id and the manifest. */
async function jobOn(url: string): Promise<{ id: string; manifest: string }> {
  const manifest = join(tmp(), "m.json");
  const target = ["--base-url", url, "--api-key", "k"];
  const uploaded = await runCli("upload", join(repo, "fixtures/datasets/mistral-chat"), ...target, "--manifest", manifest, "--out", join(tmp(), "out"), "--quiet");
  expect(uploaded.code).toBe(0);
  const created = await runCli("jobs", "create", "--manifest", manifest, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=1", ...target, "--json");
  expect(created.stderr).toBe("");
  return { id: (JSON.parse(created.stdout) as { id: string }).id, manifest };
}

describe("ftprep jobs wait", () => {
  it("Ctrl-C: one line saying where the job is and how to follow it again, exit 3 (a real child process and SIGINT)", async () => {
    const server = await serve({ store: join(tmp(), "store"), jobs: { validationMs: 600_000 } });
    const { id, manifest } = await jobOn(server.url);
    const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "jobs", "wait", id, "--manifest", manifest, "--base-url", server.url, "--poll-ms", "20"], {
      env: { ...process.env, MISTRAL_API_KEY: "k" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    // Interrupt once it has said the job's status (it is polling, between two requests or in one).
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(`job ${id}: VALIDATING\n`)) resolve();
      });
    });
    child.kill("SIGINT");
    expect(await exited).toBe(3);
    const lines = stderr.split("\n").filter((l) => l.startsWith("ftprep"));
    expect(lines).toEqual([`ftprep: stopped while waiting for the job ${id} (VALIDATING); it goes on at the provider (ftprep jobs wait ${id})`]);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stdout).toBe("");
  });

  it("says once that a job created without auto_start sits in QUEUED and will need a start", async () => {
    const server = await serve({ store: join(tmp(), "store"), jobs: { queuedMs: 600_000 } });
    const { id, manifest } = await jobOn(server.url);
    const { code, stderr } = await runCli("jobs", "wait", id, "--manifest", manifest, "--base-url", server.url, "--api-key", "k", "--poll-ms", "10", "--timeout", "1");
    expect(code).toBe(3);
    const notice = `ftprep: job ${id} was created without auto_start: once VALIDATED it waits to be started (ftprep jobs start ${id})`;
    expect(stderr.split("\n").filter((l) => l.startsWith("ftprep"))).toEqual([notice, expect.stringMatching(new RegExp(`^ftprep: job ${id} is still QUEUED after 1s \\(--timeout\\)`))]);
    expect(stderr).toContain(`job ${id}: QUEUED\n`);
  });
});
