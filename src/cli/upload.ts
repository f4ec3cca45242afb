import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_MANIFEST } from "../manifest/manifest.js";
import { DEFAULT_OUT_DIR, run, type RunResult } from "../pipeline/run.js";
import { DEFAULT_STORE } from "../server/server.js";
import type { FormatId } from "../types.js";
import type { Io } from "./io.js";
import { positiveInt } from "./options.js";
import { addGuardOptions, guardInputs, guardOptions, printPlan, printSource } from "./prepare.js";
import { Progress } from "./progress.js";

interface UploadFlags {
  provider: "mistral" | "openai";
  baseUrl?: string;
  apiKey?: string;
  concurrency: number;
  manifest: string;
  out: string;
  store: string;
  verifyRemote?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  split: boolean;
  format: FormatId | "auto";
  train: string[];
  validation: string[];
  maxFileBytes?: number;
  skipInvalid?: boolean;
  maxInvalidFraction?: number;
  dedupe?: boolean;
  validationSplit?: number;
  seed?: number;
  report?: string;
  maxIssues?: number;
  maxLineBytes?: number;
}

/** Builds `ftprep upload` or `ftprep run`: the same pipeline (run adds pipeline files and jobs later). */
function uploadLike(name: "upload" | "run", description: string, io: Io): Command {
  const command = new Command(name)
    .description(description)
    .argument("[paths...]", "files, directories or globs")
    .addOption(new Option("--base-url <url>", "the Files API's base URL (default: the provider's public API)").env("FTPREP_BASE_URL"))
    .option("--api-key <key>", "API key (default: MISTRAL_API_KEY / OPENAI_API_KEY); never printed")
    .option("--concurrency <n>", "uploads at once", positiveInt, 4)
    .option("--manifest <file>", "the manifest to write (and resume from)", DEFAULT_MANIFEST)
    .option("--out <dir>", "where cleaned copies and shards are written", DEFAULT_OUT_DIR)
    .option("--store <dir>", "the embedded server's store, used with no key and no base URL", DEFAULT_STORE)
    .option("--verify-remote", "check that every file the manifest lists still exists on the provider; upload missing ones again")
    .option("--dry-run", "everything but the upload: print what would be sent")
    .option("--json", "print one JSON document on stdout")
    .option("--quiet", "no progress or summary on stderr");
  addGuardOptions(command).action(async (paths: string[], flags: UploadFlags) => {
    const inputs = guardInputs(paths, flags);
    if (inputs.length === 0) throw new InvalidArgumentError("give at least one path (or --train / --validation)");
    const progress = new Progress(io, Boolean(process.stderr.isTTY) && !flags.json);
    const controller = new AbortController();
    const stop = (): void => {
      if (!flags.quiet) io.stderr("\nftprep: stopping: no new uploads; cancelling the running ones…\n");
      controller.abort();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    let result: RunResult;
    try {
      const { provider: _, ...guard } = guardOptions(flags);
      result = await run(inputs, {
        ...guard,
        provider: flags.provider,
        ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
        ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}),
        concurrency: flags.concurrency,
        manifestPath: flags.manifest,
        outDir: flags.out,
        store: flags.store,
        verifyRemote: flags.verifyRemote ?? false,
        dryRun: flags.dryRun ?? false,
        signal: controller.signal,
        ...(flags.quiet ? {} : { onNotice: (m: string) => io.stderr(`ftprep: ${m}\n`) }),
        ...(flags.quiet || flags.json ? {} : { onSource: (s) => printSource(io, s, flags.maxIssues ?? 3), onEvent: (e) => progress.on(e) }),
      });
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      progress.finish();
    }
    report(io, result, flags);
  });
  return command;
}

function report(io: Io, result: RunResult, flags: UploadFlags): void {
  const { plan, upload } = result;
  if (flags.json) {
    io.stdout(
      `${JSON.stringify({
        ok: plan.ok && upload !== undefined ? upload.failed.length === 0 && !upload.aborted : plan.ok,
        provider: result.provider,
        base_url: result.baseUrl ?? null,
        embedded: result.embedded,
        manifest: result.manifest ? result.manifestPath : null,
        dry_run: flags.dryRun ?? false,
        plan,
        ...(flags.dryRun ? { would_upload: result.wouldUpload, already_uploaded: result.alreadyUploaded } : {}),
        upload: upload ?? null,
      })}\n`,
    );
  } else if (!flags.quiet) {
    if (!plan.ok || flags.dryRun) printPlan(io, plan);
    if (flags.dryRun && plan.ok) {
      const where = result.embedded ? "the embedded local server" : result.baseUrl;
      io.stderr(`dry run: would upload ${result.wouldUpload.length} file(s) to ${where}; ${result.alreadyUploaded.length} already in ${result.manifestPath}\n`);
    }
    if (upload) {
      const line = `${upload.uploaded} uploaded, ${upload.adopted} found already uploaded, ${upload.skipped} skipped (in the manifest), ${upload.failed.length} failed${upload.retries ? `, ${upload.retries} retries` : ""}`;
      io.stderr(`${upload.aborted ? "stopped: " : ""}${line}\n`);
      for (const failure of upload.failed) io.stderr(`ftprep: ${failure.path}: ${failure.message}\n`);
      io.stderr(`manifest: ${result.manifestPath}\n`);
    }
  }
  if (!plan.ok) io.exitCode = plan.failures.length > 0 ? 3 : 1;
  else if (upload && (upload.failed.length > 0 || upload.aborted)) io.exitCode = 3;
  else io.exitCode = 0;
}

/** `ftprep upload <paths...>`: validate, guard, upload, manifest. */
export function uploadCommand(io: Io): Command {
  return uploadLike("upload", "validate and size-guard, then upload every file to the Files API and record it in the manifest", io);
}

/** `ftprep run <paths...>`: the whole pipeline (what `npm run validate-and-upload` runs). */
export function runCommand(io: Io): Command {
  return uploadLike("run", "the main job: validate → size guard → upload → manifest", io);
}
