import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Job } from "bullmq";
import type { Redis as RedisClient } from "ioredis";
import { documentValidator } from "../document-schemas.js";
import { ConfigError, FtprepError } from "../errors.js";
import { checkManifest, type Manifest, readManifest, writeManifest } from "../manifest/manifest.js";
import { mergeManifests } from "../manifest/merge.js";
import { checkShardPlan, type PlanUnit, type ShardPlan } from "../plan/shard-plan.js";
import { redact, registerSecret } from "../redact.js";

// BullMQ and ioredis are CommonJS packages: loaded with require, not import, because an ES import of a CommonJS
// package first has Node's lexer read every file it re-exports to find the names (BullMQ re-exports some hundred):
// a worker process starts with 0.51–0.62 s of CPU for the two instead of 0.68–0.98 s (7 runs each, under load).
const require = createRequire(import.meta.url);
type BullParts = Pick<typeof import("bullmq"), "Worker" | "Queue" | "FlowProducer" | "UnrecoverableError">;
let engines: { bullmq: BullParts; ioredis: typeof import("ioredis") } | undefined;
/**
 * BullMQ and ioredis, loaded on first use: the library's index re-exports this module, and a caller who only
 * validates should not load some 300 modules it never runs. Of BullMQ, only the four classes used here: its index
 * also loads its Postgres backend, the relay, queue events, the Valkey GLIDE client and some 50 type-only modules —
 * 69 modules, ~30 ms of a worker's CPU. BullMQ has no `exports` map; should a later version move these files, its
 * index is loaded instead.
 */
function engine(): { bullmq: BullParts; ioredis: typeof import("ioredis") } {
  engines ??= { bullmq: bullParts(), ioredis: require("ioredis") as typeof import("ioredis") };
  return engines;
}
function bullParts(): BullParts {
  try {
    const classes = "bullmq/dist/cjs/classes/";
    const parts: BullParts = {
      Worker: (require(`${classes}worker.js`) as BullParts).Worker,
      Queue: (require(`${classes}queue.js`) as BullParts).Queue,
      FlowProducer: (require(`${classes}flow-producer.js`) as BullParts).FlowProducer,
      UnrecoverableError: (require(`${classes}errors/unrecoverable-error.js`) as BullParts).UnrecoverableError,
    };
    if (Object.values(parts).every((part) => typeof part === "function")) return parts;
  } catch {
    // Moved: the whole package below.
  }
  return require("bullmq") as typeof import("bullmq");
}
/** BullMQ's error for a job not to be tried again (for the unit runner, which loads BullMQ only through here). */
export function unrecoverable(message: string): Error {
  return new (engine().bullmq.UnrecoverableError)(message);
}

/**
 * The queue executor: a shard plan's units as jobs of a BullMQ queue on Redis, which any number of `ftprep work
 * --queue` processes pull from. BullMQ gives the distribution, the retries with backoff, the lock that hands a
 * unit whose worker died to another one (at-least-once), and the parent/children flow: one `merge` job, parent of
 * every unit, runs when all of them are done, joins their manifests and may create the fine-tuning job. A unit
 * done twice uploads nothing twice: its output has the same bytes, and the uploader finds it by sha256 and name.
 */

export { DEFAULT_QUEUE_NAME } from "../defaults.js";
/** Attempts of a unit and the first backoff (doubling): a failed upload is tried again on some worker. */
const UNIT_ATTEMPTS = 5;
const UNIT_BACKOFF_MS = 1000;

export interface UnitMessage {
  version: 1;
  kind: "unit";
  plan_id: string;
  options: ShardPlan["options"];
  unit: PlanUnit;
}

export interface JobMessage {
  model: string;
  suffix?: string;
  hyperparameters?: Record<string, number | string | boolean>;
  auto_start?: boolean;
}

export interface MergeMessage {
  version: 1;
  kind: "merge";
  plan_id: string;
  units: number;
  job: JobMessage | null;
}

/** Where a queue is: a `redis://` URL and the queue's name. */
export interface QueueLocation {
  url: string;
  name: string;
}

/** A `redis://` or `rediss://` URL for messages: its password masked. */
export function describeRedis(url: string): string {
  return redact(url).replace(/\/\/([^@/]*):([^@/]*)@/, "//$1:***@");
}

/** Connects to Redis once, failing in one line (ERR_CONNECTION) when it cannot be reached, instead of retrying forever. */
export async function connectRedis(url: string, options: { worker?: boolean } = {}): Promise<RedisClient> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`not a Redis URL: ${describeRedis(url)} (expected redis://host:port)`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new ConfigError(`not a Redis URL: ${describeRedis(url)} (expected redis://host:port)`);
  registerSecret(decodeURIComponent(parsed.password));
  const redis = new (engine().ioredis.Redis)(url, {
    lazyConnect: true,
    // BullMQ's workers block on Redis: their connection must not give up on a command.
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times) => (options.worker ? Math.min(times * 200, 2000) : times > 3 ? null : 200),
  });
  // The socket's own error (ECONNREFUSED…) says more than the "Connection is closed" the give-up ends with.
  let cause: NodeJS.ErrnoException | undefined;
  redis.on("error", (error: NodeJS.ErrnoException) => (cause ??= error));
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const code = cause?.code ?? (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new FtprepError("ERR_CONNECTION", `cannot connect to ${describeRedis(url)} — is Redis running? (${code})`, { cause: error });
  }
  return redis;
}

/** The id of a plan in a queue: a digest of its units' ids and options, so enqueueing the same plan twice adds nothing. */
export function planId(plan: ShardPlan): string {
  const text = JSON.stringify([plan.options, plan.units.map((u) => u.id).sort()]);
  return `p${createHash("sha256").update(text).digest("hex").slice(0, 20)}`;
}

/**
 * Adds a plan to a queue as one BullMQ flow: a `merge` job whose children are the units. Job ids are the plan's and
 * the units' ids, so adding the same plan again adds nothing.
 */
export async function enqueuePlan(plan: ShardPlan, where: QueueLocation, options: { job?: JobMessage | null } = {}): Promise<{ planId: string; units: number }> {
  const id = planId(plan);
  const connection = await connectRedis(where.url);
  const flow = new (engine().bullmq.FlowProducer)({ connection });
  try {
    const merge: MergeMessage = { version: 1, kind: "merge", plan_id: id, units: plan.units.length, job: options.job ?? null };
    await flow.add({
      name: "merge",
      queueName: where.name,
      data: merge,
      opts: { jobId: id, removeOnFail: false, removeOnComplete: false },
      children: plan.units.map((unit) => {
        const data: UnitMessage = { version: 1, kind: "unit", plan_id: id, options: plan.options, unit };
        return {
          name: "unit",
          queueName: where.name,
          data,
          opts: { jobId: `${id}-${unit.id}`, attempts: UNIT_ATTEMPTS, backoff: { type: "exponential", delay: UNIT_BACKOFF_MS }, failParentOnFailure: true, removeOnComplete: false, removeOnFail: false },
        };
      }),
    });
  } finally {
    await flow.close();
    connection.disconnect();
  }
  return { planId: id, units: plan.units.length };
}

/** Checks a queue message (untrusted): its schema, and a unit as a one-unit plan (schema, recomputed id, range). */
export function checkQueueMessage(value: unknown): UnitMessage | MergeMessage {
  const messageValidator = documentValidator("queue-message.schema.json");
  if (!messageValidator(value)) {
    const e = messageValidator.errors![0]!;
    throw unrecoverable(`not a valid ftprep queue message: ${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
  }
  const message = value as UnitMessage | MergeMessage;
  if (message.kind === "unit") {
    const asPlan = { version: 1, tool: { name: "ftprep", version: "queue" }, created_at: new Date(0).toISOString(), inputs: [], options: message.options, units: [message.unit] };
    const problem = checkShardPlan(asPlan);
    if (problem !== undefined) throw unrecoverable(`not a valid ftprep queue message: ${problem.startsWith("/units/0") ? `the unit${problem.slice("/units/0".length)}` : problem}`);
  }
  return message;
}

/** What a worker reports as it goes. */
export type WorkerEvent =
  | { type: "unit-start"; unit: PlanUnit; attempt: number }
  | { type: "unit-done"; unit: PlanUnit; uploaded: number; found: number }
  | { type: "unit-failed"; unit: PlanUnit | undefined; message: string; final: boolean }
  | { type: "unit-taken"; unit: PlanUnit }
  | { type: "merged"; manifest: string; files: number; job: string | undefined };

/** This worker no longer holds its unit: it stalled past the lock's duration and another worker has it now. */
export class UnitTakenError extends FtprepError {
  constructor(message: string) {
    super("ERR_UNIT_TAKEN", message);
  }
}

export interface QueueWorkerOptions {
  /**
   * Processes one unit: validate, guard, upload into the unit's own manifest; resolves with that manifest. `signal`
   * fires when the worker stops or loses the unit's lock; `stillMine` (for the uploader's `beforeSend`) renews the
   * lock and throws `UnitTakenError` when it is no longer this worker's, so a worker that stalled sends nothing.
   */
  runUnit: (message: UnitMessage, manifestPath: string, signal: AbortSignal, stillMine: () => Promise<void>, context: UnitContext) => Promise<Manifest>;
  /** Creates the fine-tuning job from the merged manifest (the worker's target, its key). */
  createJob?: (manifestPath: string, job: JobMessage) => Promise<string>;
  /** Where the units' manifests are kept (resumed if the unit runs again here). */
  workDir: string;
  /** Where the merged manifest is written when this worker runs the merge. */
  manifestPath: string;
  /** Keep waiting for new units when the queue is empty (default: stop once nothing is waiting or running). */
  keepRunning?: boolean;
  /** A unit whose worker has not renewed its lock for this long is handed to another worker (default 30 s). */
  stalledMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: WorkerEvent) => void;
}

/** What a unit may ask of the worker running it. */
export interface UnitContext {
  /** How many workers of this queue run on this machine now, this one included (for sharing its cores). */
  localWorkers: () => Promise<number>;
}

/**
 * A worker's name in Redis (BullMQ sets it as the client name of its connections): this machine's host name and the
 * process id, so the workers of one machine can be counted.
 */
export function workerName(host = hostname(), pid = process.pid): string {
  return `${host}/${pid}`;
}

/** The workers of one machine among BullMQ's worker names (`bull:<queue>:w:<name>`): distinct processes of `host`. */
export function countLocalWorkers(rawNames: readonly string[], host = hostname()): number {
  const local = new Set<string>();
  for (const raw of rawNames) {
    const at = raw.lastIndexOf(":w:");
    if (at === -1) continue;
    const name = raw.slice(at + 3);
    if (name.slice(0, name.lastIndexOf("/")) === host) local.add(name);
  }
  return local.size;
}

/** How a worker's run ended. */
export interface WorkerSummary {
  units: number;
  failed: number;
  merged: boolean;
}

/** Pulls units (and the final merge) from the queue until it is empty (or, with `keepRunning`, until aborted). */
export async function runQueueWorker(where: QueueLocation, options: QueueWorkerOptions): Promise<WorkerSummary> {
  const connection = await connectRedis(where.url, { worker: true });
  const queue = new (engine().bullmq.Queue)(where.name, { connection });
  const summary: WorkerSummary = { units: 0, failed: 0, merged: false };
  const stalledMs = options.stalledMs ?? 30_000;
  const abort = new AbortController();
  // The running units' own signals: a unit whose lock could not be renewed stops at once.
  const running = new Map<string, AbortController>();
  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const message = checkQueueMessage(job.data);
    if (message.kind === "unit") {
      const unit = message.unit;
      options.onEvent?.({ type: "unit-start", unit, attempt: job.attemptsMade + 1 });
      const taken = (): UnitTakenError => new UnitTakenError(`unit ${unit.id}: another worker has taken it over (this one stalled longer than --stalled-after); nothing more is sent from here`);
      // Renewing the lock is the check: it succeeds only while the lock holds this worker's token.
      const stillMine = async (): Promise<void> => {
        if (token === undefined || (await job.extendLock(token, stalledMs)) !== 1) throw taken();
      };
      const own = new AbortController();
      running.set(String(job.id), own);
      try {
        const manifest = await options.runUnit(message, join(options.workDir, `unit-${unit.id}.json`), AbortSignal.any([abort.signal, own.signal]), stillMine, context);
        summary.units++;
        return manifest;
      } catch (error) {
        if (own.signal.aborted || error instanceof UnitTakenError || /ERR_UNIT_TAKEN|another worker has taken it over/.test(String((error as Error).message))) {
          options.onEvent?.({ type: "unit-taken", unit });
          throw taken();
        }
        throw error;
      } finally {
        running.delete(String(job.id));
      }
    }
    const values = Object.values(await job.getChildrenValues());
    if (values.length !== message.units) throw new Error(`the merge found ${values.length} unit result(s) of ${message.units}`);
    const partials = values.map((value, i) => {
      const problem = checkManifest(value);
      if (problem !== undefined) throw unrecoverable(`a unit's result is not a valid manifest: ${problem}`);
      return { name: `unit result ${i + 1}`, manifest: value as Manifest };
    });
    // A stable order (by the files' paths, code unit by code unit), whatever order the units finished in and
    // whatever the machine's locale: localeCompare would also build ICU's collator, ~14 ms of a worker's CPU.
    const pathOf = (p: { manifest: Manifest }): string => p.manifest.files[0]?.path ?? "";
    partials.sort((a, b) => (pathOf(a) < pathOf(b) ? -1 : pathOf(a) > pathOf(b) ? 1 : 0));
    const merged = mergeManifests(partials);
    await writeManifest(options.manifestPath, merged);
    let jobId: string | undefined;
    if (message.job && options.createJob) jobId = await options.createJob(options.manifestPath, message.job);
    summary.merged = true;
    const final = (await readManifest(options.manifestPath)) ?? merged;
    options.onEvent?.({ type: "merged", manifest: options.manifestPath, files: final.files.length, job: jobId });
    return final;
  };
  const context: UnitContext = {
    localWorkers: async () => {
      try {
        return Math.max(1, countLocalWorkers((await queue.getWorkers()).map((w) => String(w.rawname ?? ""))));
      } catch {
        // A Redis that refuses CLIENT LIST (some managed services): as if this worker were alone.
        return 1;
      }
    },
  };
  let busy = 0;
  const worker = new (engine().bullmq.Worker)(where.name, async (job: Job, token?: string) => {
    busy++;
    try {
      return await processor(job, token);
    } finally {
      busy--;
    }
  }, {
    connection,
    name: workerName(),
    concurrency: 1,
    lockDuration: stalledMs,
    stalledInterval: stalledMs,
    maxStalledCount: 3,
    autorun: false,
  });
  worker.on("failed", (job, error) => {
    const data = job?.data as Partial<UnitMessage> | undefined;
    const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof engine().bullmq.UnrecoverableError : true;
    if (final) summary.failed++;
    options.onEvent?.({ type: "unit-failed", unit: data?.kind === "unit" ? data.unit : undefined, message: error.message, final });
  });
  worker.on("error", () => undefined);
  worker.on("lockRenewalFailed", (ids: string[]) => {
    for (const id of ids) running.get(id)?.abort();
  });
  const stop = (): void => abort.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  const started = worker.run();
  try {
    while (!abort.signal.aborted) {
      // A worker whose queue is empty stops within 100 ms (one cheap count of a few keys each time); while it runs a
      // unit, the queue cannot be empty, so it does not ask.
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (options.keepRunning || busy > 0) continue;
      const c = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children");
      const left = Object.values(c).reduce((n, v) => n + v, 0);
      if (left === 0) break;
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await worker.close(abort.signal.aborted);
    await started.catch(() => undefined);
    await queue.close();
    connection.disconnect();
  }
  return summary;
}

/** A queue's state: counts by state, the failed units with their reasons, and the merges. */
export interface QueueStatus {
  queue: string;
  name: string;
  counts: Record<string, number>;
  units: { total: number; completed: number; failed: number };
  failed: { id: string; source: string | null; attempts: number; reason: string }[];
  merges: { plan_id: string; state: string; files: number | null }[];
  /** The latest completed merge's manifest. */
  manifest: Manifest | null;
}

export async function queueStatus(where: QueueLocation): Promise<QueueStatus> {
  const connection = await connectRedis(where.url);
  const queue = new (engine().bullmq.Queue)(where.name, { connection });
  try {
    const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children", "completed", "failed");
    const failedJobs = (await queue.getJobs(["failed"], 0, 99)).filter((j) => j.name === "unit");
    const completedUnits = (await queue.getJobs(["completed"])).filter((j) => j.name === "unit").length;
    const merges: QueueStatus["merges"] = [];
    let manifest: Manifest | null = null;
    let latest = -1;
    for (const state of ["waiting-children", "waiting", "active", "completed", "failed"] as const) {
      for (const job of await queue.getJobs([state])) {
        if (job.name !== "merge") continue;
        const value = state === "completed" ? (job.returnvalue as unknown) : undefined;
        const valid = value !== undefined && checkManifest(value) === undefined ? (value as Manifest) : null;
        merges.push({ plan_id: String((job.data as { plan_id?: unknown }).plan_id ?? job.id), state, files: valid ? valid.files.length : null });
        if (valid && (job.finishedOn ?? 0) > latest) {
          latest = job.finishedOn ?? 0;
          manifest = valid;
        }
      }
    }
    return {
      queue: describeRedis(where.url),
      name: where.name,
      counts,
      units: {
        total: (await queue.getJobs(["waiting", "active", "delayed", "prioritized", "completed", "failed"])).filter((j) => j.name === "unit").length,
        completed: completedUnits,
        failed: failedJobs.length,
      },
      failed: failedJobs.map((j) => ({
        id: String(j.id),
        source: typeof (j.data as Partial<UnitMessage>).unit?.source === "string" ? (j.data as UnitMessage).unit.source : null,
        attempts: j.attemptsMade,
        reason: redact(j.failedReason ?? ""),
      })),
      merges,
      manifest,
    };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
