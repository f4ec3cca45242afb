import { terminalSafe } from "../printable.js";
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { ConfigError, FtprepError } from "../errors.js";
import { redact, registerSecret } from "../redact.js";
import { type Io, processIo } from "./io.js";
import { printJson } from "./json-output.js";
import { prepareCommand } from "./prepare.js";
import { convertCommand } from "./convert.js";
import { fixCommand } from "./fix.js";
import { addHelpEpilogs } from "./help.js";
import { jobsCommand } from "./jobs.js";
import { serveCommand } from "./serve.js";
import { manifestCommand, planCommand, workCommand } from "./scale.js";
import { queueCommand } from "./queue.js";
import { applyStorageFlags } from "./storage-options.js";
import { runCommand, uploadCommand } from "./upload.js";
import { tokensCommand } from "./tokens.js";
import { validateCommand } from "./validate.js";
import { reportCommand } from "./report.js";
import { allProviders } from "../target/registry.js";

/** Exit codes: the contract scripts rely on. */
export const EXIT = { ok: 0, dataErrors: 1, usage: 2, operational: 3 } as const;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** An Io that masks secrets (keys, tokens, Bearer credentials, URL userinfo) in everything written through it. */
function redactingIo(io: Io): Io {
  return {
    stdout: (text) => io.stdout(terminalSafe(redact(text))),
    stderr: (text) => io.stderr(terminalSafe(redact(text))),
    get exitCode() {
      return io.exitCode;
    },
    set exitCode(code: number) {
      io.exitCode = code;
    },
  };
}

/** Builds the command tree. */
export function buildProgram(io: Io): Command {
  const program = new Command("ftprep")
    .description("Validate, size-guard and upload fine-tuning datasets, and record them in a manifest for job creation.")
    .version(packageVersion());
  program.addCommand(validateCommand(io));
  program.addCommand(prepareCommand(io));
  program.addCommand(uploadCommand(io));
  program.addCommand(runCommand(io));
  program.addCommand(jobsCommand(io));
  program.addCommand(serveCommand(io));
  program.addCommand(fixCommand(io));
  program.addCommand(convertCommand(io));
  program.addCommand(tokensCommand(io));
  program.addCommand(reportCommand(io));
  program.addCommand(planCommand(io));
  program.addCommand(workCommand(io));
  program.addCommand(manifestCommand(io));
  program.addCommand(queueCommand(io));
  addHelpEpilogs(program);
  configureTree(program, io);
  // The command about to run, so a failure can be reported in its terms (its name, and JSON when it was asked for).
  program.hook("preAction", (_program, action) => {
    io.command = commandPath(action);
    io.json = Boolean(action.opts().json);
    applyStorageFlags(action.opts());
  });
  return program;
}

/** "ftprep jobs create": the full name of a command. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Every command of the tree throws instead of exiting, writes through `io`, and prints a parse error as one line
 * that names the command and where its help is: `ftprep validate: unknown option '--fromat' (did you mean
 * --format?); see ftprep validate --help`.
 */
function configureTree(command: Command, io: Io): void {
  command.exitOverride().configureOutput({
    writeOut: (s) => io.stdout(s),
    writeErr: (s) => io.stderr(s),
    outputError: (s, write) => write(usageLine(commandPath(command), s.replace(/^error: /, "").replace(/\n\(Did you mean (.*)\?\)/, " (did you mean $1?)").trim())),
  });
  for (const sub of command.commands) configureTree(sub, io);
}

/** The one line a usage error prints. */
export function usageLine(command: string, message: string): string {
  return `${command}: ${message.replace(/\s*\n\s*/g, " ").replace(/\.$/, "")}; see ${command} --help\n`;
}

/**
 * The command named by `args` when it needs a subcommand and none is given (`ftprep`, `ftprep jobs`): commander
 * would print its whole help; a usage error is one line.
 */
function missingSubcommand(program: Command, args: readonly string[]): Command | undefined {
  let command = program;
  for (const arg of args) {
    if (arg.startsWith("-")) return undefined;
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) return undefined;
    command = sub;
  }
  return command.commands.length > 0 ? command : undefined;
}

/**
 * Runs the CLI and returns its exit code: 0 success, 1 the data has errors, 2 usage error, 3 operational failure.
 * User mistakes and operational failures print one line, never a stack trace.
 */
export async function main(argv: readonly string[], out: Io = processIo()): Promise<number> {
  // Keys from the environment are secrets whichever provider the command uses; everything printed is redacted.
  for (const provider of allProviders()) registerSecret(process.env[`${provider.envPrefix}_API_KEY`]);
  for (const [i, arg] of argv.entries()) {
    if (arg === "--api-key" || arg === "--token") registerSecret(argv[i + 1]);
    else if (arg.startsWith("--api-key=") || arg.startsWith("--token=")) registerSecret(arg.slice(arg.indexOf("=") + 1));
  }
  const io = redactingIo(out);
  const program = buildProgram(io);
  const bare = missingSubcommand(program, argv.slice(2));
  if (bare) {
    const names = bare.commands.map((c) => c.name()).filter((n) => n !== "help");
    io.stderr(usageLine(commandPath(bare), `name a command: ${names.join(", ")}`));
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv]);
    return io.exitCode;
  } catch (error) {
    // An InvalidArgumentError that reaches here was thrown by an action, not by commander's parsing: not yet printed.
    if (error instanceof CommanderError && !(error instanceof InvalidArgumentError)) {
      // Help and version exit with 0; every other parse error has already been printed by commander, in one line.
      if (error.exitCode === 0) return EXIT.ok;
      // `--json` promises one document on stdout, a mistyped option included (the action never ran to say so).
      const args = argv.slice(2);
      const end = args.indexOf("--");
      if ((end === -1 ? args : args.slice(0, end)).includes("--json")) {
        const message = error.message.replace(/^error: /, "").replace(/\n\(Did you mean (.*)\?\)/, " (did you mean $1?)").replace(/\s*\n\s*/g, " ").trim();
        printJson(io, { ok: false, exit_code: EXIT.usage, failures: [{ code: "ERR_CONFIG", message }] });
      }
      return EXIT.usage;
    }
    const usage = error instanceof ConfigError || error instanceof InvalidArgumentError;
    const code = usage ? EXIT.usage : EXIT.operational;
    const message =
      error instanceof FtprepError || error instanceof InvalidArgumentError
        ? error.message
        : `internal error: ${(error as Error).message ?? String(error)}${process.env.FTPREP_DEBUG ? `\n${(error as Error).stack ?? ""}` : " (set FTPREP_DEBUG=1 for details)"}`;
    if (usage && io.command !== undefined) io.stderr(usageLine(io.command, message));
    else io.stderr(`ftprep: ${message}\n`);
    // `--json` promises one document on stdout, failure or not.
    if (io.json) {
      const errorCode = error instanceof FtprepError ? error.code : usage ? "ERR_CONFIG" : "ERR_INTERNAL";
      printJson(io, { ok: false, exit_code: code, failures: [{ code: errorCode, message: (error as Error).message ?? String(error) }] });
    }
    return code;
  }
}
