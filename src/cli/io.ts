/** Where the CLI writes, so tests can run `main` in-process and read what it printed. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Set by a command; `main` returns it. */
  exitCode: number;
  /** The command being run ("ftprep validate"), set before its action starts. */
  command?: string;
  /** Whether that command was given `--json`: a failure then still prints one JSON document on stdout. */
  json?: boolean;
}

let quietOnClosedPipe = false;

/**
 * A reader that goes away (`ftprep validate --json … | head`) ends the run quietly, as `git log | head` does:
 * there is no one left to read the result, and an EPIPE is not a failure worth a stack trace.
 */
function exitQuietlyOnClosedPipe(): void {
  if (quietOnClosedPipe) return;
  quietOnClosedPipe = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/** The process's own streams. */
export function processIo(): Io {
  exitQuietlyOnClosedPipe();
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    exitCode: 0,
  };
}
