import { Command, InvalidArgumentError, Option } from "commander";
import { createWriteStream, type WriteStream } from "node:fs";
import { FileSystemError } from "../errors.js";
import type { Faults } from "../server/faults.js";
import type { RequestLogEntry } from "../server/server.js";
import { DEFAULT_STORE } from "../defaults.js";
import { fractionArg } from "./prepare.js";
import type { Io } from "./io.js";
import { byteSize, positiveInt } from "./options.js";

interface ServeFlags {
  port: number;
  host: string;
  store: string;
  token?: string;
  latency?: number;
  failRate?: number;
  failStatus?: "500" | "503";
  rateLimitBurst?: number;
  rateLimitEvery?: number;
  retryAfter?: number;
  resetAfterBytes?: number;
  resetCount?: number;
  retireJobs?: boolean;
  lie?: NonNullable<Faults["lie"]>;
  queuedMs?: number;
  validationMs?: number;
  trainingMs?: number;
  log?: string | true;
}

/** One request log line: time, method, path (secret query values redacted), status, bytes in and out, duration. */
export function requestLogLine(entry: RequestLogEntry, at = new Date()): string {
  const bytes = (n: number | null) => (n === null ? "-" : String(n));
  return `${at.toISOString()} ${entry.method} ${entry.path} ${entry.status} in=${bytes(entry.bytes_in)} out=${bytes(entry.bytes_out)} ${entry.ms}ms\n`;
}

function portArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("Expected a port from 0 to 65535.");
  return n;
}

/** Opens a request log for appending; a path that cannot be written is one line, before the server starts. */
async function openLog(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: "a" });
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (error) => reject(FileSystemError.from(path, "open the request log", error)));
  });
  return stream;
}

/** `ftprep serve`: the local Files API server, until SIGINT or SIGTERM. */
export function serveCommand(io: Io): Command {
  return new Command("serve")
    .description("run the local Files API server (Mistral and OpenAI routes) on this machine")
    .option("--port <n>", "port (0 = any free port)", portArg, 0)
    .option("--host <address>", "address to bind", "127.0.0.1")
    .option("--store <dir>", "where files, jobs and uploads are kept", DEFAULT_STORE)
    .option("--token <token>", "require Authorization: Bearer <token> (401 otherwise)")
    .option("--latency <ms>", "delay every answer by this many milliseconds", positiveInt)
    .option("--fail-rate <f>", "answer this fraction of requests with 503 (or --fail-status)", fractionArg)
    .addOption(new Option("--fail-status <status>", "status of --fail-rate failures").choices(["500", "503"]))
    .option("--rate-limit-burst <n>", "answer 429 (with Retry-After) to bursts of N consecutive requests", positiveInt)
    .option("--rate-limit-every <n>", "one --rate-limit-burst every N requests (default 10)", positiveInt)
    .option("--retry-after <s>", "Retry-After of the 429 answers, in seconds (default 1)", positiveInt)
    .option("--reset-after-bytes <size>", "reset the connection after this many bytes of an upload", byteSize)
    .option("--reset-count <n>", "how many uploads --reset-after-bytes resets (default 1)", positiveInt)
    .addOption(new Option("--lie <kind>", "answer uploads with a wrong file object (stored all the same): empty, bytes, filename, purpose, id").choices(["empty", "bytes", "filename", "purpose", "id"]))
    .option("--retire-jobs", "answer 410 Gone on Mistral's fine-tuning job routes, as Mistral's public API does")
    .option("--queued-ms <ms>", "how long a new job sits in QUEUED before it validates (default 0)", positiveInt)
    .option("--validation-ms <ms>", "how long a job validates (default 2000)", positiveInt)
    .option("--training-ms <ms>", "how long a job trains (default 10000)", positiveInt)
    .option("--log [file]", "log every request, one line each (method, path, status, bytes, ms; never a key): to stderr, or appended to FILE")
    .action(async (flags: ServeFlags) => {
      const faults: Faults = {};
      if (flags.latency !== undefined) faults.latencyMs = flags.latency;
      if (flags.failRate !== undefined) faults.failRate = flags.failRate;
      if (flags.failStatus !== undefined) faults.failStatus = flags.failStatus === "500" ? 500 : 503;
      if (flags.rateLimitBurst !== undefined) faults.rateLimitBurst = flags.rateLimitBurst;
      if (flags.rateLimitEvery !== undefined) faults.rateLimitEvery = flags.rateLimitEvery;
      if (flags.retryAfter !== undefined) faults.retryAfterSeconds = flags.retryAfter;
      if (flags.resetAfterBytes !== undefined) faults.resetAfterBytes = flags.resetAfterBytes;
      if (flags.resetCount !== undefined) faults.resetCount = flags.resetCount;
      if (flags.retireJobs) faults.retireJobs = true;
      if (flags.lie !== undefined) faults.lie = flags.lie;
      const { startServer } = await import("../server/server.js");
      let logFile: WriteStream | undefined;
      if (typeof flags.log === "string") logFile = await openLog(flags.log);
      const log = logFile ? (line: string) => void logFile.write(line) : (line: string) => io.stderr(line);
      const server = await startServer({
        ...(flags.log !== undefined ? { onRequest: (entry: RequestLogEntry) => log(requestLogLine(entry)) } : {}),
        port: flags.port,
        host: flags.host,
        store: flags.store,
        faults,
        ...(flags.token !== undefined ? { token: flags.token } : {}),
        jobs: {
          ...(flags.queuedMs !== undefined ? { queuedMs: flags.queuedMs } : {}),
          ...(flags.validationMs !== undefined ? { validationMs: flags.validationMs } : {}),
          ...(flags.trainingMs !== undefined ? { trainingMs: flags.trainingMs } : {}),
        },
      });
      // The first stdout line is the contract: scripts read the port from it.
      io.stdout(`ftprep server listening on ${server.url}\n`);
      io.stderr(`store: ${flags.store}${flags.token !== undefined ? " (token required)" : ""}; Ctrl-C stops\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await server.close();
      if (logFile) await new Promise((resolve) => logFile.end(resolve));
      io.stderr("ftprep server stopped\n");
    });
}
