import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The README's shell examples, run as written: every command of its ```sh / ```bash blocks (and of plain ```
 * blocks that show `$ ` prompts), in README order, by bash, in a scratch copy of the repository's fixtures,
 * pipelines and schemas (so the examples' relative paths resolve and what they write stays out of the checkout).
 * Where a `$ ` command is followed by output, each shown line must appear in what the command printed (`…` stands
 * for anything; ports, job ids and dates are those of this run). Lines that cannot run here are in SKIP, each with
 * its reason.
 *
 * `npx ftprep` is the package's own bin (npx finds it in the project, offline: the last test checks that); here a
 * `npx` on PATH runs that same bin directly, which saves npm's start-up on every line.
 */

const repo = join(import.meta.dirname, "..");
const exec = promisify(execFile);

/** Commands that are not run, and why. Anything else in a shell block runs. */
const SKIP: { pattern: RegExp; reason: string }[] = [
  { pattern: /^npm ci && npm test\b/, reason: "the test suite itself: this test runs inside it" },
  { pattern: /^npm test\b/, reason: "the test suite itself: this test runs inside it" },
  { pattern: /^npm run (build|typecheck)\b/, reason: "`npm test` is typecheck, build, then vitest: both ran and passed before this test started" },
  { pattern: /^npm run bench\b/, reason: "the benchmarks run for minutes and stay out of npm test (ground rules)" },
  { pattern: /^MISTRAL_API_KEY=… /, reason: "needs a real Mistral API key and the internet" },
  { pattern: /^npx ftprep serve --port 8910( --store \S+)?( --log)?$/, reason: "a long-running server: it serves until Ctrl-C (its tests start it on port 0)" },
  { pattern: /^export AWS_ACCESS_KEY_ID=… /, reason: "placeholder AWS credentials" },
  {
    pattern: /^npx ftprep (validate|prepare|run|plan|work|queue status) .*(s3:\/\/corpus|redis:\/\/10\.0\.0\.5)/,
    reason: "a bucket and a Redis of the reader's: test/storage, test/plan and test/queue run these commands against s3rver and redis-server on loopback",
  },
  { pattern: /^npx ftprep manifest merge ftprep-manifest\.shard-/, reason: "merges what the array job's shards (above, on a bucket) wrote; test/plan runs plan, work and merge end to end" },
];

/** Parts of a command that are not run, and why: the install step before the example itself. */
const PREFIXES: { prefix: string; reason: string }[] = [{ prefix: "npm ci && ", reason: "the install: done before the suite ran (npm ci here would reinstall)" }];

interface Example {
  command: string;
  /** The output the README shows after it (empty when none). */
  shown: string[];
  line: number;
}

/** The commands of the README's shell blocks, in order, with the output each shows. */
function examples(readme: string): Example[] {
  const out: Example[] = [];
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const lang = fence[1]!;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith("```")) end++;
    const body = lines.slice(start, end);
    i = end;
    const prompted = body.some((l) => l.startsWith("$ "));
    if (!["sh", "bash"].includes(lang) && !(lang === "" && prompted)) continue;
    let current: Example | undefined;
    for (let k = 0; k < body.length; k++) {
      let text = body[k]!;
      const isCommand = prompted ? text.startsWith("$ ") : text.trim() !== "" && !text.trim().startsWith("#");
      if (isCommand) {
        const at = start + k + 1;
        if (prompted) text = text.slice(2);
        while (text.endsWith("\\") && k + 1 < body.length) text = `${text.slice(0, -1)} ${body[++k]!.trim()}`;
        current = { command: text.replace(/\s+#.*$/, "").trim(), shown: [], line: at };
        out.push(current);
      } else if (prompted && current && text.trim() !== "" && text.trim() !== "…") {
        current.shown.push(text.trim());
      }
    }
  }
  return out;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A shown output line as a pattern over a printed line: `…` is anything; the local server's port, today's date in a
 * model name, event timestamps and a job's status between two commands vary; job ids are this run's (`ids`: README id → this run's).
 */
function linePattern(shown: string, ids: Map<string, string>): RegExp {
  let text = shown;
  // The full id, then its first 8 digits (`9185026a-…`, `ft:…:9185026a`).
  for (const [readmeId, realId] of ids) text = text.split(readmeId).join(realId).split(readmeId.slice(0, 8)).join(realId.slice(0, 8));
  const source = text
    .split("…")
    .map((part) =>
      escape(part)
        .replace(/127\\\.0\\\.0\\\.1:\d+/g, "127\\.0\\.0\\.1:\\d+")
        .replace(/:20\d{6}:/g, ":\\d{8}:")
        .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\\\.\d+)?Z/g, "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z")
        .replace(/\\\((QUEUED|VALIDATING|VALIDATED|RUNNING|SUCCESS)\\\)/g, "\\((?:QUEUED|VALIDATING|VALIDATED|RUNNING|SUCCESS)\\)")
        .replace(/: (QUEUED|VALIDATING|VALIDATED|RUNNING|pending|queued|running|validating_files)$/, ": (?:QUEUED|VALIDATING|VALIDATED|RUNNING|pending|queued|running|validating_files)")
        .replace(UUID, "([0-9a-f-]{36})"),
    )
    .join(".*");
  return new RegExp(`^${source}$`);
}

function runLine(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => void (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => void (output += d.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("the README's shell examples, run as written", () => {
  let work = "";
  let env: NodeJS.ProcessEnv = {};
  const all = examples(readFileSync(join(repo, "README.md"), "utf8"));

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftprep-readme-"));
    for (const dir of ["fixtures", "pipelines", "schemas"]) await cp(join(repo, dir), join(work, dir), { recursive: true });
    await cp(join(repo, "package.json"), join(work, "package.json"));
    await symlink(join(repo, "bin"), join(work, "bin"));
    await symlink(join(repo, "dist"), join(work, "dist"));
    await symlink(join(repo, "node_modules"), join(work, "node_modules"));
    const shims = join(work, ".shims");
    await mkdir(shims);
    await writeFile(join(shims, "npx"), `#!/bin/sh\n[ "$1" = ftprep ] || { echo "npx shim: only ftprep" >&2; exit 127; }\nshift\nexec "${process.execPath}" "${join(repo, "bin", "ftprep.js")}" "$@"\n`);
    await chmod(join(shims, "npx"), 0o755);
    env = { ...process.env, PATH: `${shims}:${process.env.PATH ?? ""}`, npm_config_offline: "true", npm_config_update_notifier: "false" };
    for (const name of ["MISTRAL_API_KEY", "OPENAI_API_KEY", "MISTRAL_BASE_URL", "OPENAI_BASE_URL", "FTPREP_PROVIDER", "TOGETHER_API_KEY", "TOGETHER_BASE_URL"]) delete env[name];
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("finds the examples: the quick start, every command's, the jobs walk-through", () => {
    expect(all.length).toBeGreaterThan(20);
    expect(all[0]!.command).toBe("npm ci && npm run validate-and-upload -- fixtures/datasets/mistral-chat");
    for (const command of ["npx ftprep validate", "npx ftprep tokens", "npx ftprep upload", "npx ftprep run", "npx ftprep jobs", "npx ftprep prepare", "npx ftprep fix", "npx ftprep convert"]) {
      expect(all.some((e) => e.command.startsWith(command)), command).toBe(true);
    }
  });

  it("runs every one that can run offline, each printing what the README shows", { timeout: 240_000 }, async () => {
    const ids = new Map<string, string>();
    let lastJob: string | undefined;
    const ran: string[] = [];
    const problems: string[] = [];
    for (const example of all) {
      if (SKIP.some((s) => s.pattern.test(example.command))) continue;
      let command = example.command;
      for (const { prefix } of PREFIXES) if (command.startsWith(prefix)) command = command.slice(prefix.length);
      for (const [readmeId, realId] of ids) command = command.split(readmeId).join(realId);
      // A job id the README abbreviates in a command (`jobs wait ft-…`) is the one the last `jobs create` printed.
      if (lastJob !== undefined) command = command.replace(/(?<=\s)[\w]+-…(?=\s|$)/g, lastJob);
      const { code, output } = await runLine(command, work, env);
      lastJob = /^job (\S+) created/m.exec(output)?.[1] ?? lastJob;
      ran.push(command);
      const where = `README.md:${example.line}: ${command}`;
      if (code === null || code > 3) problems.push(`${where}: exit ${code}\n${output}`);
      if (/internal error|^\s+at .+:\d+:\d+\)?$/m.test(output)) problems.push(`${where}: a stack trace or internal error\n${output}`);
      const printed = output.split("\n").map((l) => l.trim());
      for (const shown of example.shown) {
        const pattern = linePattern(shown, ids);
        // A line as printed, or (for columns, such as `ls` on a terminal) the same words with any whitespace.
        const match =
          printed.map((l) => pattern.exec(l)).find((m) => m !== null) ??
          new RegExp(pattern.source.slice(1, -1).replace(/ +/g, "\\s+")).exec(output.replace(/\s+/g, " "));
        if (!match) {
          problems.push(`${where}: the README shows\n  ${shown}\nbut it printed:\n${output}`);
          continue;
        }
        // A job id the README shows is this run's from now on.
        const readmeIds = shown.match(UUID) ?? [];
        readmeIds.forEach((id, n) => ids.set(id, match[n + 1]!));
      }
    }
    expect(problems).toEqual([]);
    expect(ran.length).toBeGreaterThan(20);
  });

  it("npx ftprep resolves to this package's bin, offline (what the shim above stands for)", { timeout: 90_000 }, async () => {
    const { stdout } = await exec("npx", ["--offline", "ftprep", "--version"], { cwd: repo, env: { ...process.env, npm_config_update_notifier: "false" } });
    const pkg = JSON.parse(await readFile(join(repo, "package.json"), "utf8")) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
  });
});
