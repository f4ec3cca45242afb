import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snakeCaseKey, snakeCaseKeys } from "../../src/cli/json-output.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * The machine-readable contract: every `--json` document, every NDJSON line (`tokens`, `--report`) and every failure
 * document of every command, produced for real (the CLI in-process, files on disk, the project's local server on
 * 127.0.0.1 port 0), has its keys in snake_case.
 */

const repo = join(import.meta.dirname, "..", "..");
const fixture = (path: string) => join(repo, "fixtures", path);
const tmp = useTempDir("json-contract", "all");

/** Maps keyed by data (issue codes, roles, label values, formats, repair kinds, a provider's request): any key. */
const DATA_KEYED = new Set(["counts", "by_code", "messages_by_role", "labels", "source_formats", "changes", "unconvertible", "request", "hyperparameters", "estimate"]);
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Every key of `value` that is not snake_case, as a JSON-pointer-like path ("/plan/sources/0/report/blankLines"). */
function camelKeys(value: unknown, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => camelKeys(v, `${path}/${i}`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => [
    ...(SNAKE.test(key) ? [] : [`${path}/${key}`]),
    ...(DATA_KEYED.has(key) ? [] : camelKeys(v, `${path}/${key}`)),
  ]);
}

/** The documents a command printed on stdout: one with --json, one per line for NDJSON. */
function documents(stdout: string): unknown[] {
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);
}

describe("the output boundary's key conversion", () => {
  it("snake_cases ftprep's own camelCase keys and nothing else", () => {
    expect(snakeCaseKey("blankLines")).toBe("blank_lines");
    expect(snakeCaseKey("maxFileBytes")).toBe("max_file_bytes");
    for (const kept of ["E_SCHEMA", "p50", "over_limit", "openai-chat", "ok"]) expect(snakeCaseKey(kept)).toBe(kept);
    expect(
      snakeCaseKeys({ blankLines: 1, counts: { E_JSON: 2 }, stats: { messagesByRole: { toolCall: 1 }, labels: { sentimentScore: { highValue: 1 } } }, list: [{ outDir: "x" }], gone: undefined }),
    ).toEqual({ blank_lines: 1, counts: { E_JSON: 2 }, stats: { messages_by_role: { toolCall: 1 }, labels: { sentimentScore: { highValue: 1 } } }, list: [{ out_dir: "x" }] });
  });
});

interface Case {
  /** What the command prints for this case. */
  name: string;
  args: () => string[];
  code: number;
  /** NDJSON on stdout (tokens) instead of one document; a file of NDJSON written by the command (--report). */
  ndjson?: boolean;
  reportFile?: () => string;
}

describe("snake_case keys in every machine-readable output, produced for real", () => {
  // One server for every case (the job made in beforeAll is started, waited for and cancelled by the cases).
  let server: RunningServer;
  let manifest = "";
  let jobId = "";
  const dir = () => tmp();

  beforeAll(async () => {
    server = await startServer({ store: join(dir(), "store"), jobs: { validationMs: 0, trainingMs: 0 } });
    await mkdir(join(dir(), "data"), { recursive: true });
    await writeFile(join(dir(), "data", "train.jsonl"), chatLines(30));
    // Training data with a duplicate and an invalid record, for prepare's dropped counts.
    await mkdir(join(dir(), "prep"));
    await writeFile(join(dir(), "prep", "train.jsonl"), `${chatLines(40)}${chatLines(1)}{"messages": []}\n`);
    await copyFile(fixture("valid/mistral-classifier.jsonl"), join(dir(), "classifier-train.jsonl"));
    manifest = join(dir(), "m.json");
    const uploaded = await runCli("upload", join(dir(), "data"), "--base-url", server.url, "--api-key", "k", "--manifest", manifest, "--out", join(dir(), "out"), "--json");
    expect(uploaded.code).toBe(0);
    const created = await runCli("jobs", "create", "--manifest", manifest, "--model", "open-mistral-7b", "--hyperparameter", "training_steps=1", "--base-url", server.url, "--api-key", "k", "--json");
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    jobId = (JSON.parse(created.stdout) as { id: string }).id;
  });
  afterAll(async () => {
    await server.close();
  });

  const key = ["--api-key", "k"];
  const cases: Case[] = [
    { name: "validate --json (ok)", args: () => ["validate", fixture("datasets/mistral-chat"), "--json"], code: 0 },
    {
      name: "validate --json (errors, hints, exact tokens, --write-valid)",
      args: () => ["validate", fixture("datasets/openai-tools"), fixture("invalid"), "--model", "open-mistral-7b", "--write-valid", join(dir(), "valid"), "--json"],
      code: 1,
    },
    { name: "validate --json (classifier labels, --duplicates)", args: () => ["validate", join(dir(), "classifier-train.jsonl"), "--duplicates", "--json"], code: 0 },
    { name: "validate --report (NDJSON)", args: () => ["validate", fixture("invalid"), "--report", join(dir(), "issues.ndjson"), "--json"], code: 1, reportFile: () => join(dir(), "issues.ndjson") },
    { name: "validate --json (failure document)", args: () => ["validate", join(dir(), "missing.jsonl"), "--json"], code: 3 },
    {
      name: "prepare --json (split, dedupe, skip-invalid)",
      args: () => ["prepare", join(dir(), "prep"), "--out", join(dir(), "p1"), "--skip-invalid", "--dedupe", "--validation-split", "0.1", "--json"],
      code: 0,
    },
    { name: "prepare --json (not ready)", args: () => ["prepare", fixture("invalid"), "--out", join(dir(), "p2"), "--json"], code: 1 },
    { name: "prepare --json (usage failure document)", args: () => ["prepare", fixture("datasets/mistral-chat"), "--out", join(dir(), "p3"), "--seed", "3", "--json"], code: 2 },
    { name: "upload --json", args: () => ["upload", fixture("datasets/mistral-chat"), "--base-url", server.url, ...key, "--manifest", join(dir(), "m2.json"), "--out", join(dir(), "o2"), "--json"], code: 0 },
    { name: "run --dry-run --json", args: () => ["run", fixture("datasets/mistral-chat"), "--base-url", server.url, ...key, "--manifest", join(dir(), "m2.json"), "--out", join(dir(), "o2"), "--dry-run", "--json"], code: 0 },
    { name: "run --json (refused key: failure document)", args: () => ["run", fixture("datasets/mistral-chat"), "--base-url", `${server.url}/nowhere`, ...key, "--manifest", join(dir(), "m3.json"), "--json"], code: 3 },
    { name: "jobs create --dry-run --json", args: () => ["jobs", "create", "--manifest", manifest, "--model", "open-mistral-7b", "--base-url", server.url, ...key, "--dry-run", "--json"], code: 0 },
    { name: "jobs status --json", args: () => ["jobs", "status", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--json"], code: 0 },
    { name: "jobs start --json", args: () => ["jobs", "start", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--json"], code: 0 },
    { name: "jobs wait --json", args: () => ["jobs", "wait", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--poll-ms", "5", "--json"], code: 0 },
    { name: "jobs cancel --json (already ended)", args: () => ["jobs", "cancel", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--json"], code: 3 },
    { name: "jobs status --json (unknown job: failure document)", args: () => ["jobs", "status", "no-such-job", "--base-url", server.url, ...key, "--json"], code: 3 },
    { name: "tokens (NDJSON)", args: () => ["tokens", fixture("datasets/mistral-function-calling"), "--model", "open-mistral-nemo"], code: 0, ndjson: true },
    { name: "fix --json", args: () => ["fix", fixture("datasets/openai-tools/train.jsonl"), "-o", join(dir(), "fixed.jsonl"), "--json"], code: 0 },
    { name: "convert --json", args: () => ["convert", fixture("datasets/openai-tools/train.jsonl"), "--to", "mistral-chat", "-o", join(dir(), "converted.jsonl"), "--json"], code: 0 },
    { name: "convert --json (failure document)", args: () => ["convert", join(dir(), "missing.jsonl"), "--to", "mistral-chat", "-o", join(dir(), "c2.jsonl"), "--json"], code: 3 },
  ];

  // In order: the job is started, waited for, then cancelled once it has ended.
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const { code, stdout, stderr } = await runCli(...c.args());
    expect({ code, stderr: code === c.code ? "" : stderr }).toEqual({ code: c.code, stderr: "" });
    const docs = c.reportFile ? documents(await readFile(c.reportFile(), "utf8")) : documents(stdout);
    expect(docs.length).toBeGreaterThan(0);
    if (!c.ndjson && !c.reportFile) expect(docs).toHaveLength(1);
    expect(docs.flatMap((d) => camelKeys(d))).toEqual([]);
  });
});
