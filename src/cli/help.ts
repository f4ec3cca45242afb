import type { Command } from "commander";
import { S3_ENV } from "./storage-options.js";

/** What `--help` of each command ends with: examples that run as written from the repository, the environment it reads, its exit codes. */
export interface Epilog {
  examples: string[];
  env: string[];
  exit: string;
}

const DEBUG = "FTPREP_DEBUG      set to 1 to print a stack trace with an internal error";
const PROVIDER = "FTPREP_PROVIDER   the target provider when --provider is not given (default mistral)";
const KEYS = [
  "MISTRAL_API_KEY, OPENAI_API_KEY, TOGETHER_API_KEY     the provider's key (with neither key nor base URL: the embedded local server)",
  "MISTRAL_BASE_URL, OPENAI_BASE_URL, TOGETHER_BASE_URL  the provider's base URL when --base-url is not given",
];
const DATA_EXIT = "0 no errors, 1 the data has errors, 2 usage error, 3 operational failure (a file, the network, Ctrl-C)";
const RUN_EXIT = "0 done, 1 the data has errors (nothing invalid was uploaded), 2 usage error, 3 operational failure (network, server, Ctrl-C, an entry that could not be read: the rest is uploaded)";
const JOB_EXIT = "0 done, 1 the job failed or its data was refused, 2 usage error, 3 operational failure (network, server, timeout, Ctrl-C)";
const JOB_ENV = [PROVIDER, ...KEYS, DEBUG];

/** Keyed by the command's path below `ftprep` ("validate", "jobs create"). */
export const EPILOGS: Record<string, Epilog> = {
  validate: {
    examples: ["ftprep validate fixtures/datasets/mistral-chat", "ftprep validate --provider openai --json fixtures/datasets/openai-tools", "ftprep validate --model open-mistral-nemo fixtures/datasets/mistral-function-calling"],
    env: [PROVIDER, ...S3_ENV, DEBUG],
    exit: DATA_EXIT,
  },
  prepare: {
    examples: ["ftprep prepare fixtures/datasets/mistral-chat --out prepared", "ftprep prepare fixtures/datasets/mistral-chat --out prepared --no-split --validation-split 0.1 --seed 7"],
    env: [PROVIDER, ...S3_ENV, DEBUG],
    exit: DATA_EXIT,
  },
  upload: {
    examples: ["ftprep upload fixtures/datasets/mistral-chat", "ftprep upload --provider openai fixtures/datasets/openai-tools --manifest openai-manifest.json", "ftprep upload --provider together fixtures/datasets/together-chat --manifest together-manifest.json"],
    env: [PROVIDER, ...KEYS, ...S3_ENV, DEBUG],
    exit: RUN_EXIT,
  },
  run: {
    examples: ["ftprep run fixtures/datasets/mistral-chat", "ftprep run --dry-run --json fixtures/datasets/mistral-chat", "ftprep run --pipeline pipelines/mistral-chat.json"],
    env: [PROVIDER, ...KEYS, ...S3_ENV, DEBUG],
    exit: RUN_EXIT,
  },
  "jobs create": {
    examples: ["ftprep jobs create --manifest ftprep-manifest.json --model open-mistral-7b --dry-run", "ftprep jobs create --manifest ftprep-manifest.json --model open-mistral-7b --auto-start --json"],
    env: JOB_ENV,
    exit: JOB_EXIT,
  },
  "jobs list": { examples: ["ftprep jobs list --provider together", "ftprep jobs list --manifest ftprep-manifest.json --json"], env: JOB_ENV, exit: JOB_EXIT },
  "jobs status": { examples: ["ftprep jobs status JOB_ID --manifest ftprep-manifest.json", "ftprep jobs status JOB_ID --json"], env: JOB_ENV, exit: JOB_EXIT },
  "jobs start": { examples: ["ftprep jobs start JOB_ID --manifest ftprep-manifest.json"], env: JOB_ENV, exit: JOB_EXIT },
  "jobs wait": { examples: ["ftprep jobs wait JOB_ID --manifest ftprep-manifest.json --timeout 2h", "ftprep jobs wait JOB_ID --start"], env: JOB_ENV, exit: JOB_EXIT },
  "jobs cancel": { examples: ["ftprep jobs cancel JOB_ID --manifest ftprep-manifest.json"], env: JOB_ENV, exit: JOB_EXIT },
  serve: {
    examples: ["ftprep serve --port 8080 --store /tmp/ftprep-store --log", "ftprep serve --port 0 --token s3cret --fail-rate 0.3"],
    env: [DEBUG],
    exit: "0 stopped by SIGINT/SIGTERM, 2 usage error, 3 the port could not be taken or the store opened",
  },
  fix: {
    examples: ["ftprep fix fixtures/datasets/openai-tools/train.jsonl -o fixed/train.jsonl --provider mistral", "ftprep fix fixtures/datasets/openai-tools -o fixed --provider mistral --seed 1 --dry-run"],
    env: [PROVIDER, DEBUG],
    exit: "0 output valid, 1 records still invalid, 2 usage error, 3 a file could not be read or written",
  },
  convert: {
    examples: ["ftprep convert fixtures/valid/openai-chat.jsonl --to mistral-chat -o mistral.jsonl", "ftprep convert fixtures/datasets/mistral-chat --to openai-chat -o converted --names drop"],
    env: [DEBUG],
    exit: "0 output valid, 1 records not converted or invalid, 2 usage error, 3 a file could not be read or written",
  },
  report: {
    examples: ["ftprep validate fixtures/datasets/mistral-chat --html report.html", "ftprep report ftprep-manifest.json --html manifest-report.html"],
    env: [DEBUG],
    exit: "0 written, 2 usage error (not a --json output or manifest), 3 a file could not be read or written",
  },
  tokens: {
    examples: ["ftprep tokens --model open-mistral-nemo fixtures/datasets/mistral-function-calling", "ftprep tokens --model gpt-4o-mini-2024-07-18 fixtures/datasets/openai-tools"],
    env: [DEBUG],
    exit: "0 counted, 2 usage error, 3 a file could not be read",
  },
  // In this order, the examples are one session: plan, two shards, merge (the help test runs them in turn).
  plan: {
    examples: ["ftprep plan fixtures/datasets/mistral-chat --out plan.json --unit-bytes 4kB", "ftprep plan s3://corpus/chats/ --out plan.json --enqueue redis://127.0.0.1:6379 --job-model open-mistral-7b"],
    env: [PROVIDER, ...S3_ENV, DEBUG],
    exit: "0 planned, 2 usage error (no dataset file), 3 an entry could not be read (no plan written)",
  },
  work: {
    examples: ["ftprep work --plan plan.json --shard-index 0 --shard-count 2 --manifest part-0.json", "ftprep work --plan plan.json --shard-index 1 --shard-count 2 --manifest part-1.json", "ftprep work --queue redis://127.0.0.1:6379 --stalled-after 60s"],
    env: ["JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, SLURM_ARRAY_TASK_ID  the shard index when --shard-index is not given", ...KEYS, ...S3_ENV, DEBUG],
    exit: RUN_EXIT,
  },
  "queue status": {
    examples: ["ftprep queue status --queue redis://127.0.0.1:6379", "ftprep queue status --queue redis://127.0.0.1:6379 --manifest-out ftprep-manifest.json --json"],
    env: [DEBUG],
    exit: "0 no unit failed, 1 a unit failed for good, 2 usage error, 3 Redis cannot be reached, or no merged manifest yet for --manifest-out",
  },
  "manifest merge": {
    examples: ["ftprep manifest merge part-0.json part-1.json --out merged-manifest.json"],
    env: [DEBUG],
    exit: "0 merged, 2 usage error (manifests of different targets, a file with two contents), 3 a file could not be read or written",
  },
};

function render(epilog: Epilog): string {
  const lines = ["", "Examples:", ...epilog.examples.map((e) => `  $ ${e}`), "", "Environment:", ...epilog.env.map((e) => `  ${e}`), "", `Exit codes: ${epilog.exit}`, ""];
  return lines.join("\n");
}

/** Appends each command's epilog to its `--help`; every command that runs something has one (a test checks). */
export function addHelpEpilogs(program: Command, prefix = ""): void {
  for (const command of program.commands) {
    const path = `${prefix}${command.name()}`;
    const epilog = EPILOGS[path];
    if (epilog !== undefined) command.addHelpText("after", render(epilog));
    addHelpEpilogs(command, `${path} `);
  }
}
