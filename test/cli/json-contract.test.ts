import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snakeCaseKey, snakeCaseKeys } from "../../src/cli/json-output.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { OUTPUT_SCHEMAS, outputSchemaErrors } from "../helpers/output-schemas.js";
import { useRedis } from "../helpers/redis.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * The machine-readable contract: every `--json` document, every NDJSON line (`tokens`, `--report`) and every failure
 * document of every command, produced for real (the CLI in-process, files on disk, the project's local server on
 * 127.0.0.1 port 0), has its keys in snake_case.
 */

const repo = join(import.meta.dirname, "..", "..");
const fixture = (path: string) => join(repo, "fixtures", path);
const tmp = useTempDir("json-contract", "all");
// plan --enqueue, work --queue and queue status print their documents for real: a Redis on loopback.
const redis = useRedis();

/** Maps keyed by data (issue codes, roles, label values, formats, repair kinds, a provider's request): any key. */
const DATA_KEYED = new Set(["counts", "by_code", "messages_by_role", "roles", "labels", "source_formats", "changes", "unconvertible", "request", "hyperparameters", "estimate"]);
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

/** The first object below the top of `value` that is ftprep's own (not a data-keyed map), depth first. */
function firstNestedObject(value: unknown, top = true): Record<string, unknown> | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstNestedObject(item, false);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  if (!top) return value as Record<string, unknown>;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (DATA_KEYED.has(key)) continue;
    const found = firstNestedObject(v, false);
    if (found) return found;
  }
  return undefined;
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
  /** Its schema in `schemas/`. */
  schema: string;
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
    await writeFile(
      join(dir(), "pipeline.json"),
      JSON.stringify({ sources: [{ path: join(dir(), "data") }], manifest: join(dir(), "m4.json"), out_dir: join(dir(), "o4"), job: { model: "open-mistral-7b", hyperparameters: { training_steps: 2 }, auto_start: true, wait: true, poll_ms: 5 } }),
    );
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
    { name: "validate --json (ok)", schema: "validate-result.schema.json", args: () => ["validate", fixture("datasets/mistral-chat"), "--json"], code: 0 },
    {
      name: "validate --json (errors, hints, exact tokens, --write-valid)",
      schema: "validate-result.schema.json",
      args: () => ["validate", fixture("datasets/openai-tools"), fixture("invalid"), "--model", "open-mistral-7b", "--write-valid", join(dir(), "valid"), "--json"],
      code: 1,
    },
    { name: "validate --json (classifier labels, --duplicates)", schema: "validate-result.schema.json", args: () => ["validate", join(dir(), "classifier-train.jsonl"), "--duplicates", "--json"], code: 0 },
    { name: "validate --report (NDJSON)", schema: "report-line.schema.json", args: () => ["validate", fixture("invalid"), "--report", join(dir(), "issues.ndjson"), "--json"], code: 1, reportFile: () => join(dir(), "issues.ndjson") },
    { name: "validate --json (a mistyped option: failure document)", schema: "validate-result.schema.json", args: () => ["validate", "--json", "--fromat", "x", fixture("valid")], code: 2 },
    { name: "validate --json (failure document)", schema: "validate-result.schema.json", args: () => ["validate", join(dir(), "missing.jsonl"), "--json"], code: 3 },
    {
      name: "prepare --json (split, dedupe, skip-invalid)",
      schema: "prepare-result.schema.json",
      args: () => ["prepare", join(dir(), "prep"), "--out", join(dir(), "p1"), "--skip-invalid", "--dedupe", "--validation-split", "0.1", "--json"],
      code: 0,
    },
    { name: "prepare --json (not ready)", schema: "prepare-result.schema.json", args: () => ["prepare", fixture("invalid"), "--out", join(dir(), "p2"), "--json"], code: 1 },
    { name: "prepare --json (usage failure document)", schema: "prepare-result.schema.json", args: () => ["prepare", fixture("datasets/mistral-chat"), "--out", join(dir(), "p3"), "--seed", "3", "--json"], code: 2 },
    { name: "upload --json", schema: "run-result.schema.json", args: () => ["upload", fixture("datasets/mistral-chat"), "--base-url", server.url, ...key, "--manifest", join(dir(), "m2.json"), "--out", join(dir(), "o2"), "--json"], code: 0 },
    { name: "run --dry-run --json", schema: "run-result.schema.json", args: () => ["run", fixture("datasets/mistral-chat"), "--base-url", server.url, ...key, "--manifest", join(dir(), "m2.json"), "--out", join(dir(), "o2"), "--dry-run", "--json"], code: 0 },
    { name: "run --json (refused key: failure document)", schema: "run-result.schema.json", args: () => ["run", fixture("datasets/mistral-chat"), "--base-url", `${server.url}/nowhere`, ...key, "--manifest", join(dir(), "m3.json"), "--json"], code: 3 },
    { name: "run --pipeline --json (a job, waited for)", schema: "run-result.schema.json", args: () => ["run", "--pipeline", join(dir(), "pipeline.json"), "--base-url", server.url, ...key, "--json"], code: 0 },
    { name: "jobs create --dry-run --json", schema: "jobs-result.schema.json", args: () => ["jobs", "create", "--manifest", manifest, "--model", "open-mistral-7b", "--base-url", server.url, ...key, "--dry-run", "--json"], code: 0 },
    { name: "jobs status --json", schema: "jobs-result.schema.json", args: () => ["jobs", "status", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--json"], code: 0 },
    { name: "jobs start --json", schema: "jobs-result.schema.json", args: () => ["jobs", "start", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--json"], code: 0 },
    { name: "jobs wait --json", schema: "jobs-result.schema.json", args: () => ["jobs", "wait", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--poll-ms", "5", "--json"], code: 0 },
    { name: "jobs cancel --json (already ended)", schema: "jobs-result.schema.json", args: () => ["jobs", "cancel", jobId, "--manifest", manifest, "--base-url", server.url, ...key, "--json"], code: 3 },
    { name: "jobs status --json (unknown job: failure document)", schema: "jobs-result.schema.json", args: () => ["jobs", "status", "no-such-job", "--base-url", server.url, ...key, "--json"], code: 3 },
    { name: "tokens (NDJSON)", schema: "tokens-line.schema.json", args: () => ["tokens", fixture("datasets/mistral-function-calling"), "--model", "open-mistral-nemo"], code: 0, ndjson: true },
    { name: "fix --json", schema: "fix-result.schema.json", args: () => ["fix", fixture("datasets/openai-tools/train.jsonl"), "-o", join(dir(), "fixed.jsonl"), "--json"], code: 0 },
    { name: "convert --json", schema: "convert-result.schema.json", args: () => ["convert", fixture("datasets/openai-tools/train.jsonl"), "--to", "mistral-chat", "-o", join(dir(), "converted.jsonl"), "--json"], code: 0 },
    { name: "fix --json (failure document)", schema: "fix-result.schema.json", args: () => ["fix", join(dir(), "missing.jsonl"), "-o", join(dir(), "f2.jsonl"), "--json"], code: 3 },
    { name: "convert --json (a bad choice: failure document)", schema: "convert-result.schema.json", args: () => ["convert", fixture("valid/openai-chat.jsonl"), "--to", "nope", "-o", join(dir(), "c3.jsonl"), "--json"], code: 2 },
    { name: "convert --json (failure document)", schema: "convert-result.schema.json", args: () => ["convert", join(dir(), "missing.jsonl"), "--to", "mistral-chat", "-o", join(dir(), "c2.jsonl"), "--json"], code: 3 },
    // Scaling out: a plan (local files, cut into ranges, added to a queue), a shard of it, an empty shard, a queue
    // worker, the queue's status, and a merge of partial manifests; each with a failure.
    {
      name: "plan --enqueue --json",
      schema: "plan-result.schema.json",
      args: () => ["plan", join(dir(), "data"), "--out", join(dir(), "plan.json"), "--unit-bytes", "4kB", "--enqueue", redis(), "--queue-name", "contract", "--json"],
      code: 0,
    },
    { name: "plan --json (an entry that cannot be read: no plan)", schema: "plan-result.schema.json", args: () => ["plan", join(dir(), "missing"), "--out", join(dir(), "plan2.json"), "--json"], code: 3 },
    { name: "plan --json (usage failure document)", schema: "plan-result.schema.json", args: () => ["plan", join(dir(), "data"), "--out", join(dir(), "plan3.json"), "--unit-bytes", "1", "--json"], code: 2 },
    {
      name: "work --plan --json (a shard)",
      schema: "work-result.schema.json",
      args: () => ["work", "--plan", join(dir(), "plan.json"), "--shard-index", "0", "--shard-count", "2", "--allow-local-paths", "--base-url", server.url, ...key, "--manifest", join(dir(), "shard-0.json"), "--out", join(dir(), "o5"), "--json"],
      code: 0,
    },
    {
      name: "work --plan --json (a shard with no unit)",
      schema: "work-result.schema.json",
      args: () => ["work", "--plan", join(dir(), "plan.json"), "--shard-index", "99", "--shard-count", "100", "--allow-local-paths", "--base-url", server.url, ...key, "--json"],
      code: 0,
    },
    {
      name: "work --queue --json",
      schema: "work-result.schema.json",
      args: () => ["work", "--queue", redis(), "--queue-name", "contract", "--base-url", server.url, ...key, "--manifest", join(dir(), "queued.json"), "--out", join(dir(), "o6"), "--quiet", "--json"],
      code: 0,
    },
    { name: "work --json (a plan that is not one: failure document)", schema: "work-result.schema.json", args: () => ["work", "--plan", manifest, "--shard-index", "0", "--shard-count", "1", "--json"], code: 2 },
    { name: "queue status --json", schema: "queue-status-result.schema.json", args: () => ["queue", "status", "--queue", redis(), "--queue-name", "contract", "--manifest-out", join(dir(), "from-queue.json"), "--json"], code: 0 },
    { name: "queue status --json (no Redis: failure document)", schema: "queue-status-result.schema.json", args: () => ["queue", "status", "--queue", "redis://127.0.0.1:1", "--json"], code: 3 },
    { name: "manifest merge --json", schema: "manifest-merge-result.schema.json", args: () => ["manifest", "merge", manifest, join(dir(), "shard-0.json"), join(dir(), "queued.json"), "--out", join(dir(), "merged.json"), "--json"], code: 0 },
    { name: "manifest merge --json (failure document)", schema: "manifest-merge-result.schema.json", args: () => ["manifest", "merge", join(dir(), "missing.json"), "--out", join(dir(), "merged2.json"), "--json"], code: 2 },
  ];

  const printed = new Map<string, unknown[]>();

  // In order: the job is started, waited for, then cancelled once it has ended.
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const { code, stdout, stderr } = await runCli(...c.args());
    expect({ code, stderr: code === c.code ? "" : stderr }).toEqual({ code: c.code, stderr: "" });
    const docs = c.reportFile ? documents(await readFile(c.reportFile(), "utf8")) : documents(stdout);
    expect(docs.length).toBeGreaterThan(0);
    if (!c.ndjson && !c.reportFile) expect(docs).toHaveLength(1);
    expect(docs.flatMap((d) => camelKeys(d))).toEqual([]);
    expect(docs.flatMap((d) => outputSchemaErrors(c.schema, d))).toEqual([]);
    printed.set(c.name, docs);
  });

  it("covers every output schema, and each schema refuses a camelCase key, at the top and nested", () => {
    expect(new Set(cases.map((c) => c.schema))).toEqual(new Set(OUTPUT_SCHEMAS.filter((name) => name !== "failure.schema.json")));
    for (const c of cases) {
      const doc = printed.get(c.name)![0] as Record<string, unknown>;
      expect(outputSchemaErrors(c.schema, { ...doc, blankLines: 0 }), c.name).not.toEqual([]);
      const nested = structuredClone(doc);
      const inner = firstNestedObject(nested);
      if (inner === undefined || c.schema === "jobs-result.schema.json") continue; // a provider's job object: its own keys below the top
      inner.maxFileBytes = 1;
      expect(outputSchemaErrors(c.schema, nested), `${c.name}: ${JSON.stringify(inner)}`).not.toEqual([]);
    }
  });
});
