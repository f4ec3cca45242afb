import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newManifest } from "../../src/manifest/manifest.js";
import { resolveTarget } from "../../src/pipeline/target.js";
import type { ProviderName } from "../../src/providers/types.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * An empty key (`MISTRAL_API_KEY=` in a shell, an `.env` line left blank, `--api-key ""`) is no key: the run goes to
 * the embedded local server, as with no variable at all — not to the public API with an empty bearer token. An
 * empty `…_BASE_URL=` or `--base-url ""` is no base URL, likewise (not "the base URL \"\" is not a URL").
 */

const tmp = useTempDir("empty-key");
const VARIABLES: Record<ProviderName, string> = { mistral: "MISTRAL_API_KEY", openai: "OPENAI_API_KEY", together: "TOGETHER_API_KEY" };

describe("an empty API key is no key", () => {
  for (const [name, variable] of Object.entries(VARIABLES) as [ProviderName, string][]) {
    it(`${variable}= means the embedded server, as no ${variable} does`, () => {
      const store = join(tmp(), "store");
      const none = resolveTarget(name, { store, env: {} });
      expect(resolveTarget(name, { store, env: { [variable]: "" } })).toEqual(none);
      expect(resolveTarget(name, { store, apiKey: "", env: {} })).toEqual(none);
      expect(none).toMatchObject({ embedded: true, store });
    });
  }

  for (const name of ["mistral", "openai", "together"] as const) {
    const variable = `${name.toUpperCase()}_BASE_URL`;
    it(`${variable}= is no base URL either: the embedded server without a key, the public API with one`, () => {
      const store = join(tmp(), "store");
      expect(resolveTarget(name, { store, env: { [variable]: "" } })).toEqual(resolveTarget(name, { store, env: {} }));
      const key = { [VARIABLES[name]]: "sk-empty-base-0123456789" };
      expect(resolveTarget(name, { env: { ...key, [variable]: "" } })).toEqual(resolveTarget(name, { env: key }));
    });
  }

  it("an empty --base-url is no base URL, as an empty MISTRAL_BASE_URL= is: the environment's, else the embedded server or the public API", () => {
    const store = join(tmp(), "store");
    const key = { MISTRAL_API_KEY: "sk-empty-flag-0123456789" };
    expect(resolveTarget("mistral", { store, baseUrl: "", env: {} })).toEqual(resolveTarget("mistral", { store, env: {} }));
    expect(resolveTarget("mistral", { baseUrl: "", env: key })).toMatchObject({ embedded: false, baseUrl: "https://api.mistral.ai" });
    const env = { ...key, MISTRAL_BASE_URL: "http://127.0.0.1:9/v1" };
    expect(resolveTarget("mistral", { baseUrl: "", env })).toMatchObject({ embedded: false, baseUrl: "http://127.0.0.1:9/v1" });
  });

  it("an empty --base-url leaves a manifest's base URL and a pipeline file's rule in force, as an absent flag does", () => {
    const manifest = { ...newManifest({ provider: "mistral", base_url: "http://127.0.0.1:9", target: "http://127.0.0.1:9", embedded_store: null, options: {} }, "0.0.0") };
    const key = { MISTRAL_API_KEY: "sk-empty-flag-0123456789" };
    // No key: the manifest's base URL is used; with a key and another URL configured, the same refusal as no flag.
    expect(resolveTarget("mistral", { manifest, baseUrl: "", env: {} })).toEqual(resolveTarget("mistral", { manifest, env: {} }));
    expect(() => resolveTarget("mistral", { manifest, baseUrl: "", env: key })).toThrow(/pass --base-url "http:\/\/127\.0\.0\.1:9"/);
    // A pipeline file's base URL is still not trusted on its own.
    expect(() => resolveTarget("mistral", { pipelineBaseUrl: "http://127.0.0.1:9", baseUrl: "", env: key })).toThrow(/--trust-pipeline-url/);
  });

  it("ftprep upload --base-url \"\" goes to the embedded server with no key, as without the flag", async () => {
    const data = join(tmp(), "train.jsonl");
    await writeFile(data, chatLines(3));
    const saved = { key: process.env.MISTRAL_API_KEY, base: process.env.MISTRAL_BASE_URL };
    delete process.env.MISTRAL_API_KEY;
    delete process.env.MISTRAL_BASE_URL;
    try {
      const { code, stdout, stderr } = await runCli("upload", data, "--base-url", "", "--dry-run", "--manifest", join(tmp(), "m.json"), "--store", join(tmp(), "store"), "--out", join(tmp(), "out"));
      expect(stderr).not.toContain("is not a URL");
      expect(stdout).toContain("dry run: would upload 1 file(s) to the embedded local server");
      expect(code).toBe(0);
    } finally {
      if (saved.key !== undefined) process.env.MISTRAL_API_KEY = saved.key;
      if (saved.base !== undefined) process.env.MISTRAL_BASE_URL = saved.base;
    }
  });

  it("an empty --api-key leaves the environment's key in force, as an absent flag does", () => {
    expect(resolveTarget("mistral", { apiKey: "", env: { MISTRAL_API_KEY: "sk-from-env-0123456789" } })).toMatchObject({ embedded: false, key: "sk-from-env-0123456789" });
  });

  it("ftprep upload with MISTRAL_API_KEY= uploads to the embedded server and says so", async () => {
    const data = join(tmp(), "train.jsonl");
    await writeFile(data, chatLines(3));
    const saved = { key: process.env.MISTRAL_API_KEY, base: process.env.MISTRAL_BASE_URL };
    process.env.MISTRAL_API_KEY = "";
    delete process.env.MISTRAL_BASE_URL;
    try {
      const { code, stdout, stderr } = await runCli("upload", data, "--manifest", join(tmp(), "m.json"), "--store", join(tmp(), "store"), "--out", join(tmp(), "out"));
      expect(stderr).toContain("no MISTRAL_API_KEY and no base URL: using the embedded local Files API");
      expect(stdout).toContain("1 uploaded");
      expect(code).toBe(0);
    } finally {
      if (saved.key === undefined) delete process.env.MISTRAL_API_KEY;
      else process.env.MISTRAL_API_KEY = saved.key;
      if (saved.base !== undefined) process.env.MISTRAL_BASE_URL = saved.base;
    }
  });
});

describe("every provider's key is a secret from the start", () => {
  it("TOGETHER_API_KEY is masked in output, as MISTRAL_API_KEY and OPENAI_API_KEY are, whatever the command's provider", async () => {
    const key = "tg-only-in-env-0123456789abcdef";
    const data = join(tmp(), "train.jsonl");
    // A record that quotes the key (pasted by mistake): its issue's snippet would print it.
    await writeFile(data, `${JSON.stringify({ messages: [{ role: "user", content: key }] })}\n`);
    const saved = process.env.TOGETHER_API_KEY;
    process.env.TOGETHER_API_KEY = key;
    try {
      const { code, stdout, stderr } = await runCli("validate", "--json", data);
      expect(code).toBe(1);
      expect(stdout + stderr).not.toContain(key);
      expect(stdout).toContain(String.raw`\"content\":\"***\"`);
    } finally {
      if (saved === undefined) delete process.env.TOGETHER_API_KEY;
      else process.env.TOGETHER_API_KEY = saved;
    }
  });
});
