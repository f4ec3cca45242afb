import { type ResourceLimits, Worker, type WorkerOptions } from "node:worker_threads";
import { FtprepError } from "../errors.js";

/**
 * A small pool of worker threads running one kind of task, one task per thread at a time, in the order given.
 * Written here rather than taken from piscina or tinypool: what ftprep needs beyond a queue — progress messages
 * from a running task, a task's failure naming what it was doing when its thread died, and stopping every thread
 * at once on abort — is most of such a pool anyway, and neither offers the second.
 */

/** A worker thread died (crashed, ran out of memory, was killed) while it ran a task: an operational error. */
export class WorkerError extends FtprepError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_WORKER", message, options);
  }
}

/** What a worker script posts back for a task. */
export type WorkerReply<T> = { id: number; progress: number } | { id: number; result: T } | { id: number; error: { code?: string; message: string; path?: string } };

interface Job {
  id: number;
  task: unknown;
  describe: string;
  onProgress: ((n: number) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks sent to the thread and not answered yet. */
  jobs: Map<number, Job>;
}

/**
 * The parent's Node options a worker thread inherits, without the ones that only say how the main script is given
 * (`--input-type`, `-e`/`--eval`, `-p`/`--print`, each with its value): Node refuses `--input-type` in a worker,
 * so a library caller started as `node --input-type=module -e …` had every worker die at start-up.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === "--input-type" || arg === "-e" || arg === "--eval" || arg === "-p" || arg === "--print") {
      i++; // its value
      continue;
    }
    if (arg.startsWith("--input-type=") || arg.startsWith("--eval=") || arg.startsWith("--print=")) continue;
    kept.push(arg);
  }
  return kept;
}

/**
 * Starts a worker thread with the parent's Node options, as far as a worker takes them. Nothing to leave out (the
 * usual case): Node's own inheritance, which also carries V8 flags — the bin's shebang passes some
 * (`--max-semi-space-size`…), and an explicit `execArgv` holding one makes Node refuse to start the worker
 * (ERR_WORKER_INVALID_EXEC_ARGV: `ftprep validate` on any file large enough for workers failed with an internal
 * error). Otherwise the filtered list, without the V8 flags Node names when it refuses them: V8's flags are the
 * process's, so a worker has them anyway.
 */
function startWorker(script: URL, options: WorkerOptions): Worker {
  let execArgv = workerExecArgv(process.execArgv);
  if (execArgv.length === process.execArgv.length) return new Worker(script, options);
  for (let attempt = 0; ; attempt++) {
    try {
      return new Worker(script, { ...options, execArgv });
    } catch (error) {
      const refused = (error as { code?: string }).code === "ERR_WORKER_INVALID_EXEC_ARGV" && attempt === 0 ? refusedFlags((error as Error).message) : [];
      const kept = execArgv.filter((arg) => !refused.includes(arg));
      if (kept.length === execArgv.length) throw error;
      execArgv = kept;
    }
  }
}

/** The flags Node's ERR_WORKER_INVALID_EXEC_ARGV names ("Initiated Worker with invalid execArgv flags: a, b"). */
function refusedFlags(message: string): string[] {
  const at = message.indexOf(": ");
  return at === -1 ? [] : message.slice(at + 2).split(", ");
}

/**
 * Tasks a thread holds at once: the next is already there when one ends, so a thread never waits for the main
 * thread's answer to get more work (on a busy machine that round trip can take longer than a small file's work).
 */
const TASKS_PER_THREAD = 2;

/**
 * Tasks the calling thread runs itself, as one of the pool's `size`: a pool with a local runner starts at most
 * `size - 1` threads for the tasks the runner takes (one more only for tasks it does not take). The calling thread
 * has its modules loaded already: on one large file, two validating threads are the main thread and one worker,
 * not two workers — a worker's start (some 0.1 s of CPU) paid once, not twice, and the first range begun at once.
 */
export interface LocalRunner {
  accepts(task: unknown): boolean;
  run(task: unknown, onProgress: ((n: number) => void) | undefined, signal: AbortSignal): Promise<unknown>;
}

export interface WorkerPoolOptions {
  /** Tasks to run on the calling thread (see `LocalRunner`). */
  local?: LocalRunner;
  /** Per-thread memory limits (`worker_threads`' `resourceLimits`). */
  resourceLimits?: ResourceLimits;
  /** Turns a task's error reply into the error its caller sees (default: an `FtprepError` with the reply's code). */
  reviveError?: (error: { code?: string; message: string; path?: string }) => Error;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed: unknown = undefined;
  /** The task the local runner is on, and its end (settled, never rejected). */
  private local: { job: Job; done: Promise<void> } | undefined;
  private readonly localAbort = new AbortController();

  constructor(
    readonly size: number,
    private readonly script: URL,
    private readonly options: WorkerPoolOptions = {},
  ) {
    if (!Number.isSafeInteger(size) || size < 1) throw new TypeError(`Expected \`workers\` to be a positive integer, got ${String(size)}`);
  }

  /** The threads running now (for tests that kill one). */
  get threads(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /**
   * Starts every thread now, before there is work: a thread takes a moment to load its modules, better spent while
   * the caller still looks for files and cuts them. Idle threads do not keep the process alive.
   */
  warm(): void {
    this.startThreads(this.options.local ? this.size - 1 : this.size);
  }

  private startThreads(threads: number): void {
    while (this.closed === undefined && this.slots.length < threads) this.spawn().worker.unref();
  }

  /** Runs a task on the next free thread; `describe` names it in the error if its thread dies. */
  run<T>(task: unknown, describe: string, onProgress?: (n: number) => void): Promise<T> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, describe, onProgress, resolve: resolve as (value: unknown) => void, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.closed === undefined) {
      const runner = this.options.local;
      const local = runner !== undefined && runner.accepts(this.queue[0]!.task);
      if (local && this.local === undefined) {
        this.runLocally(runner, this.queue.shift()!);
        continue;
      }
      // Work the main thread does not take (small files, token counting): the N-th thread starts now, not once the
      // others are busy — a directory's first batches arrive while discovery goes on, the time a thread takes to load.
      if (runner !== undefined && !local) this.startThreads(this.size);
      let slot = this.slots.find((s) => s.jobs.size === 0);
      if (!slot && this.slots.length < (local ? this.size - 1 : this.size)) slot = this.spawn();
      slot ??= this.slots.find((s) => s.jobs.size < TASKS_PER_THREAD);
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.jobs.set(job.id, job);
      // A thread at work keeps the process alive; an idle one does not.
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
  }

  /** Tasks the local runner has taken (for tests). */
  localTasks = 0;

  private runLocally(runner: LocalRunner, job: Job): void {
    this.localTasks++;
    const done = Promise.resolve()
      .then(() => runner.run(job.task, job.onProgress, this.localAbort.signal))
      .then(job.resolve, job.reject)
      .finally(() => {
        this.local = undefined;
        this.dispatch();
      });
    this.local = { job, done };
  }

  private spawn(): Slot {
    const worker = startWorker(this.script, this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {});
    const slot: Slot = { worker, jobs: new Map() };
    this.slots.push(slot);
    worker.on("message", (reply: WorkerReply<unknown>) => {
      const job = slot.jobs.get(reply.id);
      if (!job) return;
      if ("progress" in reply) {
        job.onProgress?.(reply.progress);
        return;
      }
      slot.jobs.delete(reply.id);
      if (slot.jobs.size === 0) worker.unref();
      if ("result" in reply) job.resolve(reply.result);
      else job.reject(this.options.reviveError?.(reply.error) ?? new FtprepError(reply.error.code ?? "ERR_WORKER", reply.error.message));
      this.dispatch();
    });
    let failure: Error | undefined;
    worker.on("error", (error) => {
      failure = error;
    });
    worker.on("exit", (code) => {
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots.splice(index, 1);
      const jobs = [...slot.jobs.values()];
      slot.jobs.clear();
      if (this.closed === undefined) {
        const why = failure ? failure.message.split("\n")[0] : `the thread exited with code ${code}`;
        for (const job of jobs) job.reject(new WorkerError(`a worker thread died while ${job.describe}: ${why}`, { cause: failure }));
      }
      this.dispatch();
    });
    return slot;
  }

  /** Stops every thread at once; tasks not finished are rejected with `reason`. */
  async close(reason: unknown = new FtprepError("ERR_WORKER", "the worker pool was closed")): Promise<void> {
    if (this.closed !== undefined) return;
    this.closed = reason;
    const pending = [...this.queue.splice(0), ...this.slots.flatMap((s) => [...s.jobs.values()]), ...(this.local ? [this.local.job] : [])];
    for (const job of pending) job.reject(reason);
    this.localAbort.abort(reason);
    await Promise.all([...this.slots.map((s) => s.worker.terminate()), this.local?.done]);
    this.slots.length = 0;
  }
}
