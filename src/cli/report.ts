import { rename, rm, writeFile } from "node:fs/promises";
import { Command } from "commander";
import { ConfigError, FileSystemError } from "../errors.js";
import { readJsonFile } from "../json-file.js";
import { redact } from "../redact.js";
import { tempPathFor } from "../temp-files.js";
import type { Io } from "./io.js";
import { snakeCaseKeys } from "./json-output.js";

/** `--html FILE` on validate, prepare, upload and run. */
export function addHtmlOption(command: Command): Command {
  return command.option("--html <file>", "also write the report as one self-contained HTML file (histograms, issues with examples, the plan, the upload)");
}

async function toolVersion(): Promise<string> {
  const { toolVersion } = await import("../pipeline/target.js");
  return toolVersion();
}

/** Writes an HTML page atomically (a temporary file beside it, then a rename), secrets masked like every output. */
async function writeHtml(path: string, html: string): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, redact(html));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw FileSystemError.from(path, "write", error);
  }
}

/**
 * Renders the report of a command's `--json` document to `path`. The document goes through the same conversion as
 * `--json` (snake_case keys) and through JSON, so the page is exactly what `ftprep report` makes of the printed one.
 */
export async function writeHtmlReport(io: Io, path: string, doc: unknown, quiet = false): Promise<void> {
  const { renderReport } = await import("../report/render.js");
  await writeHtml(path, renderReport(JSON.parse(JSON.stringify(snakeCaseKeys(doc))), { version: await toolVersion() }));
  if (!quiet) io.stderr(`report: ${path}\n`);
}


/** `ftprep report <json...> [--html FILE]` */
export function reportCommand(io: Io): Command {
  return new Command("report")
    .description("render the HTML report of a --json output (validate, prepare, upload, run) or a manifest; two documents are compared side by side")
    .argument("<documents...>", "one or two files: the --json output of a command, or a manifest (A then B to compare)")
    .option("--html <file>", "write the HTML here (default: stdout)")
    .action(async (documents: string[], flags: { html?: string }) => {
      if (documents.length > 2) throw new ConfigError("give one document to report on, or two to compare");
      const { renderComparison, renderReport } = await import("../report/render.js");
      const { kindOf } = await import("../report/model.js");
      const docs = await Promise.all(documents.map((path) => readJsonFile(path, "give the output of --json, or a manifest")));
      docs.forEach((doc, i) => {
        const kind = kindOf(doc);
        if (!["validate", "prepare", "run", "manifest"].includes(kind)) throw new ConfigError(`${documents[i]} is ${kind}`);
      });
      const version = await toolVersion();
      const html = docs.length === 1 ? renderReport(docs[0], { version }) : renderComparison(docs[0], docs[1], [documents[0]!, documents[1]!], { version });
      if (flags.html !== undefined) {
        await writeHtml(flags.html, html);
        io.stdout(`report: ${flags.html}\n`);
      } else io.stdout(html);
      io.exitCode = 0;
    });
}
