import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FtprepError } from "../../src/errors.js";
import { run, type RunOptions } from "../../src/pipeline/run.js";
import type { UploadEvent } from "../../src/upload/uploader.js";
import { runCli } from "../helpers/cli.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const dataset = join(repo, "fixtures/datasets/mistral-chat");
const tmp = useTempDir("preflight");
const serve = useServers();

/** Runs `run` and returns its error, with what it did before failing: files validated and upload events. */
async function failing(options: RunOptions): Promise<{ error: FtprepError; validated: number; events: UploadEvent[] }> {
  let validated = 0;
  const events: UploadEvent[] = [];
  const error = await run([dataset], {
    manifestPath: join(tmp(), "m.json"),
    outDir: join(tmp(), "out"),
    env: {},
    // The upload's own retry policy, made fast: were the check missing, the run would retry and report per file.
    retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 },
    onSource: () => void validated++,
    onEvent: (e) => events.push(e),
    ...options,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FtprepError);
  return { error: error as FtprepError, validated, events };
}

/** A loopback URL nothing listens on: a server's port, once that server is closed. */
async function closedPortUrl(): Promise<string> {
  const server = await serve({ store: join(tmp(), "gone") });
  await server.close();
  return server.url;
}

describe("the pre-flight check of upload/run's target", () => {
  it("fails at once on a server that refuses connections: one error, before any file is validated, no retry", async () => {
    const url = await closedPortUrl();
    const { error, validated, events } = await failing({ baseUrl: url, apiKey: "k" });
    expect(error.code).toBe("ERR_CONNECTION");
    expect(error.message).toBe(`cannot connect to ${url} — is the server running? (ECONNREFUSED)`);
    expect(validated).toBe(0);
    expect(events).toEqual([]);
  });

  it("fails at once on a refused key (401), naming the variable to check, and on no key where one is required", async () => {
    const server = await serve({ store: join(tmp(), "store"), token: "right" });
    const wrong = await failing({ baseUrl: server.url, apiKey: "wrong" });
    expect(wrong.error.code).toBe("ERR_HTTP_401");
    expect(wrong.error.message).toMatch(new RegExp(`^${server.url} refused the API key \\(401 .*\\): check MISTRAL_API_KEY or --api-key$`));
    expect(wrong.error.message).not.toContain("wrong");
    expect(wrong.validated).toBe(0);
    expect(wrong.events).toEqual([]);
    const none = await failing({ baseUrl: server.url });
    expect(none.error.message).toMatch(/needs an API key \(401 .*\): set MISTRAL_API_KEY or give --api-key$/);
    // The right key passes the check and uploads.
    const ok = await run([dataset], { baseUrl: server.url, apiKey: "right", manifestPath: join(tmp(), "ok.json"), outDir: join(tmp(), "out"), env: {} });
    expect(ok.upload).toMatchObject({ uploaded: 2, failed: [] });
  });

  it("says how to fix a doubled /v1 (Mistral) and a base URL without /v1 (OpenAI)", async () => {
    const server = await serve({ store: join(tmp(), "store") });
    const doubled = await failing({ baseUrl: `${server.url}/v1`, apiKey: "k" });
    expect(doubled.error.message).toBe(
      `no Files API at ${server.url}/v1 (404 on GET ${server.url}/v1/v1/files): the URL ends in /v1 and ftprep adds /v1 for Mistral: use --base-url ${server.url}`,
    );
    expect(doubled.validated).toBe(0);
    const openaiDoubled = await failing({ provider: "openai", baseUrl: `${server.url}/v1/v1`, apiKey: "k" });
    expect(openaiDoubled.error.message).toMatch(new RegExp(`/v1 is doubled: use --base-url ${server.url}/v1$`));
    const bare = await failing({ provider: "openai", baseUrl: server.url, apiKey: "k" });
    expect(bare.error.message).toMatch(new RegExp(`OpenAI-compatible base URLs end in /v1: try --base-url ${server.url}/v1$`));
  });

  it("the CLI prints the one line and exits 3; a malformed or non-HTTP base URL is a usage error (exit 2)", async () => {
    const url = await closedPortUrl();
    const refused = await runCli("upload", dataset, "--base-url", url, "--api-key", "k", "--manifest", join(tmp(), "m.json"), "--out", join(tmp(), "out"));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(`ftprep: cannot connect to ${url} — is the server running? (ECONNREFUSED)\n`);
    expect(refused.stdout).toBe("");
    for (const bad of ["not a url", "ftp://127.0.0.1/files", "127.0.0.1:8910"]) {
      const result = await runCli("run", dataset, "--base-url", bad, "--manifest", join(tmp(), "m.json"), "--out", join(tmp(), "out"));
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^ftprep run: the base URL ".*" is not (a|an http\(s\)) URL; see ftprep run --help\n$/);
    }
  });
});
