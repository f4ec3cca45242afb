import { Command, InvalidArgumentError, Option } from "commander";
import { MAPPABLE_KEYS, SOURCE_FORMATS, type SourceFormat } from "../convert/formats.js";
import { POLICY_KINDS, type Policies, type PolicyKind } from "../convert/policies.js";
import { seedArg } from "./fix.js";
import type { Io } from "./io.js";
import { byteSize, workersOption } from "./options.js";
import { runRewrite } from "./rewrite-print.js";

type ConvertFlags = {
  out: string;
  to: "mistral-chat" | "openai-chat";
  from: SourceFormat | "auto";
  map: Record<string, string>;
  seed?: number;
  skipInvalid?: boolean;
  dryRun?: boolean;
  json?: boolean;
  maxLineBytes?: number;
  workers?: number;
} & Partial<Record<string, string>>;

/** commander argument parser for a repeatable `--map ours=theirs`. */
function mapArg(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  const ours = value.slice(0, at).trim();
  const theirs = value.slice(at + 1).trim();
  if (at < 1 || theirs === "") throw new InvalidArgumentError("Expected KEY=COLUMN, such as messages=conversations.");
  if (!(MAPPABLE_KEYS as readonly string[]).includes(ours)) throw new InvalidArgumentError(`Expected KEY to be one of ${MAPPABLE_KEYS.join(", ")}; got ${JSON.stringify(ours)}.`);
  return { ...previous, [ours]: theirs };
}

/** The flag of a policy kind: `openai_keys` → `--openai-keys`. */
function policyFlag(kind: PolicyKind): string {
  return kind.replace(/_/g, "-");
}

const POLICY_HELP: Record<PolicyKind, string> = {
  developer: "OpenAI `developer` messages for a Mistral target (map: become `system`)",
  names: "`name` on messages the target gives none (Mistral: system/user/assistant; OpenAI: tool)",
  openai_keys: "OpenAI-only keys for a Mistral target (`parallel_tool_calls`; a message's `refusal`, `audio`, `annotations`)",
  images: "image chunks (drop them for a text-only model)",
  extra_columns: "source columns no chat format has (`id`, `source`, …)",
};

/** `ftprep convert <in...> --to FORMAT -o <out>` */
export function convertCommand(io: Io): Command {
  const command = new Command("convert")
    .description("convert OpenAI/Mistral chat, ShareGPT, Alpaca or prompt/completion records (JSONL, .jsonl.gz, .json, Parquet) to Mistral or OpenAI chat JSONL")
    .argument("<in...>", "files or directories (*.jsonl, *.jsonl.gz, *.json, *.parquet below a directory)")
    .addOption(new Option("--to <format>", "the chat format to write").choices(["mistral-chat", "openai-chat"]).makeOptionMandatory())
    .requiredOption("-o, --out <path>", "output: a .jsonl file for one input file, else a directory (same relative names, as .jsonl)")
    .addOption(new Option("--from <format>", "the source format; auto detects it per record").choices(["auto", ...SOURCE_FORMATS]).default("auto"))
    .option("--map <key=column>", `read KEY from the source's COLUMN (repeatable; KEY one of ${MAPPABLE_KEYS.join(", ")})`, mapArg, {});
  for (const [kind, info] of Object.entries(POLICY_KINDS) as [PolicyKind, (typeof POLICY_KINDS)[PolicyKind]][]) {
    command.addOption(new Option(`--${policyFlag(kind)} <policy>`, POLICY_HELP[kind]).choices([...info.choices]).default(info.default));
  }
  return command
    .option("--seed <n>", "seed of fresh tool-call ids: the same seed gives the same ids", seedArg)
    .option("--skip-invalid", "leave out records that cannot be converted or are invalid for the target (counted)")
    .option("--dry-run", "show what would change; write nothing")
    .option("--json", "print one JSON document on stdout")
    .option("--max-line-bytes <size>", "longest line read (default 64MiB)", byteSize)
    .addOption(workersOption("threads that rewrite, one file each"))
    .action(async (inputs: string[], flags: ConvertFlags) => {
      const { convertPaths } = await import("../convert/convert.js");
      const policies: Partial<Record<PolicyKind, string>> = {};
      for (const kind of Object.keys(POLICY_KINDS) as PolicyKind[]) {
        const camel = kind.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        const value = flags[camel];
        if (typeof value === "string") policies[kind] = value;
      }
      await runRewrite(io, flags, (common) =>
        convertPaths(inputs, { ...common, to: flags.to, from: flags.from, map: flags.map, policies: policies as Partial<Policies> }),
      );
    });
}
