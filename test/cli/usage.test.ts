import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const data = join(repo, "fixtures/datasets/mistral-chat");
const tmp = useTempDir("usage", "all");

/**
 * Every usage error of every command: the arguments (`$T` stands for a temporary directory) and the one line it
 * must print on stderr (after "ftprep[ command]: "), before "; see ftprep … --help".
 */
const CASES: [args: string[], line: string][] = [
  [[], "ftprep: name a command: validate, prepare, upload, run, jobs, serve, fix, convert, tokens, report, plan, work, manifest, queue"],
  [["bogus"], "ftprep: unknown command 'bogus'"],
  [["valdate"], "ftprep: unknown command 'valdate' (did you mean validate?)"],
  // validate
  [["validate"], "ftprep validate: missing required argument 'paths'"],
  [["validate", "--fromat", "auto", data], "ftprep validate: unknown option '--fromat' (did you mean --format?)"],
  [["validate", "--format", "gpt", data], "ftprep validate: option '--format <format>' argument 'gpt' is invalid. Allowed choices are auto, mistral-chat, mistral-pretrain, mistral-classifier, openai-chat, openai-dpo, together-chat, together-instruction, together-text, together-preference"],
  [["validate", "--max-issues", "0", data], "ftprep validate: option '--max-issues <n>' argument '0' is invalid. Expected a positive integer"],
  [["validate", "--max-line-bytes", "lots", data], "ftprep validate: option '--max-line-bytes <size>' argument 'lots' is invalid. Expected a size in bytes, such as 1048576, 100MB or 64MiB"],
  [["validate", "$T/empty"], "ftprep validate: no dataset files (*.jsonl, *.jsonl.gz, *.jsonl.zst, *.json) found in $T/empty"],
  [["validate", "--write-valid", "$T/in", "$T/in/a.jsonl"], "ftprep validate: --write-valid would overwrite its input $T/in/a.jsonl; choose another directory"],
  // prepare
  [["prepare", data], "ftprep prepare: required option '--out <dir>' not specified"],
  [["prepare", "--out", "$T/out"], "ftprep prepare: give at least one path (or --train / --validation)"],
  [["prepare", data, "--out", "$T/out", "--seed", "3"], "ftprep prepare: --seed goes with --validation-split: give --validation-split F too"],
  [["prepare", data, "--out", "$T/out", "--seed", "x", "--validation-split", "0.1"], "ftprep prepare: option '--seed <n>' argument 'x' is invalid. Expected an integer"],
  [["prepare", data, "--out", "$T/out", "--validation-split", "2"], "ftprep prepare: option '--validation-split <f>' argument '2' is invalid. Expected a number from 0 to 1, such as 0.05"],
  [["prepare", data, "--out", "$T/out", "--max-invalid-fraction", "0.1"], "ftprep prepare: --max-invalid-fraction goes with --skip-invalid: give --skip-invalid too"],
  [["prepare", data, "--out", "$T/out", "--skip-invalid", "--max-invalid-fraction", "-1"], "ftprep prepare: option '--max-invalid-fraction <f>' argument '-1' is invalid. Expected a number from 0 to 1, such as 0.05"],
  [["prepare", data, "--out", "$T/out", "--provider", "anthropic"], "ftprep prepare: option '--provider <name>' argument 'anthropic' is invalid. Allowed choices are mistral, openai, together"],
  [["prepare", data, "--out", "$T/out", "--max-file-bytes", "0"], "ftprep prepare: option '--max-file-bytes <size>' argument '0' is invalid. Expected a size in bytes, such as 1048576, 100MB or 64MiB"],
  // upload and run
  [["upload"], "ftprep upload: give at least one path (or --train / --validation, or --pipeline)"],
  [["run"], "ftprep run: give at least one path (or --train / --validation, or --pipeline)"],
  [["upload", data, "--concurrency", "0"], "ftprep upload: option '--concurrency <n>' argument '0' is invalid. Expected a positive integer"],
  [["upload", data, "--pipeline", "p.json"], "ftprep upload: unknown option '--pipeline'"],
  [["run", data, "--seed", "1", "--manifest", "$T/m.json", "--out", "$T/out"], "ftprep run: --seed goes with --validation-split: give --validation-split F too"],
  [["run", data, "--base-url", "api.mistral.ai", "--manifest", "$T/m.json", "--out", "$T/out"], 'ftprep run: the base URL "api.mistral.ai" is not a URL'],
  [["upload", data, "--base-url", "ftp://127.0.0.1/x", "--manifest", "$T/m.json", "--out", "$T/out"], 'ftprep upload: the base URL "ftp://127.0.0.1/x" is not an http(s) URL'],
  [["run", "--pipeline", "$T/bad-pipeline.json"], "ftprep run: $T/bad-pipeline.json: / must have required property 'sources'"],
  // jobs
  [["jobs"], "ftprep jobs: name a command: create, status, list, start, wait, cancel"],
  [["jobs", "lists"], "ftprep jobs: unknown command 'lists' (did you mean list?)"],
  [["jobs", "create", "--manifest", "$T/m.json"], "ftprep jobs create: required option '--model <model>' not specified"],
  [["jobs", "create", "--model", "open-mistral-7b"], "ftprep jobs create: jobs create needs --manifest FILE (written by `ftprep run`)"],
  [["jobs", "create", "--manifest", "$T/none.json", "--model", "m"], "ftprep jobs create: no manifest at $T/none.json; run `ftprep run` first"],
  [["jobs", "status"], "ftprep jobs status: missing required argument 'job-id'"],
  [["jobs", "status", "a", "b"], "ftprep jobs status: too many arguments for 'status'. Expected 1 argument but got 2"],
  [["jobs", "status", "a", "--provider", "x"], "ftprep jobs status: option '--provider <provider>' argument 'x' is invalid. Allowed choices are mistral, openai, together"],
  [["jobs", "wait", "a", "--poll-ms", "soon"], "ftprep jobs wait: option '--poll-ms <ms>' argument 'soon' is invalid. Expected a positive integer"],
  // serve
  [["serve", "--port", "70000"], "ftprep serve: option '--port <n>' argument '70000' is invalid. Expected a port from 0 to 65535"],
  [["serve", "--fail-rate", "2"], "ftprep serve: option '--fail-rate <f>' argument '2' is invalid. Expected a number from 0 to 1, such as 0.05"],
  [["serve", "--fail-status", "404"], "ftprep serve: option '--fail-status <status>' argument '404' is invalid. Allowed choices are 500, 503"],
];

describe("usage errors", () => {
  beforeAll(async () => {
    await mkdir(join(tmp(), "empty"));
    await mkdir(join(tmp(), "in"));
    await writeFile(join(tmp(), "in", "a.jsonl"), '{"text":"x"}\n');
    await writeFile(join(tmp(), "bad-pipeline.json"), "{}\n");
  });

  it.each(CASES.map(([args, line]) => [args.join(" ") || "(nothing)", args, line] as const))("ftprep %s: one line, exit 2", async (_name, args, line) => {
    const sub = (s: string) => s.replaceAll("$T", tmp());
    const { code, stdout, stderr } = await runCli(...args.map(sub));
    const command = sub(line).slice(0, sub(line).indexOf(":"));
    // Progress lines (discovery) may come first; the error is the one line that is not progress, and the last.
    expect(stderr.split("\n").filter((l) => l.startsWith("ftprep"))).toEqual([`${sub(line)}; see ${command} --help`]);
    expect(stderr.endsWith(`${sub(line)}; see ${command} --help\n`)).toBe(true);
    expect(code).toBe(2);
    expect(stdout).toBe("");
  });

  it("with --json, an error found once the command runs still prints one JSON document on stdout", async () => {
    const { code, stdout, stderr } = await runCli("validate", "--json", join(tmp(), "empty"));
    expect(code).toBe(2);
    expect(stderr.split("\n").filter((l) => l.startsWith("ftprep"))).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual({ ok: false, exit_code: 2, failures: [{ code: "ERR_CONFIG", message: `no dataset files (*.jsonl, *.jsonl.gz, *.jsonl.zst, *.json) found in ${join(tmp(), "empty")}` }] });
  });
});
