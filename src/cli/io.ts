/** Where the CLI writes, so tests can run `main` in-process and read what it printed. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Set by a command; `main` returns it. */
  exitCode: number;
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    exitCode: 0,
  };
}
