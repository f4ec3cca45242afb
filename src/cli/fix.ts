import { Command, InvalidArgumentError, Option } from "commander";
import type { Io } from "./io.js";
import { byteSize, workersOption } from "./options.js";
import { runRewrite } from "./rewrite-print.js";

interface FixFlags {
  out: string;
  provider: "mistral" | "openai";
  seed?: number;
  skipInvalid?: boolean;
  dryRun?: boolean;
  json?: boolean;
  maxLineBytes?: number;
  workers?: number;
}

/** commander argument parser: a seed, an integer from 0 to 2^32 - 1. */
export function seedArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 0xffffffff) throw new InvalidArgumentError("Expected an integer from 0 to 4294967295.");
  return n;
}

/** `--provider`, shared by fix and convert's neighbours: whose rules the output must meet. */
export function providerOption(): Option {
  return new Option("--provider <provider>", "whose rules the output must meet").choices(["mistral", "openai"]).env("FTPREP_PROVIDER").default("mistral");
}

/** `ftprep fix <in...> -o <out>` */
export function fixCommand(io: Io): Command {
  return new Command("fix")
    .description("apply the safe repairs for the provider (tool-call ids, legacy function calling, trailing messages, image chunks…), then validate the output")
    .argument("<in...>", "files or directories (*.jsonl, *.jsonl.gz, *.json, *.parquet below a directory)")
    .requiredOption("-o, --out <path>", "output: a .jsonl file for one input file, else a directory (same relative names, as .jsonl)")
    .addOption(providerOption())
    .option("--seed <n>", "seed of the fresh tool-call ids: the same seed gives the same ids", seedArg)
    .option("--skip-invalid", "leave out records still invalid after the repairs (counted)")
    .option("--dry-run", "show what would change; write nothing")
    .option("--json", "print one JSON document on stdout")
    .option("--max-line-bytes <size>", "longest line read (default 64MiB)", byteSize)
    .addOption(workersOption("threads that rewrite, one file each"))
    .action(async (inputs: string[], flags: FixFlags) => {
      const { fixPaths } = await import("../convert/fix.js");
      await runRewrite(io, flags, (common) => fixPaths(inputs, { ...common, target: flags.provider === "openai" ? "openai-chat" : "mistral-chat" }));
    });
}
