import { terminalSafe } from "../printable.js";
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { ConfigError, FtprepError } from "../errors.js";
import { redact, registerSecret } from "../redact.js";
import { type Io, processIo } from "./io.js";
import { prepareCommand } from "./prepare.js";
import { convertCommand } from "./convert.js";
import { fixCommand } from "./fix.js";
import { jobsCommand } from "./jobs.js";
import { serveCommand } from "./serve.js";
import { runCommand, uploadCommand } from "./upload.js";
import { tokensCommand } from "./tokens.js";
import { validateCommand } from "./validate.js";

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
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  program.addCommand(validateCommand(io));
  program.addCommand(prepareCommand(io));
  program.addCommand(uploadCommand(io));
  program.addCommand(runCommand(io));
  program.addCommand(jobsCommand(io));
  program.addCommand(serveCommand(io));
  program.addCommand(fixCommand(io));
  program.addCommand(convertCommand(io));
  program.addCommand(tokensCommand(io));
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  }
  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 success, 1 the data has errors, 2 usage error, 3 operational failure.
 * User mistakes and operational failures print one line, never a stack trace.
 */
export async function main(argv: readonly string[], out: Io = processIo()): Promise<number> {
  // Keys from the environment are secrets whichever provider the command uses; everything printed is redacted.
  registerSecret(process.env.MISTRAL_API_KEY);
  registerSecret(process.env.OPENAI_API_KEY);
  for (const [i, arg] of argv.entries()) {
    if (arg === "--api-key" || arg === "--token") registerSecret(argv[i + 1]);
    else if (arg.startsWith("--api-key=") || arg.startsWith("--token=")) registerSecret(arg.slice(arg.indexOf("=") + 1));
  }
  const io = redactingIo(out);
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return io.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; every other parse error has already been printed by commander.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError || error instanceof InvalidArgumentError) {
      io.stderr(`ftprep: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof FtprepError) {
      io.stderr(`ftprep: ${error.message}\n`);
      return EXIT.operational;
    }
    const detail = process.env.FTPREP_DEBUG ? `\n${(error as Error).stack ?? ""}` : " (set FTPREP_DEBUG=1 for details)";
    io.stderr(`ftprep: internal error: ${(error as Error).message ?? String(error)}${detail}\n`);
    return EXIT.operational;
  }
}
