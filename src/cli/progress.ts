import { printable } from "../printable.js";
import { formatBytes } from "../guard/size.js";
import type { JobState } from "../jobs/jobs.js";
import type { PassEvent } from "../pipeline/progress.js";
import type { UploadEvent } from "../upload/uploader.js";
import type { Io } from "./io.js";

/** Options of the progress display. */
export interface ProgressOptions {
  /** Off a terminal: at most one progress line per this many ms (default 5000). */
  intervalMs?: number;
  /** The terminal's width, read at each redraw (default: stderr's `columns`, else 80). */
  columns?: () => number | undefined;
  /** The clock (tests pass their own). */
  now?: () => number;
  /** Follow the phases (for `describe`) but print nothing: `--quiet`, `--json`. */
  silent?: boolean;
}

/**
 * The display a command shows: progress is drawn when stderr is a terminal, or off one when `--progress` asks for
 * it (plain lines: one per step, a progress line at most every 5 s); never with `--quiet`. Silent, it still
 * follows the phases, for the one-line summary of an interrupted run.
 */
export function progressDisplay(io: Io, flags: { quiet?: boolean | undefined; progress?: boolean | undefined }, tty = Boolean(process.stderr.isTTY)): Progress {
  return new Progress(io, tty, { silent: Boolean(flags.quiet) || !(tty || flags.progress) });
}

/** The `--progress` flag of the commands that show progress. */
export const PROGRESS_FLAG = ["--progress", "show progress on stderr even when it is not a terminal (a line per step, a progress line at most every 5 s)"] as const;

/** Redraws of the live line, at most this often: a terminal is not a log. */
const REDRAW_MS = 100;

const VERB: Record<Extract<PassEvent, { type: "file" }>["action"], string> = {
  validate: "validating",
  split: "validating and splitting",
  decompress: "decompressing and validating",
  convert: "converting and validating",
};

/** Cuts a line to `width` columns so a terminal never wraps it (a wrapped live line cannot be redrawn in place). */
export function fitToWidth(text: string, width: number): string {
  const max = Math.max(1, width - 1); // the last column would wrap on some terminals
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Progress on stderr for every phase: discovery (files found), each file's pass (source bytes read of the total,
 * rate, ETA), the upload (files and bytes, rate, ETA, retries) and a job wait. On a terminal, one live line redrawn
 * in place and cut to the terminal's width, with finished steps printed above it; otherwise a plain line per step
 * and at most one progress line every `intervalMs`. It also knows the phase, for the summary of an interrupted run.
 */
export class Progress {
  private readonly intervalMs: number;
  private readonly columns: () => number | undefined;
  private readonly now: () => number;
  private stage = "starting";
  private live = "";
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLine = Number.NEGATIVE_INFINITY;

  // The current meter: bytes done of a total, since a start.
  private total = 0;
  private done = 0;
  private base = 0; // bytes counted as done before the meter started (files already uploaded)
  private started = 0;

  // Discovery and the passes.
  private file: Extract<PassEvent, { type: "file" }> | undefined;

  // Upload.
  private files = 0;
  private filesDone = 0;
  private retries = 0;
  private readonly attemptBytes = new Map<string, number>();
  private readonly retriesOf = new Map<string, number>();
  private uploading = false;
  private waitingForJob = false;

  private readonly io: Io;

  constructor(
    io: Io,
    private readonly tty: boolean,
    options: number | ProgressOptions = {},
  ) {
    const o = typeof options === "number" ? { intervalMs: options } : options;
    this.io = o.silent ? { stdout: () => undefined, stderr: () => undefined, exitCode: 0 } : io;
    this.intervalMs = o.intervalMs ?? 5000;
    this.columns = o.columns ?? (() => process.stderr.columns);
    this.now = o.now ?? Date.now;
    this.started = this.now();
  }

  /** What was going on, for the one-line summary of an interrupted run ("while validating data/train.jsonl (…)"). */
  describe(): string {
    return this.stage;
  }

  /** Whether the upload phase has begun. */
  get inUpload(): boolean {
    return this.uploading;
  }

  /** Whether files may have been sent or a job is being followed: a stop then leaves something behind it. */
  get pastUpload(): boolean {
    return this.uploading || this.waitingForJob;
  }

  private meter(): string {
    const elapsed = Math.max(0.001, (this.now() - this.started) / 1000);
    const rate = Math.max(0, this.done - this.base) / elapsed;
    const left = Math.max(0, this.total - this.done);
    const eta = rate > 0 && left > 0 ? `, ETA ${Math.ceil(left / rate)} s` : "";
    return `${formatBytes(Math.min(this.done, this.total))} of ${formatBytes(this.total)} (${formatBytes(rate)}/s${eta})`;
  }

  private startMeter(total: number, base = 0): void {
    this.total = total;
    this.done = base;
    this.base = base;
    this.started = this.now();
  }

  private draw(text: string, force = false): void {
    this.live = text;
    if (!this.tty) return;
    const now = this.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.io.stderr(`\r\x1b[2K${fitToWidth(text, this.columns() ?? 80)}`);
  }

  /** Off a terminal: a progress line now and then. */
  private tick(text: string): void {
    if (this.tty) {
      this.draw(text);
      return;
    }
    const now = this.now();
    if (now - this.lastLine < this.intervalMs) return;
    this.lastLine = now;
    this.io.stderr(`${text}\n`);
  }

  /** A finished step: a line of its own (above the live line on a terminal, which is then redrawn). */
  message(text: string): void {
    if (this.tty) this.io.stderr(`\r\x1b[2K${text}\n${this.live ? fitToWidth(this.live, this.columns() ?? 80) : ""}`);
    else this.io.stderr(`${text}\n`);
  }

  /** Discovery and the validating passes. */
  pass(event: PassEvent): void {
    switch (event.type) {
      case "discover-start":
        this.stage = "during discovery (0 files found so far)";
        // Off a terminal, a count only once discovery has lasted `intervalMs`: a count printed at the first file
        // found ("1 file") and then overtaken by "found 2 dataset files" says something untrue.
        this.lastLine = this.now();
        if (this.tty) this.draw("discovering dataset files…", true);
        else this.io.stderr("discovering dataset files…\n");
        break;
      case "discover":
        this.stage = `during discovery (${plural(event.files, "file", "files")} found so far)`;
        this.tick(`discovering: ${plural(event.files, "file", "files")} found so far, ${formatBytes(event.bytes)}`);
        break;
      case "discovered":
        this.startMeter(event.bytes);
        this.message(`found ${plural(event.files, "dataset file", "dataset files")} (${formatBytes(event.bytes)})${event.skipped ? `; ${event.skipped} skipped` : ""}`);
        break;
      case "file": {
        this.file = { ...event, path: printable(event.path) };
        event = this.file;
        const verb = VERB[event.action];
        const place = `${event.index + 1}/${event.files}`;
        this.stage = `while ${verb} ${event.path} (file ${event.index + 1} of ${event.files})`;
        if (this.tty) this.draw(`${verb} ${place} ${event.path}: ${this.meter()}`, true);
        else this.io.stderr(`${verb} ${event.path} (${place}, ${formatBytes(event.bytes)})\n`);
        break;
      }
      case "read": {
        this.done += event.n;
        const file = this.file;
        if (!file) break;
        const verb = VERB[file.action];
        this.stage = `while ${verb} ${file.path} (file ${file.index + 1} of ${file.files}; ${formatBytes(Math.min(this.done, this.total))} of ${formatBytes(this.total)} read)`;
        this.tick(`${verb} ${file.index + 1}/${file.files} ${file.path}: ${this.meter()}`);
        break;
      }
      default:
        break;
    }
  }

  private uploadStatus(): string {
    return `uploading: ${this.filesDone}/${this.files} files, ${this.meter()}${this.retries ? `, ${plural(this.retries, "retry", "retries")}` : ""}`;
  }

  /** The upload. */
  on(event: UploadEvent): void {
    switch (event.type) {
      case "start": {
        this.uploading = true;
        this.stage = "while uploading";
        // Files the manifest already has count as done: the bar and the ETA are about the whole dataset.
        const skippedBytes = event.skippedBytes ?? 0;
        this.files = event.files + event.skipped;
        this.filesDone = event.skipped;
        this.startMeter(event.bytes + skippedBytes, skippedBytes);
        if (event.skipped > 0) this.message(`${plural(event.skipped, "file", "files")} already uploaded (in the manifest): skipped`);
        this.draw(this.uploadStatus(), true);
        break;
      }
      case "file-start":
        // A new attempt sends the file from its start: what the failed attempt sent is not counted twice.
        this.done -= this.attemptBytes.get(event.path) ?? 0;
        this.attemptBytes.set(event.path, 0);
        break;
      case "bytes":
        this.done += event.n;
        if (event.path !== undefined) this.attemptBytes.set(event.path, (this.attemptBytes.get(event.path) ?? 0) + event.n);
        this.tick(this.uploadStatus());
        break;
      case "retry":
        this.retries++;
        this.retriesOf.set(event.path, (this.retriesOf.get(event.path) ?? 0) + 1);
        this.live = this.uploadStatus();
        this.message(`retrying ${printable(event.path)} in ${event.delayMs} ms (attempt ${event.attempt} failed: ${printable(event.error.message)})`);
        break;
      case "file-done": {
        this.filesDone++;
        if (event.bytes !== undefined) this.done += event.bytes - (this.attemptBytes.get(event.path) ?? 0);
        this.attemptBytes.delete(event.path);
        const retried = this.retriesOf.get(event.path) ?? 0;
        this.live = this.uploadStatus();
        this.message(
          `${event.adopted ? "found already uploaded" : "uploaded"} ${printable(event.path)} → ${event.id}${retried ? ` (after ${plural(retried, "retry", "retries")})` : ""}`,
        );
        break;
      }
      case "file-failed": {
        this.done -= this.attemptBytes.get(event.path) ?? 0;
        this.attemptBytes.delete(event.path);
        const retried = this.retriesOf.get(event.path) ?? 0;
        this.live = this.uploadStatus();
        this.message(`failed ${printable(event.path)}${retried ? ` after ${plural(retried, "retry", "retries")}` : ""}: ${printable(event.error.message)}`);
        break;
      }
      case "file-duplicate":
        this.message(`${printable(event.path)} has the same content as ${printable(event.of)}: sent once`);
        break;
      default:
        break;
    }
  }

  /** A job being waited for (its id, when known). */
  job(state: Pick<JobState, "status">, id?: string): void {
    this.waitingForJob = true;
    const follow = id !== undefined ? `ftprep jobs wait ${id}` : "ftprep jobs wait with the id in the manifest";
    this.stage = `while waiting for the job${id !== undefined ? ` ${id}` : ""} (${state.status}); it goes on at the provider (${follow})`;
  }

  /** Clears the live line. */
  finish(): void {
    if (this.tty && this.live !== "") this.io.stderr(`\r\x1b[2K`);
    this.live = "";
  }
}
