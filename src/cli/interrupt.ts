import type { Io } from "./io.js";

/**
 * Runs `work` with a signal that Ctrl-C (SIGINT) or SIGTERM fires, saying on stderr that the command is stopping.
 * The handlers are removed when the work ends, so a second Ctrl-C after it behaves as usual.
 */
export async function withInterrupt<T>(io: Io, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => {
    io.stderr(`\nftprep: stopping: ${what}\n`);
    controller.abort();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
