import { AbortedError, ConfigError } from "../errors.js";
import type { Io } from "./io.js";
import type { Progress } from "./progress.js";

/**
 * Runs a command's work with Ctrl-C (SIGINT) and SIGTERM turned into an abort of its signal, in every phase. Every
 * stage checks the signal at least once per chunk read or request, and removes its temporary files as it unwinds,
 * so the command stops within a second. With a `progress`, an abort that ends the work with an error becomes one
 * line — "stopped while <what was going on>" — and exit code 3 (`AbortedError`). `onStop` may print a notice as
 * the signal arrives. The handlers are removed when the work ends; a second Ctrl-C is Node's default: exit at once.
 */
export async function interruptible<T>(
  progress: Progress | undefined,
  work: (signal: AbortSignal) => Promise<T>,
  options: { onStop?: () => void } = {},
): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => {
    options.onStop?.();
    controller.abort();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    return await work(controller.signal);
  } catch (error) {
    // Whatever ends the work once it is aborted is the abort's doing; a usage error still reads as one.
    if (progress && controller.signal.aborted && !(error instanceof ConfigError)) {
      progress.finish();
      const tail = progress.pastUpload ? "" : "; nothing was uploaded, temporary files removed";
      throw new AbortedError(`stopped ${progress.describe()}${tail}`, { cause: error });
    }
    throw error;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    progress?.finish();
  }
}

/** `interruptible` for commands that say on stderr what stopping does (`fix`, `convert`). */
export function withInterrupt<T>(io: Io, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return interruptible(undefined, work, { onStop: () => io.stderr(`\nftprep: stopping: ${what}\n`) });
}
