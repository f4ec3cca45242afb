import { addStorageOptions } from "./storage-options.js";
import { printable } from "../printable.js";
import { Command, InvalidArgumentError, Option } from "commander";
import { ConfigError } from "../errors.js";
import type { DiscoverInput } from "../discover/discover.js";
import { formatBytes } from "../guard/size.js";
import type { Plan, PrepareOptions, SourcePlan } from "../pipeline/prepare.js";
import { FORMATS, type FormatId, type ProviderName } from "../types.js";
import type { Io } from "./io.js";
import { byteSize, positiveInt, providerOption, targetFromFlags, workersOption } from "./options.js";
import { printFile, printHintSummary } from "./print.js";
import { addTokenOptions, splitLines, splitTokens, type SplitTokens, type TokenFlags, tokenHook } from "./token-options.js";
import type { TokenHook } from "../validate/token-stats.js";
import { interruptible } from "./interrupt.js";
import { PROGRESS_FLAG, progressDisplay } from "./progress.js";
import { printJson } from "./json-output.js";
import { addHtmlOption, writeHtmlReport } from "./report.js";
import { figuresBySplit } from "../validate/figures.js";

interface PrepareFlags extends TokenFlags {
  out: string;
  provider?: ProviderName;
  maxFileBytes?: number;
  split: boolean;
  merge?: boolean;
  skipInvalid?: boolean;
  maxInvalidFraction?: number;
  dedupe?: boolean;
  validationSplit?: number;
  seed?: number;
  format: FormatId | "auto";
  train: string[];
  validation: string[];
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
  report?: string;
  maxIssues?: number;
  maxLineBytes?: number;
  html?: string;
  workers?: number;
}

/** commander argument parser: a fraction from 0 to 1. */
export function fractionArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("Expected a number from 0 to 1, such as 0.05.");
  return n;
}

function integerArg(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("Expected an integer.");
  return n;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Flags shared by every command that discovers, validates and guards files (prepare, upload, run). */
export function addGuardOptions(command: Command): Command {
  command
    .addOption(providerOption())
    .option("--max-file-bytes <size>", "largest file to upload, at most the provider's limit (default: what the provider takes, less 1 MB: Mistral 511000000, OpenAI 7999000000; units: 100MB, 64MiB)", byteSize)
    .option("--no-split", "do not shard files over the limit; report them as E_FILE_TOO_LARGE")
    .option("--merge", "where a job takes one file of a split (OpenAI), join each split's files into one (run with a pipeline job does it anyway)")
    .option("--skip-invalid", "leave invalid records out instead of refusing the file")
    .option("--max-invalid-fraction <f>", "with --skip-invalid, refuse a file with more invalid records than this (default 0.05)", fractionArg)
    .option("--dedupe", "drop records identical (after JSON normalisation) to an earlier record of the same split")
    .option("--validation-split <f>", "when no validation file is given, carve this fraction of training records out as one", fractionArg)
    .option("--seed <n>", "seed of --validation-split (default 0)", integerArg)
    .addOption(new Option("--format <format>", "record format; auto detects it per file, among the provider's formats").choices(["auto", ...FORMATS]).default("auto"))
    .option("--train <path>", "a file, directory or glob whose files are training data, whatever their names (repeatable)", collect, [])
    .option("--validation <path>", "a file, directory or glob whose files are validation data (repeatable)", collect, [])
    .option("--report <file>", "write every issue to FILE as NDJSON")
    .option("--max-issues <n>", "issues kept as examples per code (default 20)", positiveInt)
    .option("--max-line-bytes <size>", "longest line read (default 64MiB)", byteSize)
    .addOption(workersOption())
    .option(...PROGRESS_FLAG);
  addStorageOptions(command);
  return addHtmlOption(addTokenOptions(command));
}

/** Token totals per split of a plan: what a run would train on, before it runs. */
export async function planTokens(plan: Plan, flags: TokenFlags, hook: TokenHook | undefined): Promise<Record<"train" | "validation", SplitTokens>> {
  const of = (split: string) => plan.sources.filter((s) => s.split === split).map((s) => s.report);
  return { train: await splitTokens(of("train"), flags, hook), validation: await splitTokens(of("validation"), {}, hook) };
}

/** The figures of each split of a plan: its source files' valid records. */
export function planFigures(plan: Plan, flags: TokenFlags): ReturnType<typeof figuresBySplit> {
  return figuresBySplit(plan.sources.map((s) => ({ split: s.split, figures: s.report.figures })), flags.seqLen);
}

/** The per-split token lines of a plan, for people. */
export function printPlanTokens(io: Io, tokens: Record<"train" | "validation", SplitTokens>): void {
  for (const split of ["train", "validation"] as const) {
    if (tokens[split].files === 0) continue;
    for (const line of splitLines(split, tokens[split])) io.stdout(`${line}\n`);
  }
}

/** The paths to discover: positional ones (split from their names), then those given with --train / --validation. */
export function guardInputs(paths: string[], flags: Pick<PrepareFlags, "train" | "validation">): DiscoverInput[] {
  return [
    ...paths.map((path) => ({ path })),
    ...flags.train.map((path) => ({ path, split: "train" as const })),
    ...flags.validation.map((path) => ({ path, split: "validation" as const })),
  ];
}

/** The library options the guard flags stand for. */
export function guardOptions(flags: Omit<PrepareFlags, "out" | "json" | "train" | "validation">): Omit<PrepareOptions, "outDir"> {
  if (flags.seed !== undefined && flags.validationSplit === undefined) throw new ConfigError("--seed goes with --validation-split: give --validation-split F too");
  return {
    ...(flags.provider !== undefined ? { provider: flags.provider } : {}),
    split: flags.split,
    ...(flags.merge ? { merge: true } : {}),
    format: flags.format,
    skipInvalid: flags.skipInvalid ?? false,
    dedupe: flags.dedupe ?? false,
    ...(flags.maxFileBytes !== undefined ? { maxFileBytes: flags.maxFileBytes } : {}),
    ...(flags.maxInvalidFraction !== undefined ? { maxInvalidFraction: flags.maxInvalidFraction } : {}),
    ...(flags.validationSplit !== undefined ? { validationSplit: flags.validationSplit } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.report !== undefined ? { reportPath: flags.report } : {}),
    ...(flags.maxIssues !== undefined ? { maxIssues: flags.maxIssues } : {}),
    ...(flags.maxLineBytes !== undefined ? { maxLineBytes: flags.maxLineBytes } : {}),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
  };
}

/** `ftprep prepare <paths...> --out DIR` */
export function prepareCommand(io: Io): Command {
  const command = new Command("prepare")
    .description("validate, then size-guard: print the plan of upload-ready files (originals, cleaned copies, shards)")
    .argument("[paths...]", "files, directories or globs (split from file names: *train* → train; val*, eval*, dev*, *_validation, *-valid… → validation)")
    .requiredOption("--out <dir>", "where cleaned copies, conversions and shards are written")
    .option("--json", "print the plan as one JSON document on stdout")
    .option("--quiet", "no progress on stderr (errors are still printed)");
  addGuardOptions(command).action(async (paths: string[], flags: PrepareFlags) => {
    const inputs = guardInputs(paths, flags);
    if (inputs.length === 0) throw new ConfigError("give at least one path (or --train / --validation)");
    if (flags.maxInvalidFraction !== undefined && !flags.skipInvalid) throw new ConfigError("--max-invalid-fraction goes with --skip-invalid: give --skip-invalid too");
    const target = targetFromFlags(command, flags);
    const { prepare } = await import("../pipeline/prepare.js");
    const tokens = await tokenHook(flags);
    const progress = progressDisplay(io, flags);
    const plan = await interruptible(progress, (signal) => prepare(inputs, {
      ...guardOptions(flags),
      ...(tokens ? { tokens } : {}),
      target,
      outDir: flags.out,
      signal,
      onProgress: (e) => progress.pass(e),
      ...(flags.json ? {} : { onSource: (source: SourcePlan) => {
        progress.finish();
        printSource(io, source, flags.maxIssues ?? 3);
      } }),
    }));
    const totals = await planTokens(plan, flags, tokens);
    const doc = { ...plan, tokens: totals, figures: planFigures(plan, flags) };
    if (flags.html !== undefined) await writeHtmlReport(io, flags.html, doc, flags.quiet);
    if (flags.json) printJson(io, doc);
    else {
      printPlan(io, plan);
      printPlanTokens(io, totals);
    }
    io.exitCode = plan.failures.length > 0 ? 3 : plan.ok ? 0 : 1;
  });
  return command;
}

export function printSource(io: Io, source: SourcePlan, examples: number): void {
  printFile(io, source.report, examples);
  const d = source.dropped;
  const left = [
    d.invalid > 0 && source.status === "ready" ? `${d.invalid} invalid (${Object.entries(d.byCode).map(([c, n]) => `${c} ${n}`).join(", ")})` : "",
    d.duplicates > 0 ? `${d.duplicates} duplicate(s)` : "",
    d.carved > 0 ? `${d.carved} moved to the validation split` : "",
  ].filter(Boolean);
  if (left.length > 0) io.stdout(`  left out: ${left.join("; ")}\n`);
  if (source.status !== "ready") io.stdout(`  not uploadable (${source.status}): ${source.reason}\n`);
}

export function printPlan(io: Io, plan: Plan): void {
  for (const skip of plan.skipped) io.stdout(`skipped ${printable(skip.path)}: ${skip.reason}\n`);
  for (const failure of plan.failures) io.stderr(`ftprep: ${failure.message}\n`);
  for (const issue of plan.issues) io.stdout(`${issue.file}:${issue.line}: / ${issue.code} ${issue.message}\n`);
  for (const note of plan.notes) io.stdout(`${note}\n`);
  if (plan.files.length > 0) {
    io.stdout(`\nplan: ${plan.files.length} file(s) to upload (limit ${plan.maxFileBytes} bytes per file)\n`);
    io.stdout(`  ${"split".padEnd(10)} ${"kind".padEnd(16)} ${"records".padStart(9)} ${"bytes".padStart(10)}  sha256        path\n`);
    for (const f of plan.files) {
      const kind = f.parts > 1 ? `${f.kind} ${f.part}/${f.parts}` : f.kind;
      io.stdout(
        `  ${f.split.padEnd(10)} ${kind.padEnd(16)} ${String(f.records).padStart(9)} ${formatBytes(f.bytes).padStart(10)}  ${f.sha256.slice(0, 12)}  ${printable(f.path)}${f.reused ? " (kept from the last run)" : ""}\n`,
      );
    }
  }
  printHintSummary(io, plan.sources.map((s) => s.report));
  const notReady = plan.sources.filter((s) => s.status !== "ready").length;
  const blocked = notReady > 0 || plan.issues.some((i) => i.severity === "error") || plan.files.length === 0;
  if (plan.ok) io.stdout("ready to upload\n");
  else if (!blocked) io.stdout(`${plan.failures.length} entr${plan.failures.length === 1 ? "y" : "ies"} could not be read; the other files are ready to upload\n`);
  else io.stdout(`not ready: ${notReady} source file(s) cannot be uploaded as they are${plan.failures.length ? `, ${plan.failures.length} could not be read` : ""}\n`);
}
