import type { FaultInjector } from "./faults.js";
import type { Store } from "./store.js";

/** Size limits the local server enforces, as the real APIs do. */
export const SERVER_LIMITS = {
  /** Mistral and OpenAI: 512 MB per file. */
  fileBytes: 512_000_000,
  /** OpenAI Uploads API: 64 MB per part, 8 GB per upload. */
  partBytes: 64 * 1024 * 1024,
  uploadBytes: 8_000_000_000,
  /** OpenAI Uploads API: an upload expires an hour after it was created. */
  uploadSeconds: 3600,
  /** Together: one pre-signed PUT takes up to 5 GiB (larger files go in parts); its URL expires after an hour. */
  presignedPutBytes: 5 * 2 ** 30,
  presignedUrlSeconds: 3600,
  /** Together: a file of up to 50.1 GiB (together-python's `MAX_FILE_SIZE_GB`) in a multipart upload, of at most 10,000 parts. */
  togetherFileBytes: Math.floor(50.1 * 2 ** 30),
  togetherMaxParts: 10_000,
};

export type ServerLimits = { -readonly [K in keyof typeof SERVER_LIMITS]: number };

/** What every route handler gets: the store, the clock, the server's own URL, and the background-task tracker. */
export interface ServerContext {
  store: Store;
  url: string;
  faults: FaultInjector;
  limits: ServerLimits;
  /** The clock jobs advance on, in milliseconds. */
  now: () => number;
  jobTimings: { queuedMs: number; validationMs: number; queueMs: number; trainingMs: number };
  /** Registers background work (a job's validation) so `settled()` can wait for it. */
  track: (work: Promise<unknown>) => void;
}
